// Pod health series from the node's pod view, with kube-state-metrics' names, label names and
// value semantics (its internal/store/pod.go), so that rules and joins written for
// kube-state-metrics work on them unchanged. Only what a node-local view can see: pods bound to
// this node (a pod not yet scheduled has no node; keep kube-state-metrics for those).
import { escapeLabelValue } from '../text-format.js';
import {
  allowedLabels,
  parseQuantity,
  sanitizeKubeName,
  type ContainerStatus,
  type Pod,
  type PodContainer,
  type PodLabelOptions,
} from './pod.js';

export interface HealthSeries {
  name: string;
  /** label pairs in kube-state-metrics' order; empty values are dropped when written */
  labels: [string, string][];
  value: number;
}

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
}

export const HEALTH_FAMILIES: Family[] = [
  { name: 'kube_pod_info', type: 'gauge', help: 'Information about pod.' },
  { name: 'kube_pod_owner', type: 'gauge', help: "Information about the Pod's owner." },
  { name: 'kube_pod_labels', type: 'gauge', help: 'Kubernetes labels converted to Prometheus labels.' },
  {
    name: 'kube_pod_annotations',
    type: 'gauge',
    help: 'Kubernetes annotations converted to Prometheus labels.',
  },
  { name: 'kube_pod_status_phase', type: 'gauge', help: 'The pods current phase.' },
  {
    name: 'kube_pod_status_ready',
    type: 'gauge',
    help: 'Describes whether the pod is ready to serve requests.',
  },
  { name: 'kube_pod_start_time', type: 'gauge', help: 'Start time in unix timestamp for a pod.' },
  { name: 'kube_pod_container_info', type: 'gauge', help: 'Information about a container in a pod.' },
  {
    name: 'kube_pod_container_status_running',
    type: 'gauge',
    help: 'Describes whether the container is currently in running state.',
  },
  {
    name: 'kube_pod_container_status_waiting',
    type: 'gauge',
    help: 'Describes whether the container is currently in waiting state.',
  },
  {
    name: 'kube_pod_container_status_waiting_reason',
    type: 'gauge',
    help: 'Describes the reason the container is currently in waiting state.',
  },
  {
    name: 'kube_pod_container_status_terminated',
    type: 'gauge',
    help: 'Describes whether the container is currently in terminated state.',
  },
  {
    name: 'kube_pod_container_status_terminated_reason',
    type: 'gauge',
    help: 'Describes the reason the container is currently in terminated state.',
  },
  {
    name: 'kube_pod_container_status_last_terminated_reason',
    type: 'gauge',
    help: 'Describes the last reason the container was in terminated state.',
  },
  {
    name: 'kube_pod_container_status_restarts_total',
    type: 'counter',
    help: 'The number of container restarts per container.',
  },
  {
    name: 'kube_pod_container_status_ready',
    type: 'gauge',
    help: 'Describes whether the containers readiness check succeeded.',
  },
  {
    name: 'kube_pod_container_resource_requests',
    type: 'gauge',
    help: 'The number of requested request resource by a container.',
  },
  {
    name: 'kube_pod_container_resource_limits',
    type: 'gauge',
    help: 'The number of requested limit resource by a container.',
  },
  // init containers, sidecars (restartPolicy Always) among them: kube-state-metrics' own families
  {
    name: 'kube_pod_init_container_info',
    type: 'gauge',
    help: 'Information about an init container in a pod.',
  },
  {
    name: 'kube_pod_init_container_status_running',
    type: 'gauge',
    help: 'Describes whether the init container is currently in running state.',
  },
  {
    name: 'kube_pod_init_container_status_waiting',
    type: 'gauge',
    help: 'Describes whether the init container is currently in waiting state.',
  },
  {
    name: 'kube_pod_init_container_status_waiting_reason',
    type: 'gauge',
    help: 'Describes the reason the init container is currently in waiting state.',
  },
  {
    name: 'kube_pod_init_container_status_terminated',
    type: 'gauge',
    help: 'Describes whether the init container is currently in terminated state.',
  },
  {
    name: 'kube_pod_init_container_status_terminated_reason',
    type: 'gauge',
    help: 'Describes the reason the init container is currently in terminated state.',
  },
  {
    name: 'kube_pod_init_container_status_last_terminated_reason',
    type: 'gauge',
    help: 'Describes the last reason the init container was in terminated state.',
  },
  {
    name: 'kube_pod_init_container_status_restarts_total',
    type: 'counter',
    help: 'The number of restarts for the init container.',
  },
  {
    name: 'kube_pod_init_container_status_ready',
    type: 'gauge',
    help: 'Describes whether the init containers readiness check succeeded.',
  },
  {
    name: 'kube_pod_init_container_resource_requests',
    type: 'gauge',
    help: 'The number of requested request resource by an init container.',
  },
  {
    name: 'kube_pod_init_container_resource_limits',
    type: 'gauge',
    help: 'The number of requested limit resource by an init container.',
  },
];

