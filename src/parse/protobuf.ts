// The Prometheus protobuf exposition: a stream of varint-length-delimited `MetricFamily` messages
// (io.prometheus.client, prometheus/client_model metrics.proto), served for
// `Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`.
// It is the only exposition that carries native histograms (Kubernetes 1.36+ components).
//
// Contract: the decoder turns each family into
//   - the same series the text exposition of that family has (classic buckets, _sum, _count,
//     quantiles), written as text-format lines: the target's pipeline then parses them with the text
//     parser and its series cache, so a protobuf scrape shares the whole text hot path (cache,
//     relabeling, enrichment, staleness) and the two formats cannot disagree on a series;
//   - and, for each histogram with native buckets, a NativeSample (labels, the histogram as sent,
//     whether the family also had classic buckets). The pipeline sends those to the writers that
//     take native histograms, and converts them to classic series for the others (../scrape/native.ts).
// Transcoding costs a string per family; protobuf scrapes have their own row in `bench:parse`.
//
//   MetricFamily { string name = 1; string help = 2; MetricType type = 3; repeated Metric metric = 4; string unit = 5; }
//   Metric { repeated LabelPair label = 1; Gauge gauge = 2; Counter counter = 3; Summary summary = 4;
//            Untyped untyped = 5; Histogram histogram = 7; int64 timestamp_ms = 6; }
//   Histogram { uint64 sample_count = 1; double sample_count_float = 4; double sample_sum = 2;
//               repeated Bucket bucket = 3; sint32 schema = 5; double zero_threshold = 6;
//               uint64 zero_count = 7; double zero_count_float = 8; repeated BucketSpan negative_span = 9;
//               repeated sint64 negative_delta = 10; repeated double negative_count = 11;
//               repeated BucketSpan positive_span = 12; repeated sint64 positive_delta = 13;
//               repeated double positive_count = 14; ... }
//   Bucket { uint64 cumulative_count = 1; double cumulative_count_float = 4; double upper_bound = 2; }
//   BucketSpan { sint32 offset = 1; uint32 length = 2; }
import { emptyHistogram, type NativeHistogram } from '../histogram.js';
import type { Labels } from './text.js';
import { escapeLabelValue, formatFloat } from '../text-format.js';

export const PROTOBUF_CONTENT_TYPE =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';

/** One native histogram sample of a scrape. */
export interface NativeSample {
  /** The series as text (`name{labels}`), its identity across scrapes. */
  key: string;
  name: string;
  labels: Labels;
  h: NativeHistogram;
  /** Explicit timestamp in ms, NaN when none. */
  timestampMs: number;
  /** The family also exposed classic buckets: the classic series went out with the text lines. */
  hasClassic: boolean;
}

const enum MetricType {
  Counter = 0,
  Gauge = 1,
  Summary = 2,
  Untyped = 3,
  Histogram = 4,
  GaugeHistogram = 5,
}

const TYPE_NAMES = ['counter', 'gauge', 'summary', 'untyped', 'histogram', 'gaugehistogram'];

/** Malformed bytes: the scrape fails with this message (a protobuf page cannot be resynchronised). */
export class ProtobufError extends Error {}

/** Reads protobuf wire format from a Buffer range. */
class Reader {
  constructor(
    readonly b: Buffer,
    public p: number,
    public end: number,
  ) {}

  varint(): number {
    let v = 0;
    let mul = 1;
    const b = this.b;
    for (let i = 0; i < 10; i++) {
      if (this.p >= this.end) throw new ProtobufError('truncated varint');
      const c = b[this.p++]!;
      v += (c & 0x7f) * mul;
      if (c < 128) return v;
      mul *= 128;
    }
    throw new ProtobufError('varint longer than 10 bytes');
  }

  /** An int64 varint: negative values are 10-byte two's complement. */
  /** An int64 varint; a negative one (ten bytes, two's complement) exactly, through a BigInt. */
  int64(): number {
    const start = this.p;
    const v = this.varint();
    if (this.p - start < 10) return v;
    let x = 0n;
    for (let i = this.p - 1; i >= start; i--) x = (x << 7n) | BigInt(this.b[i]! & 0x7f);
    return Number(BigInt.asIntN(64, x));
  }

