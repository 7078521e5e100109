// The families of /metrics/cadvisor as data, in the order the kubelet serves them: one row per
// family (name, type, help, which cgroups have it, its labels and its value), as cAdvisor's own
// containerMetric table declares them. cadvisor.ts builds the cgroup rows and renders this table;
// a new family is a new row here.
import { V } from './dynamics.js';
import type { NodeModel } from './model.js';

/** The label strings of one cgroup, pre-joined per family shape (the kubelet's label order). */
export interface CgLabels {
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
  /** `container="…"` and the rest (`id`…`pod`), to put a device label between them. */
  A: string;
  BCD: string;
}

/** Whose cgroup a row is, for the kubelet's /metrics/resource (kubelet-endpoints.ts). */
export type Owner =
  | { level: 'node' }
  | { level: 'pod'; namespace: string; pod: string }
  | { level: 'container'; namespace: string; pod: string; container: string };

/** One cgroup at its last housekeeping: values (indexed by V), timestamp and spec. */
export interface Row {
  L: CgLabels;
  /** The node's root cgroup, a pod's, or a (non-sandbox) container's; none for the rest. */
  owner?: Owner;
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

/** A file system of the node (the root cgroup's devices). */
export interface RootDevice {
  dev: string;
  labels: string;
  limit: number;
  usage: number;
  inodes: number;
  inodesFree: number;
  io: boolean;
}

type Line = [labels: string, value: number, ts?: string];

export type CadvisorFamily =
  /** One sample per cgroup row (`when` filters; `spec` families carry no timestamp). */
  | {
      kind: 'rows';
      name: string;
      type: string;
      help: string;
      value: (r: Row) => number;
      when?: (r: Row) => boolean;
      labels?: (r: Row) => string;
      spec?: boolean;
    }
  /** With a device label: block IO of the pod/node cgroups, then the node's devices, then containers. */
  | {
      kind: 'devices';
      name: string;
      type: string;
      help: string;
      row?: (r: Row) => number;
      device?: (d: RootDevice, root: Row) => number;
    }
  /** Several samples per cgroup row. */
  | { kind: 'lines'; name: string; type: string; help: string; lines: (r: Row, nowMs: number) => Line[] }
  /** A machine_* gauge, no timestamp; one sample per label set. */
  | {
      kind: 'machine';
      name: string;
      help: string;
      value: (m: NodeModel) => number;
      labels?: (m: NodeModel) => string[];
    }
  | { kind: 'text'; text: string };

export const us = (x: number) => Math.floor(x * 1e6) / 1e6;
const int = (x: number) => Math.floor(x);
export const page = (x: number) => Math.floor(x / 4096) * 4096;
const v = (r: Row, i: number) => r.v[i]!;
const hasQuota = (r: Row) => r.quota > 0;
const isNet = (r: Row) => r.net;
const netLabels = (r: Row) => r.L.net;
/** A device value from the root cgroup's IO, on the devices that do IO. */
const rootIo = (f: (r: Row) => number) => (d: RootDevice, root: Row) => (d.io ? f(root) : 0);
const ioSeconds = (r: Row, k: number) => us((v(r, V.ROPS) * 0.0004 + v(r, V.WOPS) * 0.0011) * k);
const zero = () => 0;

const rows = (
  name: string,
  type: string,
  help: string,
  value: (r: Row) => number,
  o: { when?: (r: Row) => boolean; labels?: (r: Row) => string } = {},
): CadvisorFamily => ({ kind: 'rows', name, type, help, value, ...o });
const spec = (
  name: string,
  help: string,
  value: (r: Row) => number,
  when?: (r: Row) => boolean,
): CadvisorFamily => ({
  kind: 'rows',
  name,
  type: 'gauge',
  help,
  value,
  when,
  spec: true,
});
const devices = (
  name: string,
  type: string,
  help: string,
  row: ((r: Row) => number) | undefined,
  device: ((d: RootDevice, root: Row) => number) | undefined,
): CadvisorFamily => ({ kind: 'devices', name, type, help, row, device });
const net = (name: string, help: string, value: (r: Row) => number) =>
  rows(name, 'counter', help, value, { when: isNet, labels: netLabels });
const pressure = (res: string, what: 'stalled' | 'waiting', i: number): CadvisorFamily =>
  rows(
    `container_pressure_${res}_${what}_seconds_total`,
    'counter',
    what === 'stalled'
      ? `Total time duration no tasks in the container could make progress due to ${res === 'io' ? 'IO' : res === 'cpu' ? 'CPU' : res} congestion.`
      : `Total time duration tasks in the container have waited due to ${res === 'io' ? 'IO' : res === 'cpu' ? 'CPU' : res} congestion.`,
    (r) => us(v(r, i)),
  );
const machineLabels = (m: NodeModel, extra = '') =>
  `boot_id="${m.bootId}",machine_id="${m.machineId}",${extra}system_uuid="${m.machineId}"`;

export const CADVISOR_FAMILIES: CadvisorFamily[] = [
  {
    kind: 'text',
    text:
      "# HELP cadvisor_version_info A metric with a constant '1' value labeled by kernel version, OS version, docker version, cadvisor version & cadvisor revision.\n" +
      '# TYPE cadvisor_version_info gauge\n' +
      'cadvisor_version_info{cadvisorRevision="",cadvisorVersion="",dockerVersion="",kernelVersion="6.8.0-1021-aws",osVersion="Ubuntu 24.04.1 LTS"} 1\n',
  },
  {
    kind: 'lines',
    name: 'container_blkio_device_usage_total',
    type: 'counter',
    help: 'Blkio Device bytes usage',
    lines: (r) =>
      r.io
        ? [
            [r.L.blkR, page(v(r, V.RBYTES))],
            [r.L.blkW, page(v(r, V.WBYTES))],
          ]
        : [],
  },
  rows(
    'container_cpu_cfs_periods_total',
    'counter',
    'Number of elapsed enforcement period intervals.',
    (r) => int(v(r, V.PERIODS)),
    { when: hasQuota },
  ),
  rows(
    'container_cpu_cfs_throttled_periods_total',
    'counter',
    'Number of throttled period intervals.',
    (r) => int(v(r, V.THR_PERIODS)),
    { when: hasQuota },
  ),
  rows(
    'container_cpu_cfs_throttled_seconds_total',
    'counter',
    'Total time duration the container has been throttled.',
    (r) => us(v(r, V.THR_SECS)),
    { when: hasQuota },
  ),
  rows(
    'container_cpu_load_average_10s',
    'gauge',
    'Value of container cpu load average over the last 10 seconds.',
    zero,
  ),
  rows(
    'container_cpu_load_d_average_10s',
    'gauge',
    'Value of container cpu load.d average over the last 10 seconds.',
    zero,
  ),
  rows(
    'container_cpu_system_seconds_total',
    'counter',
    'Cumulative system cpu time consumed in seconds.',
    (r) => us(v(r, V.CPU_SYS)),
  ),
  rows(
    'container_cpu_usage_seconds_total',
    'counter',
    'Cumulative cpu time consumed in seconds.',
    (r) => us(v(r, V.CPU)),
    { labels: (r) => r.L.cpu },
  ),
  rows('container_cpu_user_seconds_total', 'counter', 'Cumulative user cpu time consumed in seconds.', (r) =>
    us(v(r, V.CPU_USER)),
  ),
  rows('container_file_descriptors', 'gauge', 'Number of open file descriptors for the container.', (r) =>
    r.aggregate ? 0 : int(v(r, V.FDS)),
  ),
  devices('container_fs_inodes_free', 'gauge', 'Number of available Inodes', undefined, (d) => d.inodesFree),
  devices('container_fs_inodes_total', 'gauge', 'Number of Inodes', undefined, (d) => d.inodes),
  devices('container_fs_io_current', 'gauge', 'Number of I/Os currently in progress', undefined, zero),
  devices(
    'container_fs_io_time_seconds_total',
    'counter',
    'Cumulative count of seconds spent doing I/Os',
    undefined,
    rootIo((r) => ioSeconds(r, 0.8)),
  ),
  devices(
    'container_fs_io_time_weighted_seconds_total',
    'counter',
    'Cumulative weighted I/O time in seconds',
    undefined,
    rootIo((r) => ioSeconds(r, 1.4)),
  ),
  devices(
    'container_fs_limit_bytes',
    'gauge',
    'Number of bytes that can be consumed by the container on this filesystem.',
    undefined,
    (d) => d.limit,
  ),
  devices(
    'container_fs_read_seconds_total',
    'counter',
    'Cumulative count of seconds spent reading',
    undefined,
    rootIo((r) => us(v(r, V.ROPS) * 0.0004)),
  ),
  devices(
    'container_fs_reads_bytes_total',
    'counter',
    'Cumulative count of bytes read',
    (r) => page(v(r, V.RBYTES)),
    undefined,
  ),
  devices(
    'container_fs_reads_merged_total',
    'counter',
    'Cumulative count of reads merged',
    undefined,
    rootIo((r) => int(v(r, V.ROPS) * 0.1)),
  ),
  devices(
    'container_fs_reads_total',
    'counter',
    'Cumulative count of reads completed',
    (r) => int(v(r, V.ROPS)),
    rootIo((r) => int(v(r, V.ROPS))),
  ),
  devices(
    'container_fs_sector_reads_total',
    'counter',
    'Cumulative count of sector reads completed',
    undefined,
    rootIo((r) => int(v(r, V.RBYTES) / 512)),
  ),
  devices(
    'container_fs_sector_writes_total',
    'counter',
    'Cumulative count of sector writes completed',
    undefined,
    rootIo((r) => int(v(r, V.WBYTES) / 512)),
  ),
  devices(
    'container_fs_usage_bytes',
    'gauge',
    'Number of bytes that are consumed by the container on this filesystem.',
    undefined,
    (d) => d.usage,
  ),
  devices(
    'container_fs_write_seconds_total',
    'counter',
    'Cumulative count of seconds spent writing',
    undefined,
    rootIo((r) => us(v(r, V.WOPS) * 0.0011)),
  ),
  devices(
    'container_fs_writes_bytes_total',
    'counter',
    'Cumulative count of bytes written',
    (r) => page(v(r, V.WBYTES)),
    undefined,
  ),
  devices(
    'container_fs_writes_merged_total',
    'counter',
    'Cumulative count of writes merged',
    undefined,
    rootIo((r) => int(v(r, V.WOPS) * 0.6)),
  ),
  devices(
    'container_fs_writes_total',
    'counter',
    'Cumulative count of writes completed',
    (r) => int(v(r, V.WOPS)),
    rootIo((r) => int(v(r, V.WOPS))),
  ),
  {
    kind: 'lines',
    name: 'container_last_seen',
    type: 'gauge',
    help: 'Last time a container was seen by the exporter',
    // stamped with the scrape's time, not the cgroup's housekeeping
    lines: (r, nowMs) => [[r.L.plain, Math.floor(nowMs / 1000), ' ' + Math.floor(nowMs)]],
  },
  rows('container_memory_cache', 'gauge', 'Number of bytes of page cache memory.', (r) =>
    page(v(r, V.CACHE)),
  ),
  rows('container_memory_failcnt', 'counter', 'Number of memory usage hits limits', (r) =>
    int(v(r, V.FAILCNT)),
  ),
  {
    kind: 'lines',
    name: 'container_memory_failures_total',
    type: 'counter',
    help: 'Cumulative count of memory allocation failures.',
    lines: (r) => {
      const pf = int(v(r, V.PGFAULT));
      const maj = int(v(r, V.PGMAJ));
      return [
        [r.L.fail[0]!, pf],
        [r.L.fail[1]!, pf],
        [r.L.fail[2]!, maj],
        [r.L.fail[3]!, maj],
      ];
    },
  },
  rows('container_memory_kernel_usage', 'gauge', 'Size of kernel memory allocated in bytes.', (r) =>
    page(v(r, V.KERNEL)),
  ),
  rows('container_memory_mapped_file', 'gauge', 'Size of memory mapped files in bytes.', (r) =>
    page(v(r, V.MAPPED)),
  ),
  rows('container_memory_max_usage_bytes', 'gauge', 'Maximum memory usage recorded in bytes', (r) =>
    page(v(r, V.MAX_USAGE)),
  ),
  rows('container_memory_rss', 'gauge', 'Size of RSS in bytes.', (r) => page(v(r, V.RSS))),
  rows('container_memory_swap', 'gauge', 'Container swap usage in bytes.', zero),
  rows('container_memory_total_active_file_bytes', 'gauge', 'Current total active file in bytes.', (r) =>
    page(v(r, V.ACTIVE_FILE)),
  ),
  rows('container_memory_total_inactive_file_bytes', 'gauge', 'Current total inactive file in bytes.', (r) =>
    page(v(r, V.INACTIVE_FILE)),
  ),
  rows(
    'container_memory_usage_bytes',
    'gauge',
    'Current memory usage in bytes, including all memory regardless of when it was accessed',
    (r) => page(v(r, V.USAGE)),
  ),
  rows('container_memory_working_set_bytes', 'gauge', 'Current working set in bytes.', (r) =>
    page(v(r, V.WS)),
  ),
  net('container_network_receive_bytes_total', 'Cumulative count of bytes received', (r) =>
    int(v(r, V.NET_RX)),
  ),
  net(
    'container_network_receive_errors_total',
    'Cumulative count of errors encountered while receiving',
    zero,
  ),
  net(
    'container_network_receive_packets_dropped_total',
    'Cumulative count of packets dropped while receiving',
    (r) => int(v(r, V.NET_RXP) * 1e-6),
  ),
  net('container_network_receive_packets_total', 'Cumulative count of packets received', (r) =>
    int(v(r, V.NET_RXP)),
  ),
  net('container_network_transmit_bytes_total', 'Cumulative count of bytes transmitted', (r) =>
    int(v(r, V.NET_TX)),
  ),
  net(
    'container_network_transmit_errors_total',
    'Cumulative count of errors encountered while transmitting',
    zero,
  ),
  net(
    'container_network_transmit_packets_dropped_total',
    'Cumulative count of packets dropped while transmitting',
    zero,
  ),
  net('container_network_transmit_packets_total', 'Cumulative count of packets transmitted', (r) =>
    int(v(r, V.NET_TXP)),
  ),
  rows(
    'container_oom_events_total',
    'counter',
    'Count of out of memory events observed for the container',
    (r) => int(v(r, V.OOM)),
  ),
  pressure('cpu', 'stalled', V.PSI_CPU_S),
  pressure('cpu', 'waiting', V.PSI_CPU_W),
  pressure('io', 'stalled', V.PSI_IO_S),
  pressure('io', 'waiting', V.PSI_IO_W),
  pressure('memory', 'stalled', V.PSI_MEM_S),
  pressure('memory', 'waiting', V.PSI_MEM_W),
  rows('container_processes', 'gauge', 'Number of processes running inside the container.', (r) =>
    r.aggregate ? 0 : int(v(r, V.PROCS)),
  ),
  {
    kind: 'text',
    text: '# HELP container_scrape_error 1 if there was an error while getting container metrics, 0 otherwise\n# TYPE container_scrape_error gauge\ncontainer_scrape_error 0\n',
  },
  rows('container_sockets', 'gauge', 'Number of open sockets for the container.', (r) =>
    r.aggregate ? 0 : int(v(r, V.SOCKETS)),
  ),
  spec('container_spec_cpu_period', 'CPU period of the container.', () => 100000),
  spec('container_spec_cpu_quota', 'CPU quota of the container.', (r) => r.quota, hasQuota),
  spec('container_spec_cpu_shares', 'CPU share of the container.', (r) => r.shares),
  spec('container_spec_memory_limit_bytes', 'Memory limit for the container.', (r) => r.memLimit),
  spec('container_spec_memory_reservation_limit_bytes', 'Memory reservation limit for the container.', zero),
  spec('container_spec_memory_swap_limit_bytes', 'Memory swap limit for the container.', (r) => r.swapLimit),
  spec(
    'container_start_time_seconds',
    'Start time of the container since unix epoch in seconds.',
    (r) => r.start,
  ),
  {
    kind: 'lines',
    name: 'container_tasks_state',
    type: 'gauge',
    help: 'Number of tasks in given state',
    lines: (r) => r.L.tasks.map((l): Line => [l, 0]),
  },
  rows('container_threads', 'gauge', 'Number of threads running inside the container', (r) =>
    int(v(r, V.THREADS)),
  ),
  rows(
    'container_threads_max',
    'gauge',
    'Maximum number of threads allowed inside the container, infinity if value is zero',
    zero,
  ),
  rows(
    'container_ulimits_soft',
    'gauge',
    'Soft ulimit values for the container root process. Unlimited if -1, except priority and nice',
    () => 1048576,
    {
      when: (r) => r.ulimit,
      labels: (r) => r.L.ulimit,
    },
  ),
  {
    kind: 'machine',
    name: 'machine_cpu_cores',
    help: 'Number of logical CPU cores.',
    value: (m) => m.cpuCores,
  },
  {
    kind: 'machine',
    name: 'machine_cpu_physical_cores',
    help: 'Number of physical CPU cores.',
    value: (m) => Math.max(1, m.cpuCores / 2),
  },
  { kind: 'machine', name: 'machine_cpu_sockets', help: 'Number of CPU sockets.', value: () => 1 },
  {
    kind: 'machine',
    name: 'machine_memory_bytes',
    help: 'Amount of memory installed on the machine.',
    value: (m) => m.memBytes,
  },
  { kind: 'machine', name: 'machine_nvm_avg_power_budget_watts', help: 'NVM power budget.', value: zero },
  {
    kind: 'machine',
    name: 'machine_nvm_capacity',
    help: 'NVM capacity value labeled by NVM mode (memory mode or app direct mode).',
    value: zero,
    labels: (m) => [machineLabels(m, 'mode="app_direct_mode",'), machineLabels(m, 'mode="memory_mode",')],
  },
  {
    kind: 'text',
    text: '# HELP machine_scrape_error 1 if there was an error while getting machine metrics, 0 otherwise.\n# TYPE machine_scrape_error gauge\nmachine_scrape_error 0\n',
  },
  {
    kind: 'machine',
    name: 'machine_swap_bytes',
    help: 'Amount of swap memory available on the machine.',
    value: zero,
  },
];

export { machineLabels };
