// The protobuf exposition decoder: the real captures parse, agree with their text twin, and give
// the same result however the body is cut into pieces; native histograms (encoded here by
// protobufjs, an independent implementation of the wire format) come out as sent; bad bytes fail
// with a message, never a crash.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { classicBuckets } from '../histogram.js';
import { parseAll, type ParsedSample } from '../testing/parse-all.js';
import { fixture, fixturesMissing } from '../testing/shared.js';
import { mulberry32 } from '../sim/util.js';
import { ProtobufDecoder, ProtobufError, type NativeSample } from './protobuf.js';

const skip = fixturesMissing();

/** Decode a whole body given in pieces of the sizes `cut` returns. */
function decode(
  body: Buffer,
  cut: () => number = () => body.length,
): { text: Buffer; natives: NativeSample[] } {
  const texts: Buffer[] = [];
  const natives: NativeSample[] = [];
  const d = new ProtobufDecoder(
    (t) => texts.push(Buffer.from(t)),
    (s) => natives.push(s),
  );
  for (let p = 0; p < body.length;) {
    const n = Math.max(1, cut());
    d.push(body.subarray(p, p + n));
    p += n;
  }
  d.end();
  return { text: Buffer.concat(texts), natives };
}

const key = (s: ParsedSample) => s.name + JSON.stringify(Object.entries(s.labels).sort());

test(
  'the protobuf capture parses to the same samples as its text twin (prometheus/common expfmt testdata)',
  { skip },
  () => {
    const pb = decode(readFileSync(fixture('exposition', 'promcommon-expfmt-protobuf-delimited.bin')));
    const fromPb = parseAll(pb.text, { openMetrics: false });
    const fromText = parseAll(readFileSync(fixture('exposition', 'promcommon-expfmt-text.prom.txt')), {
      openMetrics: false,
    });
    assert.deepEqual(fromPb.errors, []);
    assert.equal(fromPb.samples.length, fromText.samples.length);
    assert.ok(fromText.samples.length > 200);
    const want = new Map(fromText.samples.map((s) => [key(s), s.value]));
    for (const s of fromPb.samples) {
      assert.ok(want.has(key(s)), `${key(s)} is not in the text twin`);
      assert.ok(Object.is(want.get(key(s)), s.value), `${key(s)}: ${s.value} vs ${want.get(key(s))}`);
    }
    assert.deepEqual(
      fromPb.families.map((f) => [f.name, f.type]).sort(),
      fromText.families.map((f) => [f.name, f.type]).sort(),
    );
  },
);

test('a kubelet /metrics/cadvisor capture in protobuf parses whole, the same in any pieces', { skip }, () => {
  const body = readFileSync(fixture('exposition', 'nri-kubelet-cadvisor-protobuf-delimited.bin'));
  const whole = decode(body);
  const page = parseAll(whole.text, { openMetrics: false });
  assert.deepEqual(page.errors, []);
  assert.equal(page.families.length, 53);
  assert.ok(page.samples.length > 3000, `${page.samples.length} samples`);
  assert.ok(page.samples.some((s) => s.name === 'container_cpu_usage_seconds_total' && s.labels.pod_name));
  const seed = Number(process.env.SEED ?? Date.now() % 1e9);
  const rng = mulberry32(seed);
  for (let round = 0; round < 5; round++) {
    const pieces = decode(body, () => Math.floor(rng() * 3000));
    assert.ok(pieces.text.equals(whole.text), `seed ${seed}: pieces decode differently`);
  }
});

test('one byte at a time: a length prefix or a message cut anywhere', { skip }, () => {
  const body = readFileSync(fixture('exposition', 'promcommon-expfmt-protobuf-delimited.bin'));
  assert.ok(decode(body, () => 1).text.equals(decode(body).text));
});

test('the multi-message capture (several families, one body) decodes every family', { skip }, () => {
  const { text } = decode(readFileSync(fixture('exposition', 'promcommon-expfmt-protobuf-multimessage.bin')));
  const page = parseAll(text, { openMetrics: false });
  assert.deepEqual(page.errors, []);
  assert.equal(page.families.length, 6);
});

