// kubelet :10250/metrics as Kubernetes 1.30 serves it (families, label sets, HELP texts and bucket
// layouts from the captures in fixtures/real/), as a family table over the kubelet's state at
// render time. The instruments (histograms, counters of runtime operations, volumes, API requests)
// are built from the node model in ./kubelet-instruments.ts.
import { API_HOST, BUILD_INFO, BUILD_INFO_HELP } from './components.js';
import { buildInstruments, type KubeletInstruments } from './kubelet-instruments.js';
import { isRunning } from './dynamics.js';
import { protobufPage } from './protobuf.js';
import { instanceAt, type NodeModel, type SimPod } from './model.js';
import {
  MiB,
  esc,
  histogram as simHistogram,
  renderFamilies,
  scalar,
  type SimFamily,
  type SimHistogram,
} from './util.js';

interface KubeletState {
  t: number;
  m: NodeModel;
  k: KubeletMetrics;
  i: KubeletInstruments;
  running: SimPod[];
}

type Samples = Array<[string, number]>;
const H = `host="${API_HOST}"`;
const counter = (name: string, help: string, value: (s: KubeletState) => number) =>
  scalar<KubeletState>(name, 'counter', help, value);
const gauge = (name: string, help: string, value: (s: KubeletState) => number, labels = '') =>
  scalar<KubeletState>(name, 'gauge', help, value, labels);
const histogram = (name: string, help: string, hists: (s: KubeletState) => Array<[SimHistogram, string]>) =>
  simHistogram<KubeletState>(name, help, hists);
const samples = (name: string, type: string, help: string, f: (s: KubeletState) => Samples) => ({
  name,
  type,
  help,
  samples: f,
});
const pages = (x: number) => Math.floor(x / 4096) * 4096;

/** Samples per mounted PVC: f(used bytes, capacity). */
const volumeStats =
  (f: (used: number, cap: number) => number) =>
  ({ t, m }: KubeletState): Samples =>
    m.pods
      .filter((p) => p.pvc && isRunning(p))
      .map((p) => {
        const used = pages(p.pvc!.used + p.pvc!.growBps * (t - m.startSec));
        return [
          `namespace="${esc(p.namespace)}",persistentvolumeclaim="${esc(p.pvc!.claim)}"`,
          f(Math.min(used, p.pvc!.capacity * 0.98), p.pvc!.capacity),
        ];
      });

function logBytes({ t, running }: KubeletState): Samples {
  const out: Samples = [];
  for (const p of running)
    for (const c of p.containers) {
      const written = c.logBps * (t - instanceAt(c, t).start);
      out.push([
        `container="${esc(c.name)}",namespace="${esc(p.namespace)}",pod="${esc(p.name)}",uid="${p.uid}"`,
        pages((written % (10 * MiB)) + 4096),
      ]);
    }
  return out;
}

function httpRequests({ t, k }: KubeletState): Samples {
  const up = t - k.startSec;
  const paths = new Map<string, number>([
    ['healthz', Math.floor(up / 10)],
    ['metrics', Math.floor(up / 30)],
    ['metrics/cadvisor', Math.floor(up / 30)],
    ['pods', Math.floor(up / 20)],
    ['stats', Math.floor(up / 60)],
  ]);
  for (const [p, n] of k.served) paths.set(p, (paths.get(p) ?? 0) + n);
  return [...paths]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([p, n]) => [`long_running="false",method="GET",path="${esc(p)}",server_type="readwrite"`, n]);
}

function runningContainers({ t, m }: KubeletState): Samples {
  let running = 0;
  let exited = 0;
  for (const p of m.pods)
    for (const c of p.containers) {
      const inst = instanceAt(c, t);
      if (inst.running) running++;
      if (!inst.running || inst.index > 0) exited++;
    }
  return [
    ['container_state="created"', 0],
    ['container_state="exited"', exited],
    ['container_state="running"', running],
  ];
}

function volumesByPlugin({ running }: KubeletState): Samples {
  const plugins = new Map<string, number>();
  const add = (k: string, n: number) => n && plugins.set(k, (plugins.get(k) ?? 0) + n);
  for (const p of running) {
    add('kubernetes.io/configmap', p.configMaps.length);
    add('kubernetes.io/empty-dir', p.emptyDirs.length);
    add('kubernetes.io/host-path', p.hostPaths.length);
    add('kubernetes.io/projected', 1);
    if (p.pvc) add('kubernetes.io/csi:ebs.csi.aws.com', 1);
  }
  return [...plugins]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .flatMap(([k, n]): Samples => [
      [`plugin_name="${k}",state="actual_state_of_world"`, n],
      [`plugin_name="${k}",state="desired_state_of_world"`, n],
    ]);
}

