// The simulator's protobuf exposition: its own text page re-encoded as a delimited stream of
// MetricFamily messages (prometheus/client_model metrics.proto), as a client library serves it for
// `Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`.
// Histograms keep their classic buckets (without +Inf, which the format leaves implicit) and, where
// `nativeFor` gives one, get native buckets too — what Kubernetes 1.36+ components send with
// native histograms on. `classic: false` leaves the classic buckets out of those (a library
// configured for native histograms only).
import { nativeOf, type SimHistogram, type SimNative } from './util.js';

export const PROTOBUF_CT =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

/** True when the Accept header ranks the delimited protobuf above every text type. */
export function wantsProtobuf(accept: string | undefined): boolean {
  if (!accept) return false;
  let proto = -1;
  let text = -1;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((x) => x.trim());
    const qp = params.find((p) => p.startsWith('q='));
    const q = qp ? Number(qp.slice(2)) : 1;
    if (type === 'application/vnd.google.protobuf') proto = Math.max(proto, q);
    else if (type?.startsWith('text/') || type?.startsWith('application/openmetrics-text'))
      text = Math.max(text, q);
  }
  return proto > 0 && proto > text;
}

/** Protobuf wire writer into a number array (the simulator's pages are small). */
class W {
  readonly b: number[] = [];
  varint(v: number): this {
    while (v >= 128) {
      this.b.push((v % 128) | 128);
      v = Math.floor(v / 128);
    }
    this.b.push(v);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }
  double(field: number, v: number): this {
    const x = Buffer.alloc(8);
    x.writeDoubleLE(v);
    this.tag(field, 1);
    for (const c of x) this.b.push(c);
    return this;
  }
  uint(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  sint(field: number, v: number): this {
    return this.tag(field, 0).varint(v >= 0 ? 2 * v : -2 * v - 1);
  }
  bytes(field: number, data: number[] | Buffer): this {
    this.tag(field, 2).varint(data.length);
    for (const c of data) this.b.push(c);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }
  msg(field: number, m: W): this {
    return this.bytes(field, m.b);
  }
}

const TYPES: Record<string, number> = { counter: 0, gauge: 1, summary: 2, untyped: 3, histogram: 4 };

interface Metric {
  /** The labels as the text page wrote them (without le/quantile): renderFamilies' key. */
  key: string;
  labels: Array<[string, string]>;
  value?: number;
  ts?: number;
  buckets: Array<[number, number]>;
  quantiles: Array<[number, number]>;
  sum?: number;
  count?: number;
}

interface Family {
  name: string;
  help: string;
  type: string;
  metrics: Map<string, Metric>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (\S+))?$/;
const PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function num(s: string): number {
  return s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s);
}

/** The families of a text page the simulator wrote (its own, well-formed format). */
function families(text: string): Family[] {
  const out: Family[] = [];
  let cur: Family | undefined;
  for (const line of text.split('\n')) {
    if (!line) continue;
    if (line.startsWith('# HELP ')) {
      const sp = line.indexOf(' ', 7);
      cur = {
        name: line.slice(7, sp),
        help: unescape(line.slice(sp + 1)),
        type: 'untyped',
        metrics: new Map(),
      };
      out.push(cur);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (!cur || cur.name !== name) {
        cur = { name: name!, help: '', type: 'untyped', metrics: new Map() };
        out.push(cur);
      }
      cur.type = type!;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, name, labelText = '', value, ts] = m;
    if (!cur || !name!.startsWith(cur.name)) {
      cur = { name: name!, help: '', type: 'untyped', metrics: new Map() };
      out.push(cur);
    }
    const suffix = name!.slice(cur.name.length);
    const labels: Array<[string, string]> = [];
    const raw: string[] = [];
    let le: string | undefined;
    let quantile: string | undefined;
    for (const [pair, k, v] of labelText.matchAll(PAIR)) {
      if (k === 'le' && cur.type === 'histogram') le = v;
      else if (k === 'quantile' && cur.type === 'summary') quantile = v;
      else {
        labels.push([k!, unescape(v!)]);
        raw.push(pair);
      }
    }
    const key = raw.length ? `${cur.name}{${raw.join(',')}}` : cur.name;
    let metric = cur.metrics.get(key);
    if (!metric) {
      metric = { key, labels, buckets: [], quantiles: [] };
      cur.metrics.set(key, metric);
    }
    const v = num(value!);
    if (ts !== undefined) metric.ts = Number(ts);
    if (suffix === '_bucket' && le !== undefined) metric.buckets.push([num(le), v]);
    else if (suffix === '' && quantile !== undefined) metric.quantiles.push([num(quantile), v]);
    else if (suffix === '_sum') metric.sum = v;
    else if (suffix === '_count') metric.count = v;
    else metric.value = v;
  }
  return out;
}

function histogramMessage(m: Metric, native: SimNative | undefined, classic: boolean): W {
  const h = new W().uint(1, m.count ?? 0).double(2, m.sum ?? 0);
  if (classic || !native) {
    for (const [ub, c] of m.buckets) {
      if (ub === Infinity) continue; // implicit in the protobuf format
      h.msg(3, new W().uint(1, c).double(2, ub));
    }
  }
  if (native) {
    h.sint(5, native.schema).double(6, native.zeroThreshold).uint(7, 0);
    h.msg(12, new W().sint(1, native.offset).uint(2, native.counts.length));
    const deltas = new W();
    let prev = 0;
    for (const c of native.counts) {
      const d = c - prev;
      deltas.varint(d >= 0 ? 2 * d : -2 * d - 1);
      prev = c;
    }
    h.bytes(13, deltas.b);
  }
  return h;
}

export interface ProtobufPageOptions {
  /** The page's histograms by series text (renderFamilies' `histograms`). */
  histograms: Map<string, SimHistogram>;
  /** Which families get native buckets. */
  native: (family: string) => boolean;
  /** Native histograms at this schema (client_golang's bucket factor 1.1 gives 3). */
  schema: number;
  /** Keep the classic buckets of histograms that have native ones (default true). */
  classic?: boolean;
  /** Seconds, for the native counts (the page's time). */
  t: number;
}

/** The text page as a delimited MetricFamily stream. */
export function protobufPage(text: string, o: ProtobufPageOptions): Buffer {
  const out = new W();
  for (const f of families(text)) {
    const fam = new W()
      .string(1, f.name)
      .string(2, f.help)
      .uint(3, TYPES[f.type] ?? 3);
    for (const m of f.metrics.values()) {
      const metric = new W();
      for (const [k, v] of m.labels) metric.msg(1, new W().string(1, k).string(2, v));
      if (f.type === 'histogram') {
        const sim = o.native(f.name) ? o.histograms.get(m.key) : undefined;
        const native = sim ? nativeOf(sim, o.t, o.schema) : undefined;
        metric.msg(7, histogramMessage(m, native, o.classic ?? true));
      } else if (f.type === 'summary') {
        const s = new W().uint(1, m.count ?? 0).double(2, m.sum ?? 0);
        for (const [q, v] of m.quantiles) s.msg(3, new W().double(1, q).double(2, v));
        metric.msg(4, s);
      } else {
        const field = f.type === 'counter' ? 3 : f.type === 'gauge' ? 2 : 5;
        metric.msg(field, new W().double(1, m.value ?? 0));
      }
      if (m.ts !== undefined) metric.tag(6, 0).varint(m.ts);
      fam.msg(4, metric);
    }
    out.varint(fam.b.length);
    for (const c of fam.b) out.b.push(c);
  }
  return Buffer.from(out.b);
}
