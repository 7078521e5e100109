// The JSON the agent's server answers on /api/status, /api/containers, /targets and /pods, as
// types only (no imports, no code): the server builds these (status.ts, api.ts, trouble.ts) and the
// status page's script (status-client.js, type-checked against this file) reads them, so a field
// renamed on one side breaks the other's type check.

/** The node top's history fields (derive/hub.ts HISTORY_FIELDS; api.ts assigns one to the other, so tsc keeps them equal). */
export type HistoryField =
  | 'cpuOfQuota'
  | 'throttledRatio'
  | 'memoryOfLimit'
  | 'rxBitsPerSec'
  | 'txBitsPerSec'
  | 'fsReadBytesPerSec'
  | 'fsWriteBytesPerSec';

export interface TargetJson {
  name: string;
  /** The scrape URL, credentials redacted (also the `target` label of the own metrics). */
  url: string;
  job: string;
  labels: Record<string, string>;
  health: string;
  lastError: string;
  lastWarning: string;
  lastScrape: string | null;
  lastScrapeDurationSeconds: number;
  samples: number;
  series: number;
  scrapes: number;
  failures: number;
  intervalSeconds: number;
  tokenExpiry: string | null;
  /** Families the kit needs from this job that the target does not deliver (scrape/contract.ts). */
  missingFamilies: Array<{ family: string; empties: string[]; cause: string }>;
}

export interface WriterJson {
  /** Stable non-secret name (the `writer` label of the own metrics). */
  name: string;
  /** The write URL, credentials redacted. */
  url: string;
  state: string;
  lastError: string;
  /** The fix for lastError, when one is known. */
  lastHint: string;
  sentSamples: number;
  sentBytes: number;
  sentRequests: number;
  failedRequests: number;
  retriedSamples: number;
  droppedSamples: Record<string, number>;
  /** Requests answered with a non-2xx status, by status code. */
  refusedRequests: Record<string, number>;
  queuedSamples: number;
  /** Bytes of the requests queued in memory (compressed). */
  queuedBytes: number;
  diskQueueBytes: number;
  diskQueueSamples: number;
  lastSuccess: string | null;
}

export interface ContainerRowJson {
  namespace: string;
  pod: string;
  container: string;
  workloadKind: string;
  workload: string;
  /** label_* and annotation_* of the pod (the pod metadata's), for filtering. */
  podLabels: Record<string, string>;
  cpuOfQuota: number | null;
  throttledRatio: number | null;
  memoryOfLimit: number | null;
  cpuCores: number | null;
  memoryBytes: number | null;
  rxBitsPerSec: number | null;
  txBitsPerSec: number | null;
  fsReadBytesPerSec: number | null;
  fsWriteBytesPerSec: number | null;
  /** PSI: share of time waiting for a CPU / stalled on memory; null where the node has no PSI. */
  cpuPressure: number | null;
  memoryPressure: number | null;
  /** Restarts of this container (pod view), null without pod metadata. */
  restarts: number | null;
  /** Why it waits (CrashLoopBackOff…) and why its last run ended (OOMKilled…), '' when none. */
  waitingReason: string;
  lastTerminatedReason: string;
  /** Time of the samples the values come from (ISO), null if the target's timestamp is not a date. */
  time: string | null;
  /** HISTORY_BUCKETS points per field, oldest first, null where there was no value (absent with ?history=0). */
  history?: Record<HistoryField, (number | null)[]>;
}

export interface TroubleJson {
  namespace: string;
  pod: string;
  workloadKind: string;
  workload: string;
  phase: string;
  ready: boolean;
  restarts: number;
  /** What is wrong, worst first: "api: CrashLoopBackOff", "api: OOM-killed 3 min ago", "not ready". */
  problems: string[];
  /** 3: a container cannot run (waiting on a crash loop, an image, its config), 2: OOM-killed lately, 1: restarting or not ready. */
  severity: number;
  /** When the pod started (ISO), and when a container of it last ended (ISO), null if none. */
  startTime: string | null;
  lastTermination: string | null;
}

/** The pod view's state (/pods without its list; `pods`: how many, null with pod metadata off). */
export interface PodViewJson {
  enabled: boolean;
  source?: string;
  synced?: boolean;
  lastUpdate?: string | null;
  lastError?: string;
  lastHint?: string;
  errors?: number;
  lists?: number;
  events?: number;
  resourceVersion?: string;
  pods: number | null;
}

/** GET /api/status */
export interface StatusJson {
  version: string;
  /** The agent's clock, for the ages the page shows. */
  now: string;
  ready: boolean;
  scrapedSamples: number;
  targets: TargetJson[];
  writers: WriterJson[];
  podView: PodViewJson;
  /** The node's pods that need a look, worst first (empty without pod metadata). */
  podsInTrouble: TroubleJson[];
}

/** GET /api/containers */
export interface ContainersJson {
  /** The agent's clock: the page compares sample times with it, not with the browser's. */
  now: string;
  bucketSeconds: number;
  buckets: number;
  historyBytesPerContainer: number;
  containers: ContainerRowJson[];
}

/** /api/cardinality (scrape/cardinality.ts CardinalityReport). */
export interface CardinalityJson {
  series: number;
  samplesPerSecond: number;
  bytesPerSecond: number;
  bytesPerSample: number;
  jobs: Array<{ job: string; series: number; samplesPerSecond: number }>;
  families: Array<{
    family: string;
    jobs: string[];
    series: number;
    samplesPerSecond: number;
    bytesPerSample: number;
    bytesPerSecond: number;
    readers: string[];
    savingShare: number;
  }>;
  unread: { families: number; series: number; share: number };
  pods: Array<{ namespace: string; workload: string; pod: string; series: number }>;
  labels: Array<{ label: string; values: number; capped: boolean }>;
}
