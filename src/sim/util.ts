// Small deterministic helpers shared by the node simulator: seeded randomness,
// Go-compatible number formatting, smooth time functions and histograms.

import { createHash } from 'node:crypto';

export type Rng = () => number;

/** mulberry32: small, fast, seeded PRNG in [0, 1). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a 32-bit hash of a string. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** An independent PRNG for one named entity, so adding entities does not reshuffle others. */
export function rngFor(seed: number, key: string): Rng {
  return mulberry32((hash32(key) ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0);
}

export function sha256hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function hexFrom(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(rng() * 16).toString(16);
  return s;
}

/** A random (version 4 shaped) UUID drawn from rng. */
export function uuidFrom(rng: Rng): string {
  const h = hexFrom(rng, 32).split('');
  h[12] = '4';
  h[16] = '89ab'[Math.floor(rng() * 4)]!;
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

// Kubernetes' rand.String alphabet (no vowels, no confusable digits).
const K8S_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function k8sSuffix(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += K8S_ALPHABET[Math.floor(rng() * K8S_ALPHABET.length)];
  return s;
}

/**
 * Numbers and label values as the client libraries write them in the text format (Go's
 * FormatFloat 'g', "1.048576e+06"; backslash, quote and newline escaped): text-format.ts.
 */
export { formatFloat as fmt, escapeLabelValue as esc } from '../text-format.js';
import { formatFloat as fmt, escapeLabelValue as esc } from '../text-format.js';

/** Formats `name="value"` pairs in the given order (callers pass them sorted by name). */
export function labelPairs(pairs: [string, string][]): string {
  return pairs.map(([k, v]) => `${k}="${esc(v)}"`).join(',');
}

/** Pushes the `# HELP` and `# TYPE` lines of a family. */
export function family(out: string[], name: string, type: string, help: string): void {
  out.push('# HELP ', name, ' ', help, '\n# TYPE ', name, ' ', type, '\n');
}

/** Pushes one sample line: `name{labels} value`. labels without braces; may be ''. */
export function sample(out: string[], name: string, labels: string, v: number): void {
  if (labels) out.push(name, '{', labels, '} ', fmt(v), '\n');
  else out.push(name, ' ', fmt(v), '\n');
}

/**
 * A smooth, strictly positive multiplier 1 + a1·sin(w1·t + p1) + a2·sin(w2·t + p2)
 * (amplitude a1 + a2 < 1) with a closed-form integral, so counters built from it
 * advance at a varying rate but never go down.
 */
export class Wave {
  private readonly a1: number;
  private readonly a2: number;
  private readonly w1: number;
  private readonly w2: number;
  private readonly p1: number;
  private readonly p2: number;

  constructor(rng: Rng, amp: number, minPeriodS = 240, maxPeriodS = 3600) {
    const amplitude = Math.min(Math.max(amp, 0), 0.95);
    const split = 0.35 + 0.3 * rng();
    this.a1 = amplitude * split;
    this.a2 = amplitude * (1 - split);
    this.w1 = (2 * Math.PI) / (minPeriodS + (maxPeriodS - minPeriodS) * rng());
    this.w2 = (2 * Math.PI) / (minPeriodS / 4 + (minPeriodS / 2) * rng());
    this.p1 = 2 * Math.PI * rng();
    this.p2 = 2 * Math.PI * rng();
  }

  /** The multiplier at t (seconds). */
  at(t: number): number {
    return 1 + this.a1 * Math.sin(this.w1 * t + this.p1) + this.a2 * Math.sin(this.w2 * t + this.p2);
  }

  /** An antiderivative of at(); the integral over [t0, t] is cum(t) - cum(t0). */
  cum(t: number): number {
    return (
      t -
      (this.a1 / this.w1) * Math.cos(this.w1 * t + this.p1) -
      (this.a2 / this.w2) * Math.cos(this.w2 * t + this.p2)
    );
  }

  /** Integral of at() over [t0, t] (0 when t <= t0). */
  integral(t0: number, t: number): number {
    return t > t0 ? this.cum(t) - this.cum(t0) : 0;
  }
}

// Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
function erf(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-a * a);
  return s * y;
}

/** CDF of a log-normal distribution (given median and sigma of ln) at each bound. */
export function lognormalCdf(bounds: readonly number[], median: number, sigma: number): number[] {
  const mu = Math.log(median);
  return bounds.map((b) => (b <= 0 ? 0 : 0.5 * (1 + erf((Math.log(b) - mu) / (sigma * Math.SQRT2)))));
}

/** One population of observations of a simulated histogram. */
export interface HistComponent {
  /** Observations so far (monotone in t). */
  count: (t: number) => number;
  /** Cumulative fraction of observations <= each finite bound (non-decreasing). */
  cdf: number[];
  /** Mean observed value, for _sum. */
  mean: number;
  /** The log-normal's parameters (component()): native buckets are computed from them. */
  median?: number;
  sigma?: number;
}

export function component(
  count: (t: number) => number,
  bounds: readonly number[],
  median: number,
  sigma: number,
): HistComponent {
  return {
    count,
    cdf: lognormalCdf(bounds, median, sigma),
    mean: median * Math.exp((sigma * sigma) / 2),
    median,
    sigma,
  };
}

/**
 * The observations of a simulated histogram, as positions u in [0, 1) of its distribution (an
 * observation is <= a bound b when u <= cdf(b)): the k-th is U[k mod PATTERN], a golden-ratio
 * sequence, so any run of consecutive observations spreads evenly over the distribution. The
 * counts below any bound are then those of one set of observations, at every bound and at every
 * time: the increase of a window is cumulative in le, and classic and native buckets of one
 * histogram agree (flooring count · cdf at each bound separately did not: over a short window a
 * higher bound could gain less than a lower one, and the two bucket layouts disagreed on p99).
 */
const PATTERN = 1024;
const GOLDEN = (Math.sqrt(5) - 1) / 2;
const U = Float64Array.from({ length: PATTERN }, (_, k) => ((k + 0.5) * GOLDEN) % 1);
const U_SORTED = Float64Array.from(U).sort();

/** Elements of a sorted array that are <= c. */
function atOrBelow(sorted: Float64Array, c: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= c) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first n observations: how many lie at or below a cumulative share c. */
export class Observations {
  private readonly cycles: number;
  private readonly rest: Float64Array;
  constructor(readonly n: number) {
    this.cycles = Math.floor(n / PATTERN);
    this.rest = U.slice(0, n % PATTERN).sort();
  }
  below(c: number): number {
    if (c >= 1) return this.n;
    return this.cycles * atOrBelow(U_SORTED, c) + atOrBelow(this.rest, c);
  }
}

/**
 * A histogram whose buckets are consistent by construction (see Observations): non-decreasing in
 * le and in time, and in the increase over any window; +Inf == _count. Pass `labels` as
 * 'a="b",c="d"' (or '').
 */
export class SimHistogram {
  readonly leLabels: string[];
  constructor(
    readonly bounds: readonly number[],
    readonly components: HistComponent[],
  ) {
    this.leLabels = bounds.map((b) => `le="${fmt(b)}"`);
  }

  write(out: string[], name: string, labels: string, t: number): void {
    const comps = this.components;
    const counts = comps.map((c) => Math.max(0, Math.floor(c.count(t))));
    const pre = labels ? labels + ',' : '';
    const bucket = name + '_bucket{' + pre;
    let total = 0;
    let sum = 0;
    for (let j = 0; j < comps.length; j++) {
      total += counts[j]!;
      sum += counts[j]! * comps[j]!.mean;
    }
    const obs = counts.map((n) => new Observations(n));
    for (let i = 0; i < this.bounds.length; i++) {
      let n = 0;
      for (let j = 0; j < comps.length; j++) n += obs[j]!.below(comps[j]!.cdf[i]!);
      out.push(bucket, this.leLabels[i]!, '} ', fmt(n), '\n');
    }
    out.push(bucket, 'le="+Inf"} ', fmt(total), '\n');
    sample(out, name + '_sum', labels, sum);
    sample(out, name + '_count', labels, total);
  }
}

/** A native histogram of the simulator (integer counts): what sim/protobuf.ts encodes. */
export interface SimNative {
  count: number;
  sum: number;
  schema: number;
  zeroThreshold: number;
  /** One span: the first bucket's index and the counts from there (absolute, not deltas). */
  offset: number;
  counts: number[];
}

/** client_golang's default zero threshold of native histograms (2^-128). */
const ZERO_THRESHOLD = 2.938735877055719e-39;

/**
 * The same observations as a native histogram at `schema` (bucket i covers (2^((i-1)/2^schema),
 * 2^(i/2^schema)]): each component's observations (Observations) placed by its log-normal CDF over
 * ±5 sigma (what lies outside goes to the first and last bucket), so _count and _sum equal the
 * classic ones. Undefined when a component has no log-normal (a count histogram).
 */
export function nativeOf(h: SimHistogram, t: number, schema: number): SimNative | undefined {
  const comps = h.components;
  const f = Math.pow(2, schema);
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of comps) {
    if (c.median === undefined || c.sigma === undefined) return undefined;
    lo = Math.min(lo, Math.floor(Math.log2(c.median * Math.exp(-5 * c.sigma)) * f));
    hi = Math.max(hi, Math.ceil(Math.log2(c.median * Math.exp(5 * c.sigma)) * f));
  }
  const counts = comps.map((c) => Math.max(0, Math.floor(c.count(t))));
  const bounds: number[] = [];
  for (let i = lo; i < hi; i++) bounds.push(Math.pow(2, i / f));
  const cdfs = comps.map((c) => lognormalCdf(bounds, c.median!, c.sigma!));
  let total = 0;
  let sum = 0;
  for (let j = 0; j < comps.length; j++) {
    total += counts[j]!;
    sum += counts[j]! * comps[j]!.mean;
  }
  const out: number[] = [];
  let prev = 0;
  const obs = counts.map((n) => new Observations(n));
  for (let i = 0; i < bounds.length; i++) {
    let cum = 0;
    for (let j = 0; j < comps.length; j++) cum += obs[j]!.below(cdfs[j]![i]!);
    out.push(cum - prev);
    prev = cum;
  }
  out.push(total - prev); // bucket hi: the rest
  return { count: total, sum, schema, zeroThreshold: ZERO_THRESHOLD, offset: lo, counts: out };
}

