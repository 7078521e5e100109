// The simulated node: its pods and containers, their life cycles (crash loop,
// OOM kills, completed Job) and every value as a deterministic function of time,
// so two scrapes taken 15 s apart differ the way a real node's do.

import { DAY, HOUR, KB, scenarioPods, type ContainerTemplate, type PodTemplate } from './scenario.js';
import { MiB, Wave, hash32, k8sSuffix, rngFor, sha256hex, uuidFrom, type Rng } from './util.js';

export type Behavior =
  /** steady usage, below its limits */
  | 'normal'
  /** uses its whole CPU quota: throttled periods grow almost as fast as periods */
  | 'throttled'
  /** working set ~95 % of its memory limit */
  | 'nearLimit'
  /** memory ramps to the limit; a worker process is OOM-killed every 4 min, the main one every 12 min (restart, lastState OOMKilled) */
  | 'oomLoop'
  /** runs 20 s, exits with an error, waits the 5 min back-off (CrashLoopBackOff), restarts */
  | 'crashLoop'
  /** a Job container that ran to completion before the simulator started */
  | 'completed';

export interface Resources {
  cpuReqM?: number;
  cpuLimM?: number;
  memReq?: number;
  memLim?: number;
}

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob' | 'Pod';

export const CRASH_RUN_S = 20;
export const CRASH_BACKOFF_S = 300;
export const CRASH_CYCLE_S = CRASH_RUN_S + CRASH_BACKOFF_S;
export const OOM_KILL_PERIOD_S = 240;
export const OOM_KILLS_PER_INSTANCE = 3;
export const OOM_INSTANCE_S = OOM_KILL_PERIOD_S * OOM_KILLS_PER_INSTANCE;
export const JOB_RUN_S = 45;

export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.9';
export const BLOCK_DEVICE = '/dev/nvme0n1';
export const ROOT_PARTITION = '/dev/nvme0n1p1';

/** A process group with a cgroup: an app container, a pod sandbox or a system service. */
export interface SimContainer {
  name: string;
  image: string;
  imageID: string;
  res: Resources;
  behavior: Behavior;
  pause: boolean;
  /** mean CPU use in cores */
  cpuCores: number;
  /** mean working set in bytes */
  memBytes: number;
  readBps: number;
  writeBps: number;
  procs: number;
  threads: number;
  fds: number;
  sockets: number;
  logBps: number;
  ports: { name: string; containerPort: number; protocol: string }[];
  /** epoch seconds when its first instance started */
  firstStart: number;
  cpuWave: Wave;
  memWave: Wave;
  ioWave: Wave;
  thrWave: Wave;
  userFrac: number;
  /** cAdvisor housekeeping phase of this cgroup (ms) */
  phaseMs: number;
  /** A native sidecar (an init container with restartPolicy Always): /pods lists it apart. */
  sidecar: boolean;
  ids: Map<number, string>;
  seedKey: string;
}

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

export interface SimPod {
  namespace: string;
  name: string;
  uid: string;
  generateName?: string;
  labels: Record<string, string>;
  owner?: OwnerRef;
  workloadKind: WorkloadKind;
  workloadName: string;
  containers: SimContainer[];
  pauseC: SimContainer;
  phase: 'Running' | 'Succeeded';
  /** epoch seconds: created, sandbox started */
  created: number;
  started: number;
  qos: QosClass;
  /** cgroup path of the pod, e.g. /kubepods/burstable/pod<uid> */
  cgroup: string;
  sandboxId: string;
  podIP: string;
  hostNetwork: boolean;
  rxBps: number;
  txBps: number;
  netWave: Wave;
  pvc?: { claim: string; capacity: number; used: number; growBps: number };
  configMaps: string[];
  hostPaths: { name: string; path: string; type: string }[];
  emptyDirs: string[];
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  serviceAccount: string;
  priorityClassName?: string;
  priority: number;
  tokenVolume: string;
  phaseMs: number;
}

