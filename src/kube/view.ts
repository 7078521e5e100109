// The node-local view of pods (SPEC §5): what the sources (apiserver.ts, kubelet-pods.ts) last
// reported, the enrichment each pod gives its series, and the view's own health. On a source
// error the last good view is kept and the error is shown (own metrics, /pods, doctor).
import type { LabelPairs } from '../prompb/encode.js';
import type { PodEnrichment, PodLabelSource } from '../scrape/pod-labels.js';
import {
  allowedLabels,
  bareContainerId,
  containerIds,
  workloadOf,
  type Pod,
  type PodLabelOptions,
} from './pod.js';

/** How long a gone container id or pod UID is remembered (cAdvisor drops a dead cgroup long before). */
const DEAD_KEEP_MS = 3600_000;

export interface PodViewOptions extends PodLabelOptions {
  /** `[pod_metadata] drop_stale_containers`: isDead answers (default true). */
  dropStaleContainers?: boolean;
}

export interface PodViewStatus {
  source: 'apiserver' | 'kubelet';
  /** A first list arrived. */
  synced: boolean;
  pods: number;
  /** ms since the epoch of the last good list, watch event or poll; 0 = never */
  lastUpdateMs: number;
  /** The last error of the source, '' once it recovered, and its likely fix. */
  lastError: string;
  lastHint: string;
  errors: number;
  /** Full lists (apiserver: list and relist; kubelet: polls) and watch events applied. */
  lists: number;
  events: number;
  /** apiserver: the resourceVersion the watch resumes from */
  resourceVersion: string;
  /** Container ids and pod UIDs the view saw gone (remembered an hour): see isDead. */
  deadContainers: number;
  deadPods: number;
  /** Series builds dropped as a dead container's or deleted pod's (all targets). */
  deadSeriesDropped: number;
}

export class PodView implements PodLabelSource {
  private readonly pods = new Map<string, Pod>();
  private readonly enrichments = new Map<string, PodEnrichment>();
  /** The lifecycle signature each pod's enrichment was made with (uid, live and dead ids). */
  private readonly lifecycle = new Map<string, string>();
  /** Container ids and pod UIDs seen gone, and when (pruned after DEAD_KEEP_MS). */
  private readonly deadContainers = new Map<string, number>();
  private readonly deadPods = new Map<string, number>();
  private lastPrune = 0;
  version = 0;
  readonly status: PodViewStatus;
  private resolveSynced!: () => void;
  /** Resolves at the first good list. */
  readonly synced: Promise<void>;

  constructor(
    source: 'apiserver' | 'kubelet',
    private readonly opts: PodViewOptions,
  ) {
    this.status = {
      source,
      synced: false,
      pods: 0,
      lastUpdateMs: 0,
      lastError: '',
      lastHint: '',
      errors: 0,
      lists: 0,
      events: 0,
      resourceVersion: '',
      deadContainers: 0,
      deadPods: 0,
      deadSeriesDropped: 0,
    };
    this.synced = new Promise((r) => (this.resolveSynced = r));
  }

  lookup(key: string): PodEnrichment | undefined {
    return this.enrichments.get(key);
  }

  isDead(containerId: string | undefined, podUid: string | undefined): boolean {
    if (this.opts.dropStaleContainers === false) return false;
    const dead =
      (containerId !== undefined && this.deadContainers.has(containerId)) ||
      (podUid !== undefined && this.deadPods.has(podUid));
    if (dead) this.status.deadSeriesDropped++;
    return dead;
  }

  all(): IterableIterator<Pod> {
    return this.pods.values();
  }

  /** Wait for the first list, at most `ms` (the first scrape waits so that it is enriched). */
  async waitSynced(ms: number): Promise<boolean> {
    if (this.status.synced) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
    const ok = await Promise.race([this.synced.then(() => true as const), timeout]);
    clearTimeout(timer);
    return ok;
  }

  /** A full list: pods not in it leave the view. */
  replace(pods: Pod[], now = Date.now()): void {
    const keep = new Set<string>();
    for (const p of pods) {
      const key = p.namespace + '/' + p.name;
      keep.add(key);
      this.set(key, p);
    }
    // An empty list while the view has pods (a kubelet restarting, before it knows its pods again)
    // removes them but buries nothing: were they buried, every container's series would end
    // for a scrape or two. A node whose last pod really went leaves its cgroups to cAdvisor.
    const bury = pods.length > 0;
    for (const key of [...this.pods.keys()]) if (!keep.has(key)) this.delete(key, bury);
    this.status.lists++;
    this.ok(now);
    if (!this.status.synced) {
      this.status.synced = true;
      this.resolveSynced();
    }
  }

  /** A watch event: ADDED or MODIFIED. */
  upsert(p: Pod, now = Date.now()): void {
    this.set(p.namespace + '/' + p.name, p);
    this.status.events++;
    this.ok(now);
  }