// client_model's metrics.proto, the parts a histogram needs (field numbers as published)
const root = protobuf.parse(`
syntax = "proto2";
package io.prometheus.client;
message LabelPair { optional string name = 1; optional string value = 2; }
message Bucket { optional uint64 cumulative_count = 1; optional double cumulative_count_float = 4; optional double upper_bound = 2; }
message BucketSpan { optional sint32 offset = 1; optional uint32 length = 2; }
message Histogram {
  optional uint64 sample_count = 1; optional double sample_count_float = 4; optional double sample_sum = 2;
  repeated Bucket bucket = 3; optional sint32 schema = 5; optional double zero_threshold = 6;
  optional uint64 zero_count = 7; optional double zero_count_float = 8;
  repeated BucketSpan negative_span = 9; repeated sint64 negative_delta = 10; repeated double negative_count = 11;
  repeated BucketSpan positive_span = 12; repeated sint64 positive_delta = 13; repeated double positive_count = 14;
}
message Gauge { optional double value = 1; }
message Metric { repeated LabelPair label = 1; optional Gauge gauge = 2; optional Histogram histogram = 7; optional int64 timestamp_ms = 6; }
message MetricFamily { optional string name = 1; optional string help = 2; optional int32 type = 3; repeated Metric metric = 4; }
`).root;
const MetricFamily = root.lookupType('io.prometheus.client.MetricFamily');

function delimited(...families: object[]): Buffer {
  const w = protobuf.Writer.create();
  for (const f of families) MetricFamily.encodeDelimited(MetricFamily.fromObject(f), w);
  return Buffer.from(w.finish());
}

test('a native histogram comes out as sent, with its classic buckets as text when it has both', () => {
  const body = delimited(
    {
      name: 'kubelet_pleg_relist_duration_seconds',
      help: 'Duration in seconds for relisting pods in PLEG.',
      type: 4,
      metric: [
        {
          label: [{ name: 'node', value: 'n1' }],
          histogram: {
            sampleCount: 10,
            sampleSum: 0.5,
            bucket: [
              { cumulativeCount: 4, upperBound: 0.01 },
              { cumulativeCount: 10, upperBound: 0.1 },
            ],
            schema: 3,
            zeroThreshold: 2.938735877055719e-39,
            zeroCount: 1,
            positiveSpan: [
              { offset: -60, length: 2 },
              { offset: 3, length: 1 },
            ],
            positiveDelta: [4, -2, 1],
          },
        },
      ],
    },
    { name: 'up', type: 1, metric: [{ gauge: { value: 1 }, timestampMs: 1700000000000 }] },
  );
  const { text, natives } = decode(body);
  assert.equal(natives.length, 1);
  const n = natives[0]!;
  assert.equal(n.key, 'kubelet_pleg_relist_duration_seconds{node="n1"}');
  assert.equal(n.hasClassic, true);
  assert.ok(Number.isNaN(n.timestampMs));
  assert.deepEqual(
    { ...n.h },
    {
      float: false,
      count: 10,
      sum: 0.5,
      schema: 3,
      zeroThreshold: 2.938735877055719e-39,
      zeroCount: 1,
      negativeSpans: [],
      negativeDeltas: [],
      negativeCounts: [],
      positiveSpans: [-60, 2, 3, 1],
      positiveDeltas: [4, -2, 1],
      positiveCounts: [],
      gauge: false,
    },
  );
  // buckets -60, -59 (counts 4, 2), then -55 (count 3); the zero bucket holds 1
  assert.deepEqual(classicBuckets(n.h), [
    [2.938735877055719e-39, 1],
    [Math.pow(2, -60 / 8), 5],
    [Math.pow(2, -59 / 8), 7],
    [Math.pow(2, -55 / 8), 10],
    [Infinity, 10],
  ]);
  const page = parseAll(text, { openMetrics: false });
  assert.deepEqual(page.errors, []);
  assert.deepEqual(
    page.samples.map(
      (s) =>
        `${s.name}${s.labels.le ? ' le=' + s.labels.le : ''} ${s.value}${s.timestampMs ? ' @' + s.timestampMs : ''}`,
    ),
    [
      'kubelet_pleg_relist_duration_seconds_bucket le=0.01 4',
      'kubelet_pleg_relist_duration_seconds_bucket le=0.1 10',
      'kubelet_pleg_relist_duration_seconds_bucket le=+Inf 10',
      'kubelet_pleg_relist_duration_seconds_sum 0.5',
      'kubelet_pleg_relist_duration_seconds_count 10',
      'up 1 @1700000000000',
    ],
  );
});

test('a native-only histogram has no classic text lines: its series come from the conversion', () => {
  const body = delimited({
    name: 'req_seconds',
    type: 4,
    metric: [
      {
        histogram: {
          sampleCount: 3,
          sampleSum: 1.5,
          schema: 0,
          positiveSpan: [{ offset: 0, length: 1 }],
          positiveDelta: [3],
        },
      },
    ],
  });
  const { text, natives } = decode(body);
  assert.equal(parseAll(text, { openMetrics: false }).samples.length, 0);
  assert.equal(natives.length, 1);
  assert.equal(natives[0]!.hasClassic, false);
  assert.deepEqual(classicBuckets(natives[0]!.h), [
    [1, 3],
    [Infinity, 3],
  ]);
});

