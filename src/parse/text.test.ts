// Unit tests for the text parser (SPEC §4): Prometheus text 0.0.4 and OpenMetrics 1.0 edge cases.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Entry, TextParser, type Labels } from './text.js';
import { parseAll, type ParsedSample } from '../testing/parse-all.js';
import { validateOpenMetrics } from '../testing/openmetrics-validate.js';

const prom = (text: string) => parseAll(Buffer.from(text), { openMetrics: false });
const om = (text: string) => parseAll(Buffer.from(text), { openMetrics: true });
const omStrict = (text: string) => parseAll(Buffer.from(text), { openMetrics: true, validate: true });

function one(text: string, openMetrics = false): ParsedSample {
  const r = parseAll(Buffer.from(text), { openMetrics });
  assert.deepEqual(r.errors, [], `unexpected errors for ${JSON.stringify(text)}`);
  assert.equal(r.samples.length, 1);
  return r.samples[0];
}

/** The entries of a payload as [kind, line] pairs. */
function entries(text: string, openMetrics = false): Array<[Entry, number]> {
  const p = new TextParser(Buffer.from(text), openMetrics);
  const out: Array<[Entry, number]> = [];
  for (let e = p.next(); e !== Entry.EOF; e = p.next()) out.push([e, p.line]);
  return out;
}

describe('label value escapes', () => {
  test('\\\\, \\" and \\n are unescaped (0.0.4 and OpenMetrics)', () => {
    for (const openMetrics of [false, true]) {
      const suffix = openMetrics ? '# EOF\n' : '';
      const s = one(`a{v="back\\\\slash \\"quoted\\" new\\nline"} 1\n${suffix}`, openMetrics);
      assert.equal(s.labels.v, 'back\\slash "quoted" new\nline');
    }
  });
  test('an escaped backslash before the closing quote ends the value', () => {
    assert.deepEqual(one('a{v="x\\\\",w="y"} 1\n').labels, { v: 'x\\', w: 'y' });
  });
  test('an unknown escape is kept as written (as Prometheus and the OpenMetrics suite)', () => {
    assert.equal(one('a{v="a\\tb\\z"} 1\n').labels.v, 'a\\tb\\z');
    assert.equal(one('a_total{v="\\foo"} 1\n# EOF\n', true).labels.v, '\\foo');
  });
  test('an escaped quote does not end the value, even with "}" and "#" inside', () => {
    assert.deepEqual(one('a{v="x\\"} # ,y"} 1\n').labels, { v: 'x"} # ,y' });
  });
});

describe('HELP and TYPE', () => {
  test('HELP escapes: \\\\ and \\n in 0.0.4 (\\" kept), also \\" in OpenMetrics', () => {
    const r = prom('# HELP a One\\\\two\\nthree \\"q\\"\n# TYPE a gauge\na 1\n');
    assert.deepEqual(r.families, [
      { name: 'a', type: 'gauge', help: 'One\\two\nthree \\"q\\"', line: 1, samples: 1 },
    ]);
    const o = om('# HELP a x\\"y\\\\\n# EOF\n');
    assert.equal(o.families[0].help, 'x"y\\');
  });
  test('HELP text keeps its blanks after the one separator; trailing CR is not part of it', () => {
    assert.equal(prom('# HELP a  two spaces\r\n').families[0].help, ' two spaces');
  });
  test('0.0.4: blanks after "#", a bare "# HELP" is a comment, UNIT is a comment', () => {
    const r = prom('  #\t TYPE   a   counter\n# HELP\n# HELP \n# UNIT a seconds\na 1\n');
    assert.deepEqual(r.errors, []);
    assert.equal(r.families[0].type, 'counter');
    assert.equal(r.families[0].unit, undefined);
  });
  test('invalid TYPE and invalid family name are errors with their line', () => {
    assert.deepEqual(prom('a 1\n# TYPE a bla\n# TYPE met-ric counter\nb 2\n').errors, [
      { line: 2, message: 'invalid metric type "bla"' },
      { line: 3, message: 'invalid metric name in TYPE line' },
    ]);
  });
  test('OpenMetrics types; "untyped" is not one of them', () => {
    assert.equal(om('# TYPE a stateset\n# EOF\n').families[0].type, 'stateset');
    assert.equal(om('# TYPE a untyped\n# EOF\n').errors.length, 1);
  });
});

