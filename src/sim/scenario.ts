// The simulated node's scenario, as data: the pods it runs and the trouble each is in (a throttled
// checkout, a database near its memory limit, an OOM-looping recommender, a crash-looping API, a
// finished Job, a debug pod without limits...). model.ts builds the node from these templates
// (adding filler Deployments for bigger nodes); a new situation is a new template here.
import type { Behavior, Resources, WorkloadKind } from './model.js';
import { GiB, MiB } from './util.js';

export interface ContainerTemplate {
  name: string;
  image: string;
  res: Resources;
  behavior?: Behavior;
  cpu: number;
  mem: number;
  read?: number;
  write?: number;
  procs?: number;
  threads?: number;
  fds?: number;
  sockets?: number;
  ports?: { name: string; containerPort: number; protocol: string }[];
  /**
   * A native sidecar: an init container with restartPolicy Always (GA in 1.33), started before
   * the app containers and running beside them; the kubelet's /pods lists it under initContainers.
   */
  sidecar?: boolean;
}

export interface PodTemplate {
  namespace: string;
  kind: WorkloadKind;
  workload: string;
  /** Deployment: the ReplicaSet's pod-template-hash */
  rsHash?: string;
  /** explicit pod name (StatefulSet, bare pods) */
  podName?: string;
  labels: Record<string, string>;
  containers: ContainerTemplate[];
  phase?: 'Running' | 'Succeeded';
  /** seconds the pod has been running when the simulator starts */
  ageS: number;
  rx: number;
  tx: number;
  pvc?: { claim: string; capacity: number; used: number; growBps: number };
  configMaps?: string[];
  hostPaths?: { name: string; path: string; type: string }[];
  emptyDirs?: string[];
  hostNetwork?: boolean;
  priorityClassName?: string;
  serviceAccount?: string;
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
}

export const KB = 1024;
export const HOUR = 3600;
export const DAY = 86400;

const web = (n: number): PodTemplate => ({
  namespace: 'shop',
  kind: 'Deployment',
  workload: 'web',
  rsHash: '5d4f8c7b9',
  labels: { app: 'web', region: 'eu-west-1', dept: 'retail' },
  containers: [
    {
      name: 'web',
      image: 'docker.io/library/nginx:1.27.3',
      res: { cpuReqM: 100, cpuLimM: 500, memReq: 128 * MiB, memLim: 256 * MiB },
      cpu: 0.045 + 0.01 * n,
      mem: 58 * MiB,
      read: 2 * KB,
      write: 24 * KB,
      procs: 5,
      threads: 5,
      fds: 46,
      sockets: 31,
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    },
    {
      name: 'metrics-exporter',
      image: 'docker.io/nginx/nginx-prometheus-exporter:1.4.0',
      res: { cpuReqM: 10, cpuLimM: 50, memReq: 16 * MiB, memLim: 32 * MiB },
      cpu: 0.0015,
      mem: 9 * MiB,
      procs: 1,
      threads: 8,
      fds: 9,
      sockets: 3,
      ports: [{ name: 'metrics', containerPort: 9113, protocol: 'TCP' }],
    },
  ],
  ageS: 2 * DAY - n * 3 * HOUR,
  rx: 180 * KB,
  tx: 420 * KB,
  configMaps: ['web-nginx-conf'],
});

const checkout = (): PodTemplate => ({
  namespace: 'shop',
  kind: 'Deployment',
  workload: 'checkout',
  rsHash: '7c9f6d5b8',
  labels: { app: 'checkout', region: 'eu-west-1', dept: 'payments' },
  containers: [
    {
      name: 'checkout',
      image: 'ghcr.io/example-shop/checkout:2.14.1',
      res: { cpuReqM: 100, cpuLimM: 200, memReq: 256 * MiB, memLim: 512 * MiB },
      behavior: 'throttled',
      cpu: 0.194,
      mem: 305 * MiB,
      read: 1 * KB,
      write: 6 * KB,
      procs: 1,
      threads: 38,
      fds: 112,
      sockets: 87,
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    },
  ],
  ageS: 26 * HOUR,
  rx: 95 * KB,
  tx: 140 * KB,
});

