// What the server shows: the view of the running agent it reads (implemented by cli/runtime.ts,
// which the server must not import: the runtime builds the server), and the JSON of /targets.
import { redactUrl } from '../config/redact.js';
import type { ScrapeTarget } from '../scrape/target.js';
import type { RemoteWriter } from '../write/writer.js';

export interface AgentView {
  readonly ready: boolean;
  readonly targets: readonly ScrapeTarget[];
  readonly writers: readonly RemoteWriter[];
  /** Samples read from target payloads since start. */
  readonly scrapedSamples: number;
  readonly reloads: number;
  readonly reloadFailures: number;
  readonly lastReloadOk: boolean;
  /** Re-read the configuration; rejects (keeping the old one) when it is invalid. */
  reload(): Promise<void>;
}

export interface TargetJson {
  name: string;
  /** The scrape URL, credentials redacted (also the `target` label of the own metrics). */
  url: string;
  job: string;
  labels: Record<string, string>;
  health: string;
  lastError: string;
  lastWarning: string;
  lastScrape: string | null;
  lastScrapeDurationSeconds: number;
  samples: number;
  series: number;
  scrapes: number;
  failures: number;
  intervalSeconds: number;
  tokenExpiry: string | null;
}

export interface WriterJson {
  /** Stable non-secret name (the `writer` label of the own metrics). */
  name: string;
  /** The write URL, credentials redacted. */
  url: string;
  state: string;
  lastError: string;
  sentSamples: number;
  sentBytes: number;
  sentRequests: number;
  failedRequests: number;
  retriedSamples: number;
  droppedSamples: Record<string, number>;
  queuedSamples: number;
  diskQueueBytes: number;
  diskQueueSamples: number;
  lastSuccess: string | null;
}

/** A scrape URL as shown anywhere (page, JSON, labels, logs): password and secret query values hidden. */
export function targetUrl(t: ScrapeTarget): string {
  return redactUrl(t.url.href);
}

export function targetsJson(rt: AgentView): TargetJson[] {
  return rt.targets.map((t) => ({
    name: t.instance.name,
    url: targetUrl(t),
    job: t.job,
    labels: Object.fromEntries(t.labels),
    health: t.health,
    lastError: t.lastError,
    lastWarning: t.lastWarning,
    lastScrape: t.lastScrapeMs ? new Date(t.lastScrapeMs).toISOString() : null,
    lastScrapeDurationSeconds: t.lastDurationMs / 1000,
    samples: t.lastSamples,
    series: t.seriesCount,
    scrapes: t.scrapes,
    failures: t.failures,
    intervalSeconds: t.instance.intervalMs / 1000,
    tokenExpiry: Number.isFinite(t.tokenExpiry) ? new Date(t.tokenExpiry * 1000).toISOString() : null,
  }));
}

export function writersJson(rt: AgentView): WriterJson[] {
  return rt.writers.map((w) => ({
    name: w.name,
    url: w.displayUrl,
    state: w.state,
    lastError: w.stats.lastError,
    sentSamples: w.stats.sentSamples,
    sentBytes: w.stats.sentBytes,
    sentRequests: w.stats.sentRequests,
    failedRequests: w.stats.failedRequests,
    retriedSamples: w.stats.retriedSamples,
    droppedSamples: { ...w.stats.droppedSamples },
    queuedSamples: w.memorySamples,
    diskQueueBytes: w.diskBytes,
    diskQueueSamples: w.diskSamples,
    lastSuccess: w.stats.lastSuccessMs ? new Date(w.stats.lastSuccessMs).toISOString() : null,
  }));
}
