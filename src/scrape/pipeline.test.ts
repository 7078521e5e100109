import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Entry, TextParser } from '../parse/text.js';
import { decodeChunk, type DecodedSample } from '../prompb/decode.js';
import type { Chunk } from '../prompb/chunk.js';
import { ScrapeError } from './errors.js';
import { pipelineOptions, TargetPipeline, type PipelineOptions } from './pipeline.js';

/** A scrape failure for the tests that fail one on purpose. */
const FAIL = new ScrapeError('other', 'failed on purpose');

function opts(o: Partial<PipelineOptions> = {}): PipelineOptions {
  return pipelineOptions({
    targetLabels: [
      ['instance', '127.0.0.1:10250'],
      ['job', 'kubelet'],
      ['ident', 'node-1'],
    ],
    defaultLabels: [['cluster', 'prod']],
    ...o,
  });
}

function run(p: TargetPipeline, text: string, now = 1_000_000) {
  const chunks: Chunk[] = [];
  const stats = p.process(Buffer.from(text), false, now, (c) => chunks.push(c));
  p.flush((c) => chunks.push(c));
  const samples: DecodedSample[] = chunks.flatMap((c) => decodeChunk(c.body));
  const byName = (n: string) => samples.filter((s) => s.labels.find(([k]) => k === '__name__')?.[1] === n);
  return { stats, samples, chunks, byName };
}

const labelsOf = (s: DecodedSample) => Object.fromEntries(s.labels);

test('target labels override scraped ones, keeping them as exported_*; global labels only fill gaps', () => {
  const p = new TargetPipeline(opts());
  const { samples } = run(p, 'm{job="app",instance="10.0.0.1:80",cluster="dev",a="1"} 5\n');
  assert.equal(samples.length, 1);
  assert.deepEqual(labelsOf(samples[0]), {
    __name__: 'm',
    a: '1',
    cluster: 'dev', // scraped value wins over [global] labels
    exported_instance: '10.0.0.1:80',
    exported_job: 'app',
    ident: 'node-1',
    instance: '127.0.0.1:10250',
    job: 'kubelet',
  });
  assert.deepEqual(
    samples[0].labels.map(([k]) => k),
    [...samples[0].labels.map(([k]) => k)].sort(),
    'labels sorted by name',
  );
});

test('honor_labels keeps scraped values; empty values mean no label; "-" deletes', () => {
  const p = new TargetPipeline(opts({ honorLabels: true, deleteLabels: ['drop_me'] }));
  const { samples } = run(p, 'm{job="app",empty="",drop_me="x"} 1\n');
  assert.deepEqual(labelsOf(samples[0]), {
    __name__: 'm',
    cluster: 'prod',
    ident: 'node-1',
    instance: '127.0.0.1:10250',
    job: 'app',
  });
});

test('a series that disappears gets one staleness marker; unchanged series are served from the cache', () => {
  const p = new TargetPipeline(opts());
  const first = run(p, 'a 1\nb 2\n', 1000);
  assert.equal(first.stats.added, 2);
  const second = run(p, 'a 3\n', 2000);
  assert.equal(second.stats.added, 0, 'a is a cache hit');
  assert.equal(second.stats.stale, 1);
  const stale = second.samples.filter((s) => s.stale);
  assert.equal(stale.length, 1);
  assert.equal(labelsOf(stale[0]).__name__, 'b');
  assert.equal(stale[0].timestampMs, 2000);
  const third = run(p, 'a 4\n', 3000);
  assert.equal(third.stats.stale, 0, 'marker sent once only');
});

test('target down: every live series goes stale once', () => {
  const p = new TargetPipeline(opts());
  run(p, 'a 1\nb{x="1"} 2\n', 1000);
  const chunks: Chunk[] = [];
  assert.equal(p.fail((c) => chunks.push(c), FAIL, 2000, 0).staleMarkers, 2);
  p.flush((c) => chunks.push(c));
  assert.equal(chunks.length, 1);
  assert.ok(chunks.flatMap((c) => decodeChunk(c.body)).every((s) => s.stale));
  assert.equal(p.fail(() => assert.fail('no second marker'), FAIL, 3000, 0).staleMarkers, 0);
  p.flush(() => assert.fail('nothing left to send'));
});

