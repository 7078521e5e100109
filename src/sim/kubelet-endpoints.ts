// The kubelet's two smaller metrics endpoints, as a 1.34-1.37 kubelet serves them:
//   /metrics/resource  the CPU and memory summary per container, pod and node that `kubectl top`
//                      and the metrics server read (STABLE families, explicit timestamps), from the
//                      same cgroup readings as /metrics/cadvisor at the same instant
//   /metrics/probes    prober_probe_total per container, probe type and result
// Both are authorized as the `nodes/metrics` subresource, like /metrics and /metrics/cadvisor.
import { V } from './dynamics.js';
import type { CadvisorRenderer } from './cadvisor.js';
import { page, us } from './cadvisor-families.js';
import { activeTime, instanceAt, type NodeModel, type SimContainer } from './model.js';
import { esc } from './util.js';

const RESOURCE_FAMILIES = [
  [
    'container_cpu_usage_seconds_total',
    'counter',
    'Cumulative cpu time consumed by the container in core-seconds',
  ],
  ['container_memory_working_set_bytes', 'gauge', 'Current working set of the container in bytes'],
  ['container_start_time_seconds', 'gauge', 'Start time of the container since unix epoch in seconds'],
  ['node_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed by the node in core-seconds'],
  ['node_memory_working_set_bytes', 'gauge', 'Current working set of the node in bytes'],
  ['pod_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed by the pod in core-seconds'],
  ['pod_memory_working_set_bytes', 'gauge', 'Current working set of the pod in bytes'],
  ['resource_scrape_error', 'gauge', '1 if there was an error while getting container metrics, 0 otherwise'],
] as const;

/** /metrics/resource at nowMs: the kubelet's families in its (alphabetical) order. */
export function renderResource(cadvisor: CadvisorRenderer, nowMs: number): string {
  const lines = new Map<string, string[]>(RESOURCE_FAMILIES.map(([name]) => [name, []]));
  const add = (name: string, labels: string, value: number, ts: string) =>
    lines.get(name)!.push(`${name}${labels ? `{${labels}}` : ''} ${value}${ts}`);
  for (const r of cadvisor.rows(nowMs)) {
    const o = r.owner;
    if (o === undefined) continue;
    const cpu = us(r.v[V.CPU]!);
    const ws = page(r.v[V.WS]!);
    if (o.level === 'node') {
      add('node_cpu_usage_seconds_total', '', cpu, r.ts);
      add('node_memory_working_set_bytes', '', ws, r.ts);
    } else if (o.level === 'pod') {
      const l = `namespace="${esc(o.namespace)}",pod="${esc(o.pod)}"`;
      add('pod_cpu_usage_seconds_total', l, cpu, r.ts);
      add('pod_memory_working_set_bytes', l, ws, r.ts);
    } else {
      const l = `container="${esc(o.container)}",namespace="${esc(o.namespace)}",pod="${esc(o.pod)}"`;
      add('container_cpu_usage_seconds_total', l, cpu, r.ts);
      add('container_memory_working_set_bytes', l, ws, r.ts);
      add('container_start_time_seconds', l, r.start, r.ts);
    }
  }
  add('resource_scrape_error', '', 0, '');
  let out = '';
  for (const [name, type, help] of RESOURCE_FAMILIES) {
    const l = lines.get(name)!;
    if (l.length === 0) continue;
    out += `# HELP ${name} [STABLE] ${help}\n# TYPE ${name} ${type}\n${l.join('\n')}\n`;
  }
  return out;
}

/** Seconds between two runs of one probe (the kubelet's periodSeconds; the simulator's pods all use 10). */
export const PROBE_PERIOD_S = 10;

/**
 * How a container's probes went up to t: every app container has a readiness and a liveness probe
 * (a completed Job's and the sandbox have none). A crash-looping container fails both on every run
 * until it exits (it is never ready, and its liveness probe is what a kubelet restarts it for);
 * the others pass them all.
 */
export function probeCounts(c: SimContainer, t: number): { runs: number; failing: boolean } | undefined {
  if (c.pause || c.behavior === 'completed') return undefined;
  return { runs: Math.floor(activeTime(c, t) / PROBE_PERIOD_S), failing: c.behavior === 'crashLoop' };
}

/** /metrics/probes at nowMs: prober_probe_total for the running pods' containers. */
export function renderProbes(model: NodeModel, nowMs: number): string {
  const t = nowMs / 1000;
  const lines: string[] = [];
  for (const pod of model.pods) {
    if (pod.phase !== 'Running') continue;
    for (const c of pod.containers) {
      const p = probeCounts(c, t);
      // a series appears with the first probe (the kubelet's counter is created on first use)
      if (p === undefined || (p.runs === 0 && !instanceAt(c, t).running)) continue;
      const base = `container="${esc(c.name)}",namespace="${esc(pod.namespace)}",pod="${esc(pod.name)}",pod_uid="${pod.uid}"`;
      for (const type of ['Liveness', 'Readiness']) {
        const result = p.failing ? 'failed' : 'successful';
        lines.push(`prober_probe_total{${base},probe_type="${type}",result="${result}"} ${p.runs}`);
      }
    }
  }
  return (
    '# HELP prober_probe_total [ALPHA] Cumulative number of a liveness, readiness or startup probe for a container by result.\n' +
    '# TYPE prober_probe_total counter\n' +
    lines.join('\n') +
    (lines.length ? '\n' : '')
  );
}