const FAMILIES: SimFamily<KubeletState>[] = [
  { raw: (out, s) => s.i.go.write(out, s.t) },
  // the client certificate (to the API server), rotated at 80 % of a one-year life: ~73 days left
  counter(
    'kubelet_certificate_manager_client_expiration_renew_errors',
    '[ALPHA] Counter of certificate renewal errors.',
    () => 0,
  ),
  gauge(
    'kubelet_certificate_manager_client_ttl_seconds',
    "[ALPHA] Gauge of the TTL (time-to-live) of the Kubelet's client certificate. The value is in seconds until certificate expiry (negative if already expired). If client certificate is invalid or unused, the value will be +INF.",
    (s) => Math.floor(s.k.startSec + 73 * 86400 - s.t),
  ),
  gauge(
    'kubelet_certificate_manager_server_ttl_seconds',
    "[ALPHA] Gauge of the shortest TTL (time-to-live) of the Kubelet's serving certificate. The value is in seconds until certificate expiry (negative if already expired). If serving certificate is invalid or unused, the value will be +INF.",
    (s) => (s.k.certNotAfter === Infinity ? Infinity : Math.floor(s.k.certNotAfter - s.t)),
  ),
  histogram(
    'kubelet_cgroup_manager_duration_seconds',
    '[ALPHA] Duration in seconds for cgroup manager operations. Broken down by method.',
    (s) => s.i.cgroupHist.map((c) => [c.hist, `operation_type="${c.op}"`]),
  ),
  samples(
    'kubelet_container_log_filesystem_used_bytes',
    'gauge',
    "[ALPHA] Bytes used by the container's logs on the filesystem.",
    logBytes,
  ),
  histogram('kubelet_containers_per_pod_count', '[ALPHA] The number of containers per pod.', (s) => [
    [s.i.perPod, ''],
  ]),
  samples(
    'kubelet_http_requests_total',
    'counter',
    '[ALPHA] Number of the http requests received since the server started',
    httpRequests,
  ),
  gauge(
    'kubelet_node_config_error',
    '[ALPHA] This metric is true (1) if the node is experiencing a configuration-related error, false (0) otherwise.',
    () => 0,
  ),
  samples('kubelet_node_name', 'gauge', "[ALPHA] The node's name. The count is always 1.", (s) => [
    [`node="${esc(s.m.nodeName)}"`, 1],
  ]),
  counter('kubelet_pleg_discard_events', '[ALPHA] The number of discard events in PLEG.', () => 0),
  gauge(
    'kubelet_pleg_last_seen_seconds',
    '[ALPHA] Timestamp in seconds when PLEG was last seen active.',
    (s) => Math.floor(s.t),
  ),
  histogram(
    'kubelet_pleg_relist_duration_seconds',
    '[ALPHA] Duration in seconds for relisting pods in PLEG.',
    (s) => [[s.i.pleg, '']],
  ),
  histogram(
    'kubelet_pleg_relist_interval_seconds',
    '[ALPHA] Interval in seconds between relisting in PLEG.',
    (s) => [[s.i.plegInterval, '']],
  ),
  histogram(
    'kubelet_pod_start_duration_seconds',
    '[ALPHA] Duration in seconds for a single pod to go from pending to running.',
    (s) => [[s.i.podStart, '']],
  ),
  histogram(
    'kubelet_pod_worker_start_duration_seconds',
    '[ALPHA] Duration in seconds from seeing a pod to starting a worker.',
    (s) => [[s.i.podWorker, '']],
  ),
  samples(
    'kubelet_running_containers',
    'gauge',
    '[ALPHA] Number of containers currently running',
    runningContainers,
  ),
  gauge('kubelet_running_pods', '[ALPHA] Number of pods currently running', (s) => s.running.length),
  histogram(
    'kubelet_runtime_operations_duration_seconds',
    '[ALPHA] Duration in seconds of runtime operations. Broken down by operation type.',
    (s) => s.i.ops.map((o) => [o.hist, `operation_type="${o.op}"`]),
  ),
  samples(
    'kubelet_runtime_operations_errors_total',
    'counter',
    '[ALPHA] Cumulative number of runtime operation errors by operation type.',
    (s) => [['operation_type="exec_sync"', Math.floor(s.i.execErrors(s.t))]],
  ),
  samples(
    'kubelet_runtime_operations_total',
    'counter',
    '[ALPHA] Cumulative number of runtime operations by operation type.',
    (s) => s.i.ops.map((o) => [`operation_type="${o.op}"`, Math.floor(o.count(s.t))]),
  ),
  counter(
    'kubelet_server_expiration_renew_errors',
    '[ALPHA] Counter of certificate renewal errors.',
    () => 0,
  ),
  samples(
    'kubelet_volume_stats_available_bytes',
    'gauge',
    '[ALPHA] Number of available bytes in the volume',
    volumeStats((u, c) => pages(c * 0.984 - u)),
  ),
  samples(
    'kubelet_volume_stats_capacity_bytes',
    'gauge',
    '[ALPHA] Capacity in bytes of the volume',
    volumeStats((_u, c) => pages(c * 0.984)),
  ),
  samples(
    'kubelet_volume_stats_inodes',
    'gauge',
    '[ALPHA] Maximum number of inodes in the volume',
    volumeStats((_u, c) => Math.floor(c / 16384)),
  ),
  samples(
    'kubelet_volume_stats_inodes_free',
    'gauge',
    '[ALPHA] Number of free inodes in the volume',
    volumeStats((u, c) => Math.floor(c / 16384) - 11 - Math.floor(u / 1048576)),
  ),
  samples(
    'kubelet_volume_stats_inodes_used',
    'gauge',
    '[ALPHA] Number of used inodes in the volume',
    volumeStats((u) => 11 + Math.floor(u / 1048576)),
  ),
  samples(
    'kubelet_volume_stats_used_bytes',
    'gauge',
    '[ALPHA] Number of used bytes in the volume',
    volumeStats((u) => u),
  ),
  gauge('kubernetes_build_info', BUILD_INFO_HELP, () => 1, BUILD_INFO),
  { raw: (out, s) => s.i.go.writeProcess(out, s.t) },
  histogram(
    'rest_client_request_duration_seconds',
    '[ALPHA] Request latency in seconds. Broken down by verb, and host.',
    (s) => s.i.restHists.map((r) => [r.hist, `${H},verb="${r.verb}"`]),
  ),
  samples(
    'rest_client_requests_total',
    'counter',
    '[ALPHA] Number of HTTP requests, partitioned by status code, method, and host.',
    (s) =>
      s.i.restCounts.map((r) => [`code="${r.code}",${H},method="${r.method}"`, Math.floor(r.count(s.t))]),
  ),
  histogram('storage_operation_duration_seconds', '[ALPHA] Storage operation duration', (s) =>
    s.i.storage.map((st) => [st.hist, st.labels]),
  ),
  samples(
    'volume_manager_total_volumes',
    'gauge',
    '[ALPHA] Number of volumes in Volume Manager',
    volumesByPlugin,
  ),
];