const PHASES = ['Pending', 'Succeeded', 'Failed', 'Unknown', 'Running'];
const b = (x: boolean) => (x ? 1 : 0);

/** The health series of one pod, in family order. */
export function podHealth(p: Pod, o: PodLabelOptions): HealthSeries[] {
  const out: HealthSeries[] = [];
  const base: [string, string][] = [
    ['namespace', p.namespace],
    ['pod', p.name],
    ['uid', p.uid],
  ];
  const add = (name: string, extra: [string, string][], value: number) =>
    out.push({ name, labels: [...base, ...extra], value });

  const ctrl = p.owners.find((x) => x.controller);
  add(
    'kube_pod_info',
    [
      ['host_ip', p.hostIP],
      ['pod_ip', p.podIP],
      ['node', p.nodeName],
      ['created_by_kind', ctrl?.kind ?? ''],
      ['created_by_name', ctrl?.name ?? ''],
      ['priority_class', p.priorityClass],
      ['host_network', String(p.hostNetwork)],
    ],
    1,
  );
  if (p.owners.length === 0)
    add(
      'kube_pod_owner',
      [
        ['owner_kind', ''],
        ['owner_name', ''],
        ['owner_is_controller', ''],
      ],
      1,
    );
  for (const ow of p.owners)
    add(
      'kube_pod_owner',
      [
        ['owner_kind', ow.kind],
        ['owner_name', ow.name],
        ['owner_is_controller', String(ow.controller === true)],
      ],
      1,
    );
  // One series per pod even when no label is listed (kube-state-metrics before 2.10 did the
  // same), so joins on kube_pod_labels find every pod.
  add('kube_pod_labels', allowedLabels('label', p.labels, o.podLabels), 1);
  add('kube_pod_annotations', allowedLabels('annotation', p.annotations, o.podAnnotations), 1);
  if (p.phase) for (const ph of PHASES) add('kube_pod_status_phase', [['phase', ph]], b(p.phase === ph));
  if (p.ready) {
    add('kube_pod_status_ready', [['condition', 'true']], b(p.ready === 'True'));
    add('kube_pod_status_ready', [['condition', 'false']], b(p.ready === 'False'));
    add('kube_pod_status_ready', [['condition', 'unknown']], b(p.ready === 'Unknown'));
  }
  if (Number.isFinite(p.startTime)) add('kube_pod_start_time', [], p.startTime);

  containerSeries('kube_pod_container', p.containers, p.statuses, false);
  containerSeries('kube_pod_init_container', p.initContainers, p.initStatuses, true);
  return out;

  /**
   * The container families of `prefix` (kube_pod_container or kube_pod_init_container), as
   * kube-state-metrics writes them; init containers' info carries their restart_policy (`Always`:
   * a sidecar).
   */
  function containerSeries(
    prefix: string,
    containers: PodContainer[],
    statuses: ContainerStatus[],
    init: boolean,
  ): void {
    for (const c of containers) {
      const cs = statuses.find((s) => s.name === c.name);
      if (!cs) continue;
      const info: [string, string][] = [
        ['container', cs.name],
        ['image_spec', c.imageSpec],
        ['image', cs.image],
        ['image_id', cs.imageID],
        ['container_id', cs.containerID],
      ];
      if (init) info.push(['restart_policy', c.restartPolicy ?? '']);
      add(prefix + '_info', info, 1);
    }
    const per = (name: string, v: (s: ContainerStatus) => number) => {
      for (const s of statuses) add(prefix + name, [['container', s.name]], v(s));
    };
    // a `reason` series only for the containers that have one (value 1), as kube-state-metrics 2.x
    const reason = (name: string, r: (s: ContainerStatus) => string | undefined) => {
      for (const s of statuses) {
        const why = r(s);
        if (why !== undefined)
          add(
            prefix + name,
            [
              ['container', s.name],
              ['reason', why],
            ],
            1,
          );
      }
    };
    per('_status_running', (s) => b(s.state === 'running'));
    per('_status_waiting', (s) => b(s.state === 'waiting'));
    reason('_status_waiting_reason', (s) => (s.state === 'waiting' ? s.reason : undefined));
    per('_status_terminated', (s) => b(s.state === 'terminated'));
    reason('_status_terminated_reason', (s) => (s.state === 'terminated' ? s.reason : undefined));
    reason('_status_last_terminated_reason', (s) => s.lastTerminatedReason);
    per('_status_restarts_total', (s) => s.restartCount);
    per('_status_ready', (s) => b(s.ready));
    for (const c of containers) {
      resources(prefix + '_resource_requests', c.name, c.requests);
      resources(prefix + '_resource_limits', c.name, c.limits);
    }
  }

  function resources(name: string, container: string, res: Record<string, string>): void {
    for (const [r, q] of Object.entries(res)) {
      const unit = resourceUnit(r);
      const v = parseQuantity(q);
      if (unit === undefined || Number.isNaN(v)) continue;
      add(
        name,
        [
          ['container', container],
          ['node', p.nodeName],
          ['resource', sanitizeKubeName(r)],
          ['unit', unit],
        ],
        // Quantity.MilliValue()/1000 for cpu, Value() (rounded up) for the rest
        unit === 'core' ? Math.ceil(v * 1000 - 1e-9) / 1000 : Math.ceil(v - 1e-9),
      );
    }
  }
}

