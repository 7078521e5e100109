import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGlob, compileGlobs, globToRegExp, GlobSyntaxError } from './glob.js';

/** Both the RegExp and the (possibly fast-path) matcher must agree with the expectation. */
function check(glob: string, yes: string[], no: string[]): void {
  const re = globToRegExp(glob);
  const m = compileGlob(glob);
  for (const s of yes) {
    assert.equal(re.test(s), true, `${glob} (RegExp) should match ${JSON.stringify(s)}`);
    assert.equal(m(s), true, `${glob} should match ${JSON.stringify(s)}`);
  }
  for (const s of no) {
    assert.equal(re.test(s), false, `${glob} (RegExp) should not match ${JSON.stringify(s)}`);
    assert.equal(m(s), false, `${glob} should not match ${JSON.stringify(s)}`);
  }
}

describe('glob syntax', () => {
  it('plain text matches only itself', () => {
    check('go_gc_duration_seconds', ['go_gc_duration_seconds'], ['go_gc_duration_seconds_sum', 'go_gc', '']);
    check('a.b+c(d)', ['a.b+c(d)'], ['aXb+c(d)', 'a.bbc(d)']);
  });

  it('* matches any sequence, including separators-like characters', () => {
    check('go_*', ['go_', 'go_gc', 'go_a.b/c'], ['go', 'xgo_', 'GO_x']);
    check('*_total', ['_total', 'http_requests_total'], ['http_requests_total_x']);
    check('*mem*', ['mem', 'node_memory', 'memx'], ['me_m']);
    check('a*b*c', ['abc', 'aXbYc', 'abbc', 'acbc'], ['ab', 'acb', 'abcx']);
    check('a*bc*bc', ['abcbc', 'abcxbcbc'], ['abc', 'abcbcx']);
    check('ab*ba', ['abba', 'ab_ba'], ['aba']); // prefix and suffix may not overlap
    check('*', ['', 'anything'], []);
    check('**', ['', 'a/b'], []);
    check('a**b', ['ab', 'a..b'], ['a']);
  });

  it('? matches exactly one character (one code point)', () => {
    check('cpu?', ['cpu0', 'cpuX', 'cpu😀'], ['cpu', 'cpu10']);
    check('??', ['ab', 'é😀'], ['a', 'abc']);
  });

  it('[abc] and [!abc] lists', () => {
    check('cpu[01]', ['cpu0', 'cpu1'], ['cpu2', 'cpu', 'cpu01']);
    check('cpu[!01]', ['cpu2', 'cpux'], ['cpu0', 'cpu1', 'cpu']);
    check('[*?]', ['*', '?'], ['a']);
    check('[a\\]]', ['a', ']'], ['\\']);
    check('[-]', ['-'], ['a']);
    check('[!!]', ['a'], ['!']);
  });

  it('[a-z] and [!a-z] ranges', () => {
    check('disk[a-c]', ['diska', 'diskc'], ['diskd', 'disk']);
    check('disk[!a-c]', ['diskd', 'disk1'], ['diska', 'disk']);
    check('[]-a]', [']', '_', 'a'], ['b']);
  });

  it('{a,b} alternatives, with globs inside, empty alternatives and nesting', () => {
    check('{cpu,mem}_usage', ['cpu_usage', 'mem_usage'], ['disk_usage', 'cpumem_usage']);
    check('node_{cpu*,load?}', ['node_cpu', 'node_cpu_seconds', 'node_load1'], ['node_load15', 'node_disk']);
    check('x{,y}', ['x', 'xy'], ['xz']);
    check('{a,{b,c}d}', ['a', 'bd', 'cd'], ['b', 'ad']);
    check('{}', [''], ['a']);
    check('{a,b', ['a', 'b'], ['{a,b']); // an unclosed brace closes at the end
  });

  it(', and } outside braces are ordinary characters; \\ escapes', () => {
    check('a,b}', ['a,b}'], ['a']);
    check('a\\*b', ['a*b'], ['aXb']);
    check('a\\{b,c\\}', ['a{b,c}'], ['ab']);
    check('\\[x\\]', ['[x]'], ['x']);
    check('a\\', ['a'], ['a\\']); // trailing lone backslash is dropped
  });

  it('rejects invalid globs', () => {
    for (const g of ['[', '[a', '[]', '[!]', '[a-', '[a-]', '[a-b', '[z-a]', '[a-bc]']) {
      assert.throws(() => globToRegExp(g), GlobSyntaxError, g);
      assert.throws(() => compileGlobs([g, '*']), GlobSyntaxError, g);
    }
  });
});

describe('compileGlobs (Categraf filter.Compile)', () => {
  it('an empty list matches nothing', () => {
    const f = compileGlobs([]);
    assert.equal(f(''), false);
    assert.equal(f('anything'), false);
  });

  it('patterns without *, ? or [ are compared literally', () => {
    const f = compileGlobs(['up', 'scrape_duration_seconds', '{a,b}', 'a\\.b']);
    assert.equal(f('up'), true);
    assert.equal(f('scrape_duration_seconds'), true);
    assert.equal(f('{a,b}'), true);
    assert.equal(f('a'), false);
    assert.equal(f('a\\.b'), true);
    assert.equal(f('a.b'), false);
    assert.equal(f('upx'), false);
    assert.equal(compileGlobs(['{a,b}'])('a'), false);
  });

  it('matches any of several globs', () => {
    const f = compileGlobs(['go_*', 'process_*', 'up', 'node_cpu?']);
    for (const s of ['go_gc', 'process_open_fds', 'up', 'node_cpu0']) assert.equal(f(s), true, s);
    for (const s of ['upx', 'node_cpu', 'gox', 'process']) assert.equal(f(s), false, s);
  });

  it('a single glob is compiled on its own', () => {
    const f = compileGlobs(['kube_*_info']);
    assert.equal(f('kube_pod_info'), true);
    assert.equal(f('kube_pod_infos'), false);
  });

  it('several patterns form one alternation, so commas and braces inside them take part', () => {
    // filter.Compile builds "{a,b*,c}" from ["a,b*", "c"].
    const f = compileGlobs(['a,b*', 'c']);
    assert.equal(f('a'), true);
    assert.equal(f('bx'), true);
    assert.equal(f('c'), true);
    assert.equal(f('a,bx'), false);
    // ["x}", "y*"] becomes "{x},y*}": the alternation closes after x.
    const g = compileGlobs(['x}', 'y*']);
    assert.equal(g('x,y*}'), true);
    assert.equal(g('x}'), false);
    assert.equal(g('yy'), false);
  });
});
