// The kubelet's instruments, built once from the node model: its Go process, runtime operations,
// PLEG and pod-start histograms, cgroup and storage operations, API requests, containers per pod.
// kubelet.ts renders them. The waves are drawn from one seeded stream in a fixed order: keep it,
// or every value of the simulated kubelet changes.
import { B_KUBELET, B_PER_POD, B_REST, B_RUNTIME, B_STORAGE, counterFn } from './components.js';
import { GoProcess } from './go-process.js';
import { isRunning, totalRestarts } from './dynamics.js';
import type { NodeModel } from './model.js';
import { MiB, SimHistogram, Wave, component, rngFor } from './util.js';

export interface RuntimeOp {
  op: string;
  count: (t: number) => number;
  hist: SimHistogram;
}

export interface KubeletInstruments {
  go: GoProcess;
  ops: RuntimeOp[];
  execErrors: (t: number) => number;
  pleg: SimHistogram;
  plegInterval: SimHistogram;
  podStart: SimHistogram;
  podWorker: SimHistogram;
  cgroupHist: { op: string; hist: SimHistogram }[];
  storage: { labels: string; hist: SimHistogram }[];
  restHists: { verb: string; hist: SimHistogram }[];
  restCounts: { code: string; method: string; count: (t: number) => number }[];
  perPod: SimHistogram;
}

type Waves = () => Wave;

export function buildInstruments(model: NodeModel, s: number): KubeletInstruments {
  const rng = rngFor(model.seed, 'kubelet');
  const pods = model.pods;
  const nPods = pods.length;
  const go = new GoProcess(model.seed, 'kubelet', {
    startSec: s,
    cpuCores: 0.045,
    rss: 96 * MiB,
    heap: 38 * MiB,
    goroutines: 380 + nPods * 6,
    threads: 19,
    fds: 41 + nPods,
    allocBps: 900000,
    gcPeriodS: 40,
  });
  const w: Waves = () => new Wave(rng, 0.3, 200, 3600);
  const ops = runtimeOps(model, s, w);
  const execErrors = counterFn(w(), s, 1 / 2400);
  const running = pods.filter(isRunning);
  const relists = counterFn(new Wave(rng, 0.02, 300, 3600), s, 0.99);
  const started = () => nPods;
  const completed = pods.length - running.length;
  return {
    go,
    ops,
    execErrors,
    pleg: new SimHistogram(B_KUBELET, [
      component(relists, B_KUBELET, 0.006 + running.length * 0.00012, 0.45),
    ]),
    plegInterval: new SimHistogram(B_KUBELET, [component(relists, B_KUBELET, 1.009, 0.004)]),
    podStart: new SimHistogram(B_KUBELET, [component(started, B_KUBELET, 2.1, 0.8)]),
    podWorker: new SimHistogram(B_KUBELET, [component(started, B_KUBELET, 0.0009, 0.5)]),
    cgroupHist: [
      {
        op: 'create',
        hist: new SimHistogram(B_KUBELET, [component(() => nPods + 3, B_KUBELET, 0.011, 0.5)]),
      },
      {
        op: 'destroy',
        hist: new SimHistogram(B_KUBELET, [component(() => completed, B_KUBELET, 0.03, 0.5)]),
      },
      {
        op: 'update',
        hist: new SimHistogram(B_KUBELET, [component(counterFn(w(), s, 1 / 60), B_KUBELET, 0.004, 0.5)]),
      },
    ],
    storage: storageOps(model, s, w),
    ...apiRequests(model, s, w),
    perPod: containersPerPod(model),
  };
}

/** The CRI calls, by operation: how many since start and how long each takes. */
function runtimeOps(model: NodeModel, s: number, w: Waves): RuntimeOp[] {
  const pods = model.pods;
  const running = pods.filter(isRunning);
  const nPods = pods.length;
  const restarts = (t: number) => totalRestarts(model, t);
  const nContainers = pods.reduce((n, p) => n + p.containers.length, 0);
  const images = new Set(pods.flatMap((p) => p.containers.map((c) => c.image))).size + 1;
  const completed = pods.length - running.length;
  const opDefs: [string, (t: number) => number, number, number][] = [
    ['container_status', (t) => nContainers * 2 + restarts(t) * 2, 0.0021, 0.6],
    ['create_container', (t) => nContainers + restarts(t), 0.035, 0.5],
    ['exec_sync', counterFn(w(), s, 0.05 + running.length * 0.004), 0.041, 0.9],
    ['image_status', (t) => nContainers * 2 + restarts(t), 0.0012, 0.5],
    ['list_containers', counterFn(w(), s, 1.9), 0.0031, 0.5],
    ['list_images', counterFn(w(), s, 0.1), 0.0047, 0.6],
    ['list_podsandbox', counterFn(w(), s, 1.85), 0.0029, 0.5],
    ['podsandbox_status', (t) => nPods * 3 + restarts(t), 0.0026, 0.5],
    ['pull_image', () => images, 4.2, 0.7],
    ['remove_container', (t) => Math.max(0, restarts(t) - 2) + completed, 0.018, 0.5],
    ['run_podsandbox', () => nPods, 0.62, 0.5],
    ['start_container', (t) => nContainers + restarts(t), 0.083, 0.5],
    ['status', counterFn(w(), s, 0.2), 0.0013, 0.5],
    ['stop_container', () => completed + 2, 1.8, 1.2],
    ['stop_podsandbox', () => completed, 0.05, 0.6],
    ['version', counterFn(w(), s, 0.1), 0.0009, 0.5],
  ];
  return opDefs.map(([op, count, median, sigma]) => ({
    op,
    count,
    hist: new SimHistogram(B_RUNTIME, [component(count, B_RUNTIME, median, sigma)]),
  }));
}

