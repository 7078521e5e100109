// One scrape target: its schedule, its client and its health. What it scrapes with is compiled
// once from the configuration (./compile.ts); how a scrape ends, with its synthetic series and its
// staleness markers, is the pipeline's (./pipeline.ts `end`/`fail`, ./report.ts).
import { redactUrl } from '../config/secret.js';
import { errorMessage } from '../errno.js';
import type { GlobalConfig, ScrapeInstance, WriterOptions } from '../config/types.js';
import type { LabelPairs } from '../prompb/encode.js';
import type { Chunk, SampleSink } from '../prompb/chunk.js';
import { TargetClient } from './client.js';
import type { ExpositionFormat } from '../parse/format.js';
import { compileTarget } from './compile.js';
import { ScrapeError } from './errors.js';
import { TargetPipeline } from './pipeline.js';
import { missingFamilies, type MissingFamily } from './contract.js';
import type { SeriesBudget } from './budget.js';
import type { ScrapeOutcome, ScrapeReport } from './report.js';
import type { SampleTap, TapFactory } from './sample-tap.js';
import { PodLabeler, type PodLabelSource } from './pod-labels.js';

export { expandUrlTemplate } from './compile.js';
export type { ScrapeReport } from './report.js';

export type TargetHealth = 'unknown' | 'up' | 'down';

/** Where a target's payload comes from: its HTTP client, or (pod health) the agent itself. */
export interface BodySource {
  /** As TargetClient.stream: `start` once the payload is known good, then its pieces; throws a ScrapeError. */
  stream(start: (format: ExpositionFormat) => (piece: Buffer) => void): Promise<void>;
  abort(): void;
  close(): Promise<void>;
  readonly tokenExpiry: number;
}

export interface TargetExtras {
  /** Pod metadata for series with namespace and pod labels (SPEC §5). */
  pods?: PodLabelSource;
  /** Instead of an HTTP client for the URL. */
  source?: BodySource;
  /** Makes this target's tap on its samples (the edge-derived container series). */
  taps?: TapFactory;
  /** The node's series budget (budget.ts). */
  budget?: SeriesBudget;
}

/**
 * The job of a target as every command shows it: the `job` label it is sent with, or a note that
 * it has none (nodegraf adds no job of its own; set `labels = { job = "..." }`).
 */
export function describeJob(job: string): string {
  return job ? `job ${job}` : 'no job label';
}

export class ScrapeTarget {
  readonly url: URL;
  readonly job: string;
  /** Final target labels (override scraped ones), in name order. */
  readonly labels: LabelPairs;
  health: TargetHealth = 'unknown';
  lastError = '';
  /** This target's tap on its samples, if any (closed when the target is retired). */
  private tap: SampleTap | undefined;
  lastWarning = '';
  lastScrapeMs = 0;
  lastDurationMs = 0;
  lastSamples = 0;
  scrapes = 0;
  failures = 0;
  readonly shard: number;
  /** Stable offset of this target within its interval, so targets don't all fire at once. */
  readonly offsetMs: number;
  private readonly client: BodySource;
  private readonly pipeline: TargetPipeline;
  private timer: NodeJS.Timeout | undefined;
  private aborted = false;
  private shownUrl: string | undefined;
  private running: Promise<ScrapeReport> | undefined;
  private stopped = false;

  constructor(
    readonly instance: ScrapeInstance,
    url: string,
    global: GlobalConfig,
    writerOpt: WriterOptions,
    extras: TargetExtras = {},
  ) {
    const c = compileTarget(instance, url, global, writerOpt);
    this.url = c.url;
    this.labels = c.labels;
    this.job = c.job;
    this.shard = c.shard;
    this.offsetMs = c.offsetMs;
    // the client first: it reads the TLS files and may throw, before a tap is registered anywhere
    this.client = extras.source ?? new TargetClient(this.url, c.client);
    this.pipeline = new TargetPipeline({
      ...c.pipeline,
      enricher: extras.pods ? new PodLabeler(extras.pods) : undefined,
      tap: (this.tap = extras.taps?.({ url, job: this.job })),
      budget: extras.budget,
    });
  }

  /** The families the last good scrape delivered (series and label bytes). */
  families(): Map<string, { series: number; labelBytes: number }> {
    return this.pipeline.families();
  }

  /** The series budget's new plan, applied before this target's next scrape. */
  budgetChanged(drop: Iterable<string>, admit: Iterable<string>): void {
    this.pipeline.budgetChanged(drop, admit);
  }

  get id(): string {
    return `${this.instance.name} ${this.url.href}`;
  }

  get seriesCount(): number {
    return this.pipeline.seriesCount;
  }

  get cacheSize(): { entries: number; labelBytes: number } {
    return this.pipeline.cacheSize;
  }

  /** JWT expiry (s since epoch) of the bearer token last read, NaN when unknown. */
  get tokenExpiry(): number {
    return this.client.tokenExpiry;
  }

