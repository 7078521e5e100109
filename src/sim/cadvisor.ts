// /metrics/cadvisor as the kubelet serves it (layout of a 1.30-1.35 node with
// containerd and cgroup v2): every container_* family with the kubelet's label
// set (container, id, image, name, namespace, pod), pod-level cgroups with
// container="", sandboxes with the pause image and container="", network series
// on the sandbox, explicit millisecond timestamps from each cgroup's last
// housekeeping, no timestamps on spec_* and machine_* families.

import {
  V,
  V_LEN,
  addNet,
  addPod,
  addSystem,
  evalInstance,
  isRunning,
  podCpuRequestM,
  podMemLimit,
  podQuota,
  sharesOf,
} from './dynamics.js';
import {
  BLOCK_DEVICE,
  PAUSE_IMAGE,
  ROOT_PARTITION,
  containerCgroup,
  containerId,
  instanceAt,
  previousInstance,
  qosSlice,
  type Instance,
  type NodeModel,
  type QosClass,
  type SimContainer,
  type SimPod,
} from './model.js';
import {
  CADVISOR_FAMILIES,
  machineLabels,
  type CadvisorFamily,
  type CgLabels,
  type RootDevice,
  type Row,
} from './cadvisor-families.js';
import { GiB, MiB, esc, family, fmt, hash32 } from './util.js';

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
    const rows: Row[] = [];
    const running = this.model.pods.filter(isRunning);
    this.nodeRows(nowMs, running, rows);
    for (const pod of running) this.podRows(nowMs, pod, rows);
    // deleted pods whose cgroups cAdvisor still reports, frozen when they were deleted
    for (const g of this.model.gone)
      if (nowMs / 1000 - g.atS < this.model.lingerS) this.podRows(g.atS * 1000, g.pod, rows);
    rows.sort((a, b) => (a.L.sortKey < b.L.sortKey ? -1 : a.L.sortKey > b.L.sortKey ? 1 : 0));
    return rows;
  }

  /** The node's cgroups: the root, the three QoS slices, the system services. */
  private nodeRows(nowMs: number, running: SimPod[], rows: Row[]): void {
    const m = this.model;
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
      {
        net: true,
        ulimit: true,
        shares: sharesOf(m.cpuCores * 1000) / 4,
        memLimit: m.memBytes,
        owner: { level: 'node' },
      },
    );
    nodeRow(qosSlice(m, 'Guaranteed'), (t, v) => sumPods(running, t, v), {
      shares: sharesOf(allocatableMilli),
      memLimit: m.memBytes - ALLOCATABLE_RESERVED,
    });
    const burst = byQos('Burstable');
    nodeRow(qosSlice(m, 'Burstable'), (t, v) => sumPods(burst, t, v), { shares: sharesOf(sumReq(burst)) });
    const be = byQos('BestEffort');
    nodeRow(qosSlice(m, 'BestEffort'), (t, v) => sumPods(be, t, v), { shares: 2 });
    for (const s of m.system) nodeRow(s.name, (t, v) => addSystem(s, t, v), { start: s.firstStart });
  }

  /** A running pod's cgroups: the pod itself, its sandbox (pause) and its running containers. */
  private podRows(nowMs: number, pod: SimPod, rows: Row[]): void {
    const pl = this.podRowLabels(pod);
    const row = (L: CgLabels, ms: number, v: Float64Array, spec: Omit<Row, 'L' | 'v' | 'ts' | 'swapLimit'>) =>
      rows.push({ L, v, ts: ' ' + ms, swapLimit: 0, ...spec });
    {
      const ms = this.tick(nowMs, pod.phaseMs);
      const v = new Float64Array(V_LEN);
      addPod(pod, ms / 1000, v);
      row(pl.pod, ms, v, {
        quota: podQuota(pod),
        io: true,
        net: false,
        ulimit: false,
        aggregate: true,
        shares: pod.qos === 'BestEffort' ? 2 : sharesOf(podCpuRequestM(pod)),
        memLimit: podMemLimit(pod),
        start: pod.started,
        owner: { level: 'pod', namespace: pod.namespace, pod: pod.name },
      });
    }
    {
      const c = pod.pauseC;
      const ms = this.tick(nowMs, c.phaseMs);
      const t = ms / 1000;
      const v = new Float64Array(V_LEN);
      evalInstance(c, instanceAt(c, t), t, v);
      addNet(pod, t, v);
      row(pl.pause, ms, v, {
        quota: 0,
        io: false,
        net: true,
        ulimit: true,
        aggregate: false,
        shares: 2,
        memLimit: 0,
        start: pod.started,
      });
    }
    for (const c of pod.containers) {
      const ms = this.tick(nowMs, c.phaseMs);
      const t = ms / 1000;
      const inst = instanceAt(c, t);
      // the instance that ended last, if cAdvisor still reports its cgroup (NodeModel.lingerS)
      const ended = inst.running ? previousInstance(c, inst) : inst;
      if (ended && t - ended.end < this.model.lingerS) {
        const L = makeLabels(
          c.name,
          containerCgroup(this.model, pod, containerId(pod, c, ended.index)),
          c.image,
          containerId(pod, c, ended.index),
          pod.namespace,
          pod.name,
        );
        this.containerRow(pod, c, ended, Math.floor(ended.end * 1000), L, row);
      }
      if (inst.running) this.containerRow(pod, c, inst, ms, this.containerLabels(pod, c, inst.index), row);
    }
  }

  /** One container instance's row at `ms` (a lingering dead one: frozen at its end). */
  private containerRow(
    pod: SimPod,
    c: SimContainer,
    inst: Instance,
    ms: number,
    L: CgLabels,
    row: (L: CgLabels, ms: number, v: Float64Array, spec: Omit<Row, 'L' | 'v' | 'ts' | 'swapLimit'>) => void,
  ): void {
    const v = new Float64Array(V_LEN);
    evalInstance(c, inst, Math.min(ms / 1000, inst.running ? Infinity : inst.end), v);
    row(L, ms, v, {
      quota: c.res.cpuLimM ? c.res.cpuLimM * 100 : 0,
      io: true,
      net: false,
      ulimit: true,
      aggregate: false,
      shares: pod.qos === 'BestEffort' ? 2 : sharesOf(c.res.cpuReqM ?? c.res.cpuLimM ?? 0),
      memLimit: c.res.memLim ?? 0,
      start: Math.floor(inst.start),
      owner: { level: 'container', namespace: pod.namespace, pod: pod.name, container: c.name },
    });
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

  /** The whole /metrics/cadvisor page at nowMs: the family table (./cadvisor-families.ts) over the rows. */
  render(nowMs: number, opts: { malformedLine?: boolean } = {}): string {
    const rows = this.rows(nowMs);
    const root = rows.find((r) => r.L.sortKey === '\u0000/')!;
    const ctx: RenderContext = { rows, root, devs: this.rootDevices(root, nowMs), nowMs, model: this.model };
    const out: string[] = [];
    for (const f of CADVISOR_FAMILIES) renderFamily(out, f, ctx);
    if (opts.malformedLine)
      out.push('container_cpu_usage_seconds_total{container="broken",id="/x" 12 oops\n');
    return out.join('');
  }
}

