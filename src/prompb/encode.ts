import { compressSync } from 'snappy';
import type { NativeHistogram } from '../histogram.js';

// Prometheus remote write 1.0 protobuf, hand-encoded (prometheus/prompb/types.proto). This module
// is the wire format shared by the scrape side (which encodes) and the write side (which only moves
// bytes); it depends on no stage. Decoding lives in ./decode.ts (tests, `--test`, log examples).
//
//   WriteRequest { repeated TimeSeries timeseries = 1; }
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }
//   TimeSeries also has `repeated Histogram histograms = 4` (native histograms, encodeHistogram).
// A series' labels are encoded once (on a scrape-cache miss) and the bytes are reused for every
// later sample: a sample then costs one copy plus 16 bytes. Because a WriteRequest is nothing but
// its repeated field, concatenating encoded TimeSeries entries yields a valid request body.

export type LabelPairs = Array<[string, string]>;

/**
 * The encoded `labels` field of a TimeSeries as a one-byte (latin1) string: each char is one byte
 * (`latin1Write` copies it out at memcpy speed). The series cache keeps the sets of its entries as
 * bytes in an arena instead (scrape/label-arena.ts); strings carry them between stages and in tests.
 */
export type EncodedLabels = string;

/** The special NaN Prometheus uses as a staleness marker, as little-endian bytes. */
export const STALE_NAN_BYTES = Buffer.from([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);

export function varintLength(v: number): number {
  if (v < 0) return 10; // an int64 below zero: ten bytes of two's complement
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

export function writeVarint(buf: Buffer, pos: number, v: number): number {
  if (v < 0) return writeNegativeVarint(buf, pos, v);
  while (v >= 128) {
    buf[pos++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/**
 * A negative int64 (a timestamp before 1970 a target sent) as protobuf writes it: the ten-byte
 * varint of its two's complement. Rare: through a BigInt.
 */
function writeNegativeVarint(buf: Buffer, pos: number, v: number): number {
  let x = BigInt.asUintN(64, BigInt(Math.trunc(v)));
  for (let i = 0; i < 9; i++) {
    buf[pos++] = Number(x & 0x7fn) | 0x80;
    x >>= 7n;
  }
  buf[pos++] = Number(x);
  return pos;
}

/** Scratch space of encodeLabels: grows to the largest label set met, reused for every series. */
let scratch = Buffer.allocUnsafe(16 * 1024);
let lengths = new Int32Array(64);

/**
 * Encode labels (already sorted by name, `__name__` included) as the `labels` field of a TimeSeries.
 * Written straight into one reused buffer: encoding each name and value into a Buffer of its own
 * first (18 allocations for a cAdvisor series) took a quarter of a first scrape's time (CPU
 * profile). Measured on three real cAdvisor captures, first scrape, medians of 3 interleaved runs:
 * 26.5 -> 29.4, 37.3 -> 41.7 and 30.5 -> 35.6 MB/s (1.11-1.17 x); copying ASCII names and values
 * with latin1Write instead of Buffer#write then gave 33.2, 46.3 and 39.2 (1.24-1.29 x in all).
 */
export function encodeLabels(labels: LabelPairs): EncodedLabels {
  const b = encodeLabelBytes(labels);
  return b.latin1Slice(0, b.length);
}

/**
 * The same as bytes: a view of a scratch buffer, valid until the next call (the series cache copies
 * them into its label runs; no string is made on a cache miss).
 */
export function encodeLabelBytes(labels: LabelPairs): Buffer {
  if (lengths.length < labels.length * 2) lengths = new Int32Array(labels.length * 4);
  let size = 0;
  for (let i = 0; i < labels.length; i++) {
    const [name, value] = labels[i]!;
    const n = Buffer.byteLength(name, 'utf8');
    const v = Buffer.byteLength(value, 'utf8');
    lengths[2 * i] = n;
    lengths[2 * i + 1] = v;
    const inner = 1 + varintLength(n) + n + 1 + varintLength(v) + v;
    size += 1 + varintLength(inner) + inner;
  }
  if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, 2 * scratch.length));
  const out = scratch;
  let p = 0;
  for (let i = 0; i < labels.length; i++) {
    const [name, value] = labels[i]!;
    const n = lengths[2 * i]!;
    const v = lengths[2 * i + 1]!;
    const inner = 1 + varintLength(n) + n + 1 + varintLength(v) + v;
    out[p++] = 0x0a;
    p = writeVarint(out, p, inner);
    out[p++] = 0x0a;
    p = writeVarint(out, p, n);
    // byte length = length: ASCII, copied by the one-byte binding (Buffer#write's dispatch was 15 %)
    p += n === name.length ? out.latin1Write(name, p, n) : out.write(name, p, n, 'utf8');
    out[p++] = 0x12;
    p = writeVarint(out, p, v);
    p += v === value.length ? out.latin1Write(value, p, v) : out.write(value, p, v, 'utf8');
  }
  return out.subarray(0, p);
}

const f64 = new Float64Array(1);
const f64bytes = new Uint8Array(f64.buffer);

/**
 * The builders' buffers, shared by every target: a builder takes one for the request it starts and
 * gives it back when its scrape is flushed (`release`), so the agent holds about as many as scrapes
 * run at once, not one per target (a cAdvisor request of 1,000 samples needs ~512 KiB: 20 targets
 * held 10-20 MiB of them between their scrapes). At most POOL_MAX wait here; more are left to the GC.
 */
const pool: Buffer[] = [];
const POOL_MAX = 4;
const EMPTY = Buffer.alloc(0);

function takeBuffer(min: number): Buffer {
  for (let i = pool.length - 1; i >= 0; i--) {
    if (pool[i]!.length >= min) return pool.splice(i, 1)[0]!;
  }
  return Buffer.allocUnsafeSlow(min);
}

/** Accumulates encoded TimeSeries entries into one growing buffer: the body of a WriteRequest. */
export class WriteRequestBuilder {
  private buf: Buffer = EMPTY;
  private pos = 0;
  samples = 0;

  constructor(private readonly initialBytes = 64 * 1024) {}

  get length(): number {
    return this.pos;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    if (this.buf.length === 0) {
      this.buf = takeBuffer(Math.max(this.initialBytes, extra));
      return;
    }
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Between scrapes: give the buffer back to the shared pool (only when nothing is pending). */
  release(): void {
    if (this.pos !== 0 || this.buf.length === 0) return;
    if (pool.length < POOL_MAX) pool.push(this.buf);
    this.buf = EMPTY;
  }

  /** Append one TimeSeries with a single sample. `stale` writes Prometheus's staleness NaN. */
  append(labels: EncodedLabels, value: number, timestampMs: number, stale = false): void {
    const n = labels.length;
    const sampleLen = 1 + 8 + 1 + varintLength(timestampMs);
    const p = this.open(n, sampleLen);
    this.sample(p + this.buf.latin1Write(labels, p, n), sampleLen, value, timestampMs, stale);
  }

  /**
   * The same, with the encoded labels given as two runs of bytes of `src` (the series cache's label
   * runs, scrape/label-arena.ts): two Buffer#copy calls, no string.
   */
  appendRuns(
    src: Buffer,
    offA: number,
    lenA: number,
    offB: number,
    lenB: number,
    value: number,
    timestampMs: number,
    stale = false,
  ): void {
    const sampleLen = 1 + 8 + 1 + varintLength(timestampMs);
    let p = this.open(lenA + lenB, sampleLen);
    p += src.copy(this.buf, p, offA, offA + lenA);
    p += src.copy(this.buf, p, offB, offB + lenB);
    this.sample(p, sampleLen, value, timestampMs, stale);
  }

  /**
   * Append one TimeSeries with a native histogram sample (field 4): not on the hot path (a few
   * hundred per kubelet scrape), so built with a copy of the encoded histogram.
   */
  appendHistogram(labels: EncodedLabels, histogram: Buffer): void {
    const n = labels.length;
    const inner = n + 1 + varintLength(histogram.length) + histogram.length;
    this.ensure(1 + 5 + inner);
    const b = this.buf;
    b[this.pos] = 0x0a;
    let p = writeVarint(b, this.pos + 1, inner);
    p += b.latin1Write(labels, p, n);
    b[p++] = 0x22;
    p = writeVarint(b, p, histogram.length);
    p += histogram.copy(b, p);
    this.pos = p;
    this.samples++;
  }

  /** Room for a series with `labelsLength` bytes of labels, and its header; returns where the labels go. */
  private open(labelsLength: number, sampleLen: number): number {
    const seriesLen = labelsLength + 1 + 1 + sampleLen; // sampleLen < 128: one-byte length
    this.ensure(1 + 5 + seriesLen);
    const b = this.buf;
    b[this.pos] = 0x0a;
    return writeVarint(b, this.pos + 1, seriesLen);
  }

  /** The sample field after the labels at `p`. */
  private sample(p: number, sampleLen: number, value: number, timestampMs: number, stale: boolean): void {
    const b = this.buf;
    b[p++] = 0x12;
    b[p++] = sampleLen;
    b[p++] = 0x09;
    if (stale) {
      b.set(STALE_NAN_BYTES, p);
    } else {
      f64[0] = value;
      b[p] = f64bytes[0];
      b[p + 1] = f64bytes[1];
      b[p + 2] = f64bytes[2];
      b[p + 3] = f64bytes[3];
      b[p + 4] = f64bytes[4];
      b[p + 5] = f64bytes[5];
      b[p + 6] = f64bytes[6];
      b[p + 7] = f64bytes[7];
    }
    p += 8;
    b[p++] = 0x10;
    this.pos = writeVarint(b, p, timestampMs);
    this.samples++;
  }

  /** The encoded request so far (a copy), and reset for reuse. */
  take(): Buffer {
    const out = Buffer.allocUnsafeSlow(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    this.samples = 0;
    return out;
  }

  /**
   * The encoded request so far, snappy-compressed (a request body ready to send), and reset. The
   * builder's buffer is reused: no uncompressed copy is ever made.
   */
  takeCompressed(): Buffer {
    const out = compressSync(this.buf.subarray(0, this.pos), { copyOutputData: true });
    this.pos = 0;
    this.samples = 0;
    return out;
  }

  /** A view of the encoded bytes, valid until the next append, reset or release. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
    this.samples = 0;
  }
}

/** A zigzag-encoded signed value (sint32/sint64) as an unsigned varint value. */
function zigzag(v: number): number {
  return v >= 0 ? 2 * v : -2 * v - 1;
}

/** Writes protobuf fields into a growing list of small buffers (encodeHistogram only). */
class FieldWriter {
  private parts: number[] = [];

  varint(v: number): void {
    const b = Buffer.allocUnsafe(varintLength(v));
    writeVarint(b, 0, v);
    for (const x of b) this.parts.push(x);
  }

  double(v: number, stale = false): void {
    f64[0] = v;
    const bytes = stale ? STALE_NAN_BYTES : f64bytes;
    for (let i = 0; i < 8; i++) this.parts.push(bytes[i]!);
  }

  bytes(tag: number, sub: FieldWriter): void {
    const b = sub.toBuffer();
    this.varint(tag);
    this.varint(b.length);
    for (const x of b) this.parts.push(x);
  }

  toBuffer(): Buffer {
    return Buffer.from(this.parts);
  }
}

function spans(w: FieldWriter, tag: number, flat: number[]): void {
  for (let i = 0; i < flat.length; i += 2) {
    const s = new FieldWriter();
    s.varint(0x08);
    s.varint(zigzag(flat[i]!));
    s.varint(0x10);
    s.varint(flat[i + 1]!);
    w.bytes(tag, s);
  }
}

/**
 * A remote write 1.0 Histogram message (prompb/types.proto):
 *   count_int = 1 | count_float = 2; sum = 3; schema = 4 (sint32); zero_threshold = 5;
 *   zero_count_int = 6 | zero_count_float = 7; negative_spans = 8; negative_deltas = 9 (packed
 *   sint64); negative_counts = 10 (packed double); positive_spans = 11; positive_deltas = 12;
 *   positive_counts = 13; reset_hint = 14 (GAUGE = 3); timestamp = 15.
 * `stale`: Prometheus's staleness marker for a histogram series (sum = the stale NaN, no buckets).
 */
export function encodeHistogram(h: NativeHistogram, timestampMs: number, stale = false): Buffer {
  const w = new FieldWriter();
  if (stale) {
    w.varint(0x08);
    w.varint(0);
    w.varint(0x19);
    w.double(0, true);
    w.varint(0x78);
    w.varint(timestampMs);
    return w.toBuffer();
  }
  if (h.float) {
    w.varint(0x11);
    w.double(h.count);
  } else {
    w.varint(0x08);
    w.varint(h.count);
  }
  w.varint(0x19);
  w.double(h.sum);
  w.varint(0x20);
  w.varint(zigzag(h.schema));
  w.varint(0x29);
  w.double(h.zeroThreshold);
  if (h.float) {
    w.varint(0x39);
    w.double(h.zeroCount);
  } else {
    w.varint(0x30);
    w.varint(h.zeroCount);
  }
  spans(w, 0x42, h.negativeSpans);
  packed(w, 0x4a, h.float ? [] : h.negativeDeltas, false);
  packed(w, 0x52, h.float ? h.negativeCounts : [], true);
  spans(w, 0x5a, h.positiveSpans);
  packed(w, 0x62, h.float ? [] : h.positiveDeltas, false);
  packed(w, 0x6a, h.float ? h.positiveCounts : [], true);
  if (h.gauge) {
    w.varint(0x70);
    w.varint(3);
  }
  w.varint(0x78);
  w.varint(timestampMs);
  return w.toBuffer();
}

function packed(w: FieldWriter, tag: number, values: number[], doubles: boolean): void {
  if (values.length === 0) return;
  const s = new FieldWriter();
  for (const v of values) {
    if (doubles) s.double(v);
    else s.varint(zigzag(v));
  }
  w.bytes(tag, s);
}
