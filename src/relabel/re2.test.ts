import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRE2, RE2SyntaxError, translateRE2 } from './re2.js';

/** Whether the Go regexp matches all of s (anchored like Prometheus). */
function full(pattern: string, s: string): boolean {
  return compileRE2('^(?:' + pattern + ')$').re.test(s);
}

function groups(pattern: string, s: string): (string | undefined)[] | null {
  const m = compileRE2(pattern).re.exec(s);
  return m && [...m];
}

describe('translateRE2: Go syntax', () => {
  it('dot, \\s, \\d, \\w and \\b are ASCII / Go definitions', () => {
    assert.equal(full('.', '\r'), true);
    assert.equal(full('.', '\u2028'), true);
    assert.equal(full('.', '\n'), false);
    assert.equal(full('.', '😀'), true); // one code point, not one UTF-16 unit
    assert.equal(full('\\s', '\u00a0'), false);
    assert.equal(full('\\s+', ' \t\n\f\r'), true);
    assert.equal(full('\\S', '\v'), true);
    assert.equal(full('\\d', '٣'), false);
    assert.equal(full('\\w', 'é'), false);
    assert.equal(full('\\W', 'é'), true);
    assert.equal(full('a\\b.*', 'a b'), true);
    assert.equal(full('a\\b.*', 'ab'), false);
    assert.equal(full('a\\B.*', 'ab'), true);
  });

  it('flags: (?i) (?s) (?m) (?U), scoped and negated', () => {
    assert.equal(translateRE2('(?i)abc').flags, 'iu');
    assert.equal(full('(?i)abc', 'AbC'), true);
    assert.equal(full('a(?i)b', 'aB'), true);
    assert.equal(full('a(?i)b', 'AB'), false);
    assert.equal(full('(?i:a)b', 'Ab'), true);
    assert.equal(full('(?i:a)b', 'AB'), false);
    assert.equal(full('(?i)a(?-i)b', 'Ab'), true);
    assert.equal(full('(?i)a(?-i)b', 'AB'), false);
    assert.equal(full('(?i)a(?-i:b)c', 'AbC'), true);
    assert.equal(full('(?i)a(?-i:b)c', 'ABC'), false);
    // Flags last to the end of the enclosing group, across |.
    assert.equal(full('(?:(?i)a|b)c', 'Bc'), true);
    assert.equal(full('(?:(?i)a|b)c', 'bC'), false);
    assert.equal(full('(?s:.)', '\n'), true);
    assert.equal(full('(?m)a$\\n^b', 'a\nb'), true);
    assert.equal(full('a$\\n^b', 'a\nb'), false);
    assert.equal(full('(?m)a$\\r\\n', 'a\r\n'), false); // (?m) lines end only at \n
    assert.deepEqual(groups('^(?U)(a+)(a*)$', 'aaa'), ['aaa', 'a', 'aa']);
    assert.deepEqual(groups('^(?U)(a+?)(a*)$', 'aaa'), ['aaa', 'aaa', '']);
    assert.equal(full('(?)a', 'a'), true);
  });

  it('case folding follows Unicode simple folding, also when only part of the pattern folds', () => {
    // Kelvin sign and long s fold with k and s, in Go and here.
    assert.equal(full('(?i)k', '\u212a'), true);
    assert.equal(full('x(?i:k)', 'x\u212a'), true);
    assert.equal(full('x(?i:s)', 'xſ'), true);
    assert.equal(full('x(?i:σ)', 'xς'), true);
    assert.equal(full('x(?i:ı)', 'xI'), false); // dotless i has no simple folding
    assert.equal(full('x(?i:[a-c])', 'xB'), true);
    assert.equal(full('x(?i:[^a-c])', 'xB'), false);
    assert.equal(full('x(?i:\\p{Lu})', 'xb'), true);
    // A negated group under (?i) is the complement of the folded group (not the folded complement).
    assert.equal(full('(?i)\\P{Lu}', 'a'), false);
    assert.equal(full('x(?i:\\P{Lu})', 'xa'), false);
    assert.equal(full('(?i)[\\W]', '\u212a'), false);
    assert.equal(full('(?i)[^\\W]', '\u212a'), true);
    assert.equal(full('(?i)[\\W\\d]', '5'), true);
    // \b stays ASCII under (?i).
    assert.equal(full('(?i)a\\b\\x{17f}', 'aſ'), true);
  });

  it('named groups (?P<n>) and (?<n>), numbering, duplicate names', () => {
    const t = translateRE2('(?P<a>x)(?:y)(?<1b>z)(w)(?P<a>v)');
    assert.deepEqual(t.names, ['', 'a', '1b', '', 'a']);
    assert.deepEqual(groups(t.source, 'xyzwv'), ['xyzwv', 'x', 'z', 'w', 'v']);
  });

  it('escapes: \\Q..\\E, octal, hex, C escapes, punctuation', () => {
    assert.equal(full('\\Qa.*b\\E', 'a.*b'), true);
    assert.equal(compileRE2('^\\Qa.*').re.test('a.*'), true); // \Q to the end
    // ... which in Prometheus's "^(?:" + regex + ")$" also swallows the ")$": Go rejects it too.
    assert.throws(() => full('\\Qa.*', 'a.*'), /missing closing \)/);
    assert.equal(full('\\Qab\\E+', 'abbb'), true); // + applies to the last literal
    assert.equal(full('\\101\\x42\\x{43}\\x{1F600}', 'ABC😀'), true);
    assert.equal(full('\\0', '\0'), true);
    assert.equal(full('\\a\\f\\t\\n\\r\\v', '\x07\f\t\n\r\v'), true);
    assert.equal(full('\\_\\-\\:\\"\\/\\#', '_-:"/#'), true);
    assert.equal(full('\\A\\z', ''), true);
  });

  it('braces are literal unless they form a repeat; repeat limits', () => {
    assert.equal(full('a{2}', 'aa'), true);
    assert.equal(full('a{2,}', 'aaaa'), true);
    assert.equal(full('a{1,2}', 'aaa'), false);
    assert.equal(full('a{,2}', 'a{,2}'), true);
    assert.equal(full('a{02}', 'a{02}'), true);
    assert.equal(full('{', '{'), true);
    assert.equal(full('a}', 'a}'), true);
    assert.equal(full('a{2}?', 'aa'), true);
    assert.equal(full('a{1000}', 'a'.repeat(1000)), true);
  });

  it('classes: POSIX, Perl, Unicode, leading ], ranges', () => {
    assert.equal(full('[[:alpha:]]+', 'abcXYZ'), true);
    assert.equal(full('[[:^alpha:]]', '1'), true);
    assert.equal(full('[[:^alpha:]]', 'a'), false);
    assert.equal(full('[[:punct:]]+', '!/:@[`{~'), true);
    assert.equal(full('[]a]+', ']a]'), true);
    assert.equal(full('[^]a]', ']'), false);
    assert.equal(full('[a-]+', 'a-'), true);
    assert.equal(full('[\\d\\s]+', '1 2'), true);
    assert.equal(full('[^\\D]', '7'), true);
    assert.equal(full('[\\x41-\\x43]+', 'ABC'), true);
    assert.equal(full('[[]', '['), true);
    assert.equal(full('[\\^]', '^'), true);
    assert.equal(full('\\pL+', 'ÀbΩ'), true);
    assert.equal(full('\\p{Greek}+', 'αβ'), true);
    assert.equal(full('\\p{^Greek}', 'a'), true);
    assert.equal(full('\\P{^Greek}', 'α'), true);
    assert.equal(full('\\p{Any}', '\n'), true);
    assert.equal(full('[\\p{Lu}\\d]+', 'A1'), true);
    // Go's \pC is Cc|Cf|Co|Cs, without unassigned code points.
    assert.equal(full('\\pC', '\u0378'), false);
    assert.equal(full('\\PC', '\u0378'), true);
    assert.equal(full('\\pC', '\u0001'), true);
  });

  it('empty alternatives, groups and a quantified assertion', () => {
    assert.equal(full('a|', ''), true);
    assert.equal(full('()', ''), true);
    assert.equal(full('^*a', 'a'), true);
  });

  it('rejects what Go rejects', () => {
    for (const p of [
      '(?=a)',
      '(?!a)',
      '(?<=a)',
      '(?<!a)',
      '(?#c)',
      '(?P=n)',
      '(?P<>a)',
      '(?<a-b>x)',
      '\\1',
      '\\8',
      '\\C',
      '\\Z',
      '\\e',
      '\\é',
      '\\x',
      '\\xZ1',
      '\\x{}',
      '\\x{110000}',
      '\\',
      'a**',
      'a*+',
      'a{2}{3}',
      '*a',
      '(*)',
      'a|*',
      'x{1001}',
      'x{2,1}',
      '(a',
      'a)',
      '[a',
      '[]',
      '[z-a]',
      '[[:foo:]]',
      '[\\b]',
      '\\p{Nope}',
      '\\p{Greek',
      '(?i',
      '(?-)',
      '(?i-)',
      '(?--i)',
    ]) {
      assert.throws(() => compileRE2(p), RE2SyntaxError, p);
    }
  });
});