/** Volume operations by operation and plugin, from the volumes the pods have. */
function storageOps(model: NodeModel, s: number, w: Waves): { labels: string; hist: SimHistogram }[] {
  const pods = model.pods;
  const nPods = pods.length;
  const running = pods.filter(isRunning);
  const completed = pods.length - running.length;
  const st = (op: string, plugin: string, count: (t: number) => number, median: number) => ({
    labels: `migrated="false",operation_name="${op}",status="success",volume_plugin="${plugin}"`,
    hist: new SimHistogram(B_STORAGE, [component(count, B_STORAGE, median, 0.6)]),
  });
  const cm = pods.filter((p) => p.configMaps.length).length;
  const hp = pods.reduce((n, p) => n + p.hostPaths.length, 0);
  const ed = pods.reduce((n, p) => n + p.emptyDirs.length, 0);
  const pvc = pods.filter((p) => p.pvc).length;
  return [
    ...(pvc
      ? [st('verify_controller_attached_volume', 'kubernetes.io/csi:ebs.csi.aws.com', () => pvc, 0.004)]
      : []),
    st('verify_controller_attached_volume', 'kubernetes.io/projected', () => nPods, 0.0011),
    ...(cm ? [st('volume_mount', 'kubernetes.io/configmap', counterFn(w(), s, cm / 90, cm), 0.0061)] : []),
    ...(ed ? [st('volume_mount', 'kubernetes.io/empty-dir', () => ed, 0.0009)] : []),
    ...(hp ? [st('volume_mount', 'kubernetes.io/host-path', () => hp, 0.0004)] : []),
    st('volume_mount', 'kubernetes.io/projected', counterFn(w(), s, running.length / 80, nPods), 0.0072),
    ...(pvc ? [st('volume_mount_device', 'kubernetes.io/csi:ebs.csi.aws.com', () => pvc, 1.3)] : []),
    st('volume_unmount', 'kubernetes.io/projected', () => completed, 0.012),
  ];
}

/** The kubelet's requests to the API server: counts by code and method, latency by verb. */
function apiRequests(
  model: NodeModel,
  s: number,
  w: Waves,
): Pick<KubeletInstruments, 'restCounts' | 'restHists'> {
  const gets = counterFn(w(), s, 0.55, 40);
  const patches = counterFn(w(), s, 0.1, 3);
  const posts = counterFn(w(), s, 1 / 300 + totalRestartsRate(model), 30);
  const puts = counterFn(w(), s, 0.1, 2);
  return {
    restCounts: [
      { code: '200', method: 'GET', count: gets },
      { code: '200', method: 'PATCH', count: patches },
      { code: '200', method: 'PUT', count: puts },
      { code: '201', method: 'POST', count: posts },
      { code: '404', method: 'GET', count: counterFn(w(), s, 1 / 7200, 2) },
    ],
    restHists: [
      { verb: 'GET', hist: new SimHistogram(B_REST, [component(gets, B_REST, 0.0042, 0.9)]) },
      { verb: 'PATCH', hist: new SimHistogram(B_REST, [component(patches, B_REST, 0.0071, 0.5)]) },
      { verb: 'POST', hist: new SimHistogram(B_REST, [component(posts, B_REST, 0.0064, 0.5)]) },
      { verb: 'PUT', hist: new SimHistogram(B_REST, [component(puts, B_REST, 0.0081, 0.5)]) },
    ],
  };
}

/** Containers per pod: one component per distinct count, so the buckets are exact. */
function containersPerPod(model: NodeModel): SimHistogram {
  const byCount = new Map<number, number>();
  for (const p of model.pods) byCount.set(p.containers.length, (byCount.get(p.containers.length) ?? 0) + 1);
  return new SimHistogram(
    B_PER_POD,
    [...byCount].map(([n, k]) => ({ count: () => k, cdf: B_PER_POD.map((b) => (n <= b ? 1 : 0)), mean: n })),
  );
}

/** Pod restarts create events (POST) at about this rate. */
function totalRestartsRate(model: NodeModel): number {
  let r = 0;
  for (const p of model.pods)
    for (const c of p.containers) {
      if (c.behavior === 'crashLoop') r += 2 / 320;
      if (c.behavior === 'oomLoop') r += 2 / 720;
    }
  return r;
}
