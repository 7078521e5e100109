// The agent's own metrics (`/metrics`, SPEC §7), every family documented in docs/metrics.md (a test
// holds the two together) and clean under `promtool check metrics`: counters end in `_total`,
// nothing else does. Values are read from the agent's state at scrape time (`collect`), so the hot
// path keeps plain counters and never touches prom-client.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { VERSION } from '../version.js';
import { targetsJson, writersJson, type AgentView, type TargetJson, type WriterJson } from './status.js';

/** prom-client's default gauges that end in `_total` (each also exists without the suffix). */
const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

type Kind = 'gauge' | 'counter';

/**
 * A family whose series are read from the agent's state at every scrape of /metrics: `rows` gives
 * each series' labels and current value (for a counter, its total since start).
 */
function family(
  reg: Registry,
  kind: Kind,
  name: string,
  help: string,
  labelNames: string[],
  rows: () => Array<[Record<string, string>, number]>,
): void {
  if (kind === 'gauge') {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [reg],
      collect() {
        this.reset();
        for (const [labels, v] of rows()) this.set(labels, v);
      },
    });
  } else {
    new Counter({
      name,
      help,
      labelNames,
      registers: [reg],
      collect() {
        this.reset();
        for (const [labels, v] of rows()) this.inc(labels, v);
      },
    });
  }
}

export class OwnMetrics {
  readonly registry = new Registry();
  private readonly latency: Histogram<'writer'>;