interface RenderContext {
  rows: Row[];
  root: Row;
  devs: RootDevice[];
  nowMs: number;
  model: NodeModel;
}

function line(out: string[], name: string, labels: string, v: number, ts: string): void {
  out.push(name, '{', labels, '} ', fmt(v), ts, '\n');
}

function renderFamily(out: string[], f: CadvisorFamily, ctx: RenderContext): void {
  if (f.kind === 'text') {
    out.push(f.text);
    return;
  }
  if (f.kind === 'machine') {
    family(out, f.name, 'gauge', f.help);
    const value = fmt(f.value(ctx.model));
    for (const l of f.labels?.(ctx.model) ?? [machineLabels(ctx.model)])
      out.push(f.name, '{', l, '} ', value, '\n');
    return;
  }
  family(out, f.name, f.type, f.help);
  const { rows } = ctx;
  if (f.kind === 'rows') {
    for (const r of rows)
      if (!f.when || f.when(r))
        line(out, f.name, f.labels ? f.labels(r) : r.L.plain, f.value(r), f.spec ? '' : r.ts);
  } else if (f.kind === 'lines') {
    for (const r of rows) for (const [l, v, ts] of f.lines(r, ctx.nowMs)) line(out, f.name, l, v, ts ?? r.ts);
  } else {
    // devices: sorted by container, device, id: the pod and node cgroups (container=""), the
    // node's file systems, then the containers
    const split = rows.findIndex((r) => r.L.container !== '');
    const end = split < 0 ? rows.length : split;
    const ioRows = (from: number, to: number) => {
      if (f.row)
        for (let i = from; i < to; i++)
          if (rows[i]!.io) line(out, f.name, rows[i]!.L.dev, f.row(rows[i]!), rows[i]!.ts);
    };
    ioRows(0, end);
    if (f.device) for (const d of ctx.devs) line(out, f.name, d.labels, f.device(d, ctx.root), ctx.root.ts);
    ioRows(end, rows.length);
  }
}