test('explicit timestamps are honoured and a sample whose timestamp did not advance is not re-sent', () => {
  const p = new TargetPipeline(opts());
  const a = run(p, 'c 1 1500\nd 2\n', 2000);
  assert.equal(a.byName('c')[0].timestampMs, 1500);
  assert.equal(a.byName('d')[0].timestampMs, 2000);
  const b = run(p, 'c 1 1500\nd 2\n', 3000);
  assert.equal(b.byName('c').length, 0, 'same timestamp: skipped');
  assert.equal(b.stats.stale, 0, 'but the series is still alive');
  const c = run(p, 'c 7 2500\n', 4000);
  assert.equal(c.byName('c')[0].value, 7);
  assert.equal(c.stats.stale, 1, 'd went away');
});

test('malformed lines are counted with their line number and the rest is used', () => {
  const p = new TargetPipeline(opts());
  const r = run(p, '# HELP a help\na 1\nbad line here\nb{x="1" 2\nc 3\n');
  assert.equal(r.stats.invalidLines, 2);
  assert.match(r.stats.firstError, /^line 3: /);
  assert.deepEqual(
    r.samples.map((s) => labelsOf(s).__name__),
    ['a', 'c'],
  );
});

test('a series with the same label name twice is a malformed line, with its line number', () => {
  const p = new TargetPipeline(opts());
  const r = run(p, 'ok 1\nm{a="1",b="2",a="3"} 2\nok2 3\n');
  assert.equal(r.stats.invalidLines, 1);
  assert.equal(r.stats.firstError, 'line 2: duplicate label name "a"');
  assert.deepEqual(
    r.samples.map((s) => labelsOf(s).__name__),
    ['ok', 'ok2'],
  );
  // and again from the cache on the next scrape
  assert.equal(run(p, 'ok 1\nm{a="1",b="2",a="3"} 2\n').stats.firstError, 'line 2: duplicate label name "a"');
});

test('metric filters, ignored label keys and duplicates', () => {
  const p = new TargetPipeline(
    opts({ keepMetric: (n) => !n.startsWith('go_'), ignoreLabel: (k) => k === 'id' }),
  );
  const r = run(p, 'go_goroutines 5\nm{id="/kubepods/x",pod="p"} 1\nm{id="/kubepods/x",pod="p"} 2\n');
  assert.equal(r.stats.scraped, 3, 'every sample line counts, as in Prometheus');
  assert.equal(r.stats.postRelabel, 1);
  assert.equal(r.stats.duplicates, 1);
  assert.deepEqual(labelsOf(r.samples[0]).id, undefined);
});

test('relabeling runs last and can drop', () => {
  const p = new TargetPipeline(
    opts({
      relabel: (m) => {
        if (m.get('__name__') === 'drop_me') return false;
        m.set('node', m.get('ident') ?? '');
        return true;
      },
    }),
  );
  const r = run(p, 'drop_me 1\nkeep 2\n');
  assert.equal(r.samples.length, 1);
  assert.equal(labelsOf(r.samples[0]).node, 'node-1');
});

test('sample_limit fails the whole scrape and sends nothing but staleness for the previous scrape', () => {
  const p = new TargetPipeline(opts({ sampleLimit: 2 }));
  assert.equal(run(p, 'a 1\nb 1\n').stats.limitError, '');
  const r = run(p, 'a 1\nb 1\nc 1\n');
  assert.match(r.stats.limitError, /sample_limit exceeded: 3 samples > 2/);
  assert.ok(r.samples.every((s) => s.stale));
});

test('label_limit and label_value_length_limit fail every scrape that has the offending series', () => {
  const p = new TargetPipeline(opts({ labelLimit: 5 }));
  assert.match(run(p, 'm{a="1",b="2",c="3"} 1\n').stats.limitError, /label_limit exceeded/);
  assert.match(
    run(p, 'm{a="1",b="2",c="3"} 1\n').stats.limitError,
    /label_limit exceeded/,
    'also from the cache',
  );
  const q = new TargetPipeline(opts({ labelValueLengthLimit: 3 }));
  assert.match(run(q, 'm{a="long value"} 1\n').stats.limitError, /label_value_length_limit/);
});