export interface NodeModel {
  seed: number;
  nodeName: string;
  hostIP: string;
  cgroupDriver: 'cgroupfs' | 'systemd';
  /** epoch seconds */
  bootSec: number;
  startSec: number;
  cpuCores: number;
  memBytes: number;
  housekeepingMs: number;
  pods: SimPod[];
  /** kubelet.service, containerd.service and the rest of the host, for node-level cgroups */
  system: SimContainer[];
  hostOther: SimContainer;
  hostRxBps: number;
  hostTxBps: number;
  hostNetWave: Wave;
  bootId: string;
  machineId: string;
  /**
   * Seconds cAdvisor keeps reporting a dead container's or a deleted pod's cgroup (its last values
   * and timestamps), as it does until its housekeeping notices (google/cadvisor#2844). 0: never.
   */
  lingerS: number;
  /** Pods deleted (churnPods, recreatePod) whose cgroups may still linger, and when. */
  gone: Array<{ pod: SimPod; atS: number }>;
}

export interface ModelOptions {
  seed?: number;
  pods?: number;
  extraSeries?: number;
  nodeName?: string;
  hostIP?: string;
  cgroupDriver?: 'cgroupfs' | 'systemd';
  housekeepingMs?: number;
  cpuCores?: number;
  memoryBytes?: number;
  /** epoch ms at which the simulator starts */
  startMs: number;
  /** NodeModel.lingerS (default 0). */
  deadCgroupLingerS?: number;
}

const FILLER_APPS: [string, string, string][] = [
  ['api', 'shop', 'retail'],
  ['worker', 'shop', 'retail'],
  ['frontend', 'shop', 'retail'],
  ['payments-api', 'payments', 'payments'],
  ['ledger', 'payments', 'payments'],
  ['search', 'search', 'discovery'],
  ['indexer', 'search', 'discovery'],
  ['auth', 'platform', 'platform'],
  ['notifications', 'platform', 'platform'],
  ['inventory', 'shop', 'retail'],
  ['analytics-etl', 'analytics', 'data'],
  ['feature-store', 'analytics', 'ml'],
];
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-southeast-1'];

function fillerDeployment(i: number, rng: Rng): { tpl: PodTemplate; replicas: number } {
  const [base, ns, dept] = FILLER_APPS[i % FILLER_APPS.length]!;
  const round = Math.floor(i / FILLER_APPS.length);
  const name = round === 0 ? base : `${base}-${round + 1}`;
  const limited = rng() < 0.8;
  const cpuReq = [50, 100, 200, 250, 500][Math.floor(rng() * 5)]!;
  const memReq = [64, 128, 256, 512][Math.floor(rng() * 4)]! * MiB;
  const res: Resources = limited
    ? { cpuReqM: cpuReq, cpuLimM: cpuReq * 2, memReq, memLim: memReq * 2 }
    : { cpuReqM: cpuReq, memReq };
  const containers: ContainerTemplate[] = [
    {
      name: base.replace(/-\d+$/, ''),
      image: `ghcr.io/example-shop/${base}:1.${Math.floor(rng() * 20)}.${Math.floor(rng() * 10)}`,
      res,
      cpu: (cpuReq / 1000) * (0.1 + 0.5 * rng()),
      mem: memReq * (0.3 + 0.5 * rng()),
      read: rng() * 20 * KB,
      write: rng() * 60 * KB,
      procs: 1 + Math.floor(rng() * 3),
      threads: 8 + Math.floor(rng() * 40),
      fds: 10 + Math.floor(rng() * 100),
      sockets: Math.floor(rng() * 60),
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    },
  ];
  if (rng() < 0.3) {
    containers.push({
      name: 'envoy',
      image: 'docker.io/envoyproxy/envoy:v1.31.2',
      res: { cpuReqM: 50, cpuLimM: 200, memReq: 64 * MiB, memLim: 128 * MiB },
      cpu: 0.01 + 0.02 * rng(),
      mem: (30 + 20 * rng()) * MiB,
      procs: 1,
      threads: 14,
      fds: 60,
      sockets: 40,
      ports: [{ name: 'envoy-admin', containerPort: 9901, protocol: 'TCP' }],
    });
  }
  const tpl: PodTemplate = {
    namespace: ns,
    kind: 'Deployment',
    workload: name,
    rsHash: hash32(name)
      .toString(16)
      .replace(/[aeiou01]/g, '7')
      .slice(0, 9)
      .padEnd(9, 'c'),
    labels: { app: name, region: REGIONS[i % REGIONS.length]!, dept },
    containers,
    ageS: HOUR + rng() * 2 * DAY,
    rx: rng() * 120 * KB,
    tx: rng() * 150 * KB,
  };
  return { tpl, replicas: 1 + Math.floor(rng() * 3) };
}