describe('values', () => {
  test('NaN, +Inf, -Inf (and the spellings Go accepts)', () => {
    const r = prom('a NaN\nb +Inf\nc -Inf\nd Inf\ne nan\nf -inf\ng +Infinity\n');
    assert.deepEqual(r.errors, []);
    const v = r.samples.map((s) => s.value);
    assert.ok(Number.isNaN(v[0]) && Number.isNaN(v[4]));
    assert.deepEqual([v[1], v[2], v[3], v[5], v[6]], [Infinity, -Infinity, Infinity, -Infinity, Infinity]);
  });
  test('decimal forms', () => {
    const r = prom(
      'a 1\nb -2.5\nc 1e3\nd 1.5E-3\ne .5\nf 5.\ng +7\nh 0000001\ni 12345678901234567890\nj -0\n',
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.samples.map((s) => s.value),
      [1, -2.5, 1000, 0.0015, 0.5, 5, 7, 1, Number('12345678901234567890'), -0],
    );
  });
  test('invalid values: 1x, 0x10, 1_000, 0b1, 1e, ., empty', () => {
    const bad = ['1x', '0x10', '1_000', '0b1', '1e', '.', '--1', 'Infx', '1.2.3'];
    const r = prom(bad.map((v, i) => `m${i} ${v}\n`).join('') + 'ok 1\n');
    assert.deepEqual(
      r.errors.map((e) => e.line),
      bad.map((_, i) => i + 1),
    );
    assert.match(r.errors[1].message, /invalid value "0x10"/);
    assert.deepEqual(r.samples, [{ name: 'ok', labels: {}, value: 1 }]);
    assert.deepEqual(prom('a\n').errors, [{ line: 1, message: 'missing value' }]);
    assert.deepEqual(prom('a{b="c"}\n').errors, [{ line: 1, message: 'missing value' }]);
    assert.deepEqual(prom('a{b="c"}   \n').errors, [{ line: 1, message: 'missing value' }]);
  });
});

describe('timestamps', () => {
  test('0.0.4: integer milliseconds, negative allowed, absent = no timestampMs', () => {
    const r = prom('a 1 1700000000123\nb 2 -5000\nc 3\nd 4 0\n');
    assert.deepEqual(
      r.samples.map((s) => s.timestampMs),
      [1700000000123, -5000, undefined, 0],
    );
    assert.ok(!('timestampMs' in r.samples[2]));
  });
  test('0.0.4: a float timestamp is invalid', () => {
    assert.deepEqual(prom('a 1 1.5\n').errors, [{ line: 1, message: 'invalid timestamp "1.5"' }]);
    assert.deepEqual(prom('a 1 1e3\n').errors.length, 1);
  });
  test('OpenMetrics: seconds, possibly fractional or in exponent form, become milliseconds', () => {
    const r = om('a 1 1700000000\nb 1 1700000000.123\nc 1 1.5e3\nd 1 -1.5\ne 1 0.0001\n# EOF\n');
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.samples.map((s) => s.timestampMs),
      [1700000000000, 1700000000123, 1500000, -1500, 0],
    );
  });
  test('OpenMetrics: NaN / Inf timestamps are invalid', () => {
    assert.equal(om('a 1 NaN\nb 1 +Inf\n# EOF\n').errors.length, 2);
  });
});