  /** A watch event: DELETED. */
  remove(namespace: string, name: string, now = Date.now()): void {
    this.delete(namespace + '/' + name);
    this.status.events++;
    this.ok(now);
  }

  /** The source answers again (a watch is open): the error is over. */
  recovered(): void {
    this.status.lastError = this.status.lastHint = '';
  }

  /** The source failed: the last good view stays. */
  fail(message: string, hint = ''): void {
    this.status.lastError = message;
    this.status.lastHint = hint;
    this.status.errors++;
  }

  private ok(now: number): void {
    this.status.lastUpdateMs = now;
    this.recovered();
    this.status.pods = this.pods.size;
    this.status.deadContainers = this.deadContainers.size;
    this.status.deadPods = this.deadPods.size;
  }

  private set(key: string, p: Pod): void {
    const before = this.pods.get(key);
    this.pods.set(key, p);
    const signature = this.track(before, p);
    const labels = enrichmentLabels(p, this.opts);
    const old = this.enrichments.get(key);
    if (old !== undefined && sameLabels(old.labels, labels) && this.lifecycle.get(key) === signature) return;
    // a new object: the targets rebuild this pod's series (labels, or which of them are dead)
    this.enrichments.set(key, { labels });
    this.lifecycle.set(key, signature);
    this.version++;
  }

  private delete(key: string, bury = true): void {
    const before = this.pods.get(key);
    this.pods.delete(key);
    this.lifecycle.delete(key);
    if (before && bury) this.bury(before, new Set());
    if (this.enrichments.delete(key)) this.version++;
  }

  /**
   * Container lifecycle: records what `p` says has ended, and what `before` (the same name's last
   * state) had that `p` no longer has (a replaced pod, a restarted container). Returns the
   * signature of `p`'s lifecycle: when it changes, the pod's series are rebuilt.
   */
  private track(before: Pod | undefined, p: Pod): string {
    const now = Date.now();
    const { live, dead } = containerIds(p);
    // what the status says runs is alive, whatever the view concluded before (a mirror pod
    // deleted and recreated, a pod back in the list after a kubelet restart)
    for (const id of live) this.deadContainers.delete(id);
    for (const id of dead) this.markDead(id, now);
    if (before) {
      if (before.uid && before.uid !== p.uid) this.bury(before, live);
      else this.replaced(before, p, now);
    }
    this.deadPods.delete(p.uid); // a pod the view had buried is back (a relisted pod keeps its uid)
    this.prune(now);
    return `${p.uid}|${[...live].sort().join(',')}|${[...dead].sort().join(',')}`;
  }

  /**
   * The same pod's new status: a container whose name now reports another id has replaced the old
   * one. An id that merely went missing (a status without containerID yet) proves nothing.
   */
  private replaced(before: Pod, p: Pod, now: number): void {
    const lists: Array<[Pod['statuses'], Pod['statuses']]> = [
      [before.statuses, p.statuses],
      [before.initStatuses, p.initStatuses],
      [before.ephemeralStatuses, p.ephemeralStatuses],
    ];
    for (const [was, is] of lists) {
      for (const s of was) {
        if (!s.containerID) continue;
        const next = is.find((x) => x.name === s.name)?.containerID;
        if (!next || next === s.containerID) continue;
        this.markDead(bareContainerId(s.containerID), now);
      }
    }
  }

  /** A deleted or replaced pod: its UID and its container ids not in `keep` are gone. */
  private bury(p: Pod, keep: Set<string>): void {
    const now = Date.now();
    if (p.uid) this.deadPods.set(p.uid, now);
    const { live, dead } = containerIds(p);
    for (const id of [...live, ...dead]) if (!keep.has(id)) this.markDead(id, now);
  }

  /** A container id seen gone, first at `now` (an earlier sighting keeps its time for prune). */
  private markDead(id: string, now: number): void {
    if (!this.deadContainers.has(id)) this.deadContainers.set(id, now);
  }

  private prune(now: number): void {
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    for (const m of [this.deadContainers, this.deadPods])
      for (const [id, at] of m) if (now - at > DEAD_KEEP_MS) m.delete(id);
  }
}

/** The labels a pod's series get: workload_kind, workload, label_<name>, annotation_<name>. */
export function enrichmentLabels(p: Pod, o: PodLabelOptions): LabelPairs {
  const w = workloadOf(p);
  // empty values are no labels: dropped with the series' own when it is encoded
  return [
    ['workload_kind', w.kind],
    ['workload', w.name],
    ...allowedLabels('label', p.labels, o.podLabels),
    ...allowedLabels('annotation', p.annotations, o.podAnnotations),
  ];
}

function sameLabels(a: LabelPairs, b: LabelPairs): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i][0] !== b[i][0] || a[i][1] !== b[i][1]) return false;
  return true;
}
