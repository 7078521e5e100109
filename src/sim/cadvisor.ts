// /metrics/cadvisor as the kubelet serves it (layout of a 1.30-1.35 node with
// containerd and cgroup v2): every container_* family with the kubelet's label
// set (container, id, image, name, namespace, pod), pod-level cgroups with
// container="", sandboxes with the pause image and container="", network series
// on the sandbox, explicit millisecond timestamps from each cgroup's last
// housekeeping, no timestamps on spec_* and machine_* families.

import {
  BLOCK_DEVICE,
  PAUSE_IMAGE,
  ROOT_PARTITION,
  V,
  V_LEN,
  addNet,
  addPod,
  addSystem,
  containerCgroup,
  containerId,
  evalInstance,
  instanceAt,
  isRunning,
  podCpuRequestM,
  podMemLimit,
  podQuota,
  qosSlice,
  sharesOf,
  type NodeModel,
  type QosClass,
  type SimContainer,
  type SimPod,
} from './model.js';
import { GiB, MiB, esc, family, fmt, hash32 } from './util.js';

interface CgLabels {
  sortKey: string;
  container: string;
  plain: string;
  cpu: string;
  dev: string;
  blkR: string;
  blkW: string;
  net: string;
  fail: string[];
  tasks: string[];
  ulimit: string;
  A: string;
  BCD: string;
}

const TASK_STATES = ['iowaiting', 'running', 'sleeping', 'stopped', 'uninterruptible'];

function makeLabels(
  container: string,
  id: string,
  image: string,
  name: string,
  namespace: string,
  pod: string,
): CgLabels {
  const A = `container="${esc(container)}"`;
  const B = `id="${esc(id)}",image="${esc(image)}"`;
  const C = `name="${esc(name)}",namespace="${esc(namespace)}"`;
  const D = `pod="${esc(pod)}"`;
  const plain = `${A},${B},${C},${D}`;
  const blk = (op: string) =>
    `${A},device="${BLOCK_DEVICE}",${B},major="259",minor="0",${C},operation="${op}",${D}`;
  const fail = (type: string, scope: string) => `${A},failure_type="${type}",${B},${C},${D},scope="${scope}"`;
  return {
    sortKey: container + '\u0000' + id,
    container,
    plain,
    cpu: `${A},cpu="total",${B},${C},${D}`,
    dev: `${A},device="${BLOCK_DEVICE}",${B},${C},${D}`,
    blkR: blk('Read'),
    blkW: blk('Write'),
    net: `${A},${B},interface="eth0",${C},${D}`,
    fail: [
      fail('pgfault', 'container'),
      fail('pgfault', 'hierarchy'),
      fail('pgmajfault', 'container'),
      fail('pgmajfault', 'hierarchy'),
    ],
    tasks: TASK_STATES.map((s) => `${plain},state="${s}"`),
    ulimit: `${plain},ulimit="max_open_files"`,
    A,
    BCD: `${B},${C},${D}`,
  };
}

interface Row {
  L: CgLabels;
  v: Float64Array;
  /** ' <ms>' */
  ts: string;
  quota: number;
  io: boolean;
  net: boolean;
  ulimit: boolean;
  /** pod-level and node-level cgroups report 0 processes, fds and sockets */
  aggregate: boolean;
  shares: number;
  memLimit: number;
  swapLimit: number;
  start: number;
}

interface RootDevice {
  dev: string;
  labels: string;
  limit: number;
  usage: number;
  inodes: number;
  inodesFree: number;
  io: boolean;
}

const ALLOCATABLE_RESERVED = 1 * GiB;

/** Renders the cAdvisor exposition for the node at nowMs. */
export class CadvisorRenderer {
  private readonly podLabels = new WeakMap<SimPod, { pod: CgLabels; pause: CgLabels }>();
  private readonly ctrLabels = new WeakMap<SimContainer, { index: number; L: CgLabels }>();
  private readonly nodeLabels = new Map<string, CgLabels>();
  private readonly rootDevLabels = new Map<string, string>();

  constructor(private readonly model: NodeModel) {}

  private nodeRowLabels(id: string): CgLabels {
    let L = this.nodeLabels.get(id);
    if (!L) {
      L = makeLabels('', id, '', '', '', '');
      this.nodeLabels.set(id, L);
    }
    return L;
  }

