// The part of a Kubernetes Pod object nodegraf reads, from the API server's list/watch or the
// kubelet's /pods (both are v1.Pod JSON), and what it derives from it: the owning workload and the
// labels that enrichment adds. Everything else of the object (env values, volumes, probes) is
// dropped as soon as it is parsed, so the view holds only this.

/** One container of the spec with its status, as the health series need it. */
export interface PodContainer {
  name: string;
  /** spec image (kube-state-metrics' `image_spec`) */
  imageSpec: string;
  requests: Record<string, string>;
  limits: Record<string, string>;
  /**
   * An init container's own restartPolicy: `Always` makes it a sidecar (native sidecars, GA in
   * 1.33), which starts before the app containers and runs beside them. '' for the others.
   */
  restartPolicy?: string;
}

export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID: string;
  ready: boolean;
  restartCount: number;
  state: 'running' | 'waiting' | 'terminated' | '';
  /** reason of the current waiting or terminated state */
  reason: string;
  /** reason of the last termination, '' if none */
  lastTerminatedReason?: string;
  /** when the last termination ended (seconds since the epoch), NaN if unknown */
  lastTerminatedAt?: number;
  /** the container id of the last termination (`lastState.terminated.containerID`), '' if none */
  lastContainerID?: string;
}

export interface OwnerRef {
  kind: string;
  name: string;
  controller?: boolean;
}

export interface Pod {
  uid: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  owners: OwnerRef[];
  nodeName: string;
  hostNetwork: boolean;
  priorityClass: string;
  phase: string;
  hostIP: string;
  podIP: string;
  /** status of the Ready condition: 'True', 'False', 'Unknown', or '' when the pod has none */
  ready: string;
  /** seconds since the epoch, NaN when not started */
  startTime: number;
  containers: PodContainer[];
  statuses: ContainerStatus[];
  /** spec.initContainers (sidecars among them: restartPolicy Always) and their statuses. */
  initContainers: PodContainer[];
  initStatuses: ContainerStatus[];
  /** status.ephemeralContainerStatuses (`kubectl debug`): only their container ids are used. */
  ephemeralStatuses: ContainerStatus[];
  /** a static pod as the kubelet reports it (config source file/http), not through the API */
  static: boolean;
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v))) if (typeof x === 'string') out[k] = x;
  return out;
};

/** Parse one v1.Pod; undefined when it has no namespace or name (not a pod). */
export function parsePod(raw: unknown): Pod | undefined {
  const o = obj(raw);
  const md = obj(o.metadata);
  const spec = obj(o.spec);
  const status = obj(o.status);
  const namespace = str(md.namespace);
  const name = str(md.name);
  if (!namespace || !name) return undefined;
  const annotations = strMap(md.annotations);
  const owners = arr(md.ownerReferences).map((x) => {
    const r = obj(x);
    return { kind: str(r.kind), name: str(r.name), controller: r.controller === true ? true : undefined };
  });
  const source = annotations['kubernetes.io/config.source'];
  const isStatic = source !== undefined && source !== 'api';
  // The kubelet reports a static pod without the ownerReference its mirror pod gets in the API
  // (kind Node, controller): add it, so both sources give the same owner.
  if (isStatic && owners.length === 0 && str(obj(o.spec).nodeName)) {
    owners.push({ kind: 'Node', name: str(obj(o.spec).nodeName), controller: true });
  }
  let ready = '';
  for (const c of arr(status.conditions)) {
    const cond = obj(c);
    if (cond.type === 'Ready') ready = str(cond.status);
  }
  const start = str(status.startTime);
  return {
    uid: str(md.uid),
    namespace,
    name,
    labels: strMap(md.labels),
    annotations,
    owners,
    nodeName: str(spec.nodeName),
    hostNetwork: spec.hostNetwork === true,
    priorityClass: str(spec.priorityClassName),
    phase: str(status.phase),
    hostIP: str(status.hostIP),
    podIP: str(status.podIP),
    ready,
    startTime: start ? Math.floor(Date.parse(start) / 1000) : NaN,
    containers: arr(spec.containers).map(container),
    statuses: arr(status.containerStatuses).map(containerStatus),
    initContainers: arr(spec.initContainers).map((x) => ({
      ...container(x),
      restartPolicy: str(obj(x).restartPolicy),
    })),
    initStatuses: arr(status.initContainerStatuses).map(containerStatus),
    ephemeralStatuses: arr(status.ephemeralContainerStatuses).map(containerStatus),
    static: isStatic,
  };
}

function container(x: unknown): PodContainer {
  const c = obj(x);
  const res = obj(c.resources);
  return {
    name: str(c.name),
    imageSpec: str(c.image),
    requests: quantities(res.requests),
    limits: quantities(res.limits),
  };
}

function containerStatus(x: unknown): ContainerStatus {
  const s = obj(x);
  const st = obj(s.state);
  const kind = st.running ? 'running' : st.waiting ? 'waiting' : st.terminated ? 'terminated' : '';
  const last = obj(obj(s.lastState).terminated);
  const cs: ContainerStatus = {
    name: str(s.name),
    image: str(s.image),
    imageID: str(s.imageID),
    containerID: str(s.containerID),
    ready: s.ready === true,
    restartCount: typeof s.restartCount === 'number' ? s.restartCount : 0,
    state: kind,
    reason: kind === 'waiting' || kind === 'terminated' ? str(obj(st[kind]).reason) : '',
  };
  if (obj(s.lastState).terminated !== undefined) {
    cs.lastTerminatedReason = str(last.reason);
    const at = Date.parse(str(last.finishedAt));
    cs.lastTerminatedAt = Number.isFinite(at) ? Math.floor(at / 1000) : NaN;
    const lastId = str(last.containerID);
    if (lastId) cs.lastContainerID = lastId;
  }
  return cs;
}