describe('OpenMetrics exemplars and # EOF', () => {
  test('an exemplar does not change value or timestamp', () => {
    const text = 'a_total{x="1"} 5 1.5 # {trace_id="abc # }"} 0.5 1.25\n# EOF\n';
    const p = new TextParser(Buffer.from(text), true);
    assert.equal(p.next(), Entry.Series);
    assert.equal(p.seriesKey(), 'a_total{x="1"}');
    assert.equal(p.value, 5);
    assert.equal(p.timestamp, 1500);
    assert.equal(p.exemplarText(), '# {trace_id="abc # }"} 0.5 1.25');
    assert.equal(p.next(), Entry.Comment); // # EOF
    assert.equal(p.sawEOF, true);
    assert.equal(p.next(), Entry.EOF);
    assert.deepEqual(validateOpenMetrics(Buffer.from('# TYPE a counter\n' + text)), []);
  });
  test('exemplar without timestamp on a bucket; no sample timestamp', () => {
    const s = one('a_bucket{le="+Inf"} 3 # {} 4\n# EOF\n', true);
    assert.equal(s.value, 3);
    assert.equal(s.timestampMs, undefined);
  });
  test('0.0.4 has no exemplars: "#" after the value is an error', () => {
    assert.equal(prom('a 1 # {a="b"} 1\n').errors.length, 1);
  });
  test('content after # EOF is an error, reported once; missing # EOF is an error', () => {
    assert.deepEqual(om('a 1\n# EOF\nb 2\nc 3\n').errors, [{ line: 3, message: 'content after # EOF' }]);
    assert.deepEqual(om('a 1\n').errors, [{ line: 2, message: 'OpenMetrics payload without "# EOF"' }]);
    assert.deepEqual(om('a 1\n# EOF').errors, []); // no newline after # EOF is fine
  });
  test('in 0.0.4 "# EOF" is just a comment', () => {
    assert.deepEqual(prom('a 1\n# EOF\nb 2\n').samples.length, 2);
  });
});

describe('label sets', () => {
  test('empty label set {} and blanks inside it', () => {
    assert.deepEqual(one('a{} 1\n').labels, {});
    assert.deepEqual(one('a{ } 1\n').labels, {});
    assert.deepEqual(one('a_total{} 1\n# EOF\n', true).labels, {});
  });
  test('trailing comma: allowed in 0.0.4, not in OpenMetrics', () => {
    assert.deepEqual(one('a{b="1",} 1\n').labels, { b: '1' });
    assert.deepEqual(one('a{b="1", c = "2" , } 1\n').labels, { b: '1', c: '2' });
    assert.deepEqual(om('a{b="1",} 1\n# EOF\n').errors, [
      { line: 1, message: 'trailing comma in label set' },
    ]);
    assert.equal(prom('a{,} 1\n').errors.length, 1);
    assert.equal(prom('a{b="1",,c="2"} 1\n').errors.length, 1);
  });
  test('label value containing "}", "#" and ","', () => {
    // With a "#" on the line the parser walks the quotes; without, it takes the last "}".
    assert.deepEqual(one('a{v="x},#,y",w="#"} 1\n').labels, { v: 'x},#,y', w: '#' });
    assert.deepEqual(one('a{v="} , {"} 1 5\n').labels, { v: '} , {' });
    assert.deepEqual(one('a{v="} , {"} 1 5\n').timestampMs, 5);
    assert.deepEqual(one('a_total{v="} # x"} 1\n# EOF\n', true).labels, { v: '} # x' });
  });
  test('UTF-8 label values', () => {
    assert.deepEqual(one('a{v="Grüße 日本 ☃ 🙂"} 1\n').labels, { v: 'Grüße 日本 ☃ 🙂' });
  });
  test('blanks between the name and "{" (0.0.4 only)', () => {
    const s = one('a \t {b="c"} 1\n');
    assert.deepEqual([s.name, s.labels], ['a', { b: 'c' }]);
    assert.equal(om('a {b="c"} 1\n# EOF\n').errors.length, 1);
  });
  test('0.0.4: the value may follow "}" directly (as Prometheus); not in OpenMetrics, not after a bare name', () => {
    assert.deepEqual(one('a{b="c"}-Inf\n').value, -Infinity);
    assert.equal(om('a{b="c"}1\n# EOF\n').errors.length, 1);
    assert.equal(prom('a-1\n').errors.length, 1);
  });
  test('malformed label sets are errors', () => {
    const bad = [
      'a{b} 1',
      'a{b=} 1',
      'a{b="c} 1',
      'a{b=c} 1',
      'a{1b="c"} 1',
      'a{b:c="d"} 1',
      'a{b="c" d="e"} 1',
    ];
    const r = prom(bad.join('\n') + '\n');
    assert.deepEqual(
      r.errors.map((e) => e.line),
      bad.map((_, i) => i + 1),
    );
    assert.deepEqual(r.samples, []);
  });
  test('duplicate label names (and a __name__ label) are errors', () => {
    assert.deepEqual(prom('a{b="1",b="2"} 1\na{__name__="x"} 1\n').errors, [
      { line: 1, message: 'duplicate label name "b"' },
      { line: 2, message: 'duplicate label name "__name__"' },
    ]);
  });
  test('a label named __proto__ stays a label', () => {
    const s = one('a{__proto__="x"} 1\n');
    assert.deepEqual(Object.keys(s.labels), ['__proto__']);
    assert.equal(Object.getPrototypeOf(s.labels), Object.prototype);
  });
  test('labels() appends in exposition order; seriesKey and metricName', () => {
    const p = new TextParser(Buffer.from('m:x_y{z="1",a="2"} 3\n'));
    assert.equal(p.next(), Entry.Series);
    assert.equal(p.seriesKey(), 'm:x_y{z="1",a="2"}');
    assert.equal(p.metricName(), 'm:x_y');
    const out: Labels = [['pre', 'existing']];
    assert.equal(p.labels(out), undefined);
    assert.deepEqual(out, [
      ['pre', 'existing'],
      ['z', '1'],
      ['a', '2'],
    ]);
  });
});