  zigzag(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  double(): number {
    if (this.p + 8 > this.end) throw new ProtobufError('truncated double');
    const v = this.b.readDoubleLE(this.p);
    this.p += 8;
    return v;
  }

  /** The end of a length-delimited field starting here. */
  sub(): number {
    const n = this.varint();
    const e = this.p + n;
    if (e > this.end) throw new ProtobufError('length-delimited field past the end of its message');
    return e;
  }

  string(): string {
    const e = this.sub();
    const s = this.b.toString('utf8', this.p, e);
    this.p = e;
    return s;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.p += 8;
    else if (wire === 2) this.p = this.sub();
    else if (wire === 5) this.p += 4;
    else throw new ProtobufError(`unsupported wire type ${wire}`);
    if (this.p > this.end) throw new ProtobufError('field past the end of its message');
  }

  /** A repeated scalar, packed (wire type 2) or one element (its own wire type). */
  repeated(wire: number, read: () => number, out: number[]): void {
    if (wire !== 2) {
      out.push(read());
      return;
    }
    const e = this.sub();
    const outer = this.end;
    this.end = e;
    while (this.p < e) out.push(read());
    this.end = outer;
  }
}

interface Classic {
  count: number;
  sum: number;
  /** [upper bound, cumulative count] */
  buckets: Array<[number, number]>;
}

function labelText(labels: Labels, extra?: [string, string]): string {
  if (labels.length === 0 && extra === undefined) return '';
  let s = '{';
  for (let i = 0; i < labels.length; i++) {
    if (i > 0) s += ',';
    s += labels[i]![0] + '="' + escapeLabelValue(labels[i]![1]) + '"';
  }
  if (extra !== undefined)
    s += (labels.length > 0 ? ',' : '') + extra[0] + '="' + escapeLabelValue(extra[1]) + '"';
  return s + '}';
}

function readSpans(r: Reader, out: number[]): void {
  const e = r.sub();
  let offset = 0;
  let length = 0;
  while (r.p < e) {
    const tag = r.varint();
    if (tag === 0x08) offset = r.zigzag();
    else if (tag === 0x10) length = r.varint();
    else r.skip(tag & 7);
  }
  out.push(offset, length);
}

/** Decode a Histogram message: its classic part and its native part (null when it has none). */
function readHistogram(r: Reader, end: number): { classic: Classic; native: NativeHistogram | null } {
  const h = emptyHistogram();
  const classic: Classic = { count: 0, sum: 0, buckets: [] };
  let countFloat = NaN;
  let zeroFloat = NaN;
  const zz = () => r.zigzag();
  const dbl = () => r.double();
  while (r.p < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1:
        classic.count = r.varint();
        break;
      case 4:
        countFloat = r.double();
        break;
      case 2:
        classic.sum = r.double();
        break;
      case 3: {
        const e = r.sub();
        let cum = 0;
        let cumFloat = NaN;
        let ub = 0;
        while (r.p < e) {
          const t = r.varint();
          if (t === 0x08) cum = r.varint();
          else if (t === 0x21) cumFloat = r.double();
          else if (t === 0x11) ub = r.double();
          else r.skip(t & 7);
        }
        classic.buckets.push([ub, cumFloat === cumFloat ? cumFloat : cum]);
        break;
      }
      case 5:
        h.schema = r.zigzag();
        break;
      case 6:
        h.zeroThreshold = r.double();
        break;
      case 7:
        h.zeroCount = r.varint();
        break;
      case 8:
        zeroFloat = r.double();
        break;
      case 9:
        readSpans(r, h.negativeSpans);
        break;
      case 10:
        r.repeated(wire, zz, h.negativeDeltas);
        break;
      case 11:
        r.repeated(wire, dbl, h.negativeCounts);
        break;
      case 12:
        readSpans(r, h.positiveSpans);
        break;
      case 13:
        r.repeated(wire, zz, h.positiveDeltas);
        break;
      case 14:
        r.repeated(wire, dbl, h.positiveCounts);
        break;
      default:
        r.skip(wire);
    }
  }
  if (countFloat === countFloat && countFloat > 0) classic.count = countFloat;
  h.count = classic.count;
  h.sum = classic.sum;
  h.float =
    (countFloat === countFloat && countFloat > 0) || h.negativeCounts.length + h.positiveCounts.length > 0;
  h.zeroCount = zeroFloat === zeroFloat && h.float ? zeroFloat : h.zeroCount;
  // As Prometheus's protobuf parser: native when it has a zero bucket or spans (client libraries
  // send one empty span for a native histogram without observations yet).
  const isNative =
    h.zeroThreshold !== 0 || h.zeroCount !== 0 || h.negativeSpans.length > 0 || h.positiveSpans.length > 0;
  if (isNative) checkNative(h);
  return { classic, native: isNative ? h : null };
}

