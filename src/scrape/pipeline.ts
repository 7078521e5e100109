// The hot path of one target: response body -> parse -> filter/label/relabel -> encoded samples.
//
// A series is identified by its raw text (`name{labels}` exactly as the target wrote it). The first
// time a series is seen its labels are parsed, filtered, merged with the target labels, relabeled,
// sorted and encoded into remote-write bytes, and the result is cached under a 64-bit hash of the raw
// text. Every later scrape of an unchanged series costs a hash, a Map lookup, a value parse and a byte
// copy — no string is made of the series text, and the cache does not keep it (it would be a third
// of the cache's memory).
import type { Relabeler } from '../relabel/relabel.js';
import { Entry, TextParser, type Labels } from '../parse/text.js';
import { encodeLabels, WriteRequestBuilder, type EncodedLabels, type LabelPairs } from '../write/encode.js';

export interface PipelineOptions {
  /** Labels that override scraped ones (URL label, instance labels, ident), final values. */
  targetLabels: LabelPairs;
  /** Labels added only where the series lacks them (`[global] labels`). */
  defaultLabels: LabelPairs;
  /** Label names whose configured value is "-": removed from every series. */
  deleteLabels: string[];
  honorLabels: boolean;
  honorTimestamps: boolean;
  /** false = drop the series by metric name (metrics_pass / metrics_drop / ignore_metrics). */
  keepMetric: (name: string) => boolean;
  /** true = remove this scraped label (ignore_label_keys). */
  ignoreLabel: (name: string) => boolean;
  relabel?: Relabeler;
  sampleLimit: number;
  labelLimit: number;
  labelValueLengthLimit: number;
  /** Samples per emitted request. */
  batch: number;
}

/** One remote-write request body (snappy-compressed WriteRequest, shared by every writer) and its sample count. */
export interface Chunk {
  body: Buffer;
  samples: number;
}

export interface ScrapeStats {
  /** Samples in the payload (`scrape_samples_scraped`). */
  scraped: number;
  /** Samples kept after filters and relabeling (`scrape_samples_post_metric_relabeling`). */
  postRelabel: number;
  /** Series seen for the first time (`scrape_series_added`). */
  added: number;
  /** Samples actually emitted (timestamped samples that did not advance are not). */
  emitted: number;
  /** Series that disappeared and got a staleness marker. */
  stale: number;
  /** Malformed lines, and the first such error with its line number. */
  invalidLines: number;
  firstError: string;
  duplicates: number;
  /** Set when a limit failed the whole scrape. */
  limitError: string;
}

class CacheEntry {
  /** Scrape sequence number in which the series was last seen. */
  lastSeen = 0;
  /** Last explicit timestamp sent (ms), to skip samples whose timestamp did not advance. */
  lastTs = -Infinity;
  /** High 32 bits of the series text's hash and its length: confirm that a hit is this series. */
  hashHi = 0;
  textLength = 0;

  constructor(
    /** Encoded labels, or null when the series is dropped by filters/relabeling or invalid. */
    readonly labels: EncodedLabels | null,
    /** Parse error of the series text, counted on every scrape that contains it. */
    readonly error?: string,
    /** A label limit this series breaks: fails every scrape that contains it. */
    readonly limit?: string,
    /** Same final labels as another series of this target: counted, not sent. */
    readonly duplicate = false,
  ) {}
}

const sanitizeRe = /[-./ ]/g;

/** Label names as Categraf writes them: `-`, `.`, `/` and space become `_`. */
export function sanitizeLabelName(name: string): string {
  return name.replace(sanitizeRe, '_');
}