describe('lines', () => {
  test('blank lines and blank-only lines are skipped in 0.0.4 (line numbers stay right)', () => {
    assert.deepEqual(entries('\n  \n\t\na 1\n\n# c\n  b 2\n'), [
      [Entry.Series, 4],
      [Entry.Comment, 6],
      [Entry.Series, 7],
    ]);
  });
  test('OpenMetrics: the parser skips blank lines, the validator reports them', () => {
    assert.deepEqual(om('a 1\n\n# EOF\n').errors, []);
    assert.deepEqual(omStrict('a 1\n\n# EOF\n').errors, [{ line: 2, message: 'blank line' }]);
    assert.equal(om('  \na 1\n# EOF\n').errors.length, 1); // a blank-only line is not blank in OpenMetrics
  });
  test('CRLF line endings, including blank CRLF lines and timestamps', () => {
    const r = prom('# TYPE a gauge\r\n\r\na{b="c"} 1 1000\r\nb 2\r\n  \r\nc NaN\r\n');
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.families[0].type, 'gauge');
    assert.deepEqual(
      r.samples.map((s) => [s.name, s.value, s.timestampMs]),
      [
        ['a', 1, 1000],
        ['b', 2, undefined],
        ['c', NaN, undefined],
      ],
    );
    assert.deepEqual(
      entries('a 1\r\n\r\nb 2\r\n').map(([, line]) => line),
      [1, 3],
    );
  });
  test('CRLF in OpenMetrics: parsed, but the validator reports it', () => {
    assert.deepEqual(om('a 1\r\n# EOF\r\n').errors, []);
    assert.deepEqual(omStrict('a 1\r\n# EOF\r\n').errors, [
      { line: 1, message: 'carriage return at end of line (OpenMetrics lines end with LF only)' },
      { line: 2, message: 'carriage return at end of line (OpenMetrics lines end with LF only)' },
    ]);
  });
  test('missing final newline', () => {
    assert.deepEqual(one('a{b="c"} 1 123').timestampMs, 123);
    assert.deepEqual(prom('a 1\nb').errors, [{ line: 2, message: 'missing value' }]);
  });
  test('a malformed line in the middle: reported with its line number, the rest still parsed', () => {
    const r = prom('# TYPE a counter\na 1\nb{c="d" 2\nc 3\n\nd{e="f"} 1x\ne 5\n');
    assert.deepEqual(
      r.errors.map((e) => e.line),
      [3, 6],
    );
    assert.match(r.errors[0].message, /unterminated label set/);
    assert.deepEqual(
      r.samples.map((s) => s.name),
      ['a', 'c', 'e'],
    );
  });
  test('invalid metric names', () => {
    assert.deepEqual(
      prom('0a 1\n@x 1\n{a="b"} 1\n').errors.map((e) => e.line),
      [1, 2, 3],
    );
  });
});

