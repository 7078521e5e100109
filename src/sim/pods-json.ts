// The kubelet's /pods body (a v1 PodList) for the simulated node at a time: metadata, spec and
// status of every pod, container statuses following each container's life cycle.
import {
  JOB_RUN_S,
  containerId,
  instanceAt,
  previousInstance,
  type Instance,
  type NodeModel,
  type Resources,
  type SimContainer,
  type SimPod,
} from './model.js';
import { cpuQuantity, hash32, memQuantity, rfc3339 } from './util.js';

function resourcesJson(r: Resources): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  if (r.cpuLimM) limits.cpu = cpuQuantity(r.cpuLimM);
  if (r.memLim) limits.memory = memQuantity(r.memLim);
  const cpuReq = r.cpuReqM ?? r.cpuLimM;
  const memReq = r.memReq ?? r.memLim;
  if (cpuReq) requests.cpu = cpuQuantity(cpuReq);
  if (memReq) requests.memory = memQuantity(memReq);
  if (Object.keys(limits).length) out.limits = limits;
  if (Object.keys(requests).length) out.requests = requests;
  return out;
}

interface ContainerStatusJson {
  name: string;
  ready: boolean;
  [k: string]: unknown;
}

function containerStatus(pod: SimPod, c: SimContainer, t: number): ContainerStatusJson {
  const inst = instanceAt(c, t);
  const id = 'containerd://' + containerId(pod, c, inst.index);
  const base = { name: c.name };
  const tail = {
    image: c.image,
    imageID: c.imageID,
    containerID: id,
  };
  const prev = previousInstance(c, inst);
  switch (c.behavior) {
    case 'completed':
      return {
        ...base,
        state: {
          terminated: {
            exitCode: 0,
            reason: 'Completed',
            startedAt: rfc3339(inst.start),
            finishedAt: rfc3339(inst.start + JOB_RUN_S),
            containerID: id,
          },
        },
        lastState: {},
        ready: false,
        restartCount: 0,
        ...tail,
        started: false,
      };
    case 'crashLoop': {
      if (inst.running) {
        return {
          ...base,
          state: { running: { startedAt: rfc3339(inst.start) } },
          lastState: prev ? { terminated: terminated(pod, c, prev, 1, 'Error') } : {},
          ready: false,
          restartCount: inst.index,
          ...tail,
          started: true,
        };
      }
      return {
        ...base,
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off 5m0s restarting failed container=${c.name} pod=${pod.name}_${pod.namespace}(${pod.uid})`,
          },
        },
        lastState: { terminated: terminated(pod, c, inst, 1, 'Error') },
        ready: false,
        restartCount: inst.index,
        ...tail,
        started: false,
      };
    }
    case 'oomLoop':
      return {
        ...base,
        state: { running: { startedAt: rfc3339(inst.start) } },
        lastState: prev ? { terminated: terminated(pod, c, prev, 137, 'OOMKilled') } : {},
        ready: true,
        restartCount: inst.index,
        ...tail,
        started: true,
      };
    default:
      return {
        ...base,
        state: { running: { startedAt: rfc3339(inst.start) } },
        lastState: {},
        ready: true,
        restartCount: inst.index,
        ...tail,
        started: true,
      };
  }
}

function terminated(pod: SimPod, c: SimContainer, inst: Instance, exitCode: number, reason: string) {
  return {
    exitCode,
    reason,
    startedAt: rfc3339(inst.start),
    finishedAt: rfc3339(inst.end),
    containerID: 'containerd://' + containerId(pod, c, inst.index),
  };
}

function podJson(model: NodeModel, pod: SimPod, t: number): unknown {
  return { metadata: podMetadata(pod), spec: podSpec(model, pod), status: podStatus(model, pod, t) };
}

function podMetadata(pod: SimPod): Record<string, unknown> {
  const metadata: Record<string, unknown> = { name: pod.name };
  if (pod.generateName) metadata.generateName = pod.generateName;
  Object.assign(metadata, {
    namespace: pod.namespace,
    uid: pod.uid,
    resourceVersion: String(1000 + (hash32(pod.uid) % 900000)),
    creationTimestamp: rfc3339(pod.created),
    labels: pod.labels,
    annotations: {
      'kubernetes.io/config.seen': new Date(pod.created * 1000 + 412).toISOString().replace('Z', '481Z'),
      'kubernetes.io/config.source': 'api',
    },
  });
  if (pod.owner) metadata.ownerReferences = [{ ...pod.owner, controller: true, blockOwnerDeletion: true }];
  return metadata;
}

function podVolumes(pod: SimPod): unknown[] {
  const volumes: unknown[] = [];
  if (pod.pvc) volumes.push({ name: 'data', persistentVolumeClaim: { claimName: pod.pvc.claim } });
  for (const cm of pod.configMaps)
    volumes.push({
      name: cm === 'kube-proxy' ? 'kube-proxy' : 'config',
      configMap: { name: cm, defaultMode: 420 },
    });
  for (const hp of pod.hostPaths) volumes.push({ name: hp.name, hostPath: { path: hp.path, type: hp.type } });
  for (const ed of pod.emptyDirs) volumes.push({ name: ed, emptyDir: {} });
  volumes.push({
    name: pod.tokenVolume,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
      defaultMode: 420,
    },
  });
  return volumes;
}

const toleration = (key: string, seconds?: number) => ({
  key,
  operator: 'Exists',
  effect: 'NoExecute',
  ...(seconds !== undefined ? { tolerationSeconds: seconds } : {}),
});

function containerSpec(c: SimContainer, mounts: unknown[]): Record<string, unknown> {
  return {
    name: c.name,
    image: c.image,
    ...(c.ports.length ? { ports: c.ports } : {}),
    resources: resourcesJson(c.res),
    volumeMounts: mounts,
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
    // a native sidecar: an init container that keeps running (and restarting) beside the app
    ...(c.sidecar ? { restartPolicy: 'Always' } : {}),
  };
}

function podSpec(model: NodeModel, pod: SimPod): Record<string, unknown> {
  const mounts = [
    { name: pod.tokenVolume, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
  ];
  return {
    volumes: podVolumes(pod),
    ...(pod.containers.some((c) => c.sidecar)
      ? { initContainers: pod.containers.filter((c) => c.sidecar).map((c) => containerSpec(c, mounts)) }
      : {}),
    containers: pod.containers.filter((c) => !c.sidecar).map((c) => containerSpec(c, mounts)),
    restartPolicy: pod.restartPolicy,
    terminationGracePeriodSeconds: 30,
    dnsPolicy: pod.hostNetwork ? 'ClusterFirstWithHostNet' : 'ClusterFirst',
    serviceAccountName: pod.serviceAccount,
    serviceAccount: pod.serviceAccount,
    nodeName: model.nodeName,
    ...(pod.hostNetwork ? { hostNetwork: true } : {}),
    securityContext: {},
    schedulerName: 'default-scheduler',
    tolerations:
      pod.workloadKind === 'DaemonSet'
        ? [
            { operator: 'Exists' },
            toleration('node.kubernetes.io/not-ready'),
            toleration('node.kubernetes.io/unreachable'),
          ]
        : [
            toleration('node.kubernetes.io/not-ready', 300),
            toleration('node.kubernetes.io/unreachable', 300),
          ],
    ...(pod.priorityClassName ? { priorityClassName: pod.priorityClassName } : {}),
    priority: pod.priority,
    enableServiceLinks: true,
    preemptionPolicy: 'PreemptLowerPriority',
  };
}

function podStatus(model: NodeModel, pod: SimPod, t: number): Record<string, unknown> {
  const statuses = pod.containers.map((c) => containerStatus(pod, c, t));
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  const running = pod.phase === 'Running';
  const lastChange = Math.max(
    pod.started + 6,
    ...pod.containers.map((c) => {
      const inst = instanceAt(c, t);
      if (c.behavior === 'crashLoop') return inst.running ? inst.start : inst.end;
      return c.behavior === 'completed' ? inst.end : inst.start + 3;
    }),
  );
  const cond = (type: string, status: string, at: number) => ({
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: rfc3339(at),
  });
  const readyCond = (type: string) =>
    pod.phase === 'Succeeded'
      ? { ...cond(type, 'False', pod.started + JOB_RUN_S + 3), reason: 'PodCompleted' }
      : unready.length
        ? {
            ...cond(type, 'False', lastChange),
            reason: 'ContainersNotReady',
            message: `containers with unready status: [${unready.join(' ')}]`,
          }
        : cond(type, 'True', lastChange);
  return {
    phase: pod.phase,
    conditions: [
      cond(
        'PodReadyToStartContainers',
        running ? 'True' : 'False',
        running ? pod.started + 1 : pod.started + JOB_RUN_S + 3,
      ),
      cond('Initialized', 'True', pod.created + 1),
      readyCond('Ready'),
      readyCond('ContainersReady'),
      cond('PodScheduled', 'True', pod.created),
    ],
    hostIP: model.hostIP,
    hostIPs: [{ ip: model.hostIP }],
    podIP: pod.podIP,
    podIPs: [{ ip: pod.podIP }],
    startTime: rfc3339(pod.created + 1),
    ...(pod.containers.some((c) => c.sidecar)
      ? { initContainerStatuses: statuses.filter((_, i) => pod.containers[i]!.sidecar) }
      : {}),
    containerStatuses: statuses.filter((_, i) => !pod.containers[i]!.sidecar),
    qosClass: pod.qos,
  };
}

/** The kubelet's /pods body at epoch second t. */
export function podListJson(model: NodeModel, t: number): string {
  return JSON.stringify({
    kind: 'PodList',
    apiVersion: 'v1',
    metadata: {},
    items: model.pods.map((p) => podJson(model, p, t)),
  });
}
