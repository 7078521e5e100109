// Pod metadata on scraped series (SPEC §5): the contract with the pod view, and the per-target
// bookkeeping that keeps the series cache honest when a pod's metadata changes.
//
// The pipeline's enricher (plugins.ts). Enrichment runs only on a cache miss (series-labels.ts),
// so a repeated scrape costs nothing for it; the price is that a cached entry would keep the labels
// its pod had when the entry was built. So each target remembers what every pod it met resolved
// to, and before a scrape, when the view's version moved, compares (one Map lookup per pod of the
// node, ~110 at most) and evicts the entries of the pods whose labels changed: they are rebuilt by
// this scrape with the new labels, and their old series get staleness markers.
import type { LabelPairs } from '../prompb/encode.js';
import type { SeriesEnricher } from './plugins.js';
import { fillMissing } from './series-labels.js';

/** What enrichment adds to the series of one pod. A new object whenever the labels change. */
export interface PodEnrichment {
  readonly labels: LabelPairs;
}

/** The node's pods, as the scrape stage reads them (kube/view.ts implements it). */
export interface PodLabelSource {
  /**
   * Grows whenever the enrichment of some pod changed (added, changed, removed), its containers'
   * lifecycle included (an enrichment is a new object when a container id ends or a pod is
   * replaced, so its series are rebuilt and asked `isDead` again).
   */
  readonly version: number;
  /** The enrichment of pod `namespace/name`, undefined for a pod the view does not know. */
  lookup(key: string): PodEnrichment | undefined;
  /**
   * Whether a container id (bare, as in a cgroup path) or pod UID is known to be gone: the view
   * reported it and since saw it end or be replaced. Never true for an id the view has not seen
   * (a container that just started, before the view caught up), nor when the feature is off.
   * Counts a true answer (the series builds it dropped) for the agent's own metrics.
   */
  isDead(containerId: string | undefined, podUid: string | undefined): boolean;
}

/**
 * The container id and pod UID of a cAdvisor series, from its cgroup path (`id` label): cgroupfs
 * `/kubepods/burstable/pod<uid>/<id>`, systemd
 * `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope`
 * (also `docker-`, `crio-`). The pod's own row has no container id.
 */
export function cgroupIds(path: string): { containerId?: string; podUid?: string } {
  const out: { containerId?: string; podUid?: string } = {};
  const pod = POD_IN_PATH.exec(path);
  if (pod) out.podUid = pod[1]!.replace(/_/g, '-');
  const c = CONTAINER_IN_PATH.exec(path);
  if (c) out.containerId = c[1];
  return out;
}
// pod<uid>: an API pod's UUID (dashes, or underscores in systemd slice names), or a static pod's
// 32 hex digits (the kubelet's hash of its manifest)
const POD_IN_PATH =
  /pod([0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{12}|[0-9a-f]{32})(?:\.slice)?(?:\/|$)/;
const CONTAINER_IN_PATH = /\/(?:cri-containerd-|docker-|crio-|libpod-)?([0-9a-f]{64})(?:\.scope)?$/;

interface ResolvedPod {
  readonly key: string;
  readonly enrichment: PodEnrichment | undefined;
}

export class PodLabeler implements SeriesEnricher {
  /** Every pod met, by key: the interned key (entries share the string) and what it resolved to. */
  private readonly used = new Map<string, ResolvedPod>();
  private seenVersion: number;

  constructor(private readonly source: PodLabelSource) {
    this.seenVersion = source.version;
  }

  /**
   * A new series with `namespace` and `pod` gets its pod's labels where it lacks them; its group is
   * the pod. cAdvisor before Kubernetes 1.16 says pod_name / container_name: the series also get
   * pod / container, so one query fits every version.
   */
  enrich(m: Map<string, string>): string | undefined {
    const ns = m.get('namespace');
    let podName = m.get('pod');
    if (!podName) {
      podName = m.get('pod_name');
      if (podName) m.set('pod', podName);
      const c = m.get('container_name');
      if (c && !m.get('container')) m.set('container', c);
    }
    if (!ns || !podName) return undefined;
    const r = this.resolve(ns, podName);
    if (r.enrichment !== undefined) fillMissing(m, r.enrichment.labels);
    return r.key;
  }

  /**
   * A cAdvisor series of a container the pod view knows has ended, or of a deleted or replaced pod
   * (issue 21): not sent. cAdvisor keeps such a cgroup's series, with their last values and
   * timestamps, until its housekeeping notices; stores would count them beside the live ones. The
   * entry keeps its group, so it is looked at again when its pod changes.
   */
  dropped(m: Map<string, string>): boolean {
    const path = m.get('id');
    if (!path || !path.includes('pod')) return false;
    const { containerId, podUid } = cgroupIds(path);
    return this.source.isDead(containerId, podUid);
  }

  /** Resolve a pod met on a cache miss; returns the interned key and its enrichment. */
  private resolve(namespace: string, pod: string): ResolvedPod {
    const key = namespace + '/' + pod;
    let r = this.used.get(key);
    if (r === undefined) {
      r = { key, enrichment: this.source.lookup(key) };
      this.used.set(key, r);
    }
    return r;
  }

  /** The pods whose enrichment changed since the last call (undefined: none). */
  changed(): Set<string> | undefined {
    const v = this.source.version;
    if (v === this.seenVersion) return undefined;
    this.seenVersion = v;
    let out: Set<string> | undefined;
    for (const [key, r] of this.used) {
      const now = this.source.lookup(key);
      if (now === r.enrichment) {
        // a pod the view does not know (deleted, or never a pod of this node): forgotten, so the
        // map does not keep one entry per pod that ever passed; a new series of it resolves again
        if (now === undefined) this.used.delete(key);
        continue;
      }
      (out ??= new Set()).add(key);
      // forgotten: the rebuilt entries resolve (and record) it again
      this.used.delete(key);
    }
    return out;
  }
}