test('batches: chunks hold at most `batch` samples', () => {
  const p = new TargetPipeline(opts({ batch: 10 }));
  const text = Array.from({ length: 35 }, (_, i) => `m{i="${i}"} ${i}`).join('\n') + '\n';
  const r = run(p, text);
  assert.deepEqual(
    r.chunks.map((c) => c.samples),
    [10, 10, 10, 5],
  );
  assert.equal(r.stats.emitted, 35);
});

test('streaming: any split of the payload into pieces gives the same samples and line numbers', () => {
  const text =
    '# HELP a A.\n# TYPE a gauge\n' +
    Array.from({ length: 200 }, (_, i) => `a{i="${i}",v="x y"} ${i} ${1000 + i}`).join('\n') +
    '\nbad line\nlast_without_newline 5';
  const whole = run(new TargetPipeline(opts()), text);
  const body = Buffer.from(text);
  for (const seed of [1, 7, 13, 101, 997]) {
    const p = new TargetPipeline(opts());
    p.begin(false, 1_000_000);
    let at = 0;
    let k = seed;
    while (at < body.length) {
      k = (k * 1103515245 + 12345) % 2147483648;
      const n = 1 + (k % 40); // pieces of 1..40 bytes: splits inside names, labels, values
      p.feed(body.subarray(at, at + n));
      at += n;
    }
    const chunks: Chunk[] = [];
    const stats = p.end((c) => chunks.push(c), 0).stats!;
    p.flush((c) => chunks.push(c));
    assert.deepEqual(
      chunks.flatMap((c) => decodeChunk(c.body)),
      whole.samples,
    );
    assert.equal(stats.scraped, 201);
    assert.equal(stats.firstError, whole.stats.firstError);
    assert.match(stats.firstError, /^line 203: /);
  }
});

test('a scrape that fails half-way sends staleness markers only for what the last good scrape delivered, once', () => {
  const p = new TargetPipeline(opts());
  run(p, 'a 1\nb 2\n', 1000);
  const failHalfWay = (text: string, now: number) => {
    p.begin(false, now);
    p.feed(Buffer.from(text));
    const chunks: Chunk[] = [];
    const markers = p.fail((c) => chunks.push(c), FAIL, now, 0).staleMarkers;
    p.flush((c) => chunks.push(c));
    return { markers, samples: chunks.flatMap((c) => decodeChunk(c.body)) };
  };
  // a timeout after three lines: c and d were never sent, so they get no marker; a and b do
  const first = failHalfWay('a 1\nc 3\nd 4\n', 2000);
  assert.equal(first.markers, 2);
  assert.deepEqual(first.samples.map((s) => labelsOf(s).__name__).sort(), ['a', 'b']);
  assert.ok(first.samples.every((s) => s.stale));
  // the next failure sends nothing at all: the markers went out once
  const second = failHalfWay('a 1\nc 3\nd 4\n', 3000);
  assert.deepEqual([second.markers, second.samples.length], [0, 0]);
  assert.equal(p.seriesCount, 0);
  // a good scrape afterwards sends every series again, and none of them is stale
  const r = run(p, 'a 5\nc 6\n', 4000);
  assert.deepEqual(
    r.samples.map((s) => [labelsOf(s).__name__, s.value]),
    [
      ['a', 5],
      ['c', 6],
    ],
  );
  assert.equal(r.stats.stale, 0);
});

test('a timestamped sample first met in a failed scrape is sent by the next good one', () => {
  const p = new TargetPipeline(opts({ sampleLimit: 2 }));
  run(p, 'a 1 500\n', 1000);
  // a scrape over the limit parses `a 2 600` but sends nothing of it
  assert.match(run(p, 'a 2 600\nb 1\nc 1\n', 2000).stats.limitError, /sample_limit/);
  const r = run(p, 'a 2 600\n', 3000);
  assert.deepEqual(
    r.byName('a').map((s) => [s.value, s.timestampMs]),
    [[2, 600]],
  );
});

