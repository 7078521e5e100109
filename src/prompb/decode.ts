// Decoding of what ./encode.ts writes: for `--test` output, log examples and tests. Not on the hot
// path (the agent never decodes what it sends).
import { uncompressSync } from 'snappy';
import { STALE_NAN_BYTES, varintLength, writeVarint, type EncodedLabels, type LabelPairs } from './encode.js';

/** The varint at `p` and the offset after it (an int64 of ten bytes as a negative number). */
export function varintAt(b: Buffer, p: number): [number, number] {
  let v = 0;
  let mul = 1;
  const start = p;
  for (;;) {
    if (p >= b.length) throw new Error(`truncated varint at ${start}`);
    const c = b[p++]!;
    if (p - start === 10 && c > 1) throw new Error(`varint longer than 64 bits at ${start}`);
    if (p - start === 10) {
      // a negative int64 (ten bytes): exactly, through a BigInt
      let x = 0n;
      for (let i = p - 1; i >= start; i--) x = (x << 7n) | BigInt(b[i]! & 0x7f);
      return [Number(BigInt.asIntN(64, x)), p];
    }
    v += (c & 0x7f) * mul;
    if (c < 128) return [v, p];
    mul *= 128;
  }
}

/** Decode the labels field written by `encodeLabels` (for `--test` output and tests). */
export function decodeLabels(buf: Uint8Array | EncodedLabels): LabelPairs {
  const out: LabelPairs = [];
  const b =
    typeof buf === 'string'
      ? Buffer.from(buf, 'latin1')
      : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 0;
  const readVarint = (): number => {
    const [v, next] = varintAt(b, p);
    p = next;
    return v;
  };
  while (p < b.length) {
    p++; // tag 0x0a
    const end = readVarint() + p;
    let name = '';
    let value = '';
    while (p < end) {
      const tag = b[p++];
      const len = readVarint();
      const s = b.toString('utf8', p, p + len);
      p += len;
      if (tag === 0x0a) name = s;
      else value = s;
    }
    out.push([name, value]);
  }
  return out;
}

/** One decoded sample, for tests and `--test` output. */
export interface DecodedSample {
  labels: LabelPairs;
  value: number;
  timestampMs: number;
  stale: boolean;
  /** A native histogram sample (TimeSeries field 4): `value` is then its count. */
  histogram?: DecodedHistogram;
}

/** The fields of a remote write Histogram that tests and `--test` read. */
export interface DecodedHistogram {
  count: number;
  sum: number;
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  /** Flat [offset, length] pairs. */
  positiveSpans: number[];
  /** Deltas (integer histograms) or absolute counts (float histograms). */
  positive: number[];
  negativeSpans: number[];
  negative: number[];
  resetHint: number;
}

function zigzagDecode(v: number): number {
  return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
}

/** Decode a Histogram message (see encodeHistogram) between p and end. */
function decodeHistogram(
  b: Buffer,
  p: number,
  end: number,
): { h: DecodedHistogram; ts: number; stale: boolean } {
  const h: DecodedHistogram = {
    count: 0,
    sum: 0,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    positiveSpans: [],
    positive: [],
    negativeSpans: [],
    negative: [],
    resetHint: 0,
  };
  let ts = 0;
  let stale = false;
  const v = (): number => {
    const [x, next] = varintAt(b, p);
    p = next;
    return x;
  };
  const d = (): number => {
    const x = b.readDoubleLE(p);
    p += 8;
    return x;
  };
  while (p < end) {
    const tag = v();
    const field = tag >>> 3;
    if (field === 1) h.count = v();
    else if (field === 2) h.count = d();
    else if (field === 3) {
      stale = b.subarray(p, p + 8).equals(STALE_NAN_BYTES);
      h.sum = d();
    } else if (field === 4) h.schema = zigzagDecode(v());
    else if (field === 5) h.zeroThreshold = d();
    else if (field === 6) h.zeroCount = v();
    else if (field === 7) h.zeroCount = d();
    else if (field === 8 || field === 11) {
      const e = v() + p;
      let offset = 0;
      let length = 0;
      while (p < e) {
        const t = v();
        if (t === 0x08) offset = zigzagDecode(v());
        else length = v();
      }
      (field === 8 ? h.negativeSpans : h.positiveSpans).push(offset, length);
    } else if (field === 9 || field === 12 || field === 10 || field === 13) {
      const e = v() + p;
      const out = field === 9 || field === 10 ? h.negative : h.positive;
      while (p < e) out.push(field === 9 || field === 12 ? zigzagDecode(v()) : d());
    } else if (field === 14) h.resetHint = v();
    else if (field === 15) ts = v();
    else throw new Error(`unexpected field in Histogram: ${field}`);
  }
  return { h, ts, stale };
}

/** Decode a WriteRequest body (uncompressed) produced by this module. */
export function decodeWriteRequest(body: Uint8Array): DecodedSample[] {
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const out: DecodedSample[] = [];
  let p = 0;
  const readVarint = (): number => {
    const [v, next] = varintAt(b, p);
    p = next;
    return v;
  };
  while (p < b.length) {
    if (b[p++] !== 0x0a) throw new Error(`unexpected field in WriteRequest at ${p - 1}`);
    const end = readVarint() + p;
    const labelParts: Buffer[] = [];
    let value = 0;
    let ts = 0;
    let stale = false;
    let histogram: DecodedHistogram | undefined;
    while (p < end) {
      const tag = b[p++];
      const len = readVarint();
      if (tag === 0x22) {
        const r = decodeHistogram(b, p, p + len);
        histogram = r.h;
        value = r.h.count;
        ts = r.ts;
        stale = r.stale;
        p += len;
        continue;
      }
      if (tag === 0x0a) {
        labelParts.push(Buffer.concat([Buffer.from([0x0a]), encodeVarint(len), b.subarray(p, p + len)]));
        p += len;
      } else if (tag === 0x12) {
        const se = p + len;
        while (p < se) {
          const t = b[p++];
          if (t === 0x09) {
            stale = b.subarray(p, p + 8).equals(STALE_NAN_BYTES);
            value = b.readDoubleLE(p);
            p += 8;
          } else if (t === 0x10) {
            ts = readVarint();
          } else {
            throw new Error(`unexpected field in Sample: ${t}`);
          }
        }
      } else {
        throw new Error(`unexpected field in TimeSeries: ${tag}`);
      }
    }
    const sample: DecodedSample = {
      labels: decodeLabels(Buffer.concat(labelParts)),
      value,
      timestampMs: ts,
      stale,
    };
    if (histogram) sample.histogram = histogram;
    out.push(sample);
  }
  return out;
}

/** Decode a snappy-compressed WriteRequest (a Chunk body). */
export function decodeChunk(body: Buffer): DecodedSample[] {
  // a chunk whose other form carries its samples (Chunk.native) may have an empty body
  if (body.length === 0) return [];
  return decodeWriteRequest(uncompressSync(body) as Buffer);
}

function encodeVarint(v: number): Buffer {
  const b = Buffer.alloc(varintLength(v));
  writeVarint(b, 0, v);
  return b;
}