export class TargetPipeline {
  /** Series by the low 32 bits of their text's hash (the entry holds the high 32 bits and the length). */
  private readonly cache = new Map<number, CacheEntry>();
  /**
   * Series whose low hash bits were already taken by another series (about one in 20k at 10k series
   * per target), by their full text. Searched only when the first map's entry is not the series.
   */
  private readonly collided = new Map<string, CacheEntry>();
  /**
   * Final label sets in use. Two raw series can end up with the same labels (ignore_label_keys,
   * labeldrop): the second is a duplicate and is not sent, since a store refuses (Prometheus: the
   * whole request) two different values of one series at one timestamp.
   */
  private readonly live = new Set<EncodedLabels>();
  private seq = 0;
  private readonly builder = new WriteRequestBuilder(256 * 1024);
  private readonly scratch: Labels = [];

  constructor(private readonly opts: PipelineOptions) {}

  /** Number of live series in the cache (the target's current series). */
  get seriesCount(): number {
    return this.cache.size + this.collided.size;
  }

  /** Process a whole payload (tests, benchmarks): `begin`, `feed`, `end`. */
  process(body: Buffer, openMetrics: boolean, scrapeTimeMs: number, emit: (c: Chunk) => void): ScrapeStats {
    this.begin(openMetrics, scrapeTimeMs);
    this.feed(body);
    return this.end(emit);
  }

  /** State of the scrape in progress (between `begin` and `end`). */
  private cur!: {
    seq: number;
    openMetrics: boolean;
    now: number;
    st: ScrapeStats;
    /** Compressed requests of this scrape, emitted by `end` only if the scrape is good. */
    held: Chunk[];
    /** A line split between two segments of the stream. */
    rest: Buffer | undefined;
    lines: number;
    sawEOF: boolean;
  };

  /**
   * Start a scrape. The payload then arrives in segments (`feed`, as the response body streams in
   * and is gunzipped, so a 77 MB page is never held whole), and `end` finishes it. Requests are held
   * until `end`: a scrape that fails half-way (timeout, body too large, a limit) sends nothing.
   */
  begin(openMetrics: boolean, scrapeTimeMs: number): void {
    this.builder.reset();
    this.cur = {
      seq: ++this.seq,
      openMetrics,
      now: scrapeTimeMs,
      st: {
        scraped: 0,
        postRelabel: 0,
        added: 0,
        emitted: 0,
        stale: 0,
        invalidLines: 0,
        firstError: '',
        duplicates: 0,
        limitError: '',
      },
      held: [],
      rest: undefined,
      lines: 0,
      sawEOF: false,
    };
  }

