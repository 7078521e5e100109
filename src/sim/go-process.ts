// The go_* and process_* families every Kubernetes component (a Go binary) serves, as a family
// table over the process's state at render time. kube-proxy and kubelet place the two blocks among
// their own families (the exposition is sorted by name).
import { Wave, fmt, rngFor, scalar, renderFamilies, type SimFamily } from './util.js';

export interface GoProfile {
  startSec: number;
  cpuCores: number;
  rss: number;
  heap: number;
  goroutines: number;
  threads: number;
  fds: number;
  allocBps: number;
  gcPeriodS: number;
}

interface GoState {
  t: number;
  p: GoProfile;
  up: number;
  gcs: number;
  heap: number;
  allocTotal: number;
  mallocs: number;
  frees: number;
  goroutines: number;
  cpu: number;
  rss: number;
}

const b8 = (x: number) => Math.floor(x / 8) * 8;
const pages = (x: number, size: number) => Math.floor(x / size) * size;
const GC_QUANTILES: Array<[string, number]> = [
  ['0', 0.000041],
  ['0.25', 0.000078],
  ['0.5', 0.000112],
  ['0.75', 0.000187],
  ['1', 0.0042],
];
const mem = (name: string, type: string, help: string, value: (s: GoState) => number) =>
  scalar<GoState>(`go_memstats_${name}`, type, help, value);

const GO_FAMILIES: SimFamily<GoState>[] = [
  {
    raw: (out, s) => {
      out.push(
        '# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.\n# TYPE go_gc_duration_seconds summary\n',
      );
      for (const [q, v] of GC_QUANTILES) out.push(`go_gc_duration_seconds{quantile="${q}"} `, fmt(v), '\n');
      out.push(
        'go_gc_duration_seconds_sum ',
        fmt(s.gcs * 0.00031),
        '\ngo_gc_duration_seconds_count ',
        fmt(s.gcs),
        '\n',
      );
    },
  },
  scalar(
    'go_gc_gogc_percent',
    'gauge',
    'Heap size target percentage configured by the user, otherwise 100. This value is set by the GOGC environment variable, and the runtime/debug.SetGCPercent function.',
    () => 100,
  ),
  scalar(
    'go_gc_gomemlimit_bytes',
    'gauge',
    'Go runtime memory limit configured by the user, otherwise math.MaxInt64. This value is set by the GOMEMLIMIT environment variable, and the runtime/debug.SetMemoryLimit function.',
    () => 9.223372036854776e18,
  ),
  scalar('go_goroutines', 'gauge', 'Number of goroutines that currently exist.', (s) => s.goroutines),
  scalar('go_info', 'gauge', 'Information about the Go environment.', () => 1, 'version="go1.22.5"'),
  mem('alloc_bytes', 'gauge', 'Number of bytes allocated and still in use.', (s) => b8(s.heap)),
  mem('alloc_bytes_total', 'counter', 'Total number of bytes allocated, even if freed.', (s) =>
    b8(s.allocTotal),
  ),
  mem(
    'buck_hash_sys_bytes',
    'gauge',
    'Number of bytes used by the profiling bucket hash table.',
    () => 1497815,
  ),
  mem('frees_total', 'counter', 'Total number of frees.', (s) => s.frees),
  mem('gc_sys_bytes', 'gauge', 'Number of bytes used for garbage collection system metadata.', (s) =>
    b8(s.heap * 0.09),
  ),
  mem('heap_alloc_bytes', 'gauge', 'Number of heap bytes allocated and still in use.', (s) => b8(s.heap)),
  mem('heap_idle_bytes', 'gauge', 'Number of heap bytes waiting to be used.', (s) =>
    pages(s.heap * 0.55, 8192),
  ),
  mem('heap_inuse_bytes', 'gauge', 'Number of heap bytes that are in use.', (s) =>
    pages(s.heap * 1.12, 8192),
  ),
  mem('heap_objects', 'gauge', 'Number of allocated objects.', (s) => Math.floor(s.heap / 160)),
  mem('heap_released_bytes', 'gauge', 'Number of heap bytes released to OS.', (s) =>
    pages(s.heap * 0.31, 8192),
  ),
  mem('heap_sys_bytes', 'gauge', 'Number of heap bytes obtained from system.', (s) =>
    pages(s.heap * 1.7, 8192),
  ),
  mem('last_gc_time_seconds', 'gauge', 'Number of seconds since 1970 of last garbage collection.', (s) =>
    Math.max(s.p.startSec, s.t - (s.up % s.p.gcPeriodS)),
  ),
  mem('lookups_total', 'counter', 'Total number of pointer lookups.', () => 0),
  mem('mallocs_total', 'counter', 'Total number of mallocs.', (s) => s.mallocs),
  mem('mcache_inuse_bytes', 'gauge', 'Number of bytes in use by mcache structures.', () => 9600),
  mem(
    'mcache_sys_bytes',
    'gauge',
    'Number of bytes used for mcache structures obtained from system.',
    () => 15600,
  ),
  mem('mspan_inuse_bytes', 'gauge', 'Number of bytes in use by mspan structures.', (s) => b8(s.heap * 0.014)),
  mem('mspan_sys_bytes', 'gauge', 'Number of bytes used for mspan structures obtained from system.', (s) =>
    b8(s.heap * 0.02),
  ),
  mem('next_gc_bytes', 'gauge', 'Number of heap bytes when next garbage collection will take place.', (s) =>
    b8(s.p.heap * 1.9),
  ),
  mem('other_sys_bytes', 'gauge', 'Number of bytes used for other system allocations.', () => 2712345),
  mem(
    'stack_inuse_bytes',
    'gauge',
    'Number of bytes in use by the stack allocator.',
    (s) => s.p.goroutines * 8192,
  ),
  mem(
    'stack_sys_bytes',
    'gauge',
    'Number of bytes obtained from system for stack allocator.',
    (s) => s.p.goroutines * 8192,
  ),
  mem('sys_bytes', 'gauge', 'Number of bytes obtained from system.', (s) => pages(s.heap * 2.3, 65536)),
  scalar(
    'go_sched_gomaxprocs_threads',
    'gauge',
    'The current runtime.GOMAXPROCS setting, or the number of operating system threads that can execute user-level Go code simultaneously.',
    () => 8,
  ),
  scalar('go_threads', 'gauge', 'Number of OS threads created.', (s) => s.p.threads),
];