  private podRowLabels(pod: SimPod): { pod: CgLabels; pause: CgLabels } {
    let l = this.podLabels.get(pod);
    if (!l) {
      l = {
        pod: makeLabels('', pod.cgroup, '', '', pod.namespace, pod.name),
        pause: makeLabels(
          '',
          containerCgroup(this.model, pod, pod.sandboxId),
          PAUSE_IMAGE,
          pod.sandboxId,
          pod.namespace,
          pod.name,
        ),
      };
      this.podLabels.set(pod, l);
    }
    return l;
  }

  private containerLabels(pod: SimPod, c: SimContainer, index: number): CgLabels {
    const cached = this.ctrLabels.get(c);
    if (cached && cached.index === index) return cached.L;
    const id = containerId(pod, c, index);
    const L = makeLabels(c.name, containerCgroup(this.model, pod, id), c.image, id, pod.namespace, pod.name);
    this.ctrLabels.set(c, { index, L });
    return L;
  }

  private tick(nowMs: number, phaseMs: number): number {
    const H = this.model.housekeepingMs;
    const d = (((nowMs - phaseMs) % H) + H) % H;
    return nowMs - d;
  }

  /** Builds the rows (one per cgroup present at nowMs), sorted as the kubelet sorts them. */
  rows(nowMs: number): Row[] {
    const m = this.model;
    const rows: Row[] = [];
    const running = m.pods.filter(isRunning);
    const sumPods = (pods: SimPod[], t: number, v: Float64Array) => {
      for (const p of pods) addPod(p, t, v);
    };
    const nodeRow = (id: string, fill: (t: number, v: Float64Array) => void, extra: Partial<Row>) => {
      const ms = this.tick(nowMs, hash32(id) % m.housekeepingMs);
      const v = new Float64Array(V_LEN);
      fill(ms / 1000, v);
      rows.push({
        L: this.nodeRowLabels(id),
        v,
        ts: ' ' + ms,
        quota: 0,
        io: true,
        net: false,
        ulimit: false,
        aggregate: true,
        shares: 1024,
        memLimit: 0,
        swapLimit: 0,
        start: m.bootSec,
        ...extra,
      });
    };
    const byQos = (q: QosClass) => running.filter((p) => p.qos === q);
    const allocatableMilli = m.cpuCores * 1000 - 100;
    const sumReq = (pods: SimPod[]) => pods.reduce((s, p) => s + podCpuRequestM(p), 0);

    nodeRow(
      '/',
      (t, v) => {
        sumPods(running, t, v);
        for (const s of m.system) addSystem(s, t, v);
        addSystem(m.hostOther, t, v);
        const int = m.hostNetWave.integral(m.bootSec, t);
        v[V.NET_RX]! += m.hostRxBps * int;
        v[V.NET_TX]! += m.hostTxBps * int;
        v[V.NET_RXP]! += (m.hostRxBps * int) / 900;
        v[V.NET_TXP]! += (m.hostTxBps * int) / 700;
      },
      { net: true, ulimit: true, shares: sharesOf(m.cpuCores * 1000) / 4, memLimit: m.memBytes },
    );
    nodeRow(qosSlice(m, 'Guaranteed'), (t, v) => sumPods(running, t, v), {
      shares: sharesOf(allocatableMilli),
      memLimit: m.memBytes - ALLOCATABLE_RESERVED,
    });
    const burst = byQos('Burstable');
    nodeRow(qosSlice(m, 'Burstable'), (t, v) => sumPods(burst, t, v), { shares: sharesOf(sumReq(burst)) });
    const be = byQos('BestEffort');
    nodeRow(qosSlice(m, 'BestEffort'), (t, v) => sumPods(be, t, v), { shares: 2 });
    for (const s of m.system) {
      nodeRow(s.name, (t, v) => addSystem(s, t, v), { start: s.firstStart });
    }

    for (const pod of running) {
      const pl = this.podRowLabels(pod);
      // pod-level cgroup
      {
        const ms = this.tick(nowMs, pod.phaseMs);
        const v = new Float64Array(V_LEN);
        addPod(pod, ms / 1000, v);
        rows.push({
          L: pl.pod,
          v,
          ts: ' ' + ms,
          quota: podQuota(pod),
          io: true,
          net: false,
          ulimit: false,
          aggregate: true,
          shares: pod.qos === 'BestEffort' ? 2 : sharesOf(podCpuRequestM(pod)),
          memLimit: podMemLimit(pod),
          swapLimit: 0,
          start: pod.started,
        });
      }
      // sandbox (pause)
      {
        const c = pod.pauseC;
        const ms = this.tick(nowMs, c.phaseMs);
        const t = ms / 1000;
        const v = new Float64Array(V_LEN);
        evalInstance(c, instanceAt(c, t), t, v);
        addNet(pod, t, v);
        rows.push({
          L: pl.pause,
          v,
          ts: ' ' + ms,
          quota: 0,
          io: false,
          net: true,
          ulimit: true,
          aggregate: false,
          shares: 2,
          memLimit: 0,
          swapLimit: 0,
          start: pod.started,
        });
      }
      for (const c of pod.containers) {
        const ms = this.tick(nowMs, c.phaseMs);
        const t = ms / 1000;
        const inst = instanceAt(c, t);
        if (!inst.running) continue;
        const v = new Float64Array(V_LEN);
        evalInstance(c, inst, t, v);
        rows.push({
          L: this.containerLabels(pod, c, inst.index),
          v,
          ts: ' ' + ms,
          quota: c.res.cpuLimM ? c.res.cpuLimM * 100 : 0,
          io: true,
          net: false,
          ulimit: true,
          aggregate: false,
          shares: pod.qos === 'BestEffort' ? 2 : sharesOf(c.res.cpuReqM ?? c.res.cpuLimM ?? 0),
          memLimit: c.res.memLim ?? 0,
          swapLimit: 0,
          start: Math.floor(inst.start),
        });
      }
    }
    rows.sort((a, b) => (a.L.sortKey < b.L.sortKey ? -1 : a.L.sortKey > b.L.sortKey ? 1 : 0));
    return rows;
  }