describe('families', () => {
  test('duplicate families are allowed: all samples kept, metadata merged', () => {
    const r = prom(
      '# HELP a first\n# TYPE a counter\na{x="1"} 1\n# TYPE b gauge\nb 2\n# HELP a second\n# TYPE a counter\na{x="2"} 3\n',
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.samples.map((s) => [s.name, s.value]),
      [
        ['a', 1],
        ['b', 2],
        ['a', 3],
      ],
    );
    assert.deepEqual(r.families, [
      { name: 'a', type: 'counter', help: 'first', line: 1, samples: 2 },
      { name: 'b', type: 'gauge', line: 4, samples: 1 },
    ]);
  });
  test('samples are attributed to their family by the suffixes of its type', () => {
    const r = om(
      '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 2\n# TYPE c counter\nc_total 1\nc_created 1\nother 1\n# EOF\n',
    );
    assert.deepEqual(
      r.families.map((f) => [f.name, f.type, f.samples]),
      [
        ['h', 'histogram', 3],
        ['c', 'counter', 2],
        ['other', 'unknown', 1],
      ],
    );
  });
});

describe('properties', () => {
  const name = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/);
  const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,15}$/).filter((n) => n !== '__name__');
  // any UTF-8 but NUL, which the parser refuses (as Prometheus)
  const labelValue = fc.string({ unit: 'binary', maxLength: 20 }).filter((v) => !v.includes('\u0000'));
  const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const sample = fc.record({
    name,
    labels: fc.uniqueArray(fc.tuple(labelName, labelValue), { selector: ([k]) => k, maxLength: 5 }),
    value: fc.double(),
    ts: fc.option(fc.integer({ min: -1e15, max: 1e15 }), { nil: undefined }),
  });
  test('render → parse round-trips names, labels (any UTF-8, escaped), values and timestamps', () => {
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 10 }), fc.boolean(), (samples, crlf) => {
        const eol = crlf ? '\r\n' : '\n';
        const text = samples
          .map((s) => {
            const ls = s.labels.map(([k, v]) => `${k}="${escape(v)}"`).join(',');
            const val = Number.isNaN(s.value)
              ? 'NaN'
              : Object.is(s.value, -0)
                ? '-0'
                : String(s.value).replace('Infinity', 'Inf');
            return `${s.name}${ls ? `{${ls}}` : ''} ${val}${s.ts === undefined ? '' : ` ${s.ts}`}${eol}`;
          })
          .join('');
        const r = prom(text);
        assert.deepEqual(r.errors, []);
        assert.deepEqual(
          r.samples,
          samples.map((s) => {
            const o: ParsedSample = { name: s.name, labels: Object.fromEntries(s.labels), value: s.value };
            if (s.ts !== undefined) o.timestampMs = s.ts;
            return o;
          }),
        );
      }),
      { numRuns: 300 },
    );
  });
  test('arbitrary input never throws, and every line is a sample, a comment, blank or an error', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.boolean(), (s, openMetrics) => {
        const buf = Buffer.from(s);
        const r = parseAll(buf, { openMetrics, validate: openMetrics });
        const lines = buf.toString('utf8').split('\n');
        for (const e of r.errors) {
          // an error names a line of the input (a missing "# EOF" the line after the last) ...
          const last = /missing "# EOF"/.test(e.message) ? lines.length + 1 : lines.length;
          assert.ok(e.line >= 1 && e.line <= last, `line ${e.line} of ${lines.length}: ${e.message}`);
          // ... and, in the 0.0.4 format (where errors are per line), that very line is the bad one
          if (!openMetrics) {
            const alone = parseAll(Buffer.from(lines[e.line - 1] + '\n'), { openMetrics: false });
            assert.ok(
              alone.errors.length > 0,
              `line ${e.line} (${JSON.stringify(lines[e.line - 1])}) parses alone`,
            );
          }
        }
        if (openMetrics) validateOpenMetrics(buf);
      }),
      { numRuns: 500 },
    );
  });
});