// ---------------------------------------------------------------------------
// Building the model

function qosOf(containers: ContainerTemplate[]): QosClass {
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const r = c.res;
    if (r.cpuReqM || r.cpuLimM || r.memReq || r.memLim) any = true;
    const cpuReq = r.cpuReqM ?? r.cpuLimM;
    const memReq = r.memReq ?? r.memLim;
    if (!r.cpuLimM || !r.memLim || cpuReq !== r.cpuLimM || memReq !== r.memLim) guaranteed = false;
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function podCgroup(driver: 'cgroupfs' | 'systemd', qos: QosClass, uid: string): string {
  if (driver === 'systemd') {
    const u = uid.replace(/-/g, '_');
    if (qos === 'Guaranteed') return `/kubepods.slice/kubepods-pod${u}.slice`;
    const q = qos.toLowerCase();
    return `/kubepods.slice/kubepods-${q}.slice/kubepods-${q}-pod${u}.slice`;
  }
  if (qos === 'Guaranteed') return `/kubepods/pod${uid}`;
  return `/kubepods/${qos.toLowerCase()}/pod${uid}`;
}

/** cgroup path of a container (or sandbox) id inside a pod cgroup. */
export function containerCgroup(model: NodeModel, pod: SimPod, id: string): string {
  return model.cgroupDriver === 'systemd'
    ? `${pod.cgroup}/cri-containerd-${id}.scope`
    : `${pod.cgroup}/${id}`;
}

export function qosSlice(model: NodeModel, qos: QosClass): string {
  if (model.cgroupDriver === 'systemd') {
    return qos === 'Guaranteed' ? '/kubepods.slice' : `/kubepods.slice/kubepods-${qos.toLowerCase()}.slice`;
  }
  return qos === 'Guaranteed' ? '/kubepods' : `/kubepods/${qos.toLowerCase()}`;
}

function makeContainer(
  seed: number,
  key: string,
  t: ContainerTemplate,
  firstStart: number,
  housekeepingMs: number,
  pause = false,
): SimContainer {
  const rng = rngFor(seed, key);
  const behavior = t.behavior ?? 'normal';
  return {
    name: t.name,
    image: t.image,
    imageID: `${t.image.replace(/:[^:/]+$/, '')}@sha256:${sha256hex('image:' + t.image)}`,
    res: t.res,
    behavior,
    pause,
    sidecar: !!t.sidecar,
    cpuCores: t.cpu,
    memBytes: t.mem,
    readBps: t.read ?? 0,
    writeBps: t.write ?? 0,
    procs: t.procs ?? 1,
    threads: t.threads ?? 4,
    fds: t.fds ?? 8,
    sockets: t.sockets ?? 0,
    logBps: pause ? 0 : 20 + rng() * 400,
    ports: t.ports ?? [],
    firstStart,
    cpuWave: new Wave(rng, behavior === 'throttled' ? 0.02 : 0.35, 300, 5400),
    memWave: new Wave(rng, 0.08, 600, 7200),
    ioWave: new Wave(rng, 0.6, 120, 1800),
    thrWave: new Wave(rng, 0.2, 300, 3600),
    userFrac: 0.62 + 0.2 * rng(),
    phaseMs: Math.floor(rng() * housekeepingMs),
    ids: new Map(),
    seedKey: key,
  };
}

function pauseTemplate(): ContainerTemplate {
  return {
    name: 'POD',
    image: PAUSE_IMAGE,
    res: {},
    cpu: 0.00002,
    mem: 0.3 * MiB,
    procs: 1,
    threads: 1,
    fds: 3,
    sockets: 0,
  };
}

export function buildModel(opts: ModelOptions): NodeModel {
  const seed = opts.seed ?? 1;
  const startSec = opts.startMs / 1000;
  const nodeRng = rngFor(seed, 'node');
  const bootAgeS = 3 * DAY + Math.floor(nodeRng() * 20 * HOUR);
  const bootSec = Math.floor(startSec - bootAgeS);
  const housekeepingMs = Math.max(1, opts.housekeepingMs ?? 10000);
  const hostIP = opts.hostIP ?? '10.0.12.34';
  const driver = opts.cgroupDriver ?? 'cgroupfs';
  const templates = nodeTemplates(seed, bootAgeS, Math.max(0, Math.floor(opts.pods ?? 12)));
  const ctx: PodBuild = {
    seed,
    startSec,
    housekeepingMs,
    driver,
    hostIP,
    extraPerPod: sidecarsPerPod(templates, opts.extraSeries ?? 0),
    usedNames: new Set<string>(),
    ipN: 10,
  };
  const pods = templates.map((tpl, idx) => buildPod(ctx, tpl, idx));
  const sys = (name: string, cpu: number, mem: number, read: number, write: number) =>
    makeContainer(
      seed,
      'sys:' + name,
      { name, image: '', res: {}, cpu, mem, read, write, procs: 0, threads: 0, fds: 0, sockets: 0 },
      bootSec + 8,
      housekeepingMs,
    );
  return {
    seed,
    nodeName: opts.nodeName ?? 'sim-node-1',
    hostIP,
    cgroupDriver: driver,
    bootSec,
    startSec,
    cpuCores: opts.cpuCores ?? 8,
    memBytes: opts.memoryBytes ?? 33280753664,
    housekeepingMs,
    pods,
    system: [
      sys('/system.slice/containerd.service', 0.021, 118 * MiB, 2 * KB, 40 * KB),
      sys('/system.slice/kubelet.service', 0.043, 86 * MiB, 0.5 * KB, 18 * KB),
    ],
    hostOther: sys('host', 0.09, 640 * MiB, 6 * KB, 30 * KB),
    hostRxBps: 90 * KB,
    hostTxBps: 60 * KB,
    hostNetWave: new Wave(nodeRng, 0.3, 300, 3600),
    bootId: uuidFrom(nodeRng),
    machineId: uuidFrom(nodeRng).replace(/-/g, ''),
    lingerS: Math.max(0, opts.deadCgroupLingerS ?? 0),
    gone: [],
  };
}

/** The scenario's pods, then filler Deployments up to `wanted`. */
function nodeTemplates(seed: number, bootAgeS: number, wanted: number): PodTemplate[] {
  const templates = scenarioPods(bootAgeS).slice(0, wanted);
  const fillRng = rngFor(seed, 'filler');
  for (let i = 0; templates.length < wanted; i++) {
    const { tpl, replicas } = fillerDeployment(i, fillRng);
    for (let r = 0; r < replicas && templates.length < wanted; r++) templates.push(tpl);
  }
  return templates;
}

/** Extra containers (sidecars, ~55 cAdvisor series each) per pod index, spread over ordinary pods. */
function sidecarsPerPod(templates: PodTemplate[], extraSeries: number): Map<number, number> {
  const extra = Math.max(0, Math.ceil(extraSeries / 55));
  const extraPerPod = new Map<number, number>();
  if (extra === 0) return extraPerPod;
  const hosts = templates
    .map((t, i) => ({ t, i }))
    .filter(
      ({ t }) => t.phase !== 'Succeeded' && t.containers.every((c) => (c.behavior ?? 'normal') === 'normal'),
    )
    .map(({ i }) => i);
  const pool = hosts.length ? hosts : templates.map((_, i) => i);
  for (let k = 0; k < extra && pool.length; k++) {
    const i = pool[k % pool.length]!;
    extraPerPod.set(i, (extraPerPod.get(i) ?? 0) + 1);
  }
  return extraPerPod;
}

/** What building the pods shares: the node's settings, the names taken, the next pod IP. */
interface PodBuild {
  seed: number;
  startSec: number;
  housekeepingMs: number;
  driver: 'cgroupfs' | 'systemd';
  hostIP: string;
  extraPerPod: Map<number, number>;
  usedNames: Set<string>;
  ipN: number;
}

function withSidecars(tpl: PodTemplate, n: number, rng: Rng): PodTemplate {
  if (!n) return tpl;
  const sidecars = Array.from({ length: n }, (_, j) => ({
    name: `extra-${j + 1}`,
    image: 'ghcr.io/example-shop/sidecar:0.3.1',
    res: { cpuReqM: 10, cpuLimM: 100, memReq: 16 * MiB, memLim: 64 * MiB },
    cpu: 0.002 + 0.01 * rng(),
    mem: (8 + 20 * rng()) * MiB,
    write: rng() * 4 * KB,
    procs: 1,
    threads: 6,
    fds: 9,
    sockets: 2,
  }));
  return { ...tpl, containers: [...tpl.containers, ...sidecars] };
}

interface Ownership {
  generateName?: string;
  owner?: OwnerRef;
  labels: Record<string, string>;
  workloadName: string;
  ageS: number;
}

/** The pod's controller as the API shows it: owner reference, generateName, its labels. */
function ownership(tpl: PodTemplate, seed: number, rng: Rng, startSec: number): Ownership {
  const o: Ownership = { labels: { ...tpl.labels }, workloadName: tpl.workload, ageS: tpl.ageS };
  const ref = (apiVersion: string, kind: string, name: string, uidKey: string): OwnerRef => ({
    apiVersion,
    kind,
    name,
    uid: uuidFrom(rngFor(seed, uidKey)),
  });
  if (tpl.kind === 'Deployment') {
    const rs = `${tpl.workload}-${tpl.rsHash ?? k8sSuffix(rng, 9)}`;
    o.generateName = rs + '-';
    o.owner = ref('apps/v1', 'ReplicaSet', rs, 'rs:' + rs);
    o.labels['pod-template-hash'] = rs.slice(tpl.workload.length + 1);
  } else if (tpl.kind === 'DaemonSet') {
    o.generateName = tpl.workload + '-';
    o.owner = ref('apps/v1', 'DaemonSet', tpl.workload, 'ds:' + tpl.workload);
  } else if (tpl.kind === 'StatefulSet') {
    o.owner = ref('apps/v1', 'StatefulSet', tpl.workload, 'sts:' + tpl.workload);
  } else if (tpl.kind === 'Job' || tpl.kind === 'CronJob') {
    let job = tpl.workload;
    if (tpl.kind === 'CronJob') {
      // Scheduled at the last full hour (or the one before), ran JOB_RUN_S and completed.
      let sched = Math.floor(startSec / HOUR) * HOUR;
      if (startSec - sched < 120) sched -= HOUR;
      job = `${tpl.workload}-${Math.floor(sched / 60)}`;
      o.ageS = startSec - sched - 2;
    }
    o.owner = ref('batch/v1', 'Job', job, 'job:' + job);
    o.generateName = job + '-';
    Object.assign(o.labels, {
      'batch.kubernetes.io/controller-uid': o.owner.uid,
      'batch.kubernetes.io/job-name': job,
      'controller-uid': o.owner.uid,
      'job-name': job,
    });
    o.workloadName = tpl.kind === 'CronJob' ? tpl.workload : job;
  }
  return o;
}

function buildPod(ctx: PodBuild, tpl0: PodTemplate, idx: number): SimPod {
  const { seed, startSec, housekeepingMs } = ctx;
  const key = `pod:${idx}:${tpl0.namespace}:${tpl0.workload}`;
  const rng = rngFor(seed, key);
  const tpl = withSidecars(tpl0, ctx.extraPerPod.get(idx) ?? 0, rng);
  const uid = uuidFrom(rng);
  const { generateName, owner, labels, workloadName, ageS } = ownership(tpl, seed, rng, startSec);
  let name: string;
  if (tpl.podName) name = tpl.podName;
  else {
    do name = generateName! + k8sSuffix(rng, 5);
    while (ctx.usedNames.has(`${tpl.namespace}/${name}`));
  }
  if (ctx.usedNames.has(`${tpl.namespace}/${name}`)) name = `${name}-${idx}`;
  ctx.usedNames.add(`${tpl.namespace}/${name}`);
  const started = Math.floor(startSec - Math.max(60, ageS));
  const qos = qosOf(tpl.containers);
  const containers = tpl.containers.map((ct, ci) =>
    makeContainer(
      seed,
      `${key}:c:${ct.name}`,
      ct,
      started + 2 + ci + (hash32(uid + ct.name) % 4),
      housekeepingMs,
    ),
  );
  return {
    namespace: tpl.namespace,
    name,
    uid,
    ...(generateName !== undefined ? { generateName } : {}),
    labels,
    ...(owner ? { owner } : {}),
    workloadKind: tpl.kind,
    workloadName,
    containers,
    pauseC: makeContainer(seed, `${key}:pause`, pauseTemplate(), started, housekeepingMs, true),
    phase: tpl.phase ?? 'Running',
    created: started - 1,
    started,
    qos,
    cgroup: podCgroup(ctx.driver, qos, uid),
    sandboxId: sha256hex(`sandbox:${seed}:${uid}`),
    podIP: tpl.hostNetwork ? ctx.hostIP : `10.244.3.${ctx.ipN++ % 250}`,
    hostNetwork: !!tpl.hostNetwork,
    rxBps: tpl.rx,
    txBps: tpl.tx,
    netWave: new Wave(rng, 0.5, 180, 3600),
    ...(tpl.pvc ? { pvc: tpl.pvc } : {}),
    configMaps: tpl.configMaps ?? [],
    hostPaths: tpl.hostPaths ?? [],
    emptyDirs: tpl.emptyDirs ?? [],
    restartPolicy: tpl.restartPolicy ?? 'Always',
    serviceAccount: tpl.serviceAccount ?? 'default',
    ...(tpl.priorityClassName ? { priorityClassName: tpl.priorityClassName } : {}),
    priority:
      tpl.priorityClassName === 'system-node-critical' ? 2000001000 : tpl.priorityClassName ? 2000000000 : 0,
    tokenVolume: `kube-api-access-${k8sSuffix(rng, 5)}`,
    phaseMs: Math.floor(rng() * housekeepingMs),
  };
}

// ---------------------------------------------------------------------------
// Churn

/**
 * Replace `count` running pods, as a rollout or a rescheduling does: each is deleted and a new
 * pod of the same workload takes its place, with a new UID, new container ids and cgroups, started
 * at `t` (epoch seconds), and a new name (a StatefulSet's pod keeps its name: deleted and recreated
 * under the same name). Pods with a special behavior (crash loop, OOM, throttled, job) are left
 * alone, so the scenario stays. Deterministic for a given `rng`. Returns the replaced pod names.
 */
export function churnPods(model: NodeModel, count: number, t: number, rng: Rng): string[] {
  const eligible = model.pods
    .map((p, i) => ({ p, i }))
    .filter(
      ({ p }) =>
        p.phase === 'Running' &&
        p.workloadKind !== 'DaemonSet' &&
        p.containers.every((c) => c.behavior === 'normal' || c.behavior === undefined),
    );
  const replaced: string[] = [];
  for (let k = 0; k < count && eligible.length > 0; k++) {
    const { p: old, i } = eligible.splice(Math.floor(rng() * eligible.length), 1)[0]!;
    replacePod(model, i, t, rng);
    replaced.push(`${old.namespace}/${old.name}`);
  }
  return replaced;
}

/**
 * Delete pod `namespace/name` and let its controller create the next one now: a StatefulSet's
 * (or a bare pod's) under the same name, a Deployment's under a new one; new UID and container
 * ids either way. Returns the new pod's name, undefined when there is no such pod.
 */
export function recreatePod(model: NodeModel, key: string, t: number, rng: Rng): string | undefined {
  const i = model.pods.findIndex((p) => `${p.namespace}/${p.name}` === key);
  return i < 0 ? undefined : replacePod(model, i, t, rng).name;
}

/** The pod at index i replaced by a new one started at t (its old cgroups may linger: gone). */
function replacePod(model: NodeModel, i: number, t: number, rng: Rng): SimPod {
  const old = model.pods[i]!;
  const uid = uuidFrom(rng);
  let name = old.name;
  if (old.generateName !== undefined) {
    const taken = new Set(model.pods.map((p) => `${p.namespace}/${p.name}`));
    do name = old.generateName + k8sSuffix(rng, 5);
    while (taken.has(`${old.namespace}/${name}`));
  }
  const started = Math.floor(t);
  const fresh = (c: SimContainer, ci: number): SimContainer => ({
    ...c,
    firstStart: started + (c.pause ? 0 : 2 + ci),
    ids: new Map(),
    seedKey: `${c.seedKey}:${uid}`,
  });
  const pod: SimPod = {
    ...old,
    name,
    uid,
    containers: old.containers.map(fresh),
    pauseC: fresh(old.pauseC, 0),
    created: started - 1,
    started,
    cgroup: podCgroup(model.cgroupDriver, old.qos, uid),
    sandboxId: sha256hex(`sandbox:${model.seed}:${uid}`),
    pvc: old.pvc ? { ...old.pvc } : undefined,
  };
  if (pod.pvc === undefined) delete pod.pvc;
  model.pods[i] = pod;
  if (model.lingerS > 0) {
    model.gone = model.gone.filter((g) => t - g.atS < model.lingerS);
    model.gone.push({ pod: old, atS: t });
  }
  return pod;
}

// ---------------------------------------------------------------------------
// Life cycle

export interface Instance {
  /** restart count of this instance (0 for the first) */
  index: number;
  /** epoch seconds */
  start: number;
  running: boolean;
  /** epoch seconds it exited (NaN while running) */
  end: number;
}

export function instanceAt(c: SimContainer, t: number): Instance {
  const u = Math.max(0, t - c.firstStart);
  switch (c.behavior) {
    case 'crashLoop': {
      const k = Math.floor(u / CRASH_CYCLE_S);
      const start = c.firstStart + k * CRASH_CYCLE_S;
      const running = u - k * CRASH_CYCLE_S < CRASH_RUN_S;
      return { index: k, start, running, end: running ? NaN : start + CRASH_RUN_S };
    }
    case 'oomLoop': {
      const k = Math.floor(u / OOM_INSTANCE_S);
      return { index: k, start: c.firstStart + k * OOM_INSTANCE_S, running: true, end: NaN };
    }
    case 'completed':
      return {
        index: 0,
        start: c.firstStart,
        running: u < JOB_RUN_S,
        end: u < JOB_RUN_S ? NaN : c.firstStart + JOB_RUN_S,
      };
    default:
      return { index: 0, start: c.firstStart, running: true, end: NaN };
  }
}

/** The previous instance (its start and exit time), for lastState. */
export function previousInstance(c: SimContainer, inst: Instance): Instance | undefined {
  if (inst.index === 0) return undefined;
  if (c.behavior === 'crashLoop') {
    const start = inst.start - CRASH_CYCLE_S;
    return { index: inst.index - 1, start, running: false, end: start + CRASH_RUN_S };
  }
  if (c.behavior === 'oomLoop') {
    return { index: inst.index - 1, start: inst.start - OOM_INSTANCE_S, running: false, end: inst.start - 1 };
  }
  return undefined;
}

export function containerId(pod: SimPod, c: SimContainer, index: number): string {
  let id = c.ids.get(index);
  if (!id) {
    if (c.ids.size > 8) c.ids.clear();
    id = sha256hex(`${c.seedKey}:${pod.uid}:${index}`);
    c.ids.set(index, id);
  }
  return id;
}

/** Seconds the container's instances have been running in total up to t. */
export function activeTime(c: SimContainer, t: number): number {
  const u = t - c.firstStart;
  if (u <= 0) return 0;
  if (c.behavior === 'crashLoop') {
    const k = Math.floor(u / CRASH_CYCLE_S);
    return k * CRASH_RUN_S + Math.min(u - k * CRASH_CYCLE_S, CRASH_RUN_S);
  }
  if (c.behavior === 'completed') return Math.min(u, JOB_RUN_S);
  return u;
}
