// The hot path of one target: response body -> parse -> cached series -> encoded samples -> chunks.
//
// A series is identified by its raw text (`name{labels}` exactly as the target wrote it). The first
// time a series is seen, ./series-labels.ts turns it into its final encoded labels and ./series-cache.ts
// keeps the result under a 64-bit hash of the raw text. Every later scrape of an unchanged series
// costs a hash, a table lookup, a value parse and a byte copy — no string is made of the series text,
// and the cache does not keep it (it would be a third of the cache's memory).
//
// This file: reassembling lines split between body pieces, the per-sample loop, the sample limit,
// batching into chunks, and holding the chunks until the scrape is known good.
import { Entry, TextParser, type Labels } from '../parse/text.js';
import type { ExpositionFormat } from '../parse/format.js';
import { ProtobufDecoder, ProtobufError, type NativeSample } from '../parse/protobuf.js';
import { NativeHistograms } from './native.js';
import { censusOf, familiesOf } from './series-census.js';
import { Evictions } from './evictions.js';
import type { Chunk } from '../prompb/chunk.js';
import { WriteRequestBuilder, type EncodedLabels, type LabelPairs } from '../prompb/encode.js';
import { ScrapeError } from './errors.js';
import { SeriesCache, type OnStale } from './series-cache.js';
import { buildSeries, type LabelRules } from './series-labels.js';

export interface PipelineOptions extends LabelRules {
  honorTimestamps: boolean;
  /** Samples after relabeling (0 = none): the scrape fails as soon as one more arrives. */
  sampleLimit: number;
  /** Longest line in bytes (0 = none): the scrape fails as soon as an unfinished line passes it. */
  lineSizeLimit?: number;
  /** Samples per emitted request. */
  batch: number;
  /**
   * The target's synthetic series (report.ts syntheticLabels): appended at the end of every scrape
   * (`end`/`fail`) and given markers on `retire`. Absent in pipelines built in code (tests, bench).
   */
  synthetic?: EncodedLabels[];
}

/**
 * Options of a pipeline built in code (tests, benchmarks): every series passes as scraped (no
 * filters, limits or relabeling), explicit timestamps honoured, batches of 1000; `o` sets the rest.
 * Targets built from the configuration get theirs from compileTarget (./compile.ts).
 */
export function pipelineOptions(o: Partial<PipelineOptions> = {}): PipelineOptions {
  return {
    targetLabels: [],
    defaultLabels: [],
    deleteLabels: [],
    honorLabels: false,
    honorTimestamps: true,
    keepMetric: () => true,
    ignoreLabel: () => false,
    sampleLimit: 0,
    labelLimit: 0,
    labelValueLengthLimit: 0,
    batch: 1000,
    ...o,
  };
}

import {
  scrapeFailure,
  scrapeWarning,
  syntheticValues,
  type ScrapeOutcome,
  type ScrapeStats,
} from './report.js';

export type { ScrapeStats } from './report.js';

export class TargetPipeline {
  private readonly cache = new SeriesCache();
  private readonly builder = new WriteRequestBuilder(256 * 1024);
  private readonly scratch: Labels = [];

  constructor(private readonly opts: PipelineOptions) {}

  /** Series the last good scrape delivered (the target's current series). */
  get seriesCount(): number {
    return this.cache.series + (this.nh?.series ?? 0);
  }

  /** The target's native histograms, once it answered a scrape in protobuf. */
  private nh?: NativeHistograms;

  /** Every series the last good scrape delivered (SeriesCache.census). */
  census(visit: (labels: LabelPairs, labelBytes: number) => void): void {
    censusOf(this.cache, visit);
  }

  /** The families the last good scrape delivered, with their series and label bytes. */
  families(): Map<string, { series: number; labelBytes: number }> {
    return familiesOf(this.cache);
  }

  /** What the series cache holds: entries and the bytes of their encoded labels (/metrics). */
  get cacheSize(): { entries: number; labelBytes: number } {
    return { entries: this.cache.entries, labelBytes: this.cache.labelBytes };
  }

