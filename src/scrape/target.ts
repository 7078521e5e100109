// One scrape target: its labels, its HTTP client, its pipeline and its schedule.
import { createHash } from 'node:crypto';
import type { GlobalConfig, ScrapeInstance, WriterOptions } from '../config/types.js';
import { compileGlobs } from '../relabel/glob.js';
import { compileRelabel } from '../relabel/relabel.js';
import { encodeLabels, type EncodedLabels, type LabelPairs } from '../prompb/encode.js';
import { redactUrl } from '../config/secret.js';
import { errorMessage } from '../errno.js';
import { VERSION } from '../version.js';
import { TargetClient } from './client.js';
import { ScrapeError } from './errors.js';
import type { Chunk, SampleSink } from '../prompb/chunk.js';
import { sanitizeLabelName } from '../config/common.js';
import { TargetPipeline, type ScrapeStats } from './pipeline.js';
import type { SampleTap, TapFactory } from './sample-tap.js';
import { PodLabeler, type PodLabelSource } from './pod-labels.js';

export interface ScrapeReport {
  target: string;
  job: string;
  up: boolean;
  durationMs: number;
  stats?: ScrapeStats;
  error?: ScrapeError;
  /** When the scrape succeeded but some lines were malformed: the first, with its line number. */
  warning?: string;
}

export type TargetHealth = 'unknown' | 'up' | 'down';

/** Where a target's payload comes from: its HTTP client, or (pod health) the agent itself. */
export interface BodySource {
  /** As TargetClient.stream: `start` once the payload is known good, then its pieces; throws a ScrapeError. */
  stream(start: (openMetrics: boolean) => (piece: Buffer) => void): Promise<void>;
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
}

/**
 * The job of a target as every command shows it: the `job` label it is sent with, or a note that
 * it has none (nodegraf adds no job of its own; set `labels = { job = "..." }`).
 */
export function describeJob(job: string): string {
  return job ? `job ${job}` : 'no job label';
}

