// The simulated values: every counter and gauge of a container, pod or node cgroup as a
// deterministic function of time (CPU with throttling, memory ramps to an OOM kill, IO, network,
// pressure), summed per pod and per node. cadvisor.ts and the components render them.
import {
  OOM_KILL_PERIOD_S,
  OOM_KILLS_PER_INSTANCE,
  activeTime,
  instanceAt,
  type Instance,
  type NodeModel,
  type SimContainer,
  type SimPod,
} from './model.js';
import { MiB } from './util.js';

/** Indices into a value vector (Float64Array of V_LEN). */
export const V = {
  CPU: 0,
  CPU_USER: 1,
  CPU_SYS: 2,
  PERIODS: 3,
  THR_PERIODS: 4,
  THR_SECS: 5,
  RBYTES: 6,
  WBYTES: 7,
  ROPS: 8,
  WOPS: 9,
  PGFAULT: 10,
  PGMAJ: 11,
  PSI_CPU_W: 12,
  PSI_CPU_S: 13,
  PSI_IO_W: 14,
  PSI_IO_S: 15,
  PSI_MEM_W: 16,
  PSI_MEM_S: 17,
  FAILCNT: 18,
  OOM: 19,
  NET_RX: 20,
  NET_TX: 21,
  NET_RXP: 22,
  NET_TXP: 23,
  // gauges
  WS: 24,
  USAGE: 25,
  RSS: 26,
  CACHE: 27,
  MAPPED: 28,
  KERNEL: 29,
  ACTIVE_FILE: 30,
  INACTIVE_FILE: 31,
  MAX_USAGE: 32,
  PROCS: 33,
  THREADS: 34,
  FDS: 35,
  SOCKETS: 36,
} as const;
export const V_LEN = 37;
const COUNTERS_END = V.NET_TXP + 1;

function limitCores(c: SimContainer): number {
  return (c.res.cpuLimM ?? 0) / 1000;
}

/**
 * Adds the container's cumulative counters (over all its instances since the
 * first started) at t to v, times k (use k = -1 to subtract).
 */
function addSlotCounters(c: SimContainer, t: number, v: Float64Array, k: number): void {
  const A = activeTime(c, t);
  if (A <= 0) return;
  const continuous = c.behavior !== 'crashLoop' && c.behavior !== 'completed';
  const end = c.firstStart + A; // for continuous containers equal to t
  const cpuInt = continuous ? c.cpuWave.integral(c.firstStart, end) : A;
  const cpu = c.cpuCores * cpuInt;
  v[V.CPU]! += k * cpu;
  v[V.CPU_USER]! += k * cpu * c.userFrac;
  v[V.CPU_SYS]! += k * cpu * (1 - c.userFrac);
  const lim = limitCores(c);
  if (lim > 0) {
    const throttled = c.behavior === 'throttled';
    const activeFrac = throttled ? 0.98 : Math.min(1, 0.25 + c.cpuCores / lim);
    const periods = 10 * activeFrac * A;
    const ratio = c.cpuCores / lim;
    const frac = throttled ? 0.7 : Math.min(0.25, 0.002 + 0.3 * ratio * ratio * ratio);
    const thr = 10 * activeFrac * frac * (continuous ? c.thrWave.integral(c.firstStart, end) : A);
    v[V.PERIODS]! += k * periods;
    v[V.THR_PERIODS]! += k * thr;
    v[V.THR_SECS]! += k * thr * (throttled ? 0.046 : 0.008);
    v[V.PSI_CPU_W]! += k * cpu * (throttled ? 0.42 : 0.03);
    v[V.PSI_CPU_S]! += k * cpu * (throttled ? 0.25 : 0.015);
  } else {
    v[V.PSI_CPU_W]! += k * cpu * 0.02;
    v[V.PSI_CPU_S]! += k * cpu * 0.01;
  }
  if (!c.pause) {
    const ioInt = continuous ? c.ioWave.integral(c.firstStart, end) : A;
    const rb = c.readBps * ioInt;
    const wb = c.writeBps * ioInt;
    v[V.RBYTES]! += k * rb;
    v[V.WBYTES]! += k * wb;
    v[V.ROPS]! += k * (rb / 32768);
    v[V.WOPS]! += k * (wb / 8192);
    v[V.PSI_IO_W]! += k * (rb + wb) * 4e-10;
    v[V.PSI_IO_S]! += k * (rb + wb) * 3e-10;
  }
  const faults = A * (2 + c.memBytes / (4 * MiB));
  v[V.PGFAULT]! += k * faults;
  v[V.PGMAJ]! += k * faults * 0.0007;
  if (c.behavior === 'nearLimit' || c.behavior === 'oomLoop') {
    v[V.PSI_MEM_W]! += k * A * 0.004;
    v[V.PSI_MEM_S]! += k * A * 0.0025;
    v[V.FAILCNT]! += k * A * 0.02;
  }
}