test('when a series is replaced by another with the same final labels, the labels keep being sent', () => {
  // ignore_label_keys = ["id"]: a container restart gives a new id, hence a new raw series
  const p = new TargetPipeline(opts({ ignoreLabel: (k) => k === 'id' }));
  run(p, 'm{id="old"} 1\n', 1000);
  let r = run(p, 'm{id="new"} 2\n', 2000);
  assert.deepEqual(
    r.byName('m').map((s) => [s.value, s.stale]),
    [[2, false]],
    'sent, and no marker for the old raw series: the labels are still there',
  );
  r = run(p, 'm{id="new"} 3\n', 3000);
  assert.deepEqual(
    r.byName('m').map((s) => s.value),
    [3],
  );
  // both in one scrape: one value, the first met
  r = run(p, 'm{id="a"} 4\nm{id="b"} 5\n', 4000);
  assert.deepEqual(
    r
      .byName('m')
      .filter((s) => !s.stale)
      .map((s) => s.value),
    [4],
  );
  assert.equal(r.stats.duplicates, 1);
  // all gone: one marker
  r = run(p, 'other 1\n', 5000);
  assert.equal(r.byName('m').filter((s) => s.stale).length, 1);
});

test('a scrape over sample_limit stale-marks the last good scrape only, not the series it parsed', () => {
  const p = new TargetPipeline(opts({ sampleLimit: 3 }));
  run(p, 'a 1\nb 2\n', 1000);
  const over = run(p, 'a 1\nx 1\ny 1\nz 1\n', 2000);
  assert.match(over.stats.limitError, /sample_limit/);
  assert.deepEqual(over.samples.map((s) => labelsOf(s).__name__).sort(), ['a', 'b']);
  assert.ok(over.samples.every((s) => s.stale));
  const again = run(p, 'a 1\nx 1\ny 1\nz 1\n', 3000);
  assert.deepEqual(again.samples, [], 'no markers for series no good scrape delivered');
});

/** Two series texts whose hashes share the low 32 bits (the cache's first key): found by search. */
function collidingPair(): [string, string] {
  const lines: string[] = [];
  for (let i = 0; i < 400_000; i++) lines.push(`m{i="${i}"} 1`);
  const p = new TextParser(Buffer.from(lines.join('\n') + '\n'));
  const seen = new Map<number, string>();
  for (let e = p.next(); e !== Entry.EOF; e = p.next()) {
    if (e !== Entry.Series) continue;
    const lo = p.seriesHash();
    const text = p.seriesKey();
    const other = seen.get(lo);
    if (other !== undefined) return [other, text];
    seen.set(lo, text);
  }
  throw new Error('no 32-bit collision among 400k series');
}

test('series whose hashes collide in the low 32 bits stay apart: labels, values, staleness', () => {
  const [a, b] = collidingPair();
  assert.notEqual(a, b);
  const value = (r: ReturnType<typeof run>, text: string) => {
    const i = /i="(\d+)"/.exec(text)![1];
    return r.byName('m').filter((s) => labelsOf(s).i === i);
  };
  for (const [first, second] of [
    [a, b],
    [b, a],
  ]) {
    const p = new TargetPipeline(opts());
    let r = run(p, `${first} 1\n${second} 2\n`);
    assert.equal(r.stats.added, 2);
    assert.deepEqual(
      value(r, first).map((s) => s.value),
      [1],
    );
    assert.deepEqual(
      value(r, second).map((s) => s.value),
      [2],
    );
    assert.equal(p.seriesCount, 2);

    r = run(p, `${second} 20\n${first} 10\n`, 1_015_000);
    assert.deepEqual([r.stats.added, r.stats.duplicates, r.stats.stale], [0, 0, 0]);
    assert.deepEqual(
      value(r, first).map((s) => s.value),
      [10],
    );
    assert.deepEqual(
      value(r, second).map((s) => s.value),
      [20],
    );

    // the series holding the first key goes away: one staleness marker, the other one unharmed
    r = run(p, `${second} 30\n`, 1_030_000);
    assert.equal(r.stats.stale, 1);
    assert.equal(value(r, first).length, 1);
    assert.ok(Number.isNaN(value(r, first)[0].value), 'staleness marker');
    assert.deepEqual(
      value(r, second).map((s) => s.value),
      [30],
    );
    assert.equal(p.seriesCount, 1);

    // and comes back: a new series again, not a duplicate of the other
    r = run(p, `${first} 40\n${second} 50\n`, 1_045_000);
    assert.deepEqual([r.stats.added, r.stats.duplicates, r.stats.stale], [1, 0, 0]);
    assert.deepEqual(
      value(r, first).map((s) => s.value),
      [40],
    );
    assert.deepEqual(
      value(r, second).map((s) => s.value),
      [50],
    );
  }
});