/**
 * A native histogram must be consistent before anything walks its buckets: the schema one a store
 * takes, spans after the first not going back, and exactly one delta (or count) per bucket the
 * spans describe — a span length of 2^32 would otherwise make billions of converted buckets.
 */
function checkNative(h: NativeHistogram): void {
  if (!Number.isInteger(h.schema) || h.schema < -4 || h.schema > 8)
    throw new ProtobufError(`native histogram with schema ${h.schema} (a store takes -4 to 8)`);
  for (const [spans, values, side] of [
    [h.positiveSpans, h.float ? h.positiveCounts : h.positiveDeltas, 'positive'],
    [h.negativeSpans, h.float ? h.negativeCounts : h.negativeDeltas, 'negative'],
  ] as const) {
    let buckets = 0;
    for (let i = 0; i < spans.length; i += 2) {
      if (i > 0 && spans[i]! < 0)
        throw new ProtobufError(`native histogram with a negative ${side} span offset`);
      buckets += spans[i + 1]!;
    }
    if (buckets !== values.length)
      throw new ProtobufError(
        `native histogram whose ${side} spans describe ${buckets} buckets but give ${values.length} counts`,
      );
  }
}

interface Family {
  /** The message's bytes: name and labels are copied from here as they are. */
  b: Buffer;
  nameStart: number;
  nameEnd: number;
  /** The name as a string, made only for a native histogram. */
  name: string;
  type: MetricType;
}

/**
 * A growing byte buffer for the text of one family. Label names and values are copied from the
 * protobuf bytes without being decoded: making strings of them (utf8Slice) and joining lines was
 * 40 % of a repeated protobuf scrape (CPU profile of the nri-kubelet-cadvisor capture).
 */
/** The bytes a metric or label name may have in the text format. */
const NAME_BYTE = new Uint8Array(256);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:')
  NAME_BYTE[c.charCodeAt(0)] = 1;

class ByteWriter {
  buf = Buffer.allocUnsafe(64 * 1024);
  pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  // The pieces are short (a name, `="`, a value): byte loops, not native calls. latin1Write and
  // Buffer#copy per piece were half of a repeated protobuf scrape (CPU profile).

  /** An ASCII string. */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const out = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) out[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  bytes(src: Buffer, start: number, end: number): void {
    this.ensure(end - start);
    if (end - start > 64) {
      this.pos += src.copy(this.buf, this.pos, start, end);
      return;
    }
    const out = this.buf;
    let p = this.pos;
    for (let i = start; i < end; i++) out[p++] = src[i]!;
    this.pos = p;
  }

  /**
   * A metric or label name: bytes outside the text format's name characters become `?`, so a name
   * with a newline or a quote cannot make lines of its own: its line is one invalid line (a
   * per-line error, as a bad text line is).
   */
  name(src: Buffer, start: number, end: number): void {
    this.ensure(end - start);
    const out = this.buf;
    let p = this.pos;
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      out[p++] = NAME_BYTE[c] === 1 ? c : 0x3f;
    }
    this.pos = p;
  }

  /** Bytes with the text format's escapes: backslash and newline, and `"` in a label value. */
  escaped(src: Buffer, start: number, end: number, quote: boolean): void {
    this.ensure(2 * (end - start));
    const out = this.buf;
    let p = this.pos;
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      if (c === 0x5c || c === 0x0a || (quote && c === 0x22)) {
        out[p++] = 0x5c;
        out[p++] = c === 0x0a ? 0x6e : c;
      } else out[p++] = c;
    }
    this.pos = p;
  }
}

/**
 * Decodes a delimited MetricFamily stream that arrives in pieces. `push` each piece; the text of
 * the classic series decoded so far is handed to `text` family by family (a view of a reused buffer,
 * valid until `text` returns: copy it to keep it), native histogram samples to `native`. `end`
 * checks that no partial message is left.
 */