const PROCESS_FAMILIES: SimFamily<GoState>[] = [
  scalar(
    'process_cpu_seconds_total',
    'counter',
    'Total user and system CPU time spent in seconds.',
    (s) => Math.floor(s.cpu * 100) / 100,
  ),
  scalar('process_max_fds', 'gauge', 'Maximum number of open file descriptors.', () => 1048576),
  scalar('process_open_fds', 'gauge', 'Number of open file descriptors.', (s) => s.p.fds),
  scalar('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', (s) =>
    pages(s.rss, 4096),
  ),
  scalar(
    'process_start_time_seconds',
    'gauge',
    'Start time of the process since unix epoch in seconds.',
    (s) => s.p.startSec,
  ),
  scalar(
    'process_virtual_memory_bytes',
    'gauge',
    'Virtual memory size in bytes.',
    (s) => 1.35757824e9 + pages(s.p.rss, 4096),
  ),
  scalar(
    'process_virtual_memory_max_bytes',
    'gauge',
    'Maximum amount of virtual memory available in bytes.',
    () => 1.8446744073709552e19,
  ),
];

/** Process-level families (go_*, process_*) of a Go component. */
export class GoProcess {
  private readonly cpuWave: Wave;
  private readonly memWave: Wave;
  private readonly gcWave: Wave;

  constructor(
    seed: number,
    key: string,
    private readonly p: GoProfile,
  ) {
    const rng = rngFor(seed, 'go:' + key);
    this.cpuWave = new Wave(rng, 0.3, 120, 1800);
    this.memWave = new Wave(rng, 0.1, 300, 3600);
    this.gcWave = new Wave(rng, 0.2, 200, 2000);
  }

  private state(t: number): GoState {
    const p = this.p;
    const heap = p.heap * this.memWave.at(t);
    const allocTotal = p.allocBps * this.gcWave.integral(p.startSec, t) + heap;
    const mallocs = Math.floor(allocTotal / 160);
    return {
      t,
      p,
      up: Math.max(0, t - p.startSec),
      gcs: Math.floor(this.gcWave.integral(p.startSec, t) / p.gcPeriodS),
      heap,
      allocTotal,
      mallocs,
      frees: Math.max(0, mallocs - Math.floor(heap / 160)),
      goroutines: Math.round(p.goroutines * (0.97 + (0.06 * (this.cpuWave.at(t) - 0.7)) / 0.6)),
      cpu: p.cpuCores * this.cpuWave.integral(p.startSec, t),
      rss: p.rss * this.memWave.at(t),
    };
  }

  /** The go_* block. */
  write(out: string[], t: number): void {
    renderFamilies(out, GO_FAMILIES, this.state(t));
  }

  /** The process_* block. */
  writeProcess(out: string[], t: number): void {
    renderFamilies(out, PROCESS_FAMILIES, this.state(t));
  }
}
