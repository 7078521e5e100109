import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { decodeWriteRequest } from './decode.js';
import { encodeLabels, WriteRequestBuilder, type LabelPairs } from './encode.js';

// prompb/types.proto + remote.proto, the parts remote write 1.0 uses: an independent decoder.
const root = protobuf.parse(`
syntax = "proto3";
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
`).root;
const WriteRequest = root.lookupType('WriteRequest');

interface PbSeries {
  labels: Array<{ name: string; value: string }>;
  samples: Array<{ value: number; timestamp: { toNumber(): number } | number }>;
}

function decodeWithProtobufjs(body: Buffer): PbSeries[] {
  return (WriteRequest.decode(body) as unknown as { timeseries: PbSeries[] }).timeseries;
}

test('encoded WriteRequest decodes with protobufjs: labels, value, timestamp', () => {
  const b = new WriteRequestBuilder(16); // tiny initial size: exercises growth
  const labels: LabelPairs = [
    ['__name__', 'container_cpu_usage_seconds_total'],
    ['container', 'nginx'],
    ['namespace', 'shop'],
    ['pod', 'web-5d4f8c7b9-x2x7q'],
    ['value', 'ünïcode "quoted" \\ back'],
  ];
  b.append(encodeLabels(labels), 12345.678, 1_782_468_875_486);
  b.append(encodeLabels([['__name__', 'up']]), 1, 1);
  assert.equal(b.samples, 2);
  const ts = decodeWithProtobufjs(b.take());
  assert.equal(ts.length, 2);
  assert.deepEqual(
    ts[0].labels.map((l) => [l.name, l.value]),
    labels,
  );
  assert.equal(ts[0].samples[0].value, 12345.678);
  assert.equal(Number(ts[0].samples[0].timestamp.toString()), 1_782_468_875_486);
  assert.equal(ts[1].samples[0].value, 1);
});

test('staleness marker is the exact NaN bit pattern 0x7ff0000000000002', () => {
  const b = new WriteRequestBuilder();
  b.append(encodeLabels([['__name__', 'x']]), 0, 1000, true);
  const body = b.take();
  const [s] = decodeWriteRequest(body);
  assert.equal(s.stale, true);
  const pb = decodeWithProtobufjs(body)[0].samples[0];
  assert.ok(Number.isNaN(pb.value));
  const raw = Buffer.alloc(8);
  // the 8 value bytes follow the 0x09 tag inside the sample
  const at = body.indexOf(Buffer.from([0x09, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]));
  assert.ok(at > 0, 'stale NaN bytes present');
  body.copy(raw, 0, at + 1, at + 9);
  assert.equal(raw.readBigUInt64LE(), 0x7ff0000000000002n);
});

test('special values round-trip: NaN, +Inf, -Inf, -0, tiny and huge', () => {
  const values = [NaN, Infinity, -Infinity, -0, 5e-324, 1.7976931348623157e308];
  const b = new WriteRequestBuilder();
  const l = encodeLabels([['__name__', 'v']]);
  for (const v of values) b.append(l, v, 0);
  const got = decodeWriteRequest(b.take()).map((s) => s.value);
  assert.deepEqual(got, values);
});

test('property: any labels and values round-trip through protobufjs', () => {
  const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,20}$/);
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(name, fc.string({ minLength: 1, maxLength: 200, unit: 'grapheme' })), {
        selector: (t) => t[0],
        maxLength: 12,
      }),
      fc.double(),
      fc.integer({ min: 0, max: 2 ** 50 }),
      (pairs, value, ts) => {
        const sorted = [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : 1));
        const b = new WriteRequestBuilder(8);
        b.append(encodeLabels(sorted), value, ts);
        const [s] = decodeWithProtobufjs(b.take());
        assert.deepEqual(
          s.labels.map((x) => [x.name, x.value]),
          sorted,
        );
        assert.ok(
          Object.is(s.samples[0].value, value) || (Number.isNaN(value) && Number.isNaN(s.samples[0].value)),
        );
        assert.equal(Number(s.samples[0].timestamp.toString()), ts);
      },
    ),
    { numRuns: 300 },
  );
});

test('a label set larger than the encoder scratch space (100 labels, 100 KiB) round-trips, and a small one after it', () => {
  const big: LabelPairs = Array.from({ length: 100 }, (_, i) => [
    `l${String(i).padStart(3, '0')}`,
    `é${'x'.repeat(1000)}${i}`,
  ]);
  const small: LabelPairs = [
    ['__name__', 'up'],
    ['job', 'ü'],
  ];
  for (const labels of [big, small]) {
    const b = new WriteRequestBuilder(8);
    b.append(encodeLabels(labels), 1, 2);
    const [s] = decodeWithProtobufjs(b.take());
    assert.deepEqual(
      s.labels.map((x) => [x.name, x.value]),
      labels,
    );
  }
});

test('builders share their buffers between scrapes: a released buffer serves another builder, never one with pending data', () => {
  const a = new WriteRequestBuilder(1024);
  const b = new WriteRequestBuilder(1024);
  const la = encodeLabels([['__name__', 'a']]);
  const lb = encodeLabels([['__name__', 'b']]);
  a.append(la, 1, 1000);
  a.release(); // pending data: kept
  assert.equal(a.samples, 1);
  const bodyA = a.take();
  a.release(); // given back
  for (let i = 0; i < 500; i++) b.append(lb, i, 2000 + i); // grows past the pooled size
  a.append(la, 2, 3000); // takes another buffer while b holds one
  const decodedB = decodeWriteRequest(b.take());
  const decodedA = decodeWriteRequest(a.take());
  assert.deepEqual(
    decodeWriteRequest(bodyA).map((s) => s.value),
    [1],
  );
  assert.equal(decodedB.length, 500);
  assert.deepEqual(
    decodedB.map((s) => s.value),
    Array.from({ length: 500 }, (_, i) => i),
  );
  assert.deepEqual(
    decodedA.map((s) => [s.labels, s.value, s.timestampMs]),
    [[[['__name__', 'a']], 2, 3000]],
  );
  b.release();
  a.release();
});

test('a negative timestamp (before 1970) is a ten-byte varint that decodes back exactly', () => {
  const b = new WriteRequestBuilder();
  b.append(encodeLabels([['__name__', 'old']]), 1, -5000);
  b.append(encodeLabels([['__name__', 'new']]), 2, 1_700_000_000_000);
  const got = decodeWriteRequest(b.take());
  assert.deepEqual(
    got.map((s) => [s.labels[0]![1], s.value, s.timestampMs]),
    [
      ['old', 1, -5000],
      ['new', 2, 1_700_000_000_000],
    ],
  );
});
