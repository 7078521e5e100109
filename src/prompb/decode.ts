// Decoding of what ./encode.ts writes: for `--test` output, log examples and tests. Not on the hot
// path (the agent never decodes what it sends).
import { uncompressSync } from 'snappy';
import { STALE_NAN_BYTES, varintLength, writeVarint, type EncodedLabels, type LabelPairs } from './encode.js';

/** The varint at `p` and the offset after it. */
function varintAt(b: Buffer, p: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const c = b[p++];
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
    while (p < end) {
      const tag = b[p++];
      const len = readVarint();
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
    out.push({ labels: decodeLabels(Buffer.concat(labelParts)), value, timestampMs: ts, stale });
  }
  return out;
}

/** Decode a snappy-compressed WriteRequest (a Chunk body). */
export function decodeChunk(body: Buffer): DecodedSample[] {
  return decodeWriteRequest(uncompressSync(body) as Buffer);
}

function encodeVarint(v: number): Buffer {
  const b = Buffer.alloc(varintLength(v));
  writeVarint(b, 0, v);
  return b;
}