/** Expand Categraf's url_label_value template over a URL. */
export function expandUrlTemplate(template: string, u: URL): string {
  const fields: Record<string, string> = {
    Scheme: u.protocol.replace(/:$/, ''),
    Host: u.host,
    Hostname: u.hostname,
    Port: u.port || (u.protocol === 'https:' ? '443' : '80'),
    Path: u.pathname,
    Query: u.search.replace(/^\?/, ''),
  };
  return template.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (m, f: string) => fields[f] ?? m);
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
  private readonly synthetic: Record<string, EncodedLabels>;
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
    this.url = new URL(url);
    // Precedence (SPEC §3.2): URL label < instance labels < ident (override scraped labels, which
    // are kept as exported_<name>); [global] labels only fill in missing keys.
    const override = new Map<string, string>();
    const deleted = new Set<string>();
    const set = (k: string, v: string) => {
      const name = sanitizeLabelName(k);
      if (v === '-') {
        override.delete(name);
        deleted.add(name);
      } else {
        deleted.delete(name);
        override.set(name, v);
      }
    };
    if (instance.urlLabelKey) set(instance.urlLabelKey, expandUrlTemplate(instance.urlLabelValue, this.url));
    for (const [k, v] of Object.entries(instance.labels)) set(k, v);
    // An `ident` set explicitly in the instance labels is intent (e.g. a device's own name): it wins.
    if (!global.omitHostname && !override.has(global.hostnameLabel) && !deleted.has(global.hostnameLabel)) {
      set(global.hostnameLabel, global.hostname);
    }
    const defaults: LabelPairs = [];
    for (const [k, v] of Object.entries(global.labels)) {
      const name = sanitizeLabelName(k);
      if (v === '-' || v === '') deleted.add(name);
      else if (!override.has(name) && !deleted.has(name)) defaults.push([name, v]);
    }
    for (const [k, v] of override) if (v === '') override.delete(k);
    this.labels = [...override, ...defaults].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.job = override.get('job') ?? '';

    const pass = compileGlobs(instance.metricsPass);
    const drop = compileGlobs([...instance.metricsDrop, ...instance.ignoreMetrics]);
    const hasPass = instance.metricsPass.length > 0;
    const ignoreKeys = compileGlobs(instance.ignoreLabelKeys);
    // the client first: it reads the TLS files and may throw, before a tap is registered anywhere
    this.client =
      extras.source ??
      new TargetClient(this.url, {
        timeoutMs: instance.timeoutMs,
        bodySizeLimit: instance.bodySizeLimit,
        tls: instance.tls,
        bearerTokenFile: instance.bearerTokenFile,
        bearerTokenString: instance.bearerTokenString,
        username: instance.username,
        password: instance.password,
        headers: instance.headers,
        userAgent: `nodegraf/${VERSION}`,
      });
    this.pipeline = new TargetPipeline({
      targetLabels: [...override],
      defaultLabels: defaults,
      deleteLabels: [...deleted],
      honorLabels: instance.honorLabels,
      honorTimestamps: instance.honorTimestamps,
      keepMetric: (name) => (!hasPass || pass(name)) && !drop(name),
      ignoreLabel: ignoreKeys,
      // compiled by the config loader; instances built in code (tests) compile theirs here
      relabel:
        instance.relabel ??
        (instance.relabelConfigs.length ? compileRelabel(instance.relabelConfigs) : undefined),
      sampleLimit: instance.sampleLimit,
      lineSizeLimit: instance.lineSizeLimit,
      labelLimit: instance.labelLimit,
      labelValueLengthLimit: instance.labelValueLengthLimit,
      batch: writerOpt.batch,
      pods: extras.pods ? new PodLabeler(extras.pods) : undefined,
      tap: (this.tap = extras.taps?.({ url, job: this.job })),
    });
    const key = createHash('sha256').update(`${instance.name}\0${url}`).digest();
    this.shard = key.readUInt32BE(0);
    this.offsetMs = key.readUInt32BE(4) % Math.max(1, instance.intervalMs);
    this.synthetic = {};
    for (const name of SYNTHETIC) {
      const pairs: LabelPairs = [['__name__', name], ...this.labels];
      pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      this.synthetic[name] = encodeLabels(pairs);
    }
  }

  get id(): string {
    return `${this.instance.name} ${this.url.href}`;
  }

  get seriesCount(): number {
    return this.pipeline.seriesCount;
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
    let report: ScrapeReport;
    const target = this.displayUrl;
    try {
      const pipeline = this.pipeline;
      await this.client.stream((openMetrics) => {
        pipeline.begin(openMetrics, now);
        return (piece) => pipeline.feed(piece);
      });
      const stats = pipeline.end(emit);
      const error = scrapeFailure(stats);
      report = {
        target,
        job: this.job,
        up: !error,
        durationMs: performance.now() - t0,
        stats,
      };
      if (error) report.error = error;
      else report.warning = scrapeWarning(stats);
    } catch (err) {
      const error = err instanceof ScrapeError ? err : new ScrapeError('other', errorMessage(err));
      if (this.aborted) {
        // cut short by our own shutdown: the target did nothing wrong, so nothing is recorded or sent
        this.pipeline.fail(now, () => undefined);
        return { target, job: this.job, up: false, durationMs: performance.now() - t0, error };
      }
      this.pipeline.fail(now, emit);
      report = { target, job: this.job, up: false, durationMs: performance.now() - t0, error };
    }
    this.record(report, now);
    this.appendSynthetic(report, now);
    this.pipeline.flush(emit);
    return report;
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
    }
  }

  private appendSynthetic(r: ScrapeReport, now: number): void {
    const p = this.pipeline;
    const s = r.up ? r.stats : undefined;
    p.appendExtra(this.synthetic.up, r.up ? 1 : 0, now);
    p.appendExtra(this.synthetic.scrape_duration_seconds, r.durationMs / 1000, now);
    p.appendExtra(this.synthetic.scrape_samples_scraped, s?.scraped ?? 0, now);
    p.appendExtra(this.synthetic.scrape_samples_post_metric_relabeling, s?.postRelabel ?? 0, now);
    p.appendExtra(this.synthetic.scrape_series_added, s?.added ?? 0, now);
  }

  /** Scrape every interval, at a stable offset, until stop(). A slow target only delays itself. */
  start(sink: SampleSink, onReport: (r: ScrapeReport) => void): void {
    const interval = this.instance.intervalMs;
    const tick = () => {
      if (this.stopped) return;
      const now = Date.now();
      // Next slot: the offset within the interval grid, skipping a slot if a scrape overran it.
      const next = Math.floor((now - this.offsetMs) / interval) * interval + this.offsetMs + interval;
      this.timer = setTimeout(tick, next - now);
      if (this.running) return; // previous scrape still running (it cannot outlive its timeout)
      this.scrape(sink, now).then(onReport, () => undefined);
    };
    const now = Date.now();
    const first = Math.floor((now - this.offsetMs) / interval) * interval + this.offsetMs + interval - now;
    this.timer = setTimeout(tick, first % interval);
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
    const emit = (c: Chunk) => sink.push(c, this.shard);
    this.pipeline.fail(now, emit);
    this.tap?.close();
    if (this.health !== 'unknown') {
      for (const name of SYNTHETIC) this.pipeline.appendStale(this.synthetic[name], now);
    }
    this.pipeline.flush(emit);
  }

  /** The scrape URL as shown anywhere (logs, labels, page): password and secret query values hidden. */
  get displayUrl(): string {
    return (this.shownUrl ??= redactUrl(this.url.href));
  }
}

/** A scrape whose payload was read but cannot count as up: a broken limit, or nothing parseable. */
function scrapeFailure(st: ScrapeStats): ScrapeError | undefined {
  if (st.limitError) {
    return new ScrapeError(
      'limit',
      st.limitError,
      'raise the limit in the instance, or drop series with metrics_drop / relabel_configs',
    );
  }
  if (st.scraped === 0 && st.invalidLines > 0) {
    return new ScrapeError(
      'parse',
      `unparseable payload: ${st.firstError}`,
      'is this a Prometheus text endpoint?',
    );
  }
  return undefined;
}

/** What was skipped in an otherwise good scrape. */
function scrapeWarning(st: ScrapeStats): string | undefined {
  const w: string[] = [];
  if (st.invalidLines > 0) w.push(`${st.invalidLines} malformed line(s) skipped; first: ${st.firstError}`);
  if (st.duplicates > 0)
    w.push(`${st.duplicates} duplicate series skipped (same labels twice in one scrape)`);
  return w.length ? w.join('; ') : undefined;
}

const SYNTHETIC = [
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
] as const;
