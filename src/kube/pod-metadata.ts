// Pod metadata as the runtime uses it: the view, the source that fills it (apiserver or kubelet),
// and the internal target that writes the pod health series, built from `[pod_metadata]`.
import type { GlobalConfig, PodMetadataConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { ScrapeError } from '../scrape/errors.js';
import { internalTarget, type InternalTarget } from '../scrape/manager.js';
import type { BodySource } from '../scrape/target.js';
import { VERSION } from '../version.js';
import { ApiserverPodSource } from './apiserver.js';
import { renderHealth } from './health.js';
import { KubeletPodSource } from './kubelet-pods.js';
import { workloadOf, type PodLabelOptions } from './pod.js';
import { PodView, type PodViewStatus } from './view.js';

/** The `job` of the pod health series (kube-state-metrics' own are usually job="kube-state-metrics"). */
export const HEALTH_JOB = 'pod-health';
export const HEALTH_URL = 'nodegraf://pod-view/health';

/** One pod as the agent's /pods JSON shows it. */
export interface PodSummary {
  namespace: string;
  name: string;
  workloadKind: string;
  workload: string;
  phase: string;
  ready: boolean;
  restarts: number;
  waiting: string[];
  lastTerminated: string[];
  /** When the pod started (ISO), null before it did. */
  startTime: string | null;
  /** Per container: restarts, why it waits, why its last run ended ('' when none) and when (ISO, or null). */
  containers: {
    name: string;
    ready: boolean;
    restarts: number;
    waiting: string;
    lastTerminated: string;
    lastTerminatedAt: string | null;
  }[];
}

const iso = (sec: number | undefined): string | null =>
  sec !== undefined && Number.isFinite(sec) ? new Date(sec * 1000).toISOString() : null;

export class PodMetadata {
  readonly view: PodView;
  private readonly source: ApiserverPodSource | KubeletPodSource;
  /** The internal target of the health series (absent with health_metrics = false). */
  readonly health: InternalTarget | undefined;

  constructor(
    readonly config: PodMetadataConfig,
    global: GlobalConfig,
    log: Logger,
  ) {
    // PodMetadataConfig carries pod_labels and pod_annotations (PodLabelOptions)
    this.view = new PodView(config.source, config);
    const connection = {
      bearerTokenFile: config.bearerTokenFile,
      caFile: config.tlsCa,
      insecureSkipVerify: config.insecureSkipVerify,
      userAgent: `nodegraf/${VERSION}`,
    };
    const sourceLog = log.child({ component: 'pod-view' });
    this.source =
      config.source === 'apiserver'
        ? new ApiserverPodSource(
            { ...connection, url: config.apiserverUrl, nodeName: config.nodeName },
            this.view,
            sourceLog,
          )
        : new KubeletPodSource(
            { ...connection, url: config.kubeletUrl, pollMs: config.pollIntervalMs },
            this.view,
            sourceLog,
          );
    if (config.healthMetrics) {
      this.health = internalTarget(
        'pod_metadata#health',
        HEALTH_URL,
        HEALTH_JOB,
        global,
        new HealthSource(this.view, config),
      );
    }
  }

  start(): void {
    this.source.start();
  }

  stop(): Promise<void> {
    return this.source.stop();
  }

  /**
   * Bring the view up to date now: one poll with the kubelet source (the apiserver source is
   * pushed to). For a caller that drives scrapes itself, such as a backfill with a fast clock.
   */
  async refresh(): Promise<void> {
    if (this.source instanceof KubeletPodSource) await this.source.poll();
  }

  get status(): PodViewStatus {
    return this.view.status;
  }

  pods(): PodSummary[] {
    return [...this.view.all()].map((p) => {
      const w = workloadOf(p);
      // sidecars (init containers with restartPolicy Always) run beside the app: containers of the pod
      const sidecars = new Set(
        p.initContainers.filter((c) => c.restartPolicy === 'Always').map((c) => c.name),
      );
      const statuses = [...p.statuses, ...p.initStatuses.filter((s) => sidecars.has(s.name))];
      return {
        namespace: p.namespace,
        name: p.name,
        workloadKind: w.kind,
        workload: w.name,
        phase: p.phase,
        ready: p.ready === 'True',
        restarts: statuses.reduce((n, s) => n + s.restartCount, 0),
        waiting: statuses.filter((s) => s.state === 'waiting').map((s) => `${s.name}: ${s.reason}`),
        lastTerminated: statuses
          .filter((s) => s.lastTerminatedReason)
          .map((s) => `${s.name}: ${s.lastTerminatedReason}`),
        startTime: iso(p.startTime),
        containers: statuses.map((s) => ({
          name: s.name,
          ready: s.ready,
          restarts: s.restartCount,
          waiting: s.state === 'waiting' ? s.reason : '',
          lastTerminated: s.lastTerminatedReason ?? '',
          lastTerminatedAt: iso(s.lastTerminatedAt),
        })),
      };
    });
  }
}

/** The pod health series as a payload, rendered from the view at each of its scrapes. */
class HealthSource implements BodySource {
  readonly tokenExpiry = NaN;
  constructor(
    private readonly view: PodView,
    private readonly opts: PodLabelOptions,
  ) {}

  async stream(start: (format: 'text') => (piece: Buffer) => void): Promise<void> {
    const st = this.view.status;
    if (!st.synced) {
      throw new ScrapeError(
        'other',
        `the pod view has no pod list yet${st.lastError ? `: ${st.lastError}` : ''}`,
        st.source === 'apiserver'
          ? 'the pod health series need the pod list from the API server (RBAC: list/watch on pods)'
          : 'the pod health series need the kubelet /pods (RBAC: get on nodes/pods)',
      );
    }
    start('text')(Buffer.from(renderHealth(this.view.all(), this.opts)));
  }

  abort(): void {}

  async close(): Promise<void> {}
}