  /** Feed the next piece of the payload; a line may be split across pieces. */
  feed(chunk: Buffer): void {
    const c = this.cur;
    let start = 0;
    if (c.rest !== undefined) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        c.rest = Buffer.concat([c.rest, chunk]);
        return;
      }
      const line = Buffer.concat([c.rest, chunk.subarray(0, nl + 1)]);
      c.rest = undefined;
      this.parse(line, 0, line.length);
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last < start) {
      if (start < chunk.length) c.rest = chunk.subarray(start);
      return;
    }
    this.parse(chunk, start, last + 1);
    if (last + 1 < chunk.length) c.rest = chunk.subarray(last + 1);
  }

  /** Parse one segment that ends at a line boundary (or the payload's end). */
  private parse(buf: Buffer, start: number, end: number): void {
    const c = this.cur;
    const { seq, st } = c;
    const { cache, builder, opts } = this;
    const batch = opts.batch;
    const honorTs = opts.honorTimestamps;
    const scrapeTimeMs = c.now;
    const p = new TextParser(buf, c.openMetrics, start, end);
    p.sawEOF = c.sawEOF;
    const base = c.lines;
    for (;;) {
      const e = p.next();
      if (e === Entry.Series) {
        st.scraped++;
        const lo = p.seriesHash();
        const hi = p.seriesHashHi;
        const length = p.seriesEnd - p.seriesStart;
        let entry = cache.get(lo);
        if (entry === undefined || entry.hashHi !== hi || entry.textLength !== length) {
          entry = this.lookupSlow(p, lo, hi, length, entry === undefined);
          if (entry.lastSeen === 0 && entry.labels !== null) st.added++;
        }
        if (entry.lastSeen === seq) {
          st.duplicates++;
          continue;
        }
        entry.lastSeen = seq;
        if (entry.labels === null) {
          if (entry.duplicate) st.duplicates++;
          else if (entry.error !== undefined) {
            st.scraped--;
            this.invalid(st, base + p.line, entry.error);
          }
          continue;
        }
        st.postRelabel++;
        if (entry.limit !== undefined && !st.limitError) st.limitError = entry.limit;
        let ts = scrapeTimeMs;
        const pts = p.timestamp;
        if (pts === pts && honorTs) {
          // Explicit timestamp: send only when it advanced (cAdvisor repeats them between updates).
          if (pts <= entry.lastTs) continue;
          entry.lastTs = pts;
          ts = pts;
        }
        builder.append(entry.labels, p.value, ts);
        if (builder.samples >= batch) {
          st.emitted += builder.samples;
          c.held.push({ samples: builder.samples, body: builder.takeCompressed() });
        }
      } else if (e === Entry.EOF) {
        break;
      } else if (e === Entry.Invalid) {
        this.invalid(st, base + p.line, p.error);
      }
    }
    c.lines = base + p.line;
    c.sawEOF = p.sawEOF;
  }

  /**
   * The series is not the one cached under its low hash bits (or none is): look in `collided`, or
   * build and cache it.
   */
  private lookupSlow(p: TextParser, lo: number, hi: number, length: number, slotFree: boolean): CacheEntry {
    let text: string | undefined;
    if (this.collided.size > 0) {
      text = p.seriesKey();
      const found = this.collided.get(text);
      if (found !== undefined) return found;
    }
    const entry = this.build(p);
    entry.hashHi = hi;
    entry.textLength = length;
    if (slotFree) this.cache.set(lo, entry);
    else this.collided.set(text ?? p.seriesKey(), entry);
    return entry;
  }

  /**
   * Finish the scrape: limits, staleness markers for series that went away, and the held requests
   * to `emit`. The last, partial request waits for `flush` (the synthetic series join it).
   */
  end(emit: (c: Chunk) => void): ScrapeStats {
    const c = this.cur;
    if (c.rest !== undefined) {
      const rest = c.rest; // last line without a final newline
      c.rest = undefined;
      this.parse(rest, 0, rest.length);
    }
    const { seq, st, now } = c;
    if (c.openMetrics && !c.sawEOF) this.invalid(st, c.lines, 'OpenMetrics payload without "# EOF"');
    if (!st.limitError) st.limitError = this.checkSampleLimit(st);
    if (st.limitError) {
      this.builder.reset();
      st.emitted = 0;
      // A failed scrape: every series of the previous scrape goes stale, as in Prometheus.
      this.staleAll(seq, now, st, emit, true);
      return st;
    }
    for (const h of c.held) emit(h);
    c.held = [];
    this.staleAll(seq, now, st, emit, false);
    st.emitted += this.builder.samples;
    return st;
  }

  /** A scrape that failed after `begin`: drop what it produced (then `markDown`). */
  abort(): void {
    if (this.cur) this.cur.held = [];
    this.builder.reset();
  }

  /**
   * Add a sample that is not from the payload (the synthetic `up` and `scrape_*` series) to the
   * request being built, so that a small target's scrape is one request.
   */
  appendExtra(labels: EncodedLabels, value: number, ts: number): void {
    this.builder.append(labels, value, ts);
  }

  /** Emit what `process`, `markDown` and `appendExtra` left in the current request. */
  flush(emit: (c: Chunk) => void): void {
    if (this.builder.samples > 0)
      emit({ samples: this.builder.samples, body: this.builder.takeCompressed() });
  }

  /** The target is down: staleness markers for every series of the last good scrape (then `flush`). */
  markDown(scrapeTimeMs: number, emit: (c: Chunk) => void): number {
    const seq = ++this.seq;
    const st = { stale: 0, emitted: 0 } as ScrapeStats;
    this.staleAll(seq, scrapeTimeMs, st, emit, true);
    return st.stale;
  }

  private invalid(st: ScrapeStats, line: number, msg: string): void {
    st.invalidLines++;
    if (!st.firstError) st.firstError = `line ${line}: ${msg}`;
  }

  private checkSampleLimit(st: ScrapeStats): string {
    const o = this.opts;
    if (o.sampleLimit > 0 && st.postRelabel > o.sampleLimit) {
      return `sample_limit exceeded: ${st.postRelabel} samples > ${o.sampleLimit}`;
    }
    return '';
  }

  /**
   * Emit staleness markers for series seen before but not in scrape `seq`, and forget them.
   * With `all`, every live series counts as gone (failed scrape / target down).
   */
  private staleAll(seq: number, ts: number, st: ScrapeStats, out: (c: Chunk) => void, all: boolean): void {
    this.staleIn(this.cache, seq, ts, st, out, all);
    if (this.collided.size > 0) this.staleIn(this.collided, seq, ts, st, out, all);
  }

  private staleIn<K>(
    cache: Map<K, CacheEntry>,
    seq: number,
    ts: number,
    st: ScrapeStats,
    out: (c: Chunk) => void,
    all: boolean,
  ): void {
    const builder = this.builder;
    for (const [key, entry] of cache) {
      if (!all && entry.lastSeen === seq) continue;
      if (entry.labels !== null && (all ? entry.lastSeen >= seq - 1 : entry.lastSeen === seq - 1)) {
        builder.append(entry.labels, 0, ts, true);
        st.stale++;
        if (builder.samples >= this.opts.batch) {
          st.emitted += builder.samples;
          out({ samples: builder.samples, body: builder.takeCompressed() });
        }
      }
      if (entry.labels !== null) this.live.delete(entry.labels);
      cache.delete(key);
    }
  }

  /** Cache-miss path: decode, filter, merge target labels, relabel, sort, encode. */
  private build(p: TextParser): CacheEntry {
    const o = this.opts;
    const scraped = this.scratch;
    scraped.length = 0;
    const err = p.labels(scraped);
    if (err !== undefined) return new CacheEntry(null, err);
    const name = p.metricName();
    if (!o.keepMetric(name)) return new CacheEntry(null);
    const m = new Map<string, string>();
    m.set('__name__', name);
    for (let i = 0; i < scraped.length; i++) {
      const [k, v] = scraped[i];
      if (o.ignoreLabel(k)) continue;
      if (m.has(k)) {
        return new CacheEntry(null, `duplicate label name ${JSON.stringify(k)}`);
      }
      m.set(k, v);
    }
    for (const k of o.deleteLabels) m.delete(k);
    for (const [k, v] of o.targetLabels) {
      const cur = m.get(k);
      if (cur !== undefined && cur !== '') {
        if (o.honorLabels) continue;
        m.set('exported_' + k, cur);
      }
      m.set(k, v);
    }
    for (const [k, v] of o.defaultLabels) {
      const cur = m.get(k);
      if (cur === undefined || cur === '') m.set(k, v);
    }
    if (o.relabel !== undefined && !o.relabel(m)) return new CacheEntry(null);
    const pairs: LabelPairs = [];
    let limit: string | undefined;
    for (const [k, v] of m) {
      if (v === '') continue;
      if (o.labelValueLengthLimit > 0 && v.length > o.labelValueLengthLimit && limit === undefined) {
        limit = `label_value_length_limit exceeded: label ${k} of ${name} has ${v.length} characters > ${o.labelValueLengthLimit}`;
      }
      pairs.push([k, v]);
    }
    if (!m.get('__name__')) return new CacheEntry(null);
    if (o.labelLimit > 0 && pairs.length > o.labelLimit && limit === undefined) {
      limit = `label_limit exceeded: ${name} has ${pairs.length} labels > ${o.labelLimit}`;
    }
    pairs.sort(byName);
    const labels = encodeLabels(pairs);
    if (this.live.has(labels)) {
      return new CacheEntry(null, undefined, undefined, true);
    }
    this.live.add(labels);
    return new CacheEntry(labels, undefined, limit);
  }
}

function byName(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