  private rootDevices(root: Row, nowMs: number): RootDevice[] {
    const m = this.model;
    const t = nowMs / 1000;
    const lab = (dev: string) => {
      let s = this.rootDevLabels.get(dev);
      if (!s) {
        s = `${root.L.A},device="${esc(dev)}",${root.L.BCD}`;
        this.rootDevLabels.set(dev, s);
      }
      return s;
    };
    const up = t - m.bootSec;
    const rootUsage = Math.floor((41.3 * GiB + up * 2600) / 4096) * 4096;
    const devs: RootDevice[] = [
      {
        dev: ROOT_PARTITION,
        labels: lab(ROOT_PARTITION),
        limit: 105089261568,
        usage: rootUsage,
        inodes: 6553600,
        inodesFree: 6553600 - 412876 - Math.floor(up / 40),
        io: true,
      },
      {
        dev: '/dev/shm',
        labels: lab('/dev/shm'),
        limit: Math.floor(m.memBytes / 2),
        usage: 0,
        inodes: 4062592,
        inodesFree: 4062591,
        io: false,
      },
      {
        dev: '/run',
        labels: lab('/run'),
        limit: Math.floor(m.memBytes / 5),
        usage: 3440640,
        inodes: 819200,
        inodesFree: 818371,
        io: false,
      },
      {
        dev: '/run/lock',
        labels: lab('/run/lock'),
        limit: 5 * MiB,
        usage: 0,
        inodes: 4062592,
        inodesFree: 4062589,
        io: false,
      },
    ];
    for (const p of m.pods) {
      if (!isRunning(p) || p.hostNetwork) continue;
      const dev = `/run/containerd/io.containerd.grpc.v1.cri/sandboxes/${p.sandboxId}/shm`;
      devs.push({
        dev,
        labels: lab(dev),
        limit: 64 * MiB,
        usage: 0,
        inodes: 4062592,
        inodesFree: 4062591,
        io: false,
      });
    }
    devs.sort((a, b) => (a.dev < b.dev ? -1 : a.dev > b.dev ? 1 : 0));
    return devs;
  }