test('bad bytes fail with a ProtobufError, never a crash or a hang', () => {
  const good = delimited({ name: 'a', type: 1, metric: [{ gauge: { value: 1 } }] });
  // truncated: the body ends inside the message
  assert.throws(() => decode(good.subarray(0, good.length - 2)), ProtobufError);
  // a length that runs past the message it is in
  const bad = Buffer.from(good);
  bad[2] = 0x7f;
  assert.throws(() => decode(bad), ProtobufError);
  // text sent as protobuf
  assert.throws(() => decode(Buffer.from('# HELP a b\na 1\n'.repeat(4))), ProtobufError);
  const seed = Number(process.env.SEED ?? Date.now() % 1e9);
  const rng = mulberry32(seed);
  for (let i = 0; i < 300; i++) {
    const junk = Buffer.from(good);
    junk[Math.floor(rng() * junk.length)] = Math.floor(rng() * 256);
    try {
      decode(junk);
    } catch (err) {
      assert.ok(err instanceof ProtobufError, `seed ${seed}: ${String(err)}`);
    }
  }
});

test('le and quantile are spelt as the client libraries spell them in text (Go %g): 1e-05, 1.048576e+06', () => {
  const body = delimited({
    name: 'op_seconds',
    type: 4,
    metric: [
      {
        histogram: {
          sampleCount: 2,
          sampleSum: 1,
          bucket: [
            { cumulativeCount: 1, upperBound: 0.00001 },
            { cumulativeCount: 2, upperBound: 1048576 },
          ],
        },
      },
    ],
  });
  const { text } = decode(body);
  assert.match(text.toString(), /^op_seconds_bucket\{le="1e-05"\} 1$/m);
  assert.match(text.toString(), /^op_seconds_bucket\{le="1.048576e\+06"\} 2$/m);
  assert.match(text.toString(), /^op_seconds_bucket\{le="\+Inf"\} 2$/m);
});

test('an inconsistent native histogram fails with a ProtobufError at once (a span of 5 million buckets, one delta; schema 9)', () => {
  const h = (histogram: object) => delimited({ name: 'x_seconds', type: 4, metric: [{ histogram }] });
  const t0 = performance.now();
  assert.throws(
    () =>
      decode(
        h({
          sampleCount: 1,
          schema: 0,
          positiveSpan: [{ offset: 0, length: 5_000_000 }],
          positiveDelta: [1],
        }),
      ),
    /spans describe 5000000 buckets but give 1 counts/,
  );
  assert.ok(performance.now() - t0 < 1000, 'no walk over the buckets');
  assert.throws(
    () =>
      decode(h({ sampleCount: 1, schema: 9, positiveSpan: [{ offset: 0, length: 1 }], positiveDelta: [1] })),
    /schema 9/,
  );
  assert.throws(
    () =>
      decode(
        h({
          sampleCount: 2,
          schema: 0,
          positiveSpan: [
            { offset: 0, length: 1 },
            { offset: -3, length: 1 },
          ],
          positiveDelta: [1, 0],
        }),
      ),
    /negative positive span offset/,
  );
});

test('negative timestamps decode exactly; a gauge histogram reads as a histogram; a name with a newline is one invalid line', () => {
  const { text } = decode(
    delimited(
      { name: 'old', type: 1, metric: [{ gauge: { value: 1 }, timestampMs: -5000 }] },
      {
        name: 'g',
        type: 5,
        metric: [
          { histogram: { sampleCount: 2, sampleSum: 3, bucket: [{ cumulativeCount: 2, upperBound: 1 }] } },
        ],
      },
      { name: 'bad\nup', type: 1, metric: [{ label: [{ name: 'a"b', value: 'v' }], gauge: { value: 1 } }] },
    ),
  );
  const page = parseAll(text, { openMetrics: false });
  const lines = page.samples.map(
    (s) => `${s.name} ${s.value}${s.timestampMs !== undefined ? ' @' + s.timestampMs : ''}`,
  );
  assert.ok(lines.includes('old 1 @-5000'), lines.join('\n'));
  assert.ok(lines.includes('g_sum 3') && lines.includes('g_count 2'), lines.join('\n'));
  assert.equal(page.families.find((f) => f.name === 'g')?.type, 'histogram');
  assert.ok(!lines.some((l) => l.startsWith('up ')), 'no line injected by the name');
  assert.ok(page.errors.length >= 1);
});