/** kube-state-metrics' unit of a resource, undefined for one it does not report. */
function resourceUnit(r: string): string | undefined {
  if (r === 'cpu') return 'core';
  if (r === 'memory' || r === 'storage' || r === 'ephemeral-storage') return 'byte';
  if (r.startsWith('hugepages-') || r.startsWith('attachable-volumes-')) return 'byte';
  // extended resources (vendor.example/gpu); names without a domain are native and not reported
  if (r.includes('/') && !r.includes('kubernetes.io/') && !r.startsWith('requests.')) return 'integer';
  return undefined;
}

/** The health series of all pods as a Prometheus text page (HELP and TYPE once per family). */
export function renderHealth(pods: Iterable<Pod>, o: PodLabelOptions): string {
  const byFamily = new Map<string, string[]>();
  for (const f of HEALTH_FAMILIES) byFamily.set(f.name, []);
  for (const p of pods) {
    for (const s of podHealth(p, o)) {
      const labels = s.labels
        .filter(([, v]) => v !== '')
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
        .join(',');
      byFamily.get(s.name)!.push(`${s.name}{${labels}} ${s.value}`);
    }
  }
  const out: string[] = [];
  for (const f of HEALTH_FAMILIES) {
    const lines = byFamily.get(f.name)!;
    if (!lines.length) continue;
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...lines);
  }
  return out.length ? out.join('\n') + '\n' : '';
}