/** Resource quantities as written (`100m`, `1Gi`), numbers included (old objects have them). */
function quantities(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v))) {
    if (typeof x === 'string') out[k] = x;
    else if (typeof x === 'number') out[k] = String(x);
  }
  return out;
}

// Sub-unit suffixes divide (1e-9 * 100 is not 1e-7 in floating point; 100 / 1e9 is).
const DIVIDE: Record<string, number> = { n: 1e9, u: 1e6, m: 1e3 };
const SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

/** A Kubernetes resource.Quantity as a number (`250m` = 0.25, `1Gi` = 1073741824); NaN if malformed. */
export function parseQuantity(q: string): number {
  const m = QUANTITY.exec(q.trim());
  if (!m) return NaN;
  const base = Number(m[1]);
  if (m[2]) return Number(m[1] + m[2]);
  const s = m[3] ?? '';
  return s in DIVIDE ? base / DIVIDE[s] : base * SUFFIX[s];
}

/** The bare id of a runtime container id (`containerd://<id>`, `docker://<id>`, `cri-o://<id>`). */
export function bareContainerId(id: string): string {
  const i = id.indexOf('://');
  return i < 0 ? id : id.slice(i + 3);
}

/**
 * The pod's container ids, bare: `live` the current containers' (running, or about to run), `dead`
 * those the status says have ended (`lastState.terminated`, a `terminated` state: a container of a
 * crash loop, an OOM-killed instance, a finished init container or Job). App, init and ephemeral
 * containers alike. An id in both (a container in CrashLoopBackOff keeps the id of its last, ended
 * instance) is dead.
 */
export function containerIds(p: Pod): { live: Set<string>; dead: Set<string> } {
  const live = new Set<string>();
  const dead = new Set<string>();
  for (const list of [p.statuses, p.initStatuses, p.ephemeralStatuses]) {
    for (const s of list) {
      if (s.lastContainerID) dead.add(bareContainerId(s.lastContainerID));
      if (!s.containerID) continue;
      const id = bareContainerId(s.containerID);
      if (s.state === 'terminated') dead.add(id);
      else live.add(id);
    }
  }
  for (const id of dead) live.delete(id);
  return { live, dead };
}

export interface Workload {
  kind: string;
  name: string;
}

/**
 * The workload that owns a pod, through its controller ownerReference: a ReplicaSet that a
 * Deployment made (the pod's `pod-template-hash` label is the suffix of the ReplicaSet's name) is
 * the Deployment; a Job whose name is `<cronjob>-<scheduled minute>` is the CronJob's; StatefulSet,
 * DaemonSet, Job, a bare ReplicaSet as themselves; a static or mirror pod is its Node's; no owner
 * is the Pod itself. Resolved from the pod alone: no RBAC on ReplicaSets or Jobs is needed.
 */
export function workloadOf(p: Pod): Workload {
  const owner = p.owners.find((o) => o.controller) ?? p.owners[0];
  if (p.static || owner?.kind === 'Node') return { kind: 'Node', name: owner?.name || p.nodeName };
  if (!owner) return { kind: 'Pod', name: p.name };
  if (owner.kind === 'ReplicaSet') {
    const hash = p.labels['pod-template-hash'];
    if (hash && owner.name.endsWith('-' + hash) && owner.name.length > hash.length + 1) {
      return { kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1) };
    }
    // Before 1.11 the label held a numeric hash while the name had the encoded one: the suffix is
    // then recognised by the encoding's alphabet (rand.SafeEncodeString: no vowels, no 0 1 3).
    const m = hash ? /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}$/.exec(owner.name) : null;
    if (m) return { kind: 'Deployment', name: m[1] };
    return { kind: 'ReplicaSet', name: owner.name };
  }
  if (owner.kind === 'Job') {
    // CronJob controller: job name = cronjob name + '-' + scheduled time in minutes since the epoch
    const m = /^(.+)-(\d{8,})$/.exec(owner.name);
    if (m) return { kind: 'CronJob', name: m[1] };
    return { kind: 'Job', name: owner.name };
  }
  return { kind: owner.kind, name: owner.name };
}

const INVALID = /[^a-zA-Z0-9_]/g;
const ALL_CAP = /([a-z0-9])([A-Z])/g;

/** Every character not valid in a Prometheus label name as `_` (kube-state-metrics' SanitizeLabelName). */
export function sanitizeKubeName(name: string): string {
  return name.replace(INVALID, '_');
}

/**
 * A pod label or annotation name as kube-state-metrics writes it: `prefix_` + the name with every
 * invalid character as `_`, then snake case (`app.kubernetes.io/name` -> `label_app_kubernetes_io_name`,
 * `regionName` -> `label_region_name`).
 */
export function kubeLabelName(prefix: string, name: string): string {
  return prefix + '_' + sanitizeKubeName(name).replace(ALL_CAP, '$1_$2').toLowerCase();
}

/** Which pod labels and annotations become labels (`[pod_metadata] pod_labels`, `pod_annotations`). */
export interface PodLabelOptions {
  podLabels: string[];
  podAnnotations: string[];
}

/**
 * The listed labels (or annotations) of a pod as kube-state-metrics names them, in name order;
 * `*` first in the list means all of them (kube-state-metrics' allowlist wildcard).
 */
export function allowedLabels(
  prefix: string,
  all: Record<string, string>,
  allow: string[],
): [string, string][] {
  const keys = allow[0] === '*' ? Object.keys(all) : allow.filter((k) => all[k] !== undefined);
  return [...new Set(keys)].sort().map((k) => [kubeLabelName(prefix, k), all[k]]);
}