export class KubeletMetrics {
  readonly startSec: number;
  private readonly instruments: KubeletInstruments;
  /** Requests actually served, by kubelet_http_requests_total path label. */
  readonly served = new Map<string, number>();
  /** Seconds until the serving certificate expires is computed from this (epoch s) when set. */
  certNotAfter = Infinity;

  constructor(private readonly model: NodeModel) {
    this.startSec = model.bootSec + 12.8;
    this.instruments = buildInstruments(model, this.startSec);
  }

  /** Counts one request served (label value as the kubelet's path label). */
  countRequest(path: string): void {
    this.served.set(path, (this.served.get(path) ?? 0) + 1);
  }

  render(nowMs: number, histograms?: Map<string, SimHistogram>): string {
    const m = this.model;
    const out: string[] = [];
    renderFamilies(
      out,
      FAMILIES,
      {
        t: nowMs / 1000,
        m,
        k: this,
        i: this.instruments,
        running: m.pods.filter(isRunning),
      },
      histograms,
    );
    return out.join('');
  }

  /**
   * The page in protobuf, as a 1.36+ kubelet with native histograms on serves it: the latency
   * histograms (`*_seconds`) get native buckets at schema 3 (component-base's bucket factor 1.1)
   * beside their classic ones, or instead of them with `classic: false`.
   */
  renderProtobuf(nowMs: number, classic = true): Buffer {
    const histograms = new Map<string, SimHistogram>();
    const text = this.render(nowMs, histograms);
    return protobufPage(text, {
      histograms,
      native: (name) => name.endsWith('_seconds'),
      schema: 3,
      classic,
      t: nowMs / 1000,
    });
  }
}
