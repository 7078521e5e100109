// The hot path of one target: response body -> parse -> filter/label/relabel -> encoded samples.
//
// A series is identified by its raw text (`name{labels}` exactly as the target wrote it). The first
// time a series is seen its labels are parsed, filtered, merged with the target labels, relabeled,
// sorted and encoded into remote-write bytes, and the result is cached under the raw text. Every later
// scrape of an unchanged series costs a Map lookup, a value parse and a byte copy.
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

interface CacheEntry {
  /** Encoded labels, or null when the series is dropped by filters/relabeling or invalid. */
  labels: EncodedLabels | null;
  /** Scrape sequence number in which the series was last seen. */
  lastSeen: number;
  /** Last explicit timestamp sent (ms), to skip samples whose timestamp did not advance. */
  lastTs: number;
  /** Parse error of the series text, counted on every scrape that contains it. */
  error?: string;
  /** A label limit this series breaks: fails every scrape that contains it. */
  limit?: string;
  /** Same final labels as another series of this target: counted, not sent. */
  duplicate?: boolean;
}

const sanitizeRe = /[-./ ]/g;

/** Label names as Categraf writes them: `-`, `.`, `/` and space become `_`. */
export function sanitizeLabelName(name: string): string {
  return name.replace(sanitizeRe, '_');
}

export class TargetPipeline {
  private readonly cache = new Map<string, CacheEntry>();
  /**
   * Final label sets in use. Two raw series can end up with the same labels (ignore_label_keys,
   * labeldrop): the second is a duplicate and is not sent, since a store refuses (Prometheus: the
   * whole request) two different values of one series at one timestamp.
   */
  private readonly live = new Set<EncodedLabels>();
  private seq = 0;
  private readonly builder = new WriteRequestBuilder(256 * 1024);
  private readonly scratch: Labels = [];
  private readonly holdChunks: boolean;

  constructor(private readonly opts: PipelineOptions) {
    this.holdChunks = opts.sampleLimit > 0 || opts.labelLimit > 0 || opts.labelValueLengthLimit > 0;
  }

  /** Number of live series in the cache (the target's current series). */
  get seriesCount(): number {
    return this.cache.size;
  }

  /**
   * Process one successful scrape. Full chunks go to `emit` as they fill up (or all at the end when a
   * limit is configured, so that a scrape that breaks a limit sends nothing); the last, partial one
   * waits for `flush`.
   */
  process(body: Buffer, openMetrics: boolean, scrapeTimeMs: number, emit: (c: Chunk) => void): ScrapeStats {
    const seq = ++this.seq;
    const st: ScrapeStats = {
      scraped: 0,
      postRelabel: 0,
      added: 0,
      emitted: 0,
      stale: 0,
      invalidLines: 0,
      firstError: '',
      duplicates: 0,
      limitError: '',
    };
    const held: Chunk[] = [];
    const out = this.holdChunks ? (c: Chunk) => held.push(c) : emit;
    const { cache, builder, opts } = this;
    const batch = opts.batch;
    const honorTs = opts.honorTimestamps;
    const p = new TextParser(body, openMetrics);
    for (;;) {
      const e = p.next();
      if (e === Entry.Series) {
        st.scraped++;
        const key = p.seriesKey();
        let entry = cache.get(key);
        if (entry === undefined) {
          entry = this.build(p);
          cache.set(key, entry);
          if (entry.labels !== null) st.added++;
        } else if (entry.lastSeen === seq) {
          st.duplicates++;
          continue;
        }
        entry.lastSeen = seq;
        if (entry.labels === null) {
          if (entry.duplicate) st.duplicates++;
          else if (entry.error !== undefined) {
            st.scraped--;
            this.invalid(st, p.line, entry.error);
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
          out({ samples: builder.samples, body: builder.takeCompressed() });
        }
      } else if (e === Entry.EOF) {
        break;
      } else if (e === Entry.Invalid) {
        this.invalid(st, p.line, p.error);
      }
    }
    if (openMetrics && !p.sawEOF) this.invalid(st, p.line, 'OpenMetrics payload without "# EOF"');

    if (!st.limitError) st.limitError = this.checkSampleLimit(st);
    if (st.limitError) {
      builder.reset();
      st.emitted = 0;
      held.length = 0;
      // A failed scrape: every series of the previous scrape goes stale, as in Prometheus.
      this.staleAll(seq, scrapeTimeMs, st, emit, true);
      return st;
    }
    this.staleAll(seq, scrapeTimeMs, st, out, false);
    st.emitted += builder.samples;
    for (const c of held) emit(c);
    return st;
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
    const { builder, cache } = this;
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
    if (err !== undefined) return { labels: null, lastSeen: 0, lastTs: -Infinity, error: err };
    const name = p.metricName();
    if (!o.keepMetric(name)) return { labels: null, lastSeen: 0, lastTs: -Infinity };
    const m = new Map<string, string>();
    m.set('__name__', name);
    for (let i = 0; i < scraped.length; i++) {
      const [k, v] = scraped[i];
      if (o.ignoreLabel(k)) continue;
      if (m.has(k)) {
        return {
          labels: null,
          lastSeen: 0,
          lastTs: -Infinity,
          error: `duplicate label name ${JSON.stringify(k)}`,
        };
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
    if (o.relabel !== undefined && !o.relabel(m)) return { labels: null, lastSeen: 0, lastTs: -Infinity };
    const pairs: LabelPairs = [];
    let limit: string | undefined;
    for (const [k, v] of m) {
      if (v === '') continue;
      if (o.labelValueLengthLimit > 0 && v.length > o.labelValueLengthLimit && limit === undefined) {
        limit = `label_value_length_limit exceeded: label ${k} of ${name} has ${v.length} characters > ${o.labelValueLengthLimit}`;
      }
      pairs.push([k, v]);
    }
    if (!m.get('__name__')) return { labels: null, lastSeen: 0, lastTs: -Infinity };
    if (o.labelLimit > 0 && pairs.length > o.labelLimit && limit === undefined) {
      limit = `label_limit exceeded: ${name} has ${pairs.length} labels > ${o.labelLimit}`;
    }
    pairs.sort(byName);
    const labels = encodeLabels(pairs);
    if (this.live.has(labels)) {
      return { labels: null, lastSeen: 0, lastTs: -Infinity, duplicate: true };
    }
    this.live.add(labels);
    return { labels, lastSeen: 0, lastTs: -Infinity, limit };
  }
}

function byName(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