  /**
   * Process a whole payload (tests, benchmarks): `begin`, `feed`, `end`. A limit passed half-way
   * fails the scrape as a target does (`fail`) and is reported in `limitError`.
   */
  process(
    body: Buffer,
    format: ExpositionFormat | boolean,
    scrapeTimeMs: number,
    emit: (c: Chunk) => void,
  ): ScrapeStats {
    this.begin(format, scrapeTimeMs);
    try {
      this.feed(body);
      return this.endSeries(emit); // its last line, without a newline, is parsed there
    } catch (err) {
      if (!(err instanceof ScrapeError)) throw err;
      const st = this.cur.st;
      st.limitError = err.message;
      st.emitted = 0;
      st.stale = this.failSeries(scrapeTimeMs, emit);
      return st;
    }
  }

  /** State of the scrape in progress (between `begin` and `end`). */
  private cur!: {
    seq: number;
    openMetrics: boolean;
    now: number;
    st: ScrapeStats;
    /** Compressed requests of this scrape, emitted by `end` only if the scrape is good. */
    held: Chunk[];
    /**
     * A line split between segments of the stream: its pieces, joined once when its newline comes
     * (a line without a newline costs linear time and memory, bounded by lineSizeLimit).
     */
    rest: Buffer[];
    restBytes: number;
    lines: number;
    /** OpenMetrics state carried from one segment's parser to the next. */
    sawEOF: boolean;
    /** A protobuf scrape's decoder: it hands the text of its classic series to `parse`. */
    proto?: ProtobufDecoder;
  };

  /**
   * Start a scrape. The payload then arrives in segments (`feed`, as the response body streams in
   * and is gunzipped, so a 77 MB page is never held whole), and `end` finishes it. Requests are held
   * until `end`: a scrape that fails half-way (timeout, body too large, a limit) sends nothing of its
   * own, only staleness markers for what the last good scrape delivered (`fail`).
   */
  begin(format: ExpositionFormat | boolean, scrapeTimeMs: number): void {
    // a boolean is the text parser's flag (tests, benchmarks): OpenMetrics or not
    const f = format === true ? 'openmetrics' : format === false ? 'text' : format;
    this.builder.reset();
    this.evictChangedGroups();
    this.cur = {
      seq: this.cache.begin(),
      openMetrics: f === 'openmetrics',
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
      rest: [],
      restBytes: 0,
      lines: 0,
      sawEOF: false,
    };
    if (f === 'protobuf') {
      this.nh ??= new NativeHistograms({ ...this.opts, tap: undefined });
      this.cur.proto = new ProtobufDecoder(
        (text) => this.parse(text, 0, text.length),
        (s) => this.nativeSample(s),
      );
    }
    this.nh?.begin();
  }

  /**
   * Feed the next piece of the payload; a line may be split across pieces. Throws a ScrapeError
   * (kind 'limit') as soon as sample_limit or line_size_limit is passed: the caller stops reading
   * the body and fails the scrape (`fail`).
   */
  feed(piece: Buffer): void {
    const c = this.cur;
    if (c.proto) {
      try {
        c.proto.push(piece);
      } catch (err) {
        throw protobufFailure(err);
      }
      return;
    }
    let start = 0;
    if (c.restBytes > 0) {
      const nl = piece.indexOf(10);
      if (nl < 0) {
        this.keepRest(piece);
        return;
      }
      this.checkLine(c.restBytes + nl + 1);
      c.rest.push(piece.subarray(0, nl + 1));
      const line = Buffer.concat(c.rest);
      c.rest = [];
      c.restBytes = 0;
      this.parse(line, 0, line.length);
      start = nl + 1;
    }
    const last = piece.lastIndexOf(10);
    if (last < start) {
      if (start < piece.length) this.keepRest(piece.subarray(start));
      return;
    }
    this.parse(piece, start, last + 1);
    if (last + 1 < piece.length) this.keepRest(piece.subarray(last + 1));
  }

  private keepRest(piece: Buffer): void {
    const c = this.cur;
    c.rest.push(piece);
    c.restBytes += piece.length;
    this.checkLine(c.restBytes);
  }

  private checkLine(bytes: number): void {
    const limit = this.opts.lineSizeLimit ?? 0;
    if (limit > 0 && bytes > limit) {
      // the caller fails the scrape (`fail`), which drops the pieces
      throw new ScrapeError(
        'limit',
        `line ${this.cur.lines + 1} is longer than line_size_limit (${limit} bytes) and has no end yet`,
        'the target sends a line without a newline (not a metrics page?); check the URL, or raise line_size_limit for this instance',
      );
    }
  }

