// The article's container recipes (SPEC §10) as PromQL, once: `demo --store` prints what a store
// evaluates with them, and src/derive/equivalence.e2e.test.ts checks the agent's derived values
// against them. Per container (network: per pod, as cAdvisor reports it); container="" is a pod's
// cgroup total, "POD" a Docker sandbox: both left out. The dashboards carry the same expressions
// with their variables (src/kit/dashboards.ts).
const C = 'container!="", container!="POD"';
const BY = 'namespace, pod, container';

/** The range windows: `rate` for irate, `increase` for the throttled ratio's increase. */
export interface RecipeWindows {
  rate: string;
  increase: string;
}

export interface Recipe {
  title: string;
  /** The derived value it matches (src/derive/containers.ts DerivedValues). */
  field:
    | 'cpuOfQuota'
    | 'throttledRatio'
    | 'memoryOfLimit'
    | 'rxBitsPerSec'
    | 'txBitsPerSec'
    | 'fsReadBytesPerSec'
    | 'fsWriteBytesPerSec'
    | 'cpuPressure'
    | 'memoryPressure';
  /** Per pod (network), not per container. */
  perPod: boolean;
  expr: (w: RecipeWindows) => string;
  format: (v: number) => string;
}

const percent = (v: number) => `${(v * 100).toFixed(1)} %`;

export const RECIPES: Recipe[] = [
  {
    title: 'CPU usage of quota',
    field: 'cpuOfQuota',
    perPod: false,
    expr: (w) =>
      `sum by (${BY}) (irate(container_cpu_usage_seconds_total{${C}}[${w.rate}])) / sum by (${BY}) (container_spec_cpu_quota{${C}} / container_spec_cpu_period{${C}})`,
    format: percent,
  },
  {
    title: 'CPU throttled',
    field: 'throttledRatio',
    perPod: false,
    expr: (w) =>
      `sum by (${BY}) (increase(container_cpu_cfs_throttled_periods_total{${C}}[${w.increase}])) / sum by (${BY}) (increase(container_cpu_cfs_periods_total{${C}}[${w.increase}]))`,
    format: percent,
  },
  {
    title: 'memory working set of limit',
    field: 'memoryOfLimit',
    perPod: false,
    expr: () =>
      `max by (${BY}) (container_memory_working_set_bytes{${C}} / container_spec_memory_limit_bytes{${C}} and container_spec_memory_limit_bytes{${C}} != 0)`,
    format: percent,
  },
  {
    title: 'network received',
    field: 'rxBitsPerSec',
    perPod: true,
    expr: (w) =>
      `sum by (namespace, pod) (irate(container_network_receive_bytes_total{pod!=""}[${w.rate}])) * 8`,
    format: (v) => `${(v / 1000).toFixed(1)} kbit/s`,
  },
  {
    title: 'network transmitted',
    field: 'txBitsPerSec',
    perPod: true,
    expr: (w) =>
      `sum by (namespace, pod) (irate(container_network_transmit_bytes_total{pod!=""}[${w.rate}])) * 8`,
    format: (v) => `${(v / 1000).toFixed(1)} kbit/s`,
  },
  {
    title: 'disk reads',
    field: 'fsReadBytesPerSec',
    perPod: false,
    expr: (w) => `sum by (${BY}) (irate(container_fs_reads_bytes_total{${C}}[${w.rate}]))`,
    format: (v) => `${(v / 1024).toFixed(1)} KiB/s`,
  },
  {
    title: 'disk writes',
    field: 'fsWriteBytesPerSec',
    perPod: false,
    expr: (w) => `sum by (${BY}) (irate(container_fs_writes_bytes_total{${C}}[${w.rate}]))`,
    format: (v) => `${(v / 1024).toFixed(1)} KiB/s`,
  },
  {
    title: 'CPU pressure (waiting)',
    field: 'cpuPressure',
    perPod: false,
    expr: (w) => `sum by (${BY}) (irate(container_pressure_cpu_waiting_seconds_total{${C}}[${w.rate}]))`,
    format: percent,
  },
  {
    title: 'memory pressure (stalled)',
    field: 'memoryPressure',
    perPod: false,
    expr: (w) => `sum by (${BY}) (irate(container_pressure_memory_stalled_seconds_total{${C}}[${w.rate}]))`,
    format: percent,
  },
];