  /**
   * Scrape once now and push samples (and synthetic series) to the sink. A scrape never overlaps
   * another of the same target: a call during one returns that one's report.
   */
  scrape(sink: SampleSink, now = Date.now()): Promise<ScrapeReport> {
    if (this.running) return this.running;
    const run = this.scrapeNow(sink, now);
    this.running = run;
    const clear = () => {
      if (this.running === run) this.running = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  private async scrapeNow(sink: SampleSink, now: number): Promise<ScrapeReport> {
    const t0 = performance.now();
    const emit = (c: Chunk) => sink.push(c, this.shard);
    const pipeline = this.pipeline;
    let outcome: ScrapeOutcome;
    try {
      await this.client.stream((format) => {
        pipeline.begin(format, now);
        return (piece) => pipeline.feed(piece);
      });
      outcome = pipeline.end(emit, t0);
    } catch (err) {
      const error = err instanceof ScrapeError ? err : new ScrapeError('other', errorMessage(err));
      if (this.aborted) {
        // cut short by our own shutdown: the target did nothing wrong, so nothing is recorded or sent
        pipeline.abandon(now);
        return {
          target: this.displayUrl,
          job: this.job,
          up: false,
          durationMs: performance.now() - t0,
          error,
        };
      }
      outcome = pipeline.fail(emit, error, now, t0);
    }
    const report: ScrapeReport = { target: this.displayUrl, job: this.job, ...outcome };
    this.record(report, now);
    return report;
  }

  /**
   * The kit's families this target's job should deliver and did not (contract.ts), from the last
   * good scrape; checked after the first good scrape and then at most once a minute.
   */
  missingFamilies: MissingFamily[] = [];
  private contractCheckedMs = 0;

  /** Every series the last good scrape delivered (for the cardinality report). */
  census(visit: (labels: LabelPairs, labelBytes: number) => void): void {
    this.pipeline.census(visit);
  }

  private checkContract(now: number): void {
    if (this.contractCheckedMs !== 0 && now - this.contractCheckedMs < 60_000) return;
    this.contractCheckedMs = now;
    this.missingFamilies = missingFamilies(this.job, new Set(this.pipeline.families().keys()));
  }

  private record(r: ScrapeReport, now: number): void {
    this.scrapes++;
    this.lastScrapeMs = now;
    this.lastDurationMs = r.durationMs;
    this.health = r.up ? 'up' : 'down';
    this.lastSamples = r.stats?.scraped ?? 0;
    this.lastWarning = r.warning ?? '';
    if (!r.up) {
      this.failures++;
      this.lastError = r.error?.describe() ?? 'unknown error';
    } else {
      this.lastError = '';
      this.checkContract(now);
    }
  }

  /** Scrape every interval, at a stable offset, until stop(). A slow target only delays itself. */
  start(sink: SampleSink, onReport: (r: ScrapeReport) => void): void {
    const interval = this.instance.intervalMs;
    const grid = (t: number) => Math.floor((t - this.offsetMs) / interval) * interval + this.offsetMs;
    // The slot the timer was set for. setTimeout counts from the event loop's time, cached when the
    // loop iteration began, while Date.now() is read later in it: a timer can fire a few ms before
    // its slot by Date.now(), and a tick that took its slot from Date.now() alone scraped a fast
    // target twice (the soak saw internal targets scraped 21 times in 18 intervals).
    let slot = grid(Date.now()) + interval;
    const tick = () => {
      if (this.stopped) return;
      const now = Date.now();
      // the next slot after this one, or after the latest one passed if this tick is late by more
      // than an interval (a slot a scrape overran is skipped)
      slot = Math.max(slot, grid(now)) + interval;
      if (slot - now > 2 * interval) slot = grid(now) + interval; // the wall clock went back
      this.timer = setTimeout(tick, slot - now);
      if (this.running) return; // previous scrape still running (it cannot outlive its timeout)
      this.scrape(sink, now).then(onReport, () => undefined);
    };
    this.timer = setTimeout(tick, slot - Date.now());
  }

  /**
   * Stop scheduling and wait for a scrape in flight: to its end, or with `abort` (shutdown) cut
   * short, sending nothing of it.
   */
  async stop(abort = false): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (abort && this.running) {
      this.aborted = true;
      this.client.abort();
    }
    await this.running?.catch(() => undefined);
    await this.client.close();
  }

  /** Stop and forget a target that never ran (a reload that failed after building it). */
  async dispose(): Promise<void> {
    await this.stop(true);
    this.tap?.close();
  }

  /**
   * The target was removed from the configuration (after `stop`): staleness markers for every
   * series it delivered and for its synthetic series, so a store stops returning them at once.
   */
  retire(sink: SampleSink, now = Date.now()): void {
    this.pipeline.retire((c: Chunk) => sink.push(c, this.shard), now, this.health !== 'unknown');
    this.tap?.close();
  }

  /** The scrape URL as shown anywhere (logs, labels, page): password and secret query values hidden. */
  get displayUrl(): string {
    return (this.shownUrl ??= redactUrl(this.url.href));
  }
}