const db = (): PodTemplate => ({
  namespace: 'shop',
  kind: 'StatefulSet',
  workload: 'db',
  podName: 'db-0',
  labels: {
    app: 'db',
    region: 'eu-west-1',
    dept: 'retail',
    'apps.kubernetes.io/pod-index': '0',
    'controller-revision-hash': 'db-6d9f7c8b4c',
    'statefulset.kubernetes.io/pod-name': 'db-0',
  },
  containers: [
    {
      name: 'postgres',
      image: 'docker.io/library/postgres:16.4',
      res: { cpuReqM: 1000, cpuLimM: 1000, memReq: 1 * GiB, memLim: 1 * GiB },
      behavior: 'nearLimit',
      cpu: 0.12,
      mem: 973 * MiB,
      read: 220 * KB,
      write: 410 * KB,
      procs: 14,
      threads: 14,
      fds: 160,
      sockets: 24,
      ports: [{ name: 'postgres', containerPort: 5432, protocol: 'TCP' }],
    },
    {
      // the metrics exporter as a native sidecar (Guaranteed like postgres: the pod keeps its QoS)
      name: 'postgres-exporter',
      image: 'quay.io/prometheuscommunity/postgres-exporter:v0.15.0',
      res: { cpuReqM: 50, cpuLimM: 50, memReq: 64 * MiB, memLim: 64 * MiB },
      sidecar: true,
      cpu: 0.004,
      mem: 21 * MiB,
      write: 0.2 * KB,
      procs: 1,
      threads: 9,
      fds: 11,
      sockets: 3,
      ports: [{ name: 'metrics', containerPort: 9187, protocol: 'TCP' }],
    },
  ],
  ageS: 2 * DAY + 5 * HOUR,
  rx: 60 * KB,
  tx: 240 * KB,
  pvc: { claim: 'data-db-0', capacity: 20 * GiB, used: 7.3 * GiB, growBps: 9 * KB },
});

const recommender = (): PodTemplate => ({
  namespace: 'shop',
  kind: 'Deployment',
  workload: 'recommender',
  rsHash: '6b8d9c7f5',
  labels: { app: 'recommender', region: 'us-east-1', dept: 'ml' },
  containers: [
    {
      name: 'recommender',
      image: 'ghcr.io/example-shop/recommender:0.9.3',
      res: { cpuReqM: 200, cpuLimM: 1000, memReq: 384 * MiB, memLim: 512 * MiB },
      behavior: 'oomLoop',
      cpu: 0.31,
      mem: 400 * MiB,
      read: 4 * KB,
      write: 2 * KB,
      procs: 4,
      threads: 27,
      fds: 64,
      sockets: 12,
      ports: [{ name: 'grpc', containerPort: 9090, protocol: 'TCP' }],
    },
  ],
  ageS: 3 * HOUR + 7 * 60,
  rx: 40 * KB,
  tx: 35 * KB,
});

const flakyApi = (): PodTemplate => ({
  namespace: 'default',
  kind: 'Deployment',
  workload: 'flaky-api',
  rsHash: '5f6d7c8b9',
  labels: { app: 'flaky-api', region: 'us-east-1', dept: 'platform' },
  containers: [
    {
      name: 'api',
      image: 'ghcr.io/example-shop/flaky-api:1.0.7',
      res: { cpuReqM: 50, cpuLimM: 200, memReq: 64 * MiB, memLim: 128 * MiB },
      behavior: 'crashLoop',
      cpu: 0.08,
      mem: 41 * MiB,
      read: 8 * KB,
      write: 1 * KB,
      procs: 1,
      threads: 9,
      fds: 14,
      sockets: 2,
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    },
  ],
  ageS: 47 * 60,
  rx: 1 * KB,
  tx: 0.5 * KB,
});

const kubeProxy = (bootAgeS: number): PodTemplate => ({
  namespace: 'kube-system',
  kind: 'DaemonSet',
  workload: 'kube-proxy',
  labels: {
    'controller-revision-hash': '7b5c9d8f6',
    'k8s-app': 'kube-proxy',
    'pod-template-generation': '1',
  },
  containers: [
    {
      name: 'kube-proxy',
      image: 'registry.k8s.io/kube-proxy:v1.30.4',
      res: {},
      cpu: 0.004,
      mem: 27 * MiB,
      write: 1 * KB,
      procs: 1,
      threads: 12,
      fds: 14,
      sockets: 6,
    },
  ],
  ageS: bootAgeS - 40,
  rx: 3 * KB,
  tx: 2 * KB,
  configMaps: ['kube-proxy'],
  hostPaths: [
    { name: 'xtables-lock', path: '/run/xtables.lock', type: 'FileOrCreate' },
    { name: 'lib-modules', path: '/lib/modules', type: '' },
  ],
  hostNetwork: true,
  priorityClassName: 'system-node-critical',
  serviceAccount: 'kube-proxy',
});