  /** The whole /metrics/cadvisor page at nowMs. */
  render(nowMs: number, opts: { malformedLine?: boolean } = {}): string {
    const m = this.model;
    const rows = this.rows(nowMs);
    const root = rows.find((r) => r.L.sortKey === '\u0000/')!;
    const devs = this.rootDevices(root, nowMs);
    const out: string[] = [];
    const us = (x: number) => Math.floor(x * 1e6) / 1e6;
    const int = (x: number) => Math.floor(x);
    const page = (x: number) => Math.floor(x / 4096) * 4096;
    const line = (name: string, labels: string, v: number, ts: string) => {
      out.push(name, '{', labels, '} ', fmt(v), ts, '\n');
    };
    const each = (
      name: string,
      type: string,
      help: string,
      pick: (r: Row) => number,
      filter?: (r: Row) => boolean,
      labels: (r: Row) => string = (r) => r.L.plain,
    ) => {
      family(out, name, type, help);
      for (const r of rows) if (!filter || filter(r)) line(name, labels(r), pick(r), r.ts);
    };
    const spec = (name: string, help: string, pick: (r: Row) => number, filter?: (r: Row) => boolean) => {
      family(out, name, 'gauge', help);
      for (const r of rows) if (!filter || filter(r)) line(name, r.L.plain, pick(r), '');
    };
    const firstContainer = rows.findIndex((r) => r.L.container !== '');
    const split = firstContainer < 0 ? rows.length : firstContainer;
    // Families with a device label: sorted by container, device, id.
    const devFamily = (
      name: string,
      type: string,
      help: string,
      ioPick: ((r: Row) => number) | null,
      devPick: ((d: RootDevice) => number) | null,
    ) => {
      family(out, name, type, help);
      if (ioPick)
        for (let i = 0; i < split; i++)
          if (rows[i]!.io) line(name, rows[i]!.L.dev, ioPick(rows[i]!), rows[i]!.ts);
      if (devPick) for (const d of devs) line(name, d.labels, devPick(d), root.ts);
      if (ioPick)
        for (let i = split; i < rows.length; i++)
          if (rows[i]!.io) line(name, rows[i]!.L.dev, ioPick(rows[i]!), rows[i]!.ts);
    };
    const rootIo = (f: (r: Row) => number) => (d: RootDevice) => (d.io ? f(root) : 0);
    const v = (r: Row, i: number) => r.v[i]!;

    out.push(
      "# HELP cadvisor_version_info A metric with a constant '1' value labeled by kernel version, OS version, docker version, cadvisor version & cadvisor revision.\n",
      '# TYPE cadvisor_version_info gauge\n',
      'cadvisor_version_info{cadvisorRevision="",cadvisorVersion="",dockerVersion="",kernelVersion="6.8.0-1021-aws",osVersion="Ubuntu 24.04.1 LTS"} 1\n',
    );
    family(out, 'container_blkio_device_usage_total', 'counter', 'Blkio Device bytes usage');
    for (const r of rows) {
      if (!r.io) continue;
      line('container_blkio_device_usage_total', r.L.blkR, page(v(r, V.RBYTES)), r.ts);
      line('container_blkio_device_usage_total', r.L.blkW, page(v(r, V.WBYTES)), r.ts);
    }
    const hasQuota = (r: Row) => r.quota > 0;
    each(
      'container_cpu_cfs_periods_total',
      'counter',
      'Number of elapsed enforcement period intervals.',
      (r) => int(v(r, V.PERIODS)),
      hasQuota,
    );
    each(
      'container_cpu_cfs_throttled_periods_total',
      'counter',
      'Number of throttled period intervals.',
      (r) => int(v(r, V.THR_PERIODS)),
      hasQuota,
    );
    each(
      'container_cpu_cfs_throttled_seconds_total',
      'counter',
      'Total time duration the container has been throttled.',
      (r) => us(v(r, V.THR_SECS)),
      hasQuota,
    );
    each(
      'container_cpu_load_average_10s',
      'gauge',
      'Value of container cpu load average over the last 10 seconds.',
      () => 0,
    );
    each(
      'container_cpu_load_d_average_10s',
      'gauge',
      'Value of container cpu load.d average over the last 10 seconds.',
      () => 0,
    );
    each(
      'container_cpu_system_seconds_total',
      'counter',
      'Cumulative system cpu time consumed in seconds.',
      (r) => us(v(r, V.CPU_SYS)),
    );
    each(
      'container_cpu_usage_seconds_total',
      'counter',
      'Cumulative cpu time consumed in seconds.',
      (r) => us(v(r, V.CPU)),
      undefined,
      (r) => r.L.cpu,
    );
    each(
      'container_cpu_user_seconds_total',
      'counter',
      'Cumulative user cpu time consumed in seconds.',
      (r) => us(v(r, V.CPU_USER)),
    );
    each('container_file_descriptors', 'gauge', 'Number of open file descriptors for the container.', (r) =>
      r.aggregate ? 0 : int(v(r, V.FDS)),
    );
    devFamily('container_fs_inodes_free', 'gauge', 'Number of available Inodes', null, (d) => d.inodesFree);
    devFamily('container_fs_inodes_total', 'gauge', 'Number of Inodes', null, (d) => d.inodes);
    devFamily('container_fs_io_current', 'gauge', 'Number of I/Os currently in progress', null, () => 0);
    devFamily(
      'container_fs_io_time_seconds_total',
      'counter',
      'Cumulative count of seconds spent doing I/Os',
      null,
      rootIo((r) => us((v(r, V.ROPS) * 0.0004 + v(r, V.WOPS) * 0.0011) * 0.8)),
    );
    devFamily(
      'container_fs_io_time_weighted_seconds_total',
      'counter',
      'Cumulative weighted I/O time in seconds',
      null,
      rootIo((r) => us((v(r, V.ROPS) * 0.0004 + v(r, V.WOPS) * 0.0011) * 1.4)),
    );
    devFamily(
      'container_fs_limit_bytes',
      'gauge',
      'Number of bytes that can be consumed by the container on this filesystem.',
      null,
      (d) => d.limit,
    );
    devFamily(
      'container_fs_read_seconds_total',
      'counter',
      'Cumulative count of seconds spent reading',
      null,
      rootIo((r) => us(v(r, V.ROPS) * 0.0004)),
    );
    devFamily(
      'container_fs_reads_bytes_total',
      'counter',
      'Cumulative count of bytes read',
      (r) => page(v(r, V.RBYTES)),
      null,
    );
    devFamily(
      'container_fs_reads_merged_total',
      'counter',
      'Cumulative count of reads merged',
      null,
      rootIo((r) => int(v(r, V.ROPS) * 0.1)),
    );
    devFamily(
      'container_fs_reads_total',
      'counter',
      'Cumulative count of reads completed',
      (r) => int(v(r, V.ROPS)),
      rootIo((r) => int(v(r, V.ROPS))),
    );
    devFamily(
      'container_fs_sector_reads_total',
      'counter',
      'Cumulative count of sector reads completed',
      null,
      rootIo((r) => int(v(r, V.RBYTES) / 512)),
    );
    devFamily(
      'container_fs_sector_writes_total',
      'counter',
      'Cumulative count of sector writes completed',
      null,
      rootIo((r) => int(v(r, V.WBYTES) / 512)),
    );
    devFamily(
      'container_fs_usage_bytes',
      'gauge',
      'Number of bytes that are consumed by the container on this filesystem.',
      null,
      (d) => d.usage,
    );
    devFamily(
      'container_fs_write_seconds_total',
      'counter',
      'Cumulative count of seconds spent writing',
      null,
      rootIo((r) => us(v(r, V.WOPS) * 0.0011)),
    );
    devFamily(
      'container_fs_writes_bytes_total',
      'counter',
      'Cumulative count of bytes written',
      (r) => page(v(r, V.WBYTES)),
      null,
    );
    devFamily(
      'container_fs_writes_merged_total',
      'counter',
      'Cumulative count of writes merged',
      null,
      rootIo((r) => int(v(r, V.WOPS) * 0.6)),
    );
    devFamily(
      'container_fs_writes_total',
      'counter',
      'Cumulative count of writes completed',
      (r) => int(v(r, V.WOPS)),
      rootIo((r) => int(v(r, V.WOPS))),
    );
    {
      family(out, 'container_last_seen', 'gauge', 'Last time a container was seen by the exporter');
      const sec = Math.floor(nowMs / 1000);
      const ts = ' ' + Math.floor(nowMs);
      for (const r of rows) line('container_last_seen', r.L.plain, sec, ts);
    }
    each('container_memory_cache', 'gauge', 'Number of bytes of page cache memory.', (r) =>
      page(v(r, V.CACHE)),
    );
    each('container_memory_failcnt', 'counter', 'Number of memory usage hits limits', (r) =>
      int(v(r, V.FAILCNT)),
    );
    {
      family(
        out,
        'container_memory_failures_total',
        'counter',
        'Cumulative count of memory allocation failures.',
      );
      for (const r of rows) {
        const pf = int(v(r, V.PGFAULT));
        const maj = int(v(r, V.PGMAJ));
        line('container_memory_failures_total', r.L.fail[0]!, pf, r.ts);
        line('container_memory_failures_total', r.L.fail[1]!, pf, r.ts);
        line('container_memory_failures_total', r.L.fail[2]!, maj, r.ts);
        line('container_memory_failures_total', r.L.fail[3]!, maj, r.ts);
      }
    }
    each('container_memory_kernel_usage', 'gauge', 'Size of kernel memory allocated in bytes.', (r) =>
      page(v(r, V.KERNEL)),
    );
    each('container_memory_mapped_file', 'gauge', 'Size of memory mapped files in bytes.', (r) =>
      page(v(r, V.MAPPED)),
    );
    each('container_memory_max_usage_bytes', 'gauge', 'Maximum memory usage recorded in bytes', (r) =>
      page(v(r, V.MAX_USAGE)),
    );
    each('container_memory_rss', 'gauge', 'Size of RSS in bytes.', (r) => page(v(r, V.RSS)));
    each('container_memory_swap', 'gauge', 'Container swap usage in bytes.', () => 0);
    each('container_memory_total_active_file_bytes', 'gauge', 'Current total active file in bytes.', (r) =>
      page(v(r, V.ACTIVE_FILE)),
    );
    each(
      'container_memory_total_inactive_file_bytes',
      'gauge',
      'Current total inactive file in bytes.',
      (r) => page(v(r, V.INACTIVE_FILE)),
    );
    each(
      'container_memory_usage_bytes',
      'gauge',
      'Current memory usage in bytes, including all memory regardless of when it was accessed',
      (r) => page(v(r, V.USAGE)),
    );
    each('container_memory_working_set_bytes', 'gauge', 'Current working set in bytes.', (r) =>
      page(v(r, V.WS)),
    );
    const isNet = (r: Row) => r.net;
    const netL = (r: Row) => r.L.net;
    each(
      'container_network_receive_bytes_total',
      'counter',
      'Cumulative count of bytes received',
      (r) => int(v(r, V.NET_RX)),
      isNet,
      netL,
    );
    each(
      'container_network_receive_errors_total',
      'counter',
      'Cumulative count of errors encountered while receiving',
      () => 0,
      isNet,
      netL,
    );
    each(
      'container_network_receive_packets_dropped_total',
      'counter',
      'Cumulative count of packets dropped while receiving',
      (r) => int(v(r, V.NET_RXP) * 1e-6),
      isNet,
      netL,
    );
    each(
      'container_network_receive_packets_total',
      'counter',
      'Cumulative count of packets received',
      (r) => int(v(r, V.NET_RXP)),
      isNet,
      netL,
    );
    each(
      'container_network_transmit_bytes_total',
      'counter',
      'Cumulative count of bytes transmitted',
      (r) => int(v(r, V.NET_TX)),
      isNet,
      netL,
    );
    each(
      'container_network_transmit_errors_total',
      'counter',
      'Cumulative count of errors encountered while transmitting',
      () => 0,
      isNet,
      netL,
    );
    each(
      'container_network_transmit_packets_dropped_total',
      'counter',
      'Cumulative count of packets dropped while transmitting',
      () => 0,
      isNet,
      netL,
    );
    each(
      'container_network_transmit_packets_total',
      'counter',
      'Cumulative count of packets transmitted',
      (r) => int(v(r, V.NET_TXP)),
      isNet,
      netL,
    );
    each(
      'container_oom_events_total',
      'counter',
      'Count of out of memory events observed for the container',
      (r) => int(v(r, V.OOM)),
    );
    each(
      'container_pressure_cpu_stalled_seconds_total',
      'counter',
      'Total time duration no tasks in the container could make progress due to CPU congestion.',
      (r) => us(v(r, V.PSI_CPU_S)),
    );
    each(
      'container_pressure_cpu_waiting_seconds_total',
      'counter',
      'Total time duration tasks in the container have waited due to CPU congestion.',
      (r) => us(v(r, V.PSI_CPU_W)),
    );
    each(
      'container_pressure_io_stalled_seconds_total',
      'counter',
      'Total time duration no tasks in the container could make progress due to IO congestion.',
      (r) => us(v(r, V.PSI_IO_S)),
    );
    each(
      'container_pressure_io_waiting_seconds_total',
      'counter',
      'Total time duration tasks in the container have waited due to IO congestion.',
      (r) => us(v(r, V.PSI_IO_W)),
    );
    each(
      'container_pressure_memory_stalled_seconds_total',
      'counter',
      'Total time duration no tasks in the container could make progress due to memory congestion.',
      (r) => us(v(r, V.PSI_MEM_S)),
    );
    each(
      'container_pressure_memory_waiting_seconds_total',
      'counter',
      'Total time duration tasks in the container have waited due to memory congestion.',
      (r) => us(v(r, V.PSI_MEM_W)),
    );
    each('container_processes', 'gauge', 'Number of processes running inside the container.', (r) =>
      r.aggregate ? 0 : int(v(r, V.PROCS)),
    );
    out.push(
      '# HELP container_scrape_error 1 if there was an error while getting container metrics, 0 otherwise\n# TYPE container_scrape_error gauge\ncontainer_scrape_error 0\n',
    );
    each('container_sockets', 'gauge', 'Number of open sockets for the container.', (r) =>
      r.aggregate ? 0 : int(v(r, V.SOCKETS)),
    );
    spec('container_spec_cpu_period', 'CPU period of the container.', () => 100000);
    spec('container_spec_cpu_quota', 'CPU quota of the container.', (r) => r.quota, hasQuota);
    spec('container_spec_cpu_shares', 'CPU share of the container.', (r) => r.shares);
    spec('container_spec_memory_limit_bytes', 'Memory limit for the container.', (r) => r.memLimit);
    spec(
      'container_spec_memory_reservation_limit_bytes',
      'Memory reservation limit for the container.',
      () => 0,
    );
    spec(
      'container_spec_memory_swap_limit_bytes',
      'Memory swap limit for the container.',
      (r) => r.swapLimit,
    );
    spec(
      'container_start_time_seconds',
      'Start time of the container since unix epoch in seconds.',
      (r) => r.start,
    );
    {
      family(out, 'container_tasks_state', 'gauge', 'Number of tasks in given state');
      for (const r of rows) for (const l of r.L.tasks) line('container_tasks_state', l, 0, r.ts);
    }
    each('container_threads', 'gauge', 'Number of threads running inside the container', (r) =>
      int(v(r, V.THREADS)),
    );
    each(
      'container_threads_max',
      'gauge',
      'Maximum number of threads allowed inside the container, infinity if value is zero',
      () => 0,
    );
    each(
      'container_ulimits_soft',
      'gauge',
      'Soft ulimit values for the container root process. Unlimited if -1, except priority and nice',
      () => 1048576,
      (r) => r.ulimit,
      (r) => r.L.ulimit,
    );

    const ml = `boot_id="${m.bootId}",machine_id="${m.machineId}",system_uuid="${m.machineId}"`;
    const mach = (name: string, help: string, val: number, labels = ml) => {
      family(out, name, 'gauge', help);
      out.push(name, '{', labels, '} ', fmt(val), '\n');
    };
    mach('machine_cpu_cores', 'Number of logical CPU cores.', m.cpuCores);
    mach('machine_cpu_physical_cores', 'Number of physical CPU cores.', Math.max(1, m.cpuCores / 2));
    mach('machine_cpu_sockets', 'Number of CPU sockets.', 1);
    mach('machine_memory_bytes', 'Amount of memory installed on the machine.', m.memBytes);
    mach('machine_nvm_avg_power_budget_watts', 'NVM power budget.', 0);
    family(
      out,
      'machine_nvm_capacity',
      'gauge',
      'NVM capacity value labeled by NVM mode (memory mode or app direct mode).',
    );
    out.push(
      `machine_nvm_capacity{boot_id="${m.bootId}",machine_id="${m.machineId}",mode="app_direct_mode",system_uuid="${m.machineId}"} 0\n`,
    );
    out.push(
      `machine_nvm_capacity{boot_id="${m.bootId}",machine_id="${m.machineId}",mode="memory_mode",system_uuid="${m.machineId}"} 0\n`,
    );
    out.push(
      '# HELP machine_scrape_error 1 if there was an error while getting machine metrics, 0 otherwise.\n# TYPE machine_scrape_error gauge\nmachine_scrape_error 0\n',
    );
    mach('machine_swap_bytes', 'Amount of swap memory available on the machine.', 0);
    if (opts.malformedLine)
      out.push('container_cpu_usage_seconds_total{container="broken",id="/x" 12 oops\n');
    return out.join('');
  }
}