/** Go's time.Time.String() for a UTC time with a monotonic reading, as kube-proxy's /healthz prints it. */
export function goTimeString(ms: number, monotonicS: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  let frac = '';
  const msPart = d.getUTCMilliseconds();
  if (msPart) frac = '.' + p(msPart, 3).replace(/0+$/, '');
  const date = `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
  const time = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${frac}`;
  return `${date} ${time} +0000 UTC m=+${monotonicS.toFixed(9)}`;
}

/** RFC 3339 (seconds precision) as Kubernetes serialises metav1.Time. */
export function rfc3339(sec: number): string {
  return new Date(Math.floor(sec) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Kubernetes quantity strings for CPU millicores and memory bytes. */
export function cpuQuantity(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

export function memQuantity(bytes: number): string {
  const Mi = 1024 * 1024;
  if (bytes % (1024 * Mi) === 0) return `${bytes / (1024 * Mi)}Gi`;
  if (bytes % Mi === 0) return `${bytes / Mi}Mi`;
  if (bytes % 1024 === 0) return `${bytes / 1024}Ki`;
  return String(bytes);
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/**
 * One family of a component's page as data (the component's `render` walks its table in order):
 * name, type, help and its samples, a function of the component's state at render time `S`.
 * Histograms give their SimHistograms and label sets; `raw` writes a block as is (the Go
 * runtime's families, which a component places among its own).
 */
export type SimFamily<S extends { t: number }> =
  | { name: string; type: string; help: string; samples: (s: S) => Array<[labels: string, value: number]> }
  | { name: string; type: 'histogram'; help: string; histograms: (s: S) => Array<[SimHistogram, string]> }
  | { raw: (out: string[], s: S) => void };

/** A family of one sample without labels (or with the given ones). */
export function scalar<S extends { t: number }>(
  name: string,
  type: string,
  help: string,
  value: (s: S) => number,
  labels = '',
): SimFamily<S> {
  return { name, type, help, samples: (s) => [[labels, value(s)]] };
}

/** A histogram family: its SimHistograms and their label sets, from the state. */
export function histogram<S extends { t: number }>(
  name: string,
  help: string,
  histograms: (s: S) => Array<[SimHistogram, string]>,
): SimFamily<S> {
  return { name, type: 'histogram', help, histograms };
}

/**
 * Render a table. `histograms`, when given, receives each SimHistogram under its series text
 * (`name{labels}`), for a protobuf page that adds native buckets (sim/protobuf.ts).
 */
export function renderFamilies<S extends { t: number }>(
  out: string[],
  table: readonly SimFamily<S>[],
  s: S,
  histograms?: Map<string, SimHistogram>,
): void {
  for (const f of table) {
    if ('raw' in f) {
      f.raw(out, s);
      continue;
    }
    family(out, f.name, f.type, f.help);
    if ('histograms' in f) {
      for (const [h, labels] of f.histograms(s)) {
        h.write(out, f.name, labels, s.t);
        histograms?.set(labels ? `${f.name}{${labels}}` : f.name, h);
      }
    } else for (const [labels, v] of f.samples(s)) sample(out, f.name, labels, v);
  }
}