/** Adds the gauges of a running instance at t to v. */
function addGauges(c: SimContainer, inst: Instance, t: number, v: Float64Array): void {
  const since = Math.max(0, t - inst.start);
  const lim = c.res.memLim ?? 0;
  const noise = (c.memWave.at(t) - 1) / 0.08; // in [-1, 1]
  let ws: number;
  let peak: number;
  switch (c.behavior) {
    case 'nearLimit':
      ws = lim * 0.95 * (1 + 0.01 * noise);
      peak = lim * 0.985;
      break;
    case 'oomLoop': {
      const phase = (since % OOM_KILL_PERIOD_S) / OOM_KILL_PERIOD_S;
      ws = lim * (0.42 + 0.56 * phase);
      peak = since >= OOM_KILL_PERIOD_S ? lim : Math.max(ws, lim * 0.5);
      break;
    }
    default: {
      const warm = 0.55 + 0.45 * Math.min(1, since / 300);
      ws = c.memBytes * (1 + 0.06 * noise) * warm;
      peak = c.memBytes * 1.22;
    }
  }
  if (lim > 0) ws = Math.min(ws, lim * 0.99);
  const inactive = c.pause ? 0 : ws * 0.045;
  const active = c.pause ? 0 : ws * (c.behavior === 'nearLimit' ? 0.3 : 0.11);
  let usage = ws + inactive;
  if (lim > 0 && usage > lim) usage = lim;
  v[V.WS]! += ws;
  v[V.USAGE]! += usage;
  v[V.RSS]! += ws * 0.78;
  v[V.CACHE]! += active + inactive;
  v[V.MAPPED]! += c.pause ? 0 : ws * 0.021;
  v[V.KERNEL]! += ws * 0.016;
  v[V.ACTIVE_FILE]! += active;
  v[V.INACTIVE_FILE]! += inactive;
  v[V.MAX_USAGE]! += Math.max(peak, usage);
  v[V.PROCS]! += c.procs;
  v[V.THREADS]! += c.threads;
  v[V.FDS]! += c.fds;
  v[V.SOCKETS]! += c.sockets;
  if (c.behavior === 'oomLoop')
    v[V.OOM]! += Math.min(OOM_KILLS_PER_INSTANCE - 1, Math.floor(since / OOM_KILL_PERIOD_S));
}

const scratch = new Float64Array(V_LEN);

/** Values of one container instance at t: counters since the instance started, gauges now. */
export function evalInstance(c: SimContainer, inst: Instance, t: number, v: Float64Array): void {
  v.fill(0);
  addSlotCounters(c, t, v, 1);
  if (inst.start > c.firstStart) addSlotCounters(c, inst.start, v, -1);
  for (let i = 0; i < COUNTERS_END; i++) if (v[i]! < 0) v[i] = 0;
  if (inst.running) addGauges(c, inst, t, v);
}

/** Values of a pod's cgroup at t (sum of its containers, all instances, and the sandbox). */
export function addPod(pod: SimPod, t: number, v: Float64Array): void {
  let maxPeriods = 0;
  let maxThr = 0;
  let maxThrS = 0;
  for (const c of pod.containers) {
    scratch.fill(0);
    addSlotCounters(c, t, scratch, 1);
    const inst = instanceAt(c, t);
    if (inst.running) addGauges(c, inst, t, scratch);
    // The pod cgroup is runnable in a period if any container is: max, not sum.
    maxPeriods = Math.max(maxPeriods, scratch[V.PERIODS]!);
    maxThr = Math.max(maxThr, scratch[V.THR_PERIODS]!);
    maxThrS = Math.max(maxThrS, scratch[V.THR_SECS]!);
    scratch[V.PERIODS] = 0;
    scratch[V.THR_PERIODS] = 0;
    scratch[V.THR_SECS] = 0;
    // cAdvisor counts OOM events on the killed process's own cgroup only.
    scratch[V.OOM] = 0;
    for (let i = 0; i < V_LEN; i++) v[i]! += scratch[i]!;
  }
  v[V.PERIODS]! += maxPeriods;
  v[V.THR_PERIODS]! += maxThr;
  v[V.THR_SECS]! += maxThrS;
  addSlotCounters(pod.pauseC, t, v, 1);
  addGauges(pod.pauseC, instanceAt(pod.pauseC, t), t, v);
  addNet(pod, t, v);
}

/** The pod's network counters (they belong to the sandbox's network namespace). */
export function addNet(pod: SimPod, t: number, v: Float64Array): void {
  const int = pod.netWave.integral(pod.started, t);
  const rx = pod.rxBps * int;
  const tx = pod.txBps * int;
  v[V.NET_RX]! += rx;
  v[V.NET_TX]! += tx;
  v[V.NET_RXP]! += rx / 870;
  v[V.NET_TXP]! += tx / 690;
}

export function addSystem(c: SimContainer, t: number, v: Float64Array): void {
  addSlotCounters(c, t, v, 1);
  addGauges(c, instanceAt(c, t), t, v);
}

/** CPU shares (cgroup v1 semantics, as cAdvisor reports them) from millicores. */
export function sharesOf(milli: number): number {
  return Math.max(2, Math.floor((milli * 1024) / 1000));
}

export function podCpuRequestM(pod: SimPod): number {
  return pod.containers.reduce((s, c) => s + (c.res.cpuReqM ?? c.res.cpuLimM ?? 0), 0);
}

/** Pod-level quota (µs per 100 ms period) when every container has a CPU limit, else 0. */
export function podQuota(pod: SimPod): number {
  if (!pod.containers.every((c) => c.res.cpuLimM)) return 0;
  return pod.containers.reduce((s, c) => s + c.res.cpuLimM! * 100, 0);
}

export function podMemLimit(pod: SimPod): number {
  if (!pod.containers.every((c) => c.res.memLim)) return 0;
  return pod.containers.reduce((s, c) => s + c.res.memLim!, 0);
}

export function isRunning(pod: SimPod): boolean {
  return pod.phase === 'Running';
}

/** Total restarts of every container on the node up to t (kubelet runtime counters). */
export function totalRestarts(model: NodeModel, t: number): number {
  let n = 0;
  for (const p of model.pods) for (const c of p.containers) n += instanceAt(c, t).index;
  return n;
}