  /** Parse one segment that ends at a line boundary (or the payload's end). */
  private parse(buf: Buffer, start: number, end: number): void {
    const c = this.cur;
    const { seq, st } = c;
    const { cache, builder, opts } = this;
    const tap = opts.tap;
    const batch = opts.batch;
    const honorTs = opts.honorTimestamps;
    // one compare per sample (no branch on whether a limit is set)
    const sampleLimit = opts.sampleLimit > 0 ? opts.sampleLimit : Infinity;
    const scrapeTimeMs = c.now;
    const p = new TextParser(buf, c.openMetrics, start, end, c.sawEOF);
    const base = c.lines;
    for (;;) {
      const e = p.next();
      if (e === Entry.Series) {
        st.scraped++;
        const lo = p.seriesHash();
        const hi = p.seriesHashHi;
        const length = p.seriesEnd - p.seriesStart;
        let id = cache.get(lo, hi, length);
        if (id < 0) {
          id = this.miss(p, lo, hi, length);
          if (cache.lastSeen[id] === 0 && cache.labelLen[id] >= 0) st.added++;
        }
        if (cache.lastSeen[id] === seq) {
          st.duplicates++;
          continue;
        }
        cache.lastSeen[id] = seq;
        const labelLen = cache.labelLen[id];
        if (labelLen < 0) {
          const error = cache.errorOf(id);
          if (error !== undefined) {
            st.scraped--;
            this.invalid(st, base + p.line, error);
          }
          continue;
        }
        const slot = cache.slot[id];
        // Same final labels as another series of this target: only the first met is sent, since a
        // store refuses (Prometheus: the whole request) two values of one series at one time.
        if (cache.isShared(id) && !cache.claim(id, seq)) {
          if (slot >= 0) tap!.touch(slot);
          st.duplicates++;
          continue;
        }
        // The tap sees every sample of its series, before the timestamp check: it keeps its own
        // last timestamp, and must know the series is still there (see sample-tap.ts).
        const pts = p.timestamp;
        const explicit = pts === pts && honorTs;
        if (slot >= 0) tap!.observe(slot, p.value, explicit ? pts : scrapeTimeMs);
        if (++st.postRelabel > sampleLimit) {
          // as Prometheus: the scrape fails as soon as the limit is passed, the rest is not read
          c.lines = base + p.line;
          throw sampleLimitExceeded(st.postRelabel, opts.sampleLimit);
        }
        if (!st.limitError) {
          const limit = cache.limitOf(id);
          if (limit !== undefined) st.limitError = limit;
        }
        let ts = scrapeTimeMs;
        if (explicit) {
          // Explicit timestamp: send only when it advanced (cAdvisor repeats them between updates).
          if (pts <= cache.lastTs[id]) continue;
          cache.scrapeTs[id] = pts; // becomes lastTs when the scrape is delivered (SeriesCache.endGood)
          ts = pts;
        }
        cache.appendTo(builder, id, p.value, ts);
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

  /** A native histogram of a protobuf scrape (native.ts): counted like a sample, limits included. */
  private nativeSample(s: NativeSample): void {
    const c = this.cur;
    const st = c.st;
    st.scraped++;
    const explicit = this.opts.honorTimestamps && s.timestampMs === s.timestampMs;
    st.postRelabel += this.nh!.add(s, explicit ? s.timestampMs : c.now, explicit);
    if (this.opts.sampleLimit > 0 && st.postRelabel > this.opts.sampleLimit)
      throw sampleLimitExceeded(st.postRelabel, this.opts.sampleLimit);
    if (!st.limitError && this.nh!.limitError) st.limitError = this.nh!.limitError;
  }

  /** Not cached under its hash: a collided series, or a new one to build and cache. */
  private miss(p: TextParser, lo: number, hi: number, length: number): number {
    const cache = this.cache;
    let text: string | undefined;
    if (cache.hasCollisions) {
      text = p.seriesKey();
      const found = cache.getCollided(text);
      if (found >= 0) return found;
    }
    const built = buildSeries(this.opts, p, this.scratch);
    return cache.add(lo, hi, length, cache.slotFree(lo) ? undefined : (text ?? p.seriesKey()), built);
  }

  /**
   * Finish the scrape: limits, staleness markers for series that went away, and the held requests
   * to `emit`. The last, partial request waits for `flush` (the synthetic series join it). A scrape
   * that broke a limit counts as failed (see `fail`).
   */
  private endSeries(emit: (c: Chunk) => void): ScrapeStats {
    const c = this.cur;
    if (c.proto) {
      try {
        c.proto.end();
      } catch (err) {
        throw protobufFailure(err);
      }
    }
    if (c.restBytes > 0) {
      const rest = Buffer.concat(c.rest); // last line without a final newline
      c.rest = [];
      c.restBytes = 0;
      this.parse(rest, 0, rest.length);
    }
    const { st, now } = c;
    if (c.openMetrics && !c.sawEOF) this.invalid(st, c.lines, 'OpenMetrics payload without "# EOF"');
    if (st.limitError) {
      st.emitted = 0;
      st.stale = this.failSeries(now, emit);
      return st;
    }
    for (const h of c.held) emit(h);
    c.held = [];
    if (this.nh) st.stale += this.nh.end(true, now, emit);
    const stale = this.staleWriter(now, st, emit);
    this.writeEvictedStale(stale, true);
    this.cache.endGood(stale.entry);
    this.opts.tap?.end(true, now);
    st.emitted += this.builder.samples;
    return st;
  }

  /**
   * The scrape failed, before `begin` (the target is down) or after it (timeout half-way, body too
   * large, a limit): drop what it produced, and staleness markers for every series the last good
   * scrape delivered (then `flush`). Returns the number of markers.
   */
  private failSeries(scrapeTimeMs: number, emit: (c: Chunk) => void): number {
    if (this.cur) {
      this.cur.held = [];
      this.cur.rest = [];
      this.cur.restBytes = 0;
    }
    this.builder.reset();
    const st = { stale: 0, emitted: 0 } as ScrapeStats;
    if (this.nh) st.stale += this.nh.end(false, scrapeTimeMs, emit);
    const stale = this.staleWriter(scrapeTimeMs, st, emit);
    this.writeEvictedStale(stale, false);
    this.cache.endFailed(stale.entry);
    this.opts.tap?.end(false, scrapeTimeMs);
    return st.stale;
  }

  /**
   * The stream ended (after `begin` and `feed`): the scrape's end as Prometheus's scrapeAndReport
   * has it. Its last line is parsed; a broken limit or a payload with nothing parseable fails it
   * (markers for the last good scrape's series); a good one releases its held requests and marks
   * the series it no longer has. Then the synthetic series, and the final request. `t0` is when the
   * scrape started (performance.now()): its duration counts this work too.
   */
  end(emit: (c: Chunk) => void, t0: number): ScrapeOutcome {
    const now = this.cur.now;
    const stats = this.endSeries(emit);
    const error = scrapeFailure(stats);
    const outcome: ScrapeOutcome = { up: !error, durationMs: performance.now() - t0, stats };
    if (error) outcome.error = error;
    else {
      const warning = scrapeWarning(stats);
      if (warning) outcome.warning = warning;
    }
    this.report(outcome, now, emit);
    return outcome;
  }

  /**
   * The scrape failed, before `begin` (the target is down) or after it (timeout half-way, body too
   * large, a limit): nothing of it is sent; markers for every series the last good scrape
   * delivered; the synthetic series with up 0; the final request.
   */
  fail(emit: (c: Chunk) => void, error: ScrapeError, scrapeTimeMs: number, t0: number): ScrapeOutcome {
    const staleMarkers = this.failSeries(scrapeTimeMs, emit);
    const outcome: ScrapeOutcome = { up: false, durationMs: performance.now() - t0, error, staleMarkers };
    this.report(outcome, scrapeTimeMs, emit);
    return outcome;
  }

  /** A scrape cut short by our own shutdown: forget it, send nothing (the target did nothing wrong). */
  abandon(scrapeTimeMs: number): void {
    this.failSeries(scrapeTimeMs, () => undefined);
    this.builder.reset(); // its markers are not sent either
    this.builder.release();
  }

  /**
   * The target was removed from the configuration: markers for every series it delivered and, if
   * it ever reported (`reported`), for its synthetic series, so a store stops returning them at once.
   */
  retire(emit: (c: Chunk) => void, scrapeTimeMs: number, reported: boolean): void {
    this.failSeries(scrapeTimeMs, emit);
    // series a pod change or the budget evicted, whose markers waited for a good scrape that will
    // not come now
    this.evictions.markers((labels, after) =>
      this.builder.append(labels, 0, Math.max(scrapeTimeMs, after), true),
    );
    if (reported)
      for (const labels of this.opts.synthetic ?? []) this.builder.append(labels, 0, scrapeTimeMs, true);
    this.flush(emit);
  }

  /** The synthetic series of a scrape (in the request being built, so a small target sends one), then the flush. */
  private report(o: ScrapeOutcome, scrapeTimeMs: number, emit: (c: Chunk) => void): void {
    const synthetic = this.opts.synthetic;
    if (synthetic) {
      const values = syntheticValues(o);
      for (let i = 0; i < synthetic.length; i++) this.builder.append(synthetic[i]!, values[i]!, scrapeTimeMs);
    }
    this.flush(emit);
  }

  /** Emit what is left in the current request (`end`, `fail` and `retire` do; `process` leaves it to the caller). */
  flush(emit: (c: Chunk) => void): void {
    if (this.builder.samples > 0)
      emit({ samples: this.builder.samples, body: this.builder.takeCompressed() });
    this.builder.release();
  }

  /**
   * Before a scrape: forget the cached series of the enricher's groups that changed (the pods whose
   * metadata changed, pod-labels.ts) and of the budget's families, so this scrape rebuilds them.
   * The old label sets get their markers when the scrape ends well (evictions.ts).
   */
  private evictChangedGroups(): void {
    const changed = this.opts.enricher?.changed();
    if (changed !== undefined) this.nh?.forget();
    this.evictions.beforeScrape(changed);
  }

  private readonly evictions = new Evictions(this.cache);

  /** The series budget changed its plan: applied before the next scrape. */
  budgetChanged(drop: Iterable<string>, admit: Iterable<string>): void {
    // a native histogram's labels built while its family was dropped: built again
    if (this.evictions.budgetChanged(drop, admit)) this.nh?.forget();
  }

  /** Markers for the evicted series the scrape did not send again (after a good scrape only). */
  private writeEvictedStale(stale: StaleWriter, good: boolean): void {
    if (good) this.evictions.markers((labels, after) => stale.labels(labels, after));
  }

  /** Staleness markers stamped `ts`, for cache entries (`entry`, an OnStale) or kept label sets. */
  private staleWriter(ts: number, st: ScrapeStats, emit: (c: Chunk) => void): StaleWriter {
    const { builder, cache } = this;
    const batch = this.opts.batch;
    const written = () => {
      st.stale++;
      if (builder.samples >= batch) {
        st.emitted += builder.samples;
        emit({ samples: builder.samples, body: builder.takeCompressed() });
      }
    };
    return {
      entry: (id) => {
        cache.appendTo(builder, id, 0, ts, true);
        written();
      },
      labels: (labels, after = -Infinity) => {
        builder.append(labels, 0, Math.max(ts, after), true);
        written();
      },
    };
  }

  private invalid(st: ScrapeStats, line: number, msg: string): void {
    st.invalidLines++;
    if (!st.firstError) st.firstError = `line ${line}: ${msg}`;
  }
}

/** The scrape's samples passed sample_limit: it fails (text and native samples alike). */
function sampleLimitExceeded(samples: number, limit: number): ScrapeError {
  return new ScrapeError(
    'limit',
    `sample_limit exceeded: ${samples} samples > ${limit}`,
    'raise the limit in the instance, or drop series with metrics_drop / relabel_configs',
  );
}

/** A protobuf page that cannot be decoded fails the scrape (it cannot be resynchronised). */
function protobufFailure(err: unknown): unknown {
  if (!(err instanceof ProtobufError)) return err;
  return new ScrapeError(
    'other',
    `invalid protobuf page: ${err.message}`,
    'the target answered application/vnd.google.protobuf but the body is not a delimited MetricFamily stream; scrape it as text (scrape_protocols without PrometheusProto)',
  );
}

interface StaleWriter {
  entry: OnStale;
  /** A marker for a kept label set, at the scrape's time or `after` if later. */
  labels: (labels: EncodedLabels, after?: number) => void;
}