test('a series that goes away gets a staleness marker only if its samples had no timestamp of their own (as Prometheus)', () => {
  const p = new TargetPipeline(opts());
  run(p, 'plain 1\nstamped 2 999000\n', 1_000_000);
  const { byName } = run(p, 'other 1\n', 1_015_000);
  assert.equal(byName('plain').length, 1, 'a marker for the series without a timestamp');
  assert.equal(
    byName('stamped').length,
    0,
    'none for the timestamped one: its marker would be later than its samples',
  );
});

test('a line split over many pieces is joined once: linear in its length, not quadratic', () => {
  const p = new TargetPipeline(pipelineOptions());
  const line = `m{v="${'x'.repeat(4 << 20)}"} 1\n`; // a 4 MiB line in 4 KiB pieces
  const body = Buffer.from(line);
  const concat = Buffer.concat;
  let copied = 0;
  Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
    const b = concat(list, total);
    copied += b.length;
    return b;
  }) as typeof Buffer.concat;
  try {
    p.begin(false, 1000);
    for (let i = 0; i < body.length; i += 4096) p.feed(body.subarray(i, i + 4096));
    const st = p.end(() => undefined, 0).stats!;
    assert.equal(st.scraped, 1);
  } finally {
    Buffer.concat = concat;
  }
  assert.ok(copied <= 2 * body.length, `${copied} bytes copied to join a ${body.length}-byte line`);
});

test('line_size_limit and sample_limit fail the scrape as soon as they are passed', () => {
  const lines = new TargetPipeline(pipelineOptions({ lineSizeLimit: 1000 }));
  lines.begin(false, 1000);
  lines.feed(Buffer.from('ok 1\n' + 'y'.repeat(600)));
  assert.throws(
    () => lines.feed(Buffer.from('y'.repeat(600))),
    /line 2 is longer than line_size_limit \(1000 bytes\)/,
  );
  const samples = new TargetPipeline(pipelineOptions({ sampleLimit: 2 }));
  samples.begin(false, 1000);
  assert.throws(
    () => samples.feed(Buffer.from('a 1\nb 1\nc 1\nd 1\n')),
    /sample_limit exceeded: 3 samples > 2/,
  );
});

test('invalid UTF-8 or NUL in a label value: that line is refused and counted with its line number, never altered', () => {
  const p = new TargetPipeline(pipelineOptions());
  const body = Buffer.concat([
    Buffer.from('ok{a="fine ✓"} 1\n'),
    Buffer.from('bad{a="x'),
    Buffer.from([0xff, 0xfe]),
    Buffer.from('y"} 2\n'),
    Buffer.from('nul{a="x\u0000y"} 3\n'),
    Buffer.from('replacement{a="\uFFFD is a real character"} 4\n'),
  ]);
  const chunks: Chunk[] = [];
  const stats = p.process(body, false, 1000, (c) => chunks.push(c));
  p.flush((c) => chunks.push(c));
  const names = chunks.flatMap((c) => decodeChunk(c.body)).map((s) => Object.fromEntries(s.labels).__name__);
  assert.deepEqual(names.sort(), ['ok', 'replacement']);
  assert.equal(stats.invalidLines, 2);
  assert.equal(stats.firstError, 'line 2: invalid UTF-8 in the value of label "a"');
  const again = new TargetPipeline(pipelineOptions()).process(
    Buffer.from('nul{a="x\u0000y"} 3\n'),
    false,
    1000,
    () => undefined,
  );
  assert.equal(again.firstError, 'line 1: NUL byte in the value of label "a"');
});
