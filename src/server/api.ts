// The JSON behind the status page (docs/status-page.md): /api/status (agent, targets, writers,
// pod view) and /api/containers (the node top: derived container values and their history).
import { HISTORY_BUCKET_MS, HISTORY_BUCKETS, HISTORY_FIELDS, type ContainerView } from '../derive/hub.js';
import { VERSION } from '../version.js';
import type { ContainerRowJson, ContainersJson, PodViewJson, StatusJson } from './api-types.js';
import { podsJson, targetsJson, writersJson, type AgentView } from './status.js';
import { podsInTrouble } from './trouble.js';

const num = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);

/**
 * The node top. `history: false` leaves the sparkline arrays out: they are 60 points × 7 per
 * container (a busy node's 330 containers: ~1.4 MB of JSON), and change once per 15 s bucket, so
 * the page fetches them only that often.
 */
export function containersJson(rt: AgentView, o: { history: boolean } = { history: true }): ContainersJson {
  const status = new Map<string, { restarts: number; waiting: string; lastTerminated: string }>();
  for (const p of rt.pods?.pods() ?? [])
    for (const c of p.containers) status.set(`${p.namespace}/${p.name}/${c.name}`, c);
  const rows = (rt.derive?.containers() ?? []).map((c: ContainerView): ContainerRowJson => {
    const podLabels: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.labels))
      if (k.startsWith('label_') || k.startsWith('annotation_')) podLabels[k] = v;
    const history = {} as NonNullable<ContainerRowJson['history']>;
    if (o.history) HISTORY_FIELDS.forEach((f, i) => (history[f] = c.history.series(i)));
    const v = c.values;
    return {
      namespace: c.namespace,
      pod: c.pod,
      container: c.container,
      workloadKind: c.labels.workload_kind ?? '',
      workload: c.labels.workload ?? '',
      podLabels,
      cpuOfQuota: num(v.cpuOfQuota),
      throttledRatio: num(v.throttledRatio),
      memoryOfLimit: num(v.memoryOfLimit),
      cpuCores: num(v.cpuCores),
      memoryBytes: num(v.memoryBytes),
      rxBitsPerSec: num(c.podNetwork?.rxBitsPerSec),
      txBitsPerSec: num(c.podNetwork?.txBitsPerSec),
      fsReadBytesPerSec: num(v.fsReadBytesPerSec),
      fsWriteBytesPerSec: num(v.fsWriteBytesPerSec),
      cpuPressure: num(v.cpuPressure),
      memoryPressure: num(v.memoryPressure),
      restarts: status.get(`${c.namespace}/${c.pod}/${c.container}`)?.restarts ?? null,
      waitingReason: status.get(`${c.namespace}/${c.pod}/${c.container}`)?.waiting ?? '',
      lastTerminatedReason: status.get(`${c.namespace}/${c.pod}/${c.container}`)?.lastTerminated ?? '',
      // a target's own timestamp may be nonsense (nanoseconds): no time rather than a failing API
      time: Number.isFinite(new Date(v.ts).getTime()) ? new Date(v.ts).toISOString() : null,
      ...(o.history ? { history } : {}),
    };
  });
  return {
    /** The agent's clock: the page compares sample times with it, not with the browser's. */
    now: new Date().toISOString(),
    bucketSeconds: HISTORY_BUCKET_MS / 1000,
    buckets: HISTORY_BUCKETS,
    historyBytesPerContainer: HISTORY_BUCKETS * HISTORY_FIELDS.length * 4,
    containers: rows,
  };
}

export function statusJson(rt: AgentView): StatusJson {
  const { pods: _list, ...podView } = podsJson(rt) as Omit<PodViewJson, 'pods'> & { pods?: unknown };
  const pods = rt.pods?.pods() ?? [];
  return {
    version: VERSION,
    /** The agent's clock, for the ages the page shows. */
    now: new Date().toISOString(),
    ready: rt.ready,
    scrapedSamples: rt.scrapedSamples,
    targets: targetsJson(rt),
    writers: writersJson(rt),
    podView: { ...podView, pods: rt.pods ? pods.length : null },
    /** The node's pods that need a look, worst first (empty without pod metadata). */
    podsInTrouble: podsInTrouble(pods, Date.now()),
  };
}