  constructor(rt: AgentView) {
    const reg = this.registry;
    collectDefaultMetrics({ register: reg });
    for (const name of MISNAMED_DEFAULTS) reg.removeSingleMetric(name);

    new Gauge({
      name: 'nodegraf_build_info',
      help: 'Always 1; the version of nodegraf and of Node.js in labels.',
      labelNames: ['version', 'nodejs_version'],
      registers: [reg],
    }).set({ version: VERSION, nodejs_version: process.version }, 1);

    const perTarget = (kind: Kind, name: string, help: string, get: (t: TargetJson) => number) =>
      family(reg, kind, name, help, ['target', 'job'], () =>
        targetsJson(rt).map((t) => [{ target: t.url, job: t.job }, get(t)]),
      );
    perTarget(
      'gauge',
      'nodegraf_target_up',
      'Whether the last scrape of the target succeeded (1) or not (0).',
      (t) => (t.health === 'up' ? 1 : 0),
    );
    perTarget(
      'gauge',
      'nodegraf_target_scrape_duration_seconds',
      'Duration of the last scrape of the target.',
      (t) => t.lastScrapeDurationSeconds,
    );
    perTarget(
      'gauge',
      'nodegraf_target_samples',
      'Samples in the last scrape of the target.',
      (t) => t.samples,
    );
    perTarget(
      'gauge',
      'nodegraf_target_series',
      'Series the last good scrape of the target delivered.',
      (t) => t.series,
    );
    perTarget(
      'gauge',
      'nodegraf_target_missing_families',
      "Families the kit's dashboards and alerts need from the target's job that its last good scrape did not deliver (checked at most once a minute; /targets and the status page name them, the panels they empty and the likely cause).",
      (t) => t.missingFamilies.length,
    );
    perTarget(
      'counter',
      'nodegraf_target_scrapes_total',
      'Scrapes of the target since start.',
      (t) => t.scrapes,
    );
    perTarget(
      'counter',
      'nodegraf_target_scrape_errors_total',
      'Failed scrapes of the target since start.',
      (t) => t.failures,
    );
    family(
      reg,
      'gauge',
      'nodegraf_target_token_expiry_timestamp_seconds',
      'Expiry (JWT exp, seconds since the epoch) of the bearer token the target was last scraped with.',
      ['target', 'job'],
      () =>
        targetsJson(rt)
          .filter((t) => t.tokenExpiry)
          .map((t) => [{ target: t.url, job: t.job }, Date.parse(t.tokenExpiry!) / 1000]),
    );
    const single = (kind: Kind, name: string, help: string, get: () => number) =>
      family(reg, kind, name, help, [], () => [[{}, get()]]);
    single(
      'gauge',
      'nodegraf_series_budget_limit',
      '[global] series_limit: the series budget of the node (0: none).',
      () => rt.budget?.limit ?? 0,
    );
    single(
      'gauge',
      'nodegraf_series_budget_dropped_families',
      'Metric families not sent because the node is over its series budget (the largest read by no shipped dashboard or alert).',
      () => rt.budget?.dropped.size ?? 0,
    );
    single(
      'gauge',
      'nodegraf_series_budget_dropped_series',
      'Series of the families the budget does not send (as many as they had when dropped).',
      () => rt.budget?.droppedSeries ?? 0,
    );
    single(
      'counter',
      'nodegraf_scraped_samples_total',
      'Samples read from target payloads (synthetic up/scrape_* series not included).',
      () => rt.scrapedSamples,
    );

    // Where the memory goes (docs/performance.md), beside prom-client's nodejs_heap_* and
    // nodejs_external_memory_bytes: computed when /metrics is scraped, never on the hot path.
    single(
      'gauge',
      'nodegraf_array_buffers_bytes',
      'Memory of ArrayBuffers and Buffers (part of nodejs_external_memory_bytes): response pieces, requests being built and queued.',
      () => process.memoryUsage().arrayBuffers,
    );
    const cache = () => {
      let entries = 0;
      let labelBytes = 0;
      for (const t of rt.targets) {
        const c = t.cacheSize;
        entries += c.entries;
        labelBytes += c.labelBytes;
      }
      return { entries, labelBytes };
    };
    single(
      'gauge',
      'nodegraf_series_cache_entries',
      "Series in the targets' series caches (what each raw series became, dropped ones included), all targets.",
      () => cache().entries,
    );
    single(
      'gauge',
      'nodegraf_series_cache_label_bytes',
      "Bytes of the encoded label sets the targets' series caches hold, all targets.",
      () => cache().labelBytes,
    );
    single(
      'gauge',
      'nodegraf_derive_series',
      'Container series the derive tap follows (one small record each), all targets.',
      () => rt.derive?.seriesCount ?? 0,
    );

    // The pod view (present only with [pod_metadata] enable = true).
    const podView = (
      kind: Kind,
      name: string,
      help: string,
      get: (s: NonNullable<AgentView['pods']>['status']) => number,
    ) =>
      family(reg, kind, name, help, ['source'], () =>
        rt.pods ? [[{ source: rt.pods.status.source }, get(rt.pods.status)]] : [],
      );
    podView(
      'gauge',
      'nodegraf_pod_view_synced',
      'Whether the pod view has had a pod list (1) or not yet (0).',
      (s) => (s.synced ? 1 : 0),
    );
    podView('gauge', 'nodegraf_pod_view_pods', 'Pods of this node in the pod view.', (s) => s.pods);
    podView(
      'gauge',
      'nodegraf_pod_view_last_update_timestamp_seconds',
      'When the pod view last had a good list, watch event or poll (seconds since the epoch).',
      (s) => s.lastUpdateMs / 1000,
    );
    podView(
      'gauge',
      'nodegraf_pod_view_healthy',
      'Whether the last request of the pod view source succeeded (1) or failed (0); on failure the last good view is kept.',
      (s) => (s.lastError ? 0 : 1),
    );
    podView(
      'counter',
      'nodegraf_pod_view_errors_total',
      'Failed requests of the pod view source.',
      (s) => s.errors,
    );
    podView(
      'counter',
      'nodegraf_pod_view_lists_total',
      'Full pod lists applied (apiserver list and relist, kubelet poll).',
      (s) => s.lists,
    );
    podView(
      'counter',
      'nodegraf_pod_view_watch_events_total',
      'Watch events applied (apiserver source).',
      (s) => s.events,
    );
    podView(
      'gauge',
      'nodegraf_pod_view_dead_containers',
      'Container ids the pod view saw end or be replaced, remembered for an hour ([pod_metadata] drop_stale_containers).',
      (s) => s.deadContainers,
    );
    podView(
      'gauge',
      'nodegraf_pod_view_dead_pods',
      'Pod UIDs the pod view saw deleted or replaced, remembered for an hour.',
      (s) => s.deadPods,
    );
    podView(
      'counter',
      'nodegraf_dead_container_series_dropped_total',
      'cAdvisor series not sent because they belong to a dead container or a deleted pod (counted when the series is built: once, and again after each change of its pod); each got a staleness marker if it had been sent.',
      (s) => s.deadSeriesDropped,
    );

    const perWriter = (kind: Kind, name: string, help: string, get: (w: WriterJson) => number) =>
      family(reg, kind, name, help, ['writer'], () =>
        writersJson(rt).map((w) => [{ writer: w.name }, get(w)]),
      );
    perWriter(
      'counter',
      'nodegraf_writer_sent_samples_total',
      'Samples delivered to the store.',
      (w) => w.sentSamples,
    );
    perWriter(
      'counter',
      'nodegraf_writer_sent_bytes_total',
      'Request bytes (snappy-compressed) delivered to the store.',
      (w) => w.sentBytes,
    );
    perWriter(
      'counter',
      'nodegraf_writer_sent_requests_total',
      'Requests the store accepted.',
      (w) => w.sentRequests,
    );
    perWriter(
      'counter',
      'nodegraf_writer_failed_requests_total',
      'Requests that failed (network error, timeout, or a non-2xx answer).',
      (w) => w.failedRequests,
    );
    perWriter(
      'counter',
      'nodegraf_writer_retried_samples_total',
      'Samples in requests that were retried.',
      (w) => w.retriedSamples,
    );
    perWriter('gauge', 'nodegraf_writer_queue_samples', 'Samples queued in memory.', (w) => w.queuedSamples);
    perWriter(
      'gauge',
      'nodegraf_writer_queue_bytes',
      'Bytes of the requests queued in memory (snappy-compressed).',
      (w) => w.queuedBytes,
    );
    perWriter(
      'gauge',
      'nodegraf_writer_disk_queue_bytes',
      'Bytes in the on-disk queue.',
      (w) => w.diskQueueBytes,
    );
    perWriter(
      'gauge',
      'nodegraf_writer_disk_queue_samples',
      'Samples in the on-disk queue.',
      (w) => w.diskQueueSamples,
    );
    perWriter(
      'gauge',
      'nodegraf_writer_up',
      '1 while the store takes what is sent; 0 while retrying, or when queued data has had no 2xx for 60 s.',
      (w) => (w.state === 'ok' ? 1 : 0),
    );
    family(
      reg,
      'counter',
      'nodegraf_writer_refused_requests_total',
      'Requests the store answered with a non-2xx status, by status (401/403/408/429/5xx keep their data and are retried; other 4xx drop it as reason="rejected").',
      ['writer', 'status'],
      () =>
        writersJson(rt).flatMap((w) =>
          Object.entries(w.refusedRequests).map(([status, n]): [Record<string, string>, number] => [
            { writer: w.name, status },
            n,
          ]),
        ),
    );
    perWriter(
      'gauge',
      'nodegraf_writer_last_success_timestamp_seconds',
      'When the store last accepted a request (seconds since the epoch; 0: never).',
      (w) => (w.lastSuccess ? Date.parse(w.lastSuccess) / 1000 : 0),
    );
    family(
      reg,
      'counter',
      'nodegraf_writer_dropped_samples_total',
      'Samples dropped, by reason: rejected (4xx), queue_full, disk_full (oldest dropped), disk_error, shutdown.',
      ['writer', 'reason'],
      () =>
        writersJson(rt).flatMap((w) =>
          Object.entries(w.droppedSamples).map(([reason, n]): [Record<string, string>, number] => [
            { writer: w.name, reason },
            n,
          ]),
        ),
    );
    this.latency = new Histogram({
      name: 'nodegraf_writer_request_duration_seconds',
      help: 'Remote-write request latency (answered requests; network errors not included).',
      labelNames: ['writer'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [reg],
    });

    single('counter', 'nodegraf_config_reloads_total', 'Successful configuration reloads.', () => rt.reloads);
    single(
      'counter',
      'nodegraf_config_reload_failures_total',
      'Reloads refused because the new configuration is invalid (the running one is kept).',
      () => rt.reloadFailures,
    );
    single(
      'gauge',
      'nodegraf_config_last_reload_successful',
      '0 after a failed reload, until the next successful one.',
      () => (rt.lastReloadOk ? 1 : 0),
    );
  }

  /** For the writers: one answered request and its latency. */
  readonly observeWriteLatency = (writer: string, seconds: number): void => {
    this.latency.observe({ writer }, seconds);
  };

  /** A writer went away (reload): drop its latency series. */
  forgetWriter(writer: string): void {
    this.latency.remove({ writer });
  }
}