const coredns = (bootAgeS: number): PodTemplate => ({
  namespace: 'kube-system',
  kind: 'Deployment',
  workload: 'coredns',
  rsHash: '7db6d8ff4d',
  labels: { 'k8s-app': 'kube-dns' },
  containers: [
    {
      name: 'coredns',
      image: 'registry.k8s.io/coredns/coredns:v1.11.1',
      res: { cpuReqM: 100, memReq: 70 * MiB, memLim: 170 * MiB },
      cpu: 0.006,
      mem: 19 * MiB,
      procs: 1,
      threads: 11,
      fds: 16,
      sockets: 9,
      ports: [
        { name: 'dns', containerPort: 53, protocol: 'UDP' },
        { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
        { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
      ],
    },
  ],
  ageS: bootAgeS - 75,
  rx: 14 * KB,
  tx: 16 * KB,
  configMaps: ['coredns'],
  priorityClassName: 'system-cluster-critical',
  serviceAccount: 'coredns',
});

const reportGenerator = (): PodTemplate => ({
  namespace: 'batch',
  kind: 'Job',
  workload: 'report-generator',
  labels: {},
  containers: [
    {
      name: 'report',
      image: 'ghcr.io/example-shop/report-generator:3.2.0',
      res: { cpuReqM: 500, cpuLimM: 1000, memReq: 512 * MiB, memLim: 1 * GiB },
      cpu: 0.46,
      mem: 420 * MiB,
      read: 600 * KB,
      write: 150 * KB,
      procs: 1,
      threads: 17,
      fds: 21,
      sockets: 3,
    },
  ],
  ageS: 25 * 60,
  rx: 30 * KB,
  tx: 8 * KB,
  restartPolicy: 'Never',
  emptyDirs: ['scratch'],
});

const cleanup = (): PodTemplate => ({
  namespace: 'batch',
  kind: 'CronJob',
  workload: 'cleanup',
  labels: {},
  phase: 'Succeeded',
  containers: [
    {
      name: 'cleanup',
      image: 'docker.io/library/busybox:1.36.1',
      res: { cpuReqM: 10, memReq: 16 * MiB, memLim: 32 * MiB },
      behavior: 'completed',
      cpu: 0.02,
      mem: 2 * MiB,
    },
  ],
  ageS: 0, // derived from the schedule below
  rx: 0,
  tx: 0,
  restartPolicy: 'OnFailure',
});

const debugShell = (): PodTemplate => ({
  namespace: 'default',
  kind: 'Pod',
  workload: 'debug-shell',
  podName: 'debug-shell',
  labels: { run: 'debug-shell' },
  containers: [
    {
      name: 'debug-shell',
      image: 'docker.io/library/ubuntu:24.04',
      res: {},
      cpu: 0.0008,
      mem: 6 * MiB,
      procs: 2,
      threads: 2,
      fds: 7,
      sockets: 0,
    },
  ],
  ageS: 5 * HOUR + 12 * 60,
  rx: 0.05 * KB,
  tx: 0.02 * KB,
});

const nodegraf = (): PodTemplate => ({
  namespace: 'nodegraf',
  kind: 'DaemonSet',
  workload: 'nodegraf',
  labels: {
    'app.kubernetes.io/name': 'nodegraf',
    'controller-revision-hash': '6c8f9d7b5d',
    'pod-template-generation': '3',
  },
  containers: [
    {
      name: 'nodegraf',
      image: 'ghcr.io/nodegraf/nodegraf:0.1.0',
      res: { cpuReqM: 50, cpuLimM: 500, memReq: 64 * MiB, memLim: 256 * MiB },
      cpu: 0.018,
      mem: 71 * MiB,
      write: 12 * KB,
      procs: 1,
      threads: 11,
      fds: 38,
      sockets: 14,
      ports: [{ name: 'http', containerPort: 9101, protocol: 'TCP' }],
    },
  ],
  ageS: 9 * HOUR,
  rx: 6 * KB,
  tx: 55 * KB,
  configMaps: ['nodegraf-config'],
  emptyDirs: ['queue'],
  hostNetwork: true,
  priorityClassName: 'system-node-critical',
  serviceAccount: 'nodegraf',
});

/** The scenario: the pods of the simulated node in order (a smaller node keeps the first ones). */
export function scenarioPods(bootAgeS: number): PodTemplate[] {
  return [
    web(0),
    checkout(),
    db(),
    recommender(),
    flakyApi(),
    kubeProxy(bootAgeS),
    coredns(bootAgeS),
    reportGenerator(),
    cleanup(),
    debugShell(),
    nodegraf(),
    web(1),
  ];
}
