// "Pods in trouble" on the status page: the node's pods that need a look, from the pod view, worst
// first. cAdvisor has no row for a container that is not running (crash-looping, waiting for its
// image), so the node top cannot show them: this list can.
import type { PodSummary } from '../kube/pod-metadata.js';
import type { TroubleJson } from './api-types.js';

/** A restart or OOM kill counts as trouble for this long after it. */
export const RECENT_MS = 60 * 60_000;

/** Waiting reasons that are a normal step of a container's start, not trouble on their own. */
const STARTING = new Set(['ContainerCreating', 'PodInitializing']);

const ago = (ms: number): string =>
  ms < 90_000
    ? `${Math.max(0, Math.round(ms / 1000))} s ago`
    : ms < 90 * 60_000
      ? `${Math.round(ms / 60_000)} min ago`
      : `${(ms / 3_600_000).toFixed(1)} h ago`;

export function podsInTrouble(pods: PodSummary[], nowMs: number): TroubleJson[] {
  const out: TroubleJson[] = [];
  for (const p of pods) {
    if (p.phase === 'Succeeded') continue;
    const problems: Array<[number, string]> = [];
    let last = NaN;
    for (const c of p.containers) {
      const ended = c.lastTerminatedAt ? Date.parse(c.lastTerminatedAt) : NaN;
      if (Number.isFinite(ended) && !(ended <= last)) last = ended;
      const recent = Number.isFinite(ended) && nowMs - ended < RECENT_MS;
      if (c.waiting && !STARTING.has(c.waiting)) problems.push([3, `${c.name}: ${c.waiting}`]);
      else if (c.waiting) problems.push([1, `${c.name}: ${c.waiting}`]);
      if (recent && c.lastTerminated === 'OOMKilled')
        problems.push([2, `${c.name}: OOM-killed ${ago(nowMs - ended)}`]);
      else if (recent && c.restarts > 0)
        problems.push([
          1,
          `${c.name}: restarted ${ago(nowMs - ended)}${c.lastTerminated ? ` (${c.lastTerminated})` : ''}`,
        ]);
    }
    if (p.phase === 'Failed' || p.phase === 'Unknown') problems.push([3, `pod ${p.phase}`]);
    else if (!p.ready && p.phase === 'Running') problems.push([1, 'not ready']);
    else if (p.phase === 'Pending' && !problems.length) problems.push([1, 'pending']);
    if (!problems.length) continue;
    problems.sort((a, b) => b[0] - a[0]);
    out.push({
      namespace: p.namespace,
      pod: p.name,
      workloadKind: p.workloadKind,
      workload: p.workload,
      phase: p.phase,
      ready: p.ready,
      restarts: p.restarts,
      problems: problems.map(([, s]) => s),
      severity: problems[0][0],
      startTime: p.startTime,
      lastTermination: Number.isFinite(last) ? new Date(last).toISOString() : null,
    });
  }
  return out.sort(
    (a, b) =>
      b.severity - a.severity ||
      b.restarts - a.restarts ||
      (a.namespace + '/' + a.pod < b.namespace + '/' + b.pod ? -1 : 1),
  );
}