export class ProtobufDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the message at the start of `pending` needs (prefix included), 0 when not known yet. */
  private need = 0;
  families = 0;

  constructor(
    private readonly text: (lines: Buffer) => void,
    private readonly native: (s: NativeSample) => void,
  ) {}

  push(piece: Buffer): void {
    let buf = piece;
    if (this.pendingBytes > 0) {
      this.pending.push(piece);
      this.pendingBytes += piece.length;
      // a message larger than a piece: join its pieces once, when it is complete
      if (this.pendingBytes < this.need) return;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.need = 0;
    }
    let p = 0;
    while (p < buf.length) {
      // the length prefix, possibly cut by the piece's end
      let len = 0;
      let mul = 1;
      let q = p;
      let done = false;
      while (q < buf.length && q - p < 10) {
        const c = buf[q++]!;
        len += (c & 0x7f) * mul;
        mul *= 128;
        if (c < 128) {
          done = true;
          break;
        }
      }
      if (!done) {
        if (q - p >= 10) throw new ProtobufError('message length prefix longer than 10 bytes');
        break;
      }
      if (q + len > buf.length) {
        this.need = q - p + len;
        break;
      }
      this.family(buf, q, q + len);
      p = q + len;
    }
    if (p < buf.length) {
      const rest = buf.subarray(p);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
    }
  }

  end(): void {
    if (this.pendingBytes > 0)
      throw new ProtobufError(`the body ends inside a message (${this.pendingBytes} bytes left over)`);
  }

  private family(b: Buffer, start: number, end: number): void {
    this.families++;
    const r = new Reader(b, start, end);
    const f: Family = { b, nameStart: 0, nameEnd: 0, name: '', type: MetricType.Untyped };
    let helpStart = 0;
    let helpEnd = 0;
    const metrics: number[] = [];
    while (r.p < end) {
      const tag = r.varint();
      const field = tag >>> 3;
      if (field === 1 && (tag & 7) === 2) {
        f.nameEnd = r.sub();
        f.nameStart = r.p;
        r.p = f.nameEnd;
      } else if (field === 2 && (tag & 7) === 2) {
        helpEnd = r.sub();
        helpStart = r.p;
        r.p = helpEnd;
      } else if (field === 3 && (tag & 7) === 0) f.type = r.varint();
      else if (field === 4 && (tag & 7) === 2) {
        const e = r.sub();
        metrics.push(r.p, e);
        r.p = e;
      } else r.skip(tag & 7);
    }
    if (f.nameEnd === f.nameStart) throw new ProtobufError(`metric family ${this.families} has no name`);
    const w = this.out;
    w.pos = 0;
    w.ascii('# HELP ');
    w.name(b, f.nameStart, f.nameEnd);
    w.ascii(' ');
    w.escaped(b, helpStart, helpEnd, false);
    w.ascii('\n# TYPE ');
    w.name(b, f.nameStart, f.nameEnd);
    // the text format has no gauge histogram: its series are a histogram's (as Prometheus reads them)
    const type = f.type === MetricType.GaugeHistogram ? 'histogram' : (TYPE_NAMES[f.type] ?? 'untyped');
    w.ascii(' ' + type + '\n');
    for (let i = 0; i < metrics.length; i += 2) this.metric(f, new Reader(b, metrics[i]!, metrics[i + 1]!));
    // valid during the call only: the buffer is reused for the next family
    this.text(w.buf.subarray(0, w.pos));
  }

  /** Text lines of the family being transcoded; reused (see `text`). */
  private readonly out = new ByteWriter();
  /** Byte ranges of the current metric's labels: name start, name end, value start, value end. */
  private labels: number[] = [];

  /** One Metric: its text lines (and its native sample, if any). */
  private metric(f: Family, r: Reader): void {
    const labels = this.labels;
    labels.length = 0;
    let value = NaN;
    let ts = NaN;
    let summary: { count: number; sum: number; quantiles: Array<[number, number]> } | undefined;
    let hist: ReturnType<typeof readHistogram> | undefined;
    while (r.p < r.end) {
      const tag = r.varint();
      const field = tag >>> 3;
      if ((tag & 7) !== 2 && field !== 6) {
        r.skip(tag & 7);
        continue;
      }
      if (field === 6) {
        ts = r.int64();
        continue;
      }
      const e = r.sub();
      if (field === 1) {
        let ns = 0;
        let ne = 0;
        let vs = 0;
        let ve = 0;
        while (r.p < e) {
          const t = r.varint();
          if (t === 0x0a || t === 0x12) {
            const se = r.sub();
            if (t === 0x0a) {
              ns = r.p;
              ne = se;
            } else {
              vs = r.p;
              ve = se;
            }
            r.p = se;
          } else r.skip(t & 7);
        }
        labels.push(ns, ne, vs, ve);
      } else if (field === 2 || field === 3 || field === 5) {
        while (r.p < e) {
          const t = r.varint();
          if (t === 0x09) value = r.double();
          else r.skip(t & 7);
        }
      } else if (field === 4) {
        summary = { count: 0, sum: 0, quantiles: [] };
        while (r.p < e) {
          const t = r.varint();
          if (t === 0x08) summary.count = r.varint();
          else if (t === 0x11) summary.sum = r.double();
          else if (t === 0x1a) {
            const qe = r.sub();
            let q = 0;
            let qv = 0;
            while (r.p < qe) {
              const u = r.varint();
              if (u === 0x09) q = r.double();
              else if (u === 0x11) qv = r.double();
              else r.skip(u & 7);
            }
            summary.quantiles.push([q, qv]);
          } else r.skip(t & 7);
        }
      } else if (field === 7) {
        hist = readHistogram(r, e);
      }
      r.p = e;
    }
    const tsText = ts === ts ? ' ' + ts : '';
    if (f.type === MetricType.Summary && summary) {
      for (const [q, v] of summary.quantiles) this.line(f, '', 'quantile', formatFloat(q), v, tsText);
      this.line(f, '_sum', '', '', summary.sum, tsText);
      this.line(f, '_count', '', '', summary.count, tsText);
      return;
    }
    if ((f.type === MetricType.Histogram || f.type === MetricType.GaugeHistogram) && hist) {
      const { classic, native } = hist;
      const hasClassic = classic.buckets.length > 0;
      if (native) {
        native.gauge = f.type === MetricType.GaugeHistogram;
        // native histograms are few (a kubelet has a few dozen): strings are fine here
        const b = f.b;
        f.name ||= b.toString('utf8', f.nameStart, f.nameEnd);
        const ls: Labels = [];
        for (let i = 0; i < labels.length; i += 4)
          ls.push([
            b.toString('utf8', labels[i], labels[i + 1]),
            b.toString('utf8', labels[i + 2], labels[i + 3]),
          ]);
        this.native({
          key: f.name + labelText(ls),
          name: f.name,
          labels: ls,
          h: native,
          timestampMs: ts,
          hasClassic,
        });
        // a native-only histogram has no classic series: its _count and _sum go with the
        // conversion for writers that cannot take it (as Prometheus ingests only the native one)
        if (!hasClassic) return;
      }
      let inf = false;
      for (const [ub, c] of classic.buckets) {
        if (ub === Infinity) inf = true;
        this.line(f, '_bucket', 'le', formatFloat(ub), c, tsText);
      }
      // as the text exposition of client libraries: the +Inf bucket is always there
      if (!inf) this.line(f, '_bucket', 'le', '+Inf', classic.count, tsText);
      this.line(f, '_sum', '', '', classic.sum, tsText);
      this.line(f, '_count', '', '', classic.count, tsText);
      return;
    }
    this.line(f, '', '', '', value, tsText);
  }

  /** `name<suffix>{labels[,extra="value"]} value[ ts]\n`, the labels copied as bytes. */
  private line(f: Family, suffix: string, extra: string, extraValue: string, v: number, ts: string): void {
    const w = this.out;
    const b = f.b;
    const labels = this.labels;
    w.name(b, f.nameStart, f.nameEnd);
    if (suffix) w.ascii(suffix);
    if (labels.length > 0 || extra) {
      w.ascii('{');
      for (let i = 0; i < labels.length; i += 4) {
        if (i > 0) w.ascii(',');
        w.name(b, labels[i]!, labels[i + 1]!);
        w.ascii('="');
        w.escaped(b, labels[i + 2]!, labels[i + 3]!, true);
        w.ascii('"');
      }
      if (extra) w.ascii((labels.length > 0 ? ',' : '') + extra + '="' + extraValue + '"');
      w.ascii('}');
    }
    // a sample value is parsed, not compared as text: JavaScript's shortest form is enough
    w.ascii(' ' + (v === v && v !== Infinity && v !== -Infinity ? String(v) : formatFloat(v)) + ts + '\n');
  }
}
