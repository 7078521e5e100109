// What the server shows: the view of the running agent it reads (implemented by cli/runtime.ts,
// which the server must not import: the runtime builds the server), and the JSON of /targets.
import type { ScrapeTarget } from '../scrape/target.js';
import type { RemoteWriter } from '../write/writer.js';
import type { PodSummary } from '../kube/pod-metadata.js';
import type { PodViewStatus } from '../kube/view.js';
import type { ContainerView } from '../derive/hub.js';
import type { TargetJson, WriterJson } from './api-types.js';

export type { TargetJson, WriterJson } from './api-types.js';

/** The node's pod view as the server shows it (kube/pod-metadata.ts's PodMetadata). */
export interface PodsView {
  readonly status: PodViewStatus;
  pods(): PodSummary[];
}

export interface AgentView {
  readonly ready: boolean;
  /** Absent when `[pod_metadata]` is off. */
  readonly pods?: PodsView;
  /** The edge-derived container values (node top). */
  readonly derive?: { containers(): ContainerView[]; readonly seriesCount: number };
  readonly targets: readonly ScrapeTarget[];
  /** The node's series budget (`[global] series_limit`). */
  readonly budget?: {
    readonly limit: number;
    readonly dropped: ReadonlyMap<string, number>;
    readonly droppedSeries: number;
  };
  readonly writers: readonly RemoteWriter[];
  /** Samples read from target payloads since start. */
  readonly scrapedSamples: number;
  readonly reloads: number;
  readonly reloadFailures: number;
  readonly lastReloadOk: boolean;
  /** Re-read the configuration; rejects (keeping the old one) when it is invalid. */
  reload(): Promise<void>;
}

export function targetsJson(rt: AgentView): TargetJson[] {
  return rt.targets.map((t) => ({
    name: t.instance.name,
    url: t.displayUrl,
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
    missingFamilies: t.missingFamilies,
  }));
}

/** The JSON of /pods: the view's state and its pods. */
export function podsJson(rt: AgentView): object {
  const v = rt.pods;
  if (!v) return { enabled: false, pods: [] };
  const s = v.status;
  return {
    enabled: true,
    source: s.source,
    synced: s.synced,
    lastUpdate: s.lastUpdateMs ? new Date(s.lastUpdateMs).toISOString() : null,
    lastError: s.lastError,
    lastHint: s.lastHint,
    errors: s.errors,
    lists: s.lists,
    events: s.events,
    resourceVersion: s.resourceVersion || undefined,
    pods: v.pods(),
  };
}

export function writersJson(rt: AgentView): WriterJson[] {
  return rt.writers.map((w) => ({
    name: w.name,
    url: w.displayUrl,
    state: w.state,
    lastError: w.stats.lastError,
    lastHint: w.stats.lastHint,
    sentSamples: w.stats.sentSamples,
    sentBytes: w.stats.sentBytes,
    sentRequests: w.stats.sentRequests,
    failedRequests: w.stats.failedRequests,
    retriedSamples: w.stats.retriedSamples,
    droppedSamples: { ...w.stats.droppedSamples },
    refusedRequests: { ...w.stats.refusedRequests },
    queuedSamples: w.memorySamples,
    queuedBytes: w.memoryBytes,
    diskQueueBytes: w.diskBytes,
    diskQueueSamples: w.diskSamples,
    lastSuccess: w.stats.lastSuccessMs ? new Date(w.stats.lastSuccessMs).toISOString() : null,
  }));
}
