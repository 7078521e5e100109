import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RelabelConfig } from './types.js';
import {
  compileRelabel,
  goToLower,
  goToUpper,
  parseTemplate,
  expandTemplate,
  RelabelConfigError,
  validateRelabelConfig,
} from './relabel.js';

/** A rule with Prometheus's defaults for whatever is not given. */
function rc(p: Partial<RelabelConfig>): RelabelConfig {
  return {
    sourceLabels: [],
    separator: ';',
    regex: '(.*)',
    modulus: 0,
    targetLabel: '',
    replacement: '$1',
    action: 'replace',
    ...p,
  };
}

/** Relabel a copy of `labels`; null when dropped. */
function run(rules: Partial<RelabelConfig>[], labels: Record<string, string>): Record<string, string> | null {
  const m = new Map(Object.entries(labels));
  if (!compileRelabel(rules.map(rc))(m)) return null;
  return Object.fromEntries([...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

/** Prometheus's hashmod computed independently of the implementation. */
function hashmod(value: string, modulus: number): string {
  const digest = createHash('md5').update(value).digest('hex');
  return (BigInt('0x' + digest.slice(16)) % BigInt(modulus)).toString();
}

describe('replace', () => {
  it('uses the defaults: copy the source value with (.*) and $1', () => {
    assert.deepEqual(run([{ sourceLabels: ['a'], targetLabel: 'b' }], { a: 'foo' }), { a: 'foo', b: 'foo' });
  });

  it('joins source labels with the separator, missing labels as ""', () => {
    assert.deepEqual(
      run([{ sourceLabels: ['a', 'missing', 'b'], separator: '|', targetLabel: 'c', regex: '(.*)' }], {
        a: 'x',
        b: 'y',
      }),
      { a: 'x', b: 'y', c: 'x||y' },
    );
  });

  it('expands numbered groups in the replacement', () => {
    assert.deepEqual(
      run(
        [{ sourceLabels: ['a', 'b'], regex: 'f(.*);(.*)r', targetLabel: 'a', replacement: 'ch${1}-ch${2}' }],
        { a: 'foo', b: 'bar' },
      ),
      { a: 'choo-chba', b: 'bar' },
    );
  });

  it('anchors the regex: "f" does not match "foo"', () => {
    assert.deepEqual(
      run([{ sourceLabels: ['a'], regex: 'f', targetLabel: 'b', replacement: 'hit' }], { a: 'foo' }),
      {
        a: 'foo',
      },
    );
    assert.deepEqual(
      run([{ sourceLabels: ['a'], regex: 'o+', targetLabel: 'b', replacement: 'hit' }], { a: 'foo' }),
      {
        a: 'foo',
      },
    );
    assert.deepEqual(
      run([{ sourceLabels: ['a'], regex: 'f|foo', targetLabel: 'b', replacement: 'hit' }], { a: 'foo' }),
      {
        a: 'foo',
        b: 'hit',
      },
    );
  });

  it('reads $1x as group "1x" (empty, so the target is deleted) and ${1}x as group 1 then "x"', () => {
    const labels = { a: 'foo', b: 'old' };
    assert.deepEqual(
      run([{ sourceLabels: ['a'], regex: '(f)oo', targetLabel: 'b', replacement: '$1x' }], labels),
      {
        a: 'foo',
      },
    );
    assert.deepEqual(
      run([{ sourceLabels: ['a'], regex: '(f)oo', targetLabel: 'b', replacement: '${1}x' }], labels),
      {
        a: 'foo',
        b: 'fx',
      },
    );
  });

  it('expands named groups, (?P<n>) and (?<n>), with $name and ${name}', () => {
    assert.deepEqual(
      run(
        [
          {
            sourceLabels: ['pod'],
            regex: '(?P<app>[a-z]+)-(?<hash>[0-9a-f]+)',
            targetLabel: 'app',
            replacement: '${hash}_$app',
          },
        ],
        { pod: 'web-1a2b' },
      ),
      { pod: 'web-1a2b', app: '1a2b_web' },
    );
  });

  it('deletes the target when the replacement expands to ""', () => {
    assert.deepEqual(
      run([{ sourceLabels: ['a'], regex: 'foo(.*)', targetLabel: 'b' }], { a: 'foo', b: 'x' }),
      {
        a: 'foo',
      },
    );
    assert.deepEqual(
      run([{ sourceLabels: ['a'], targetLabel: 'b', replacement: '' }], { a: 'foo', b: 'x' }),
      {
        a: 'foo',
      },
    );
  });

  it('does nothing when the regex does not match', () => {
    assert.deepEqual(
      run([{ sourceLabels: ['a'], regex: 'bar', targetLabel: 'b', replacement: 'y' }], { a: 'foo', b: 'x' }),
      { a: 'foo', b: 'x' },
    );
  });

  it('expands the target label and skips the rule when the result is not a valid label name', () => {
    const rule = { sourceLabels: ['a'], regex: '(.*)=(.*)', targetLabel: '${1}', replacement: '$2' };
    assert.deepEqual(run([rule], { a: 'name=value' }), { a: 'name=value', name: 'value' });
    assert.deepEqual(run([rule], { a: 'some-name=value' }), { a: 'some-name=value' });
    assert.deepEqual(run([rule], { a: '1abc=value' }), { a: '1abc=value' });
    assert.deepEqual(run([rule], { a: '=value' }), { a: '=value' });
  });

  it('sets a constant when the source value is empty (no source labels)', () => {
    assert.deepEqual(run([{ targetLabel: 'env', replacement: 'prod' }], { a: 'x' }), { a: 'x', env: 'prod' });
  });

  it('keeps $$ as a literal $ and a malformed $ as text', () => {
    assert.deepEqual(
      run([{ sourceLabels: ['a'], regex: '(.*)', targetLabel: 'b', replacement: '$$1 ${1 $ $-' }], {
        a: 'v',
      }),
      { a: 'v', b: '$1 ${1 $ $-' },
    );
  });

  it('treats an empty label value as a missing label', () => {
    assert.deepEqual(run([{ sourceLabels: ['a'], regex: '', action: 'keep' }], { a: '' }), { a: '' });
    assert.equal(run([{ sourceLabels: ['a'], targetLabel: 'b', action: 'dropequal' }], { a: '' }), null);
    // Writing "" deletes, like labels.Builder.Set.
    assert.deepEqual(
      run([{ sourceLabels: ['a'], targetLabel: 'b', action: 'lowercase' }], { a: '', b: 'x' }),
      {
        a: '',
      },
    );
  });

  it('applies rules in order, each seeing the previous results', () => {
    assert.deepEqual(
      run(
        [
          { sourceLabels: ['a'], targetLabel: 'b', replacement: '${1}1' },
          { sourceLabels: ['b'], targetLabel: 'c', replacement: '${1}2' },
        ],
        { a: 'x' },
      ),
      { a: 'x', b: 'x1', c: 'x12' },
    );
  });
});

describe('keep and drop', () => {
  it('keep drops the series unless the anchored regex matches', () => {
    assert.equal(run([{ sourceLabels: ['a'], regex: 'f', action: 'keep' }], { a: 'foo' }), null);
    assert.deepEqual(run([{ sourceLabels: ['a'], regex: 'f.*', action: 'keep' }], { a: 'foo' }), {
      a: 'foo',
    });
  });

  it('drop drops the series when the regex matches', () => {
    assert.equal(run([{ sourceLabels: ['a'], regex: 'f.*', action: 'drop' }], { a: 'foo' }), null);
    assert.deepEqual(run([{ sourceLabels: ['a'], regex: 'f', action: 'drop' }], { a: 'foo' }), { a: 'foo' });
  });

  it('matches a missing source label as ""', () => {
    assert.equal(run([{ sourceLabels: ['nope'], regex: '', action: 'drop' }], { a: 'foo' }), null);
    assert.deepEqual(run([{ sourceLabels: ['nope'], regex: '.+', action: 'drop' }], { a: 'foo' }), {
      a: 'foo',
    });
  });

  it('stops at the first rule that drops', () => {
    const m = new Map([['a', 'foo']]);
    const keep = compileRelabel([
      rc({ sourceLabels: ['a'], regex: 'bar', action: 'keep' }),
      rc({ targetLabel: 'later', replacement: 'x' }),
    ]);
    assert.equal(keep(m), false);
    assert.equal(m.has('later'), false);
  });

  it('keepequal / dropequal compare the source value with the target label', () => {
    const labels = { a: 'foo', b: 'foo', c: 'bar' };
    assert.deepEqual(run([{ sourceLabels: ['a'], targetLabel: 'b', action: 'keepequal' }], labels), labels);
    assert.equal(run([{ sourceLabels: ['a'], targetLabel: 'c', action: 'keepequal' }], labels), null);
    assert.equal(run([{ sourceLabels: ['a'], targetLabel: 'b', action: 'dropequal' }], labels), null);
    assert.deepEqual(run([{ sourceLabels: ['a'], targetLabel: 'c', action: 'dropequal' }], labels), labels);
    // A missing target reads as "", so it equals an empty source value.
    assert.equal(run([{ sourceLabels: ['x'], targetLabel: 'y', action: 'dropequal' }], labels), null);
  });
});

describe('hashmod', () => {
  it('takes the last 8 bytes of the md5 as a big-endian uint64 modulo the modulus', () => {
    // md5("foo") = acbd18db4cc2f85c edef654fccc4a4d8; 0xedef654fccc4a4d8 = 17145033699835028696.
    assert.equal(hashmod('foo', 1000), '696');
    assert.deepEqual(
      run([{ sourceLabels: ['a'], modulus: 1000, targetLabel: 'd', action: 'hashmod' }], { a: 'foo' }),
      {
        a: 'foo',
        d: '696',
      },
    );
    // Prometheus's relabel_test.go: "baz" modulo 1000 is 976.
    assert.deepEqual(
      run([{ sourceLabels: ['c'], modulus: 1000, targetLabel: 'd', action: 'hashmod' }], { c: 'baz' }),
      {
        c: 'baz',
        d: '976',
      },
    );
  });

  it('agrees with an independent computation for many inputs and moduli, beyond 2^53', () => {
    for (const modulus of [1, 2, 7, 1000, 2 ** 31 - 1, Number.MAX_SAFE_INTEGER]) {
      const f = compileRelabel([
        rc({ sourceLabels: ['a', 'b'], modulus, targetLabel: 'h', action: 'hashmod' }),
      ]);
      for (const v of ['', 'foo', 'bar', 'ünïcödé', '10.0.0.1:9100', 'x'.repeat(300)]) {
        const m = new Map([
          ['a', v],
          ['b', 'z'],
        ]);
        f(m);
        assert.equal(m.get('h'), hashmod(`${v};z`, modulus), `${v} % ${modulus}`);
      }
    }
  });
});

describe('labelmap, labeldrop, labelkeep', () => {
  it('labelmap copies matching labels to the expanded name, keeping the originals', () => {
    assert.deepEqual(
      run([{ regex: '__meta_(.+)', action: 'labelmap' }], {
        __meta_kubernetes_pod: 'p1',
        __meta_node: 'n1',
        job: 'j',
      }),
      { __meta_kubernetes_pod: 'p1', __meta_node: 'n1', job: 'j', kubernetes_pod: 'p1', node: 'n1' },
    );
  });

  it('labelmap expands ${1} templates and anchors the regex on the name', () => {
    assert.deepEqual(
      run([{ regex: 'meta_(.)', action: 'labelmap', replacement: 'x_${1}_y' }], {
        meta_a: '1',
        meta_bb: '2',
        __meta_c: '3',
      }),
      { meta_a: '1', meta_bb: '2', __meta_c: '3', x_a_y: '1' },
    );
  });

  it('labelmap ranges over a snapshot: it reads the values as they were before the rule', () => {
    assert.deepEqual(
      run([{ regex: '(a|b)', action: 'labelmap', replacement: '${1}b' }], { a: '1', b: '2' }),
      {
        a: '1',
        ab: '1',
        b: '2',
        bb: '2',
      },
    );
    // x_x_y writes x_y = "2", but y still gets x_y's value from before the rule.
    assert.deepEqual(run([{ regex: 'x_(.*)', action: 'labelmap' }], { x_y: '1', y: '0', x_x_y: '2' }), {
      x_x_y: '2',
      x_y: '2',
      y: '1',
    });
  });

  it('labelmap collisions: the last label in labels.Builder order wins', () => {
    // Untouched labels range in name order, so b_x (sorted after a_x) wins.
    const rule = { regex: '[ab]_(.*)', action: 'labelmap' as const };
    assert.equal(run([rule], { b_x: 'from-b', a_x: 'from-a' })!.x, 'from-b');
    // Labels set by an earlier rule range after the untouched ones, in the order they were set.
    assert.equal(
      run([{ sourceLabels: ['v'], targetLabel: 'a_x' }, rule], { b_x: 'from-b', v: 'from-a' })!.x,
      'from-a',
    );
  });

  it('labeldrop removes matching names, labelkeep removes the others', () => {
    const labels = { __name__: 'up', job: 'j', instance: 'i', pod_uid: 'u' };
    assert.deepEqual(run([{ regex: 'pod_.*|job', action: 'labeldrop' }], labels), {
      __name__: 'up',
      instance: 'i',
    });
    assert.deepEqual(run([{ regex: '__name__|job', action: 'labelkeep' }], labels), {
      __name__: 'up',
      job: 'j',
    });
    // Anchored: "pod" is not a match for "pod_uid".
    assert.deepEqual(run([{ regex: 'pod', action: 'labeldrop' }], labels), labels);
  });
});

describe('lowercase and uppercase', () => {
  it('sets the target to the case-mapped source value', () => {
    assert.deepEqual(
      run([{ sourceLabels: ['a', 'b'], targetLabel: 'l', action: 'lowercase' }], { a: 'FoO', b: 'BAR' }),
      {
        a: 'FoO',
        b: 'BAR',
        l: 'foo;bar',
      },
    );
    assert.deepEqual(run([{ sourceLabels: ['a'], targetLabel: 'a', action: 'uppercase' }], { a: 'foo-1' }), {
      a: 'FOO-1',
    });
  });

  it('deletes the target when the source value is empty', () => {
    assert.deepEqual(run([{ sourceLabels: ['x'], targetLabel: 'a', action: 'lowercase' }], { a: 'A' }), {});
  });

  it("maps code point by code point like Go's strings.ToLower/ToUpper", () => {
    assert.equal(goToLower('ΟΔΟΣ'), 'οδοσ'); // no final-sigma rule (JS would give "οδος")
    assert.equal(goToLower('İ'), 'i'); // simple mapping (JS gives "i̇")
    assert.equal(goToUpper('straße'), 'STRAßE'); // no simple uppercase (JS gives "STRASSE")
    assert.equal(goToUpper('ﬁ'), 'ﬁ');
    assert.equal(goToUpper('ᾳ'), 'ᾼ'); // simple uppercase is the titlecase form
    assert.equal(goToUpper('ǆ'), 'Ǆ');
    assert.equal(goToLower('ÀÉ😀Z'), 'àé😀z');
  });
});

describe('Go regexp semantics in rules', () => {
  const matches = (regex: string, value: string) =>
    run([{ sourceLabels: ['a'], regex, action: 'keep' }], { a: value }) !== null;

  it('handles flags, classes and escapes the Go way', () => {
    assert.equal(matches('(?i)foo', 'FoO'), true);
    assert.equal(matches('(?i:f)oo', 'FOO'), false);
    assert.equal(matches('(?i:f)oo', 'Foo'), true);
    assert.equal(matches('.*', 'a\rb'), true); // Go's . only excludes \n
    assert.equal(matches('.*', 'a\nb'), false);
    assert.equal(matches('(?s).*', 'a\nb'), true);
    assert.equal(matches('[[:alpha:]]+', 'abc'), true);
    assert.equal(matches('x{,2}', 'x{,2}'), true); // not a repeat: literal braces
    assert.equal(matches('\\Q1.5\\E', '1.5'), true);
    assert.equal(matches('\\Q1.5\\E', '125'), false);
    assert.equal(matches('\\s', '\v'), false); // Go's \s has no \v
  });

  it('rejects what Go rejects', () => {
    for (const regex of ['(?=a)', '(a)\\1', 'a**', '[a', '(a', 'a)', 'x{1001}', '\\C', '\\Z', '(?<n-x>a)']) {
      assert.throws(
        () => compileRelabel([rc({ sourceLabels: ['a'], regex, action: 'keep' })]),
        RelabelConfigError,
        regex,
      );
    }
  });

  it('numbers groups like Go, also with duplicate names and names that start with a digit', () => {
    assert.deepEqual(
      run(
        [
          {
            sourceLabels: ['a'],
            regex: '(?P<x>a)?(?P<x>b)(?P<1y>c)',
            targetLabel: 't',
            replacement: '$x-${1y}-$3',
          },
        ],
        {
          a: 'bc',
        },
      ),
      { a: 'bc', t: 'b-c-c' },
    );
  });
});

describe('templates', () => {
  it('follows Go regexp.Expand name rules', () => {
    const m = /^(?:(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k))$/u.exec('abcdefghijk')!;
    const names = ['', '', '', '', '', '', '', '', '', '', '', 'name'];
    const ex = (t: string) => expandTemplate(parseTemplate(t, names), m);
    assert.equal(ex('$1'), 'a');
    assert.equal(ex('$11'), 'k'); // the longest number, not $1 then "1"
    assert.equal(ex('${1}1'), 'a1');
    assert.equal(ex('$01'), ''); // leading zero: a name, no such group
    assert.equal(ex('$12'), ''); // no group 12
    assert.equal(ex('$name.$0'), 'k.abcdefghijk');
    assert.equal(ex('$1é'), ''); // letters are Unicode letters: group "1é"
    assert.equal(ex('a$'), 'a$');
    assert.equal(ex('${}'), '${}');
  });
});

describe('validation', () => {
  const bad: [Partial<RelabelConfig>, RegExp, string][] = [
    [{ action: 'hashmod', sourceLabels: ['a'], targetLabel: 'b', modulus: 0 }, /non-zero modulus/, 'modulus'],
    [{ action: 'replace', targetLabel: '' }, /requires 'target_label'/, 'target_label'],
    [{ action: 'replace', targetLabel: 'foo-bar' }, /invalid 'target_label'/, 'target_label'],
    [{ action: 'replace', targetLabel: '$1-x' }, /invalid 'target_label'/, 'target_label'],
    [
      { action: 'lowercase', targetLabel: 'a', replacement: 'x' },
      /'replacement' can not be set/,
      'replacement',
    ],
    [{ action: 'labelmap', replacement: 'a-$1' }, /invalid 'replacement'/, 'replacement'],
    [
      { action: 'keepequal', sourceLabels: ['a'], targetLabel: 'b', regex: 'x' },
      /requires only 'source_labels'/,
      'regex',
    ],
    [{ action: 'labeldrop', sourceLabels: ['a'], regex: 'x' }, /requires only 'regex'/, 'source_labels'],
    [{ action: 'labelkeep', regex: 'x', separator: ',' }, /requires only 'regex'/, 'separator'],
    [{ action: 'keep', sourceLabels: ['not valid'] }, /not a valid label name/, 'source_labels'],
    [{ action: 'nope' as never }, /unknown relabel action/, 'action'],
    [{ action: 'keep', regex: '(a' }, /missing closing \)/, 'regex'],
  ];
  for (const [cfg, message, key] of bad) {
    it(`rejects ${JSON.stringify(cfg)}, naming ${key}`, () => {
      const problem = validateRelabelConfig(rc(cfg));
      if (key !== 'regex' || cfg.action !== 'keep') {
        assert.match(problem?.message ?? '', message);
        assert.equal(problem?.key, key);
      }
      assert.throws(
        () => compileRelabel([rc({ action: 'keep' }), rc(cfg)]),
        (e: unknown) => {
          assert.ok(e instanceof RelabelConfigError);
          assert.equal(e.index, 1);
          assert.equal(e.key, key);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }

  it('accepts valid rules', () => {
    for (const cfg of [
      { targetLabel: 'a' },
      { targetLabel: '${1}_x' },
      { targetLabel: 'x_$1' },
      { action: 'labelmap' as const, regex: '__meta_(.+)' },
      { action: 'labeldrop' as const, regex: 'x' },
      { action: 'keepequal' as const, sourceLabels: ['a'], targetLabel: 'b' },
      { action: 'hashmod' as const, sourceLabels: ['a'], targetLabel: 'b', modulus: 3 },
    ]) {
      assert.equal(validateRelabelConfig(rc(cfg))?.message, undefined, JSON.stringify(cfg));
    }
  });

  it('validates a replacement-style target without exponential backtracking', () => {
    const evil = 'a' + '$a'.repeat(40) + '!';
    assert.match(validateRelabelConfig(rc({ targetLabel: evil }))?.message ?? '', /invalid 'target_label'/);
  });
});
