// kube-proxy :10249/metrics and kubelet :10250/metrics, as Kubernetes 1.30
// components expose them (families, label sets, HELP texts and bucket layouts
// follow the captures in fixtures/real/). Every value is a function of time.

import { instanceAt, isRunning, totalRestarts, type NodeModel } from './model.js';
import { MiB, SimHistogram, Wave, component, esc, family, fmt, rngFor, sample } from './util.js';

const GIT_VERSION = 'v1.30.4';
const BUILD_INFO =
  'build_date="2024-08-14T19:21:35Z",compiler="gc",git_commit="a51b3b711150f57ffc1f526a640ec058514ed596",git_tree_state="clean",git_version="' +
  GIT_VERSION +
  '",go_version="go1.22.5",major="1",minor="30",platform="linux/amd64"';
const BUILD_INFO_HELP =
  "[ALPHA] A metric with a constant '1' value labeled by major, minor, git version, git commit, git tree state, build date, Go version, and compiler from which Kubernetes was built, and platform on which it is running.";

/** Bucket layouts (from the captures). */
const B_EXP2 = [
  0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384,
];
const B_NETPROG = [
  0, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
  27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53,
  54, 55, 56, 57, 58, 59, 60, 65, 70, 75, 80, 85, 90, 95, 100, 105, 110, 115, 120, 150, 180, 210, 240, 270,
  300,
];
const B_REST = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];
const B_SIZE = [64, 256, 512, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];
const B_KUBELET = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const B_RUNTIME = [
  0.005, 0.0125, 0.03125, 0.078125, 0.1953125, 0.48828125, 1.220703125, 3.0517578125, 7.62939453125,
  19.073486328125, 47.6837158203125, 119.20928955078125, 298.0232238769531, 745.0580596923828,
];
const B_STORAGE = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 25, 50, 120, 300, 600];
const B_PER_POD = [1, 2, 4, 8, 16];

/** Process-level families (go_*, process_*) of a Go component. */
class GoProcess {
  private readonly cpuWave: Wave;
  private readonly memWave: Wave;
  private readonly gcWave: Wave;
  constructor(
    seed: number,
    key: string,
    private readonly p: {
      startSec: number;
      cpuCores: number;
      rss: number;
      heap: number;
      goroutines: number;
      threads: number;
      fds: number;
      allocBps: number;
      gcPeriodS: number;
    },
  ) {
    const rng = rngFor(seed, 'go:' + key);
    this.cpuWave = new Wave(rng, 0.3, 120, 1800);
    this.memWave = new Wave(rng, 0.1, 300, 3600);
    this.gcWave = new Wave(rng, 0.2, 200, 2000);
  }

  write(out: string[], t: number): void {
    const p = this.p;
    const up = Math.max(0, t - p.startSec);
    const gcs = Math.floor(this.gcWave.integral(p.startSec, t) / p.gcPeriodS);
    const heap = p.heap * this.memWave.at(t);
    const allocTotal = p.allocBps * this.gcWave.integral(p.startSec, t) + heap;
    const mallocs = Math.floor(allocTotal / 160);
    const frees = Math.max(0, mallocs - Math.floor(heap / 160));
    const gcSum = gcs * 0.00031;
    family(
      out,
      'go_gc_duration_seconds',
      'summary',
      'A summary of the pause duration of garbage collection cycles.',
    );
    const q = [0.000041, 0.000078, 0.000112, 0.000187, 0.0042];
    ['0', '0.25', '0.5', '0.75', '1'].forEach((qq, i) =>
      out.push(`go_gc_duration_seconds{quantile="${qq}"} `, fmt(q[i]!), '\n'),
    );
    sample(out, 'go_gc_duration_seconds_sum', '', gcSum);
    sample(out, 'go_gc_duration_seconds_count', '', gcs);
    family(
      out,
      'go_gc_gogc_percent',
      'gauge',
      'Heap size target percentage configured by the user, otherwise 100. This value is set by the GOGC environment variable, and the runtime/debug.SetGCPercent function.',
    );
    sample(out, 'go_gc_gogc_percent', '', 100);
    family(
      out,
      'go_gc_gomemlimit_bytes',
      'gauge',
      'Go runtime memory limit configured by the user, otherwise math.MaxInt64. This value is set by the GOMEMLIMIT environment variable, and the runtime/debug.SetMemoryLimit function.',
    );
    sample(out, 'go_gc_gomemlimit_bytes', '', 9.223372036854776e18);
    family(out, 'go_goroutines', 'gauge', 'Number of goroutines that currently exist.');
    sample(
      out,
      'go_goroutines',
      '',
      Math.round(p.goroutines * (0.97 + (0.06 * (this.cpuWave.at(t) - 0.7)) / 0.6)),
    );
    family(out, 'go_info', 'gauge', 'Information about the Go environment.');
    out.push('go_info{version="go1.22.5"} 1\n');
    const g = (name: string, type: string, help: string, val: number) => {
      family(out, name, type, help);
      sample(out, name, '', val);
    };
    const b8 = (x: number) => Math.floor(x / 8) * 8;
    g('go_memstats_alloc_bytes', 'gauge', 'Number of bytes allocated and still in use.', b8(heap));
    g(
      'go_memstats_alloc_bytes_total',
      'counter',
      'Total number of bytes allocated, even if freed.',
      b8(allocTotal),
    );
    g(
      'go_memstats_buck_hash_sys_bytes',
      'gauge',
      'Number of bytes used by the profiling bucket hash table.',
      1497815,
    );
    g('go_memstats_frees_total', 'counter', 'Total number of frees.', frees);
    g(
      'go_memstats_gc_sys_bytes',
      'gauge',
      'Number of bytes used for garbage collection system metadata.',
      b8(heap * 0.09),
    );
    g('go_memstats_heap_alloc_bytes', 'gauge', 'Number of heap bytes allocated and still in use.', b8(heap));
    g(
      'go_memstats_heap_idle_bytes',
      'gauge',
      'Number of heap bytes waiting to be used.',
      Math.floor((heap * 0.55) / 8192) * 8192,
    );
    g(
      'go_memstats_heap_inuse_bytes',
      'gauge',
      'Number of heap bytes that are in use.',
      Math.floor((heap * 1.12) / 8192) * 8192,
    );
    g('go_memstats_heap_objects', 'gauge', 'Number of allocated objects.', Math.floor(heap / 160));
    g(
      'go_memstats_heap_released_bytes',
      'gauge',
      'Number of heap bytes released to OS.',
      Math.floor((heap * 0.31) / 8192) * 8192,
    );
    g(
      'go_memstats_heap_sys_bytes',
      'gauge',
      'Number of heap bytes obtained from system.',
      Math.floor((heap * 1.7) / 8192) * 8192,
    );
    g(
      'go_memstats_last_gc_time_seconds',
      'gauge',
      'Number of seconds since 1970 of last garbage collection.',
      Math.max(p.startSec, t - (up % p.gcPeriodS)),
    );
    g('go_memstats_lookups_total', 'counter', 'Total number of pointer lookups.', 0);
    g('go_memstats_mallocs_total', 'counter', 'Total number of mallocs.', mallocs);
    g('go_memstats_mcache_inuse_bytes', 'gauge', 'Number of bytes in use by mcache structures.', 9600);
    g(
      'go_memstats_mcache_sys_bytes',
      'gauge',
      'Number of bytes used for mcache structures obtained from system.',
      15600,
    );
    g(
      'go_memstats_mspan_inuse_bytes',
      'gauge',
      'Number of bytes in use by mspan structures.',
      b8(heap * 0.014),
    );
    g(
      'go_memstats_mspan_sys_bytes',
      'gauge',
      'Number of bytes used for mspan structures obtained from system.',
      b8(heap * 0.02),
    );
    g(
      'go_memstats_next_gc_bytes',
      'gauge',
      'Number of heap bytes when next garbage collection will take place.',
      b8(p.heap * 1.9),
    );
    g('go_memstats_other_sys_bytes', 'gauge', 'Number of bytes used for other system allocations.', 2712345);
    g(
      'go_memstats_stack_inuse_bytes',
      'gauge',
      'Number of bytes in use by the stack allocator.',
      p.goroutines * 8192,
    );
    g(
      'go_memstats_stack_sys_bytes',
      'gauge',
      'Number of bytes obtained from system for stack allocator.',
      p.goroutines * 8192,
    );
    g(
      'go_memstats_sys_bytes',
      'gauge',
      'Number of bytes obtained from system.',
      Math.floor((heap * 2.3) / 65536) * 65536,
    );
    g(
      'go_sched_gomaxprocs_threads',
      'gauge',
      'The current runtime.GOMAXPROCS setting, or the number of operating system threads that can execute user-level Go code simultaneously.',
      8,
    );
    g('go_threads', 'gauge', 'Number of OS threads created.', p.threads);
  }

  writeProcess(out: string[], t: number): void {
    const p = this.p;
    const g = (name: string, type: string, help: string, val: number) => {
      family(out, name, type, help);
      sample(out, name, '', val);
    };
    const cpu = p.cpuCores * this.cpuWave.integral(p.startSec, t);
    g(
      'process_cpu_seconds_total',
      'counter',
      'Total user and system CPU time spent in seconds.',
      Math.floor(cpu * 100) / 100,
    );
    g('process_max_fds', 'gauge', 'Maximum number of open file descriptors.', 1048576);
    g('process_open_fds', 'gauge', 'Number of open file descriptors.', p.fds);
    g(
      'process_resident_memory_bytes',
      'gauge',
      'Resident memory size in bytes.',
      Math.floor((p.rss * this.memWave.at(t)) / 4096) * 4096,
    );
    g(
      'process_start_time_seconds',
      'gauge',
      'Start time of the process since unix epoch in seconds.',
      p.startSec,
    );
    g(
      'process_virtual_memory_bytes',
      'gauge',
      'Virtual memory size in bytes.',
      1.35757824e9 + Math.floor(p.rss / 4096) * 4096,
    );
    g(
      'process_virtual_memory_max_bytes',
      'gauge',
      'Maximum amount of virtual memory available in bytes.',
      1.8446744073709552e19,
    );
  }
}

/** A counter of events at an average rate since start, modulated by a wave. */
function counterFn(wave: Wave, start: number, ratePerS: number, base = 0): (t: number) => number {
  return (t) => base + ratePerS * wave.integral(start, t);
}

const API_HOST = '10.0.0.2:6443';

// ---------------------------------------------------------------------------
// kube-proxy

export class KubeProxyMetrics {
  readonly startSec: number;
  private readonly go: GoProcess;
  private readonly syncFull: SimHistogram;
  private readonly syncPartial: SimHistogram;
  private readonly netProg: SimHistogram;
  private readonly restGet: SimHistogram;
  private readonly restPost: SimHistogram;
  private readonly restLimGet: SimHistogram;
  private readonly restLimPost: SimHistogram;
  private readonly endpointChanges: (t: number) => number;
  private readonly serviceChanges: (t: number) => number;
  private readonly gets: (t: number) => number;
  private readonly posts: (t: number) => number;
  private readonly services: number;

  constructor(model: NodeModel) {
    this.startSec = model.bootSec + 31.42;
    const rng = rngFor(model.seed, 'kube-proxy');
    const s = this.startSec;
    this.go = new GoProcess(model.seed, 'kube-proxy', {
      startSec: s,
      cpuCores: 0.0035,
      rss: 52 * MiB,
      heap: 9 * MiB,
      goroutines: 51,
      threads: 12,
      fds: 13,
      allocBps: 24000,
      gcPeriodS: 130,
    });
    const w = new Wave(rng, 0.6, 300, 3600);
    this.endpointChanges = counterFn(w, s, 1 / 45, 3);
    this.serviceChanges = counterFn(new Wave(rng, 0.5, 600, 7200), s, 1 / 900, 4);
    this.gets = counterFn(new Wave(rng, 0.2, 600, 3600), s, 1 / 60, 10);
    this.posts = counterFn(new Wave(rng, 0.5, 600, 3600), s, 1 / 1800, 1);
    const full = (t: number) => 1 + Math.floor((t - s) / 3600);
    const partial = (t: number) =>
      Math.max(0, Math.floor((t - s) / 30) - full(t) + 1) + Math.floor(this.endpointChanges(t) * 0.4);
    this.syncFull = new SimHistogram(B_EXP2, [component(full, B_EXP2, 0.11, 0.25)]);
    this.syncPartial = new SimHistogram(B_EXP2, [component(partial, B_EXP2, 0.012, 0.5)]);
    this.netProg = new SimHistogram(B_NETPROG, [component(this.endpointChanges, B_NETPROG, 0.7, 0.7)]);
    this.restGet = new SimHistogram(B_REST, [component(this.gets, B_REST, 0.004, 0.8)]);
    this.restPost = new SimHistogram(B_REST, [component(this.posts, B_REST, 0.008, 0.4)]);
    this.restLimGet = new SimHistogram(B_REST, [component(this.gets, B_REST, 0.00006, 0.5)]);
    this.restLimPost = new SimHistogram(B_REST, [component(this.posts, B_REST, 0.000002, 0.5)]);
    this.services = 18 + Math.floor(model.pods.length / 4);
  }

  render(nowMs: number): string {
    const t = nowMs / 1000;
    const s = this.startSec;
    const out: string[] = [];
    const g = (name: string, type: string, help: string, val: number, labels = '') => {
      family(out, name, type, help);
      sample(out, name, labels, val);
    };
    g(
      'aggregator_discovery_aggregation_count_total',
      'counter',
      '[ALPHA] Counter of number of times discovery was aggregated',
      0,
    );
    g('disabled_metrics_total', 'counter', '[BETA] The count of disabled metrics.', 0);
    this.go.write(out, t);
    g('hidden_metrics_total', 'counter', '[BETA] The count of hidden metrics.', 0);

    family(
      out,
      'kubeproxy_network_programming_duration_seconds',
      'histogram',
      '[ALPHA] In Cluster Network Programming Latency in seconds',
    );
    this.netProg.write(out, 'kubeproxy_network_programming_duration_seconds', '', t);
    family(
      out,
      'kubeproxy_sync_full_proxy_rules_duration_seconds',
      'histogram',
      '[ALPHA] SyncProxyRules latency in seconds for full resyncs',
    );
    this.syncFull.write(out, 'kubeproxy_sync_full_proxy_rules_duration_seconds', '', t);
    family(
      out,
      'kubeproxy_sync_partial_proxy_rules_duration_seconds',
      'histogram',
      '[ALPHA] SyncProxyRules latency in seconds for partial resyncs',
    );
    this.syncPartial.write(out, 'kubeproxy_sync_partial_proxy_rules_duration_seconds', '', t);
    // All syncs = full + partial, bucket by bucket.
    family(
      out,
      'kubeproxy_sync_proxy_rules_duration_seconds',
      'histogram',
      '[ALPHA] SyncProxyRules latency in seconds',
    );
    new SimHistogram(B_EXP2, [...this.syncFull.components, ...this.syncPartial.components]).write(
      out,
      'kubeproxy_sync_proxy_rules_duration_seconds',
      '',
      t,
    );

    g(
      'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
      'gauge',
      '[ALPHA] Pending proxy rules Endpoint changes',
      0,
    );
    g(
      'kubeproxy_sync_proxy_rules_endpoint_changes_total',
      'counter',
      '[ALPHA] Cumulative proxy rules Endpoint changes',
      Math.floor(this.endpointChanges(t) * 1.3),
    );
    family(
      out,
      'kubeproxy_sync_proxy_rules_iptables_last',
      'gauge',
      '[ALPHA] Number of iptables rules written by kube-proxy in last sync',
    );
    sample(out, 'kubeproxy_sync_proxy_rules_iptables_last', 'table="filter"', 4);
    sample(out, 'kubeproxy_sync_proxy_rules_iptables_last', 'table="nat"', 21);
    g(
      'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total',
      'counter',
      '[ALPHA] Cumulative proxy iptables partial restore failures',
      0,
    );
    g(
      'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
      'counter',
      '[ALPHA] Cumulative proxy iptables restore failures',
      0,
    );
    family(
      out,
      'kubeproxy_sync_proxy_rules_iptables_total',
      'gauge',
      '[ALPHA] Total number of iptables rules owned by kube-proxy',
    );
    sample(out, 'kubeproxy_sync_proxy_rules_iptables_total', 'table="filter"', 4);
    sample(out, 'kubeproxy_sync_proxy_rules_iptables_total', 'table="nat"', 25 + this.services * 9);
    const lastSync = s + Math.floor((t - s) / 30) * 30 + 0.01391;
    g(
      'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
      'gauge',
      '[ALPHA] The last time a sync of proxy rules was queued',
      lastSync - 0.0065,
    );
    g(
      'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      'gauge',
      '[ALPHA] The last time proxy rules were successfully synced',
      lastSync,
    );
    family(
      out,
      'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
      'gauge',
      '[ALPHA] Number of services with a Local traffic policy and no endpoints',
    );
    sample(out, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total', 'traffic_policy="external"', 0);
    sample(out, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total', 'traffic_policy="internal"', 0);
    g(
      'kubeproxy_sync_proxy_rules_service_changes_pending',
      'gauge',
      '[ALPHA] Pending proxy rules Service changes',
      0,
    );
    g(
      'kubeproxy_sync_proxy_rules_service_changes_total',
      'counter',
      '[ALPHA] Cumulative proxy rules Service changes',
      Math.floor(this.serviceChanges(t)),
    );
    g('kubernetes_build_info', 'gauge', BUILD_INFO_HELP, 1, BUILD_INFO);
    this.go.writeProcess(out, t);
    family(
      out,
      'registered_metrics_total',
      'counter',
      '[BETA] The count of registered metrics broken by stability level and deprecation version.',
    );
    sample(out, 'registered_metrics_total', 'deprecated_version="",stability_level="ALPHA"', 87);
    sample(out, 'registered_metrics_total', 'deprecated_version="",stability_level="BETA"', 4);
    sample(out, 'registered_metrics_total', 'deprecated_version="",stability_level="STABLE"', 5);
    family(
      out,
      'rest_client_exec_plugin_ttl_seconds',
      'gauge',
      '[ALPHA] Gauge of the shortest TTL (time-to-live) of the client certificate(s) managed by the auth exec plugin. The value is in seconds until certificate expiry (negative if already expired). If auth exec plugins are unused or manage no TLS certificates, the value will be +INF.',
    );
    sample(out, 'rest_client_exec_plugin_ttl_seconds', '', Infinity);
    const h = `host="${API_HOST}"`;
    family(
      out,
      'rest_client_rate_limiter_duration_seconds',
      'histogram',
      '[ALPHA] Client side rate limiter latency in seconds. Broken down by verb, and host.',
    );
    this.restLimGet.write(out, 'rest_client_rate_limiter_duration_seconds', `${h},verb="GET"`, t);
    this.restLimPost.write(out, 'rest_client_rate_limiter_duration_seconds', `${h},verb="POST"`, t);
    family(
      out,
      'rest_client_request_duration_seconds',
      'histogram',
      '[ALPHA] Request latency in seconds. Broken down by verb, and host.',
    );
    this.restGet.write(out, 'rest_client_request_duration_seconds', `${h},verb="GET"`, t);
    this.restPost.write(out, 'rest_client_request_duration_seconds', `${h},verb="POST"`, t);
    family(
      out,
      'rest_client_request_size_bytes',
      'histogram',
      '[ALPHA] Request size in bytes. Broken down by verb and host.',
    );
    new SimHistogram(B_SIZE, [{ count: this.gets, cdf: B_SIZE.map(() => 1), mean: 0 }]).write(
      out,
      'rest_client_request_size_bytes',
      `${h},verb="GET"`,
      t,
    );
    new SimHistogram(B_SIZE, [component(this.posts, B_SIZE, 218, 0.2)]).write(
      out,
      'rest_client_request_size_bytes',
      `${h},verb="POST"`,
      t,
    );
    family(
      out,
      'rest_client_requests_total',
      'counter',
      '[ALPHA] Number of HTTP requests, partitioned by status code, method, and host.',
    );
    sample(out, 'rest_client_requests_total', `code="200",${h},method="GET"`, Math.floor(this.gets(t)));
    sample(out, 'rest_client_requests_total', `code="201",${h},method="POST"`, Math.floor(this.posts(t)));
    family(
      out,
      'rest_client_response_size_bytes',
      'histogram',
      '[ALPHA] Response size in bytes. Broken down by verb and host.',
    );
    new SimHistogram(B_SIZE, [component(this.gets, B_SIZE, 2300, 1.1)]).write(
      out,
      'rest_client_response_size_bytes',
      `${h},verb="GET"`,
      t,
    );
    new SimHistogram(B_SIZE, [component(this.posts, B_SIZE, 465, 0.2)]).write(
      out,
      'rest_client_response_size_bytes',
      `${h},verb="POST"`,
      t,
    );
    g(
      'rest_client_transport_cache_entries',
      'gauge',
      '[ALPHA] Number of transport entries in the internal cache.',
      1,
    );
    family(
      out,
      'rest_client_transport_create_calls_total',
      'counter',
      '[ALPHA] Number of calls to get a new transport, partitioned by the result of the operation hit: obtained from the cache, miss: created and added to the cache, uncacheable: created and not cached',
    );
    sample(out, 'rest_client_transport_create_calls_total', 'result="miss"', 1);
    return out.join('');
  }
}

// ---------------------------------------------------------------------------
// kubelet

interface RuntimeOp {
  op: string;
  count: (t: number) => number;
  hist: SimHistogram;
}

export class KubeletMetrics {
  readonly startSec: number;
  private readonly go: GoProcess;
  private readonly ops: RuntimeOp[];
  private readonly execErrors: (t: number) => number;
  private readonly pleg: SimHistogram;
  private readonly plegInterval: SimHistogram;
  private readonly podStart: SimHistogram;
  private readonly podWorker: SimHistogram;
  private readonly cgroupHist: { op: string; hist: SimHistogram }[];
  private readonly storage: { labels: string; hist: SimHistogram }[];
  private readonly restHists: { verb: string; hist: SimHistogram }[];
  private readonly restCounts: { code: string; method: string; count: (t: number) => number }[];
  private readonly perPod: SimHistogram;
  /** Requests actually served, by kubelet_http_requests_total path label. */
  readonly served = new Map<string, number>();
  /** Seconds until the serving certificate expires is computed from this (epoch s) when set. */
  certNotAfter = Infinity;

  constructor(private readonly model: NodeModel) {
    const s = (this.startSec = model.bootSec + 12.8);
    const rng = rngFor(model.seed, 'kubelet');
    const pods = model.pods;
    const running = pods.filter(isRunning);
    const nPods = pods.length;
    this.go = new GoProcess(model.seed, 'kubelet', {
      startSec: s,
      cpuCores: 0.045,
      rss: 96 * MiB,
      heap: 38 * MiB,
      goroutines: 380 + nPods * 6,
      threads: 19,
      fds: 41 + nPods,
      allocBps: 900000,
      gcPeriodS: 40,
    });
    const w = () => new Wave(rng, 0.3, 200, 3600);
    const restarts = (t: number) => totalRestarts(model, t);
    const nContainers = pods.reduce((n, p) => n + p.containers.length, 0);
    const images = new Set(pods.flatMap((p) => p.containers.map((c) => c.image))).size + 1;
    const completed = pods.length - running.length;
    const opDefs: [string, (t: number) => number, number, number][] = [
      ['container_status', (t) => nContainers * 2 + restarts(t) * 2, 0.0021, 0.6],
      ['create_container', (t) => nContainers + restarts(t), 0.035, 0.5],
      ['exec_sync', counterFn(w(), s, 0.05 + running.length * 0.004), 0.041, 0.9],
      ['image_status', (t) => nContainers * 2 + restarts(t), 0.0012, 0.5],
      ['list_containers', counterFn(w(), s, 1.9), 0.0031, 0.5],
      ['list_images', counterFn(w(), s, 0.1), 0.0047, 0.6],
      ['list_podsandbox', counterFn(w(), s, 1.85), 0.0029, 0.5],
      ['podsandbox_status', (t) => nPods * 3 + restarts(t), 0.0026, 0.5],
      ['pull_image', () => images, 4.2, 0.7],
      ['remove_container', (t) => Math.max(0, restarts(t) - 2) + completed, 0.018, 0.5],
      ['run_podsandbox', () => nPods, 0.62, 0.5],
      ['start_container', (t) => nContainers + restarts(t), 0.083, 0.5],
      ['status', counterFn(w(), s, 0.2), 0.0013, 0.5],
      ['stop_container', () => completed + 2, 1.8, 1.2],
      ['stop_podsandbox', () => completed, 0.05, 0.6],
      ['version', counterFn(w(), s, 0.1), 0.0009, 0.5],
    ];
    this.ops = opDefs.map(([op, count, median, sigma]) => ({
      op,
      count,
      hist: new SimHistogram(B_RUNTIME, [component(count, B_RUNTIME, median, sigma)]),
    }));
    this.execErrors = counterFn(w(), s, 1 / 2400);
    const relists = counterFn(new Wave(rng, 0.02, 300, 3600), s, 0.99);
    this.pleg = new SimHistogram(B_KUBELET, [
      component(relists, B_KUBELET, 0.006 + running.length * 0.00012, 0.45),
    ]);
    this.plegInterval = new SimHistogram(B_KUBELET, [component(relists, B_KUBELET, 1.009, 0.004)]);
    const started = () => nPods;
    this.podStart = new SimHistogram(B_KUBELET, [component(started, B_KUBELET, 2.1, 0.8)]);
    this.podWorker = new SimHistogram(B_KUBELET, [component(started, B_KUBELET, 0.0009, 0.5)]);
    this.cgroupHist = [
      {
        op: 'create',
        hist: new SimHistogram(B_KUBELET, [component(() => nPods + 3, B_KUBELET, 0.011, 0.5)]),
      },
      {
        op: 'destroy',
        hist: new SimHistogram(B_KUBELET, [component(() => completed, B_KUBELET, 0.03, 0.5)]),
      },
      {
        op: 'update',
        hist: new SimHistogram(B_KUBELET, [component(counterFn(w(), s, 1 / 60), B_KUBELET, 0.004, 0.5)]),
      },
    ];
    const st = (op: string, plugin: string, count: (t: number) => number, median: number) => ({
      labels: `migrated="false",operation_name="${op}",status="success",volume_plugin="${plugin}"`,
      hist: new SimHistogram(B_STORAGE, [component(count, B_STORAGE, median, 0.6)]),
    });
    const cm = pods.filter((p) => p.configMaps.length).length;
    const hp = pods.reduce((n, p) => n + p.hostPaths.length, 0);
    const ed = pods.reduce((n, p) => n + p.emptyDirs.length, 0);
    const pvc = pods.filter((p) => p.pvc).length;
    this.storage = [
      ...(pvc
        ? [st('verify_controller_attached_volume', 'kubernetes.io/csi:ebs.csi.aws.com', () => pvc, 0.004)]
        : []),
      st('verify_controller_attached_volume', 'kubernetes.io/projected', () => nPods, 0.0011),
      ...(cm ? [st('volume_mount', 'kubernetes.io/configmap', counterFn(w(), s, cm / 90, cm), 0.0061)] : []),
      ...(ed ? [st('volume_mount', 'kubernetes.io/empty-dir', () => ed, 0.0009)] : []),
      ...(hp ? [st('volume_mount', 'kubernetes.io/host-path', () => hp, 0.0004)] : []),
      st('volume_mount', 'kubernetes.io/projected', counterFn(w(), s, running.length / 80, nPods), 0.0072),
      ...(pvc ? [st('volume_mount_device', 'kubernetes.io/csi:ebs.csi.aws.com', () => pvc, 1.3)] : []),
      st('volume_unmount', 'kubernetes.io/projected', () => completed, 0.012),
    ];
    const gets = counterFn(w(), s, 0.55, 40);
    const patches = counterFn(w(), s, 0.1, 3);
    const posts = counterFn(w(), s, 1 / 300 + totalRestartsRate(model), 30);
    const puts = counterFn(w(), s, 0.1, 2);
    this.restCounts = [
      { code: '200', method: 'GET', count: gets },
      { code: '200', method: 'PATCH', count: patches },
      { code: '200', method: 'PUT', count: puts },
      { code: '201', method: 'POST', count: posts },
      { code: '404', method: 'GET', count: counterFn(w(), s, 1 / 7200, 2) },
    ];
    this.restHists = [
      { verb: 'GET', hist: new SimHistogram(B_REST, [component(gets, B_REST, 0.0042, 0.9)]) },
      { verb: 'PATCH', hist: new SimHistogram(B_REST, [component(patches, B_REST, 0.0071, 0.5)]) },
      { verb: 'POST', hist: new SimHistogram(B_REST, [component(posts, B_REST, 0.0064, 0.5)]) },
      { verb: 'PUT', hist: new SimHistogram(B_REST, [component(puts, B_REST, 0.0081, 0.5)]) },
    ];
    // containers per pod: one component per distinct count so buckets are exact.
    const byCount = new Map<number, number>();
    for (const p of pods) byCount.set(p.containers.length, (byCount.get(p.containers.length) ?? 0) + 1);
    this.perPod = new SimHistogram(
      B_PER_POD,
      [...byCount].map(([n, k]) => ({
        count: () => k,
        cdf: B_PER_POD.map((b) => (n <= b ? 1 : 0)),
        mean: n,
      })),
    );
  }

  /** Counts one request served (label value as the kubelet's path label). */
  countRequest(path: string): void {
    this.served.set(path, (this.served.get(path) ?? 0) + 1);
  }

  render(nowMs: number): string {
    const t = nowMs / 1000;
    const m = this.model;
    const s = this.startSec;
    const out: string[] = [];
    const g = (name: string, type: string, help: string, val: number, labels = '') => {
      family(out, name, type, help);
      sample(out, name, labels, val);
    };
    this.go.write(out, t);

    const running = m.pods.filter(isRunning);
    // the client certificate (to the API server), rotated at 80 % of a one-year life: ~73 days left
    g(
      'kubelet_certificate_manager_client_expiration_renew_errors',
      'counter',
      '[ALPHA] Counter of certificate renewal errors.',
      0,
    );
    g(
      'kubelet_certificate_manager_client_ttl_seconds',
      'gauge',
      "[ALPHA] Gauge of the TTL (time-to-live) of the Kubelet's client certificate. The value is in seconds until certificate expiry (negative if already expired). If client certificate is invalid or unused, the value will be +INF.",
      Math.floor(s + 73 * 86400 - t),
    );
    g(
      'kubelet_certificate_manager_server_ttl_seconds',
      'gauge',
      "[ALPHA] Gauge of the shortest TTL (time-to-live) of the Kubelet's serving certificate. The value is in seconds until certificate expiry (negative if already expired). If serving certificate is invalid or unused, the value will be +INF.",
      this.certNotAfter === Infinity ? Infinity : Math.floor(this.certNotAfter - t),
    );
    family(
      out,
      'kubelet_cgroup_manager_duration_seconds',
      'histogram',
      '[ALPHA] Duration in seconds for cgroup manager operations. Broken down by method.',
    );
    for (const c of this.cgroupHist)
      c.hist.write(out, 'kubelet_cgroup_manager_duration_seconds', `operation_type="${c.op}"`, t);
    family(
      out,
      'kubelet_container_log_filesystem_used_bytes',
      'gauge',
      "[ALPHA] Bytes used by the container's logs on the filesystem.",
    );
    for (const p of running) {
      for (const c of p.containers) {
        const inst = instanceAt(c, t);
        const written = c.logBps * (t - inst.start);
        const used = Math.floor(((written % (10 * MiB)) + 4096) / 4096) * 4096;
        sample(
          out,
          'kubelet_container_log_filesystem_used_bytes',
          `container="${esc(c.name)}",namespace="${esc(p.namespace)}",pod="${esc(p.name)}",uid="${p.uid}"`,
          used,
        );
      }
    }
    family(out, 'kubelet_containers_per_pod_count', 'histogram', '[ALPHA] The number of containers per pod.');
    this.perPod.write(out, 'kubelet_containers_per_pod_count', '', t);
    family(
      out,
      'kubelet_http_requests_total',
      'counter',
      '[ALPHA] Number of the http requests received since the server started',
    );
    const up = t - s;
    const base: [string, number][] = [
      ['healthz', Math.floor(up / 10)],
      ['metrics', Math.floor(up / 30)],
      ['metrics/cadvisor', Math.floor(up / 30)],
      ['pods', Math.floor(up / 20)],
      ['stats', Math.floor(up / 60)],
    ];
    const paths = new Map(base);
    for (const [p, n] of this.served) paths.set(p, (paths.get(p) ?? 0) + n);
    for (const [p, n] of [...paths].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      sample(
        out,
        'kubelet_http_requests_total',
        `long_running="false",method="GET",path="${esc(p)}",server_type="readwrite"`,
        n,
      );
    }
    g(
      'kubelet_node_config_error',
      'gauge',
      '[ALPHA] This metric is true (1) if the node is experiencing a configuration-related error, false (0) otherwise.',
      0,
    );
    g(
      'kubelet_node_name',
      'gauge',
      "[ALPHA] The node's name. The count is always 1.",
      1,
      `node="${esc(m.nodeName)}"`,
    );
    g('kubelet_pleg_discard_events', 'counter', '[ALPHA] The number of discard events in PLEG.', 0);
    g(
      'kubelet_pleg_last_seen_seconds',
      'gauge',
      '[ALPHA] Timestamp in seconds when PLEG was last seen active.',
      Math.floor(t),
    );
    family(
      out,
      'kubelet_pleg_relist_duration_seconds',
      'histogram',
      '[ALPHA] Duration in seconds for relisting pods in PLEG.',
    );
    this.pleg.write(out, 'kubelet_pleg_relist_duration_seconds', '', t);
    family(
      out,
      'kubelet_pleg_relist_interval_seconds',
      'histogram',
      '[ALPHA] Interval in seconds between relisting in PLEG.',
    );
    this.plegInterval.write(out, 'kubelet_pleg_relist_interval_seconds', '', t);
    family(
      out,
      'kubelet_pod_start_duration_seconds',
      'histogram',
      '[ALPHA] Duration in seconds for a single pod to go from pending to running.',
    );
    this.podStart.write(out, 'kubelet_pod_start_duration_seconds', '', t);
    family(
      out,
      'kubelet_pod_worker_start_duration_seconds',
      'histogram',
      '[ALPHA] Duration in seconds from seeing a pod to starting a worker.',
    );
    this.podWorker.write(out, 'kubelet_pod_worker_start_duration_seconds', '', t);

    let runningC = 0;
    let exited = 0;
    for (const p of m.pods) {
      for (const c of p.containers) {
        const inst = instanceAt(c, t);
        if (inst.running) runningC++;
        if (!inst.running || inst.index > 0) exited++;
      }
    }
    family(out, 'kubelet_running_containers', 'gauge', '[ALPHA] Number of containers currently running');
    sample(out, 'kubelet_running_containers', 'container_state="created"', 0);
    sample(out, 'kubelet_running_containers', 'container_state="exited"', exited);
    sample(out, 'kubelet_running_containers', 'container_state="running"', runningC);
    g('kubelet_running_pods', 'gauge', '[ALPHA] Number of pods currently running', running.length);

    family(
      out,
      'kubelet_runtime_operations_duration_seconds',
      'histogram',
      '[ALPHA] Duration in seconds of runtime operations. Broken down by operation type.',
    );
    for (const o of this.ops)
      o.hist.write(out, 'kubelet_runtime_operations_duration_seconds', `operation_type="${o.op}"`, t);
    family(
      out,
      'kubelet_runtime_operations_errors_total',
      'counter',
      '[ALPHA] Cumulative number of runtime operation errors by operation type.',
    );
    sample(
      out,
      'kubelet_runtime_operations_errors_total',
      'operation_type="exec_sync"',
      Math.floor(this.execErrors(t)),
    );
    family(
      out,
      'kubelet_runtime_operations_total',
      'counter',
      '[ALPHA] Cumulative number of runtime operations by operation type.',
    );
    for (const o of this.ops)
      sample(out, 'kubelet_runtime_operations_total', `operation_type="${o.op}"`, Math.floor(o.count(t)));
    g(
      'kubelet_server_expiration_renew_errors',
      'counter',
      '[ALPHA] Counter of certificate renewal errors.',
      0,
    );

    const vols = m.pods.filter((p) => p.pvc && isRunning(p));
    const vs = (name: string, help: string, f: (used: number, cap: number) => number) => {
      family(out, name, 'gauge', help);
      for (const p of vols) {
        const used = Math.floor((p.pvc!.used + p.pvc!.growBps * (t - m.startSec)) / 4096) * 4096;
        sample(
          out,
          name,
          `namespace="${esc(p.namespace)}",persistentvolumeclaim="${esc(p.pvc!.claim)}"`,
          f(Math.min(used, p.pvc!.capacity * 0.98), p.pvc!.capacity),
        );
      }
    };
    vs(
      'kubelet_volume_stats_available_bytes',
      '[ALPHA] Number of available bytes in the volume',
      (u, c) => Math.floor((c * 0.984 - u) / 4096) * 4096,
    );
    vs(
      'kubelet_volume_stats_capacity_bytes',
      '[ALPHA] Capacity in bytes of the volume',
      (_u, c) => Math.floor((c * 0.984) / 4096) * 4096,
    );
    vs('kubelet_volume_stats_inodes', '[ALPHA] Maximum number of inodes in the volume', (_u, c) =>
      Math.floor(c / 16384),
    );
    vs(
      'kubelet_volume_stats_inodes_free',
      '[ALPHA] Number of free inodes in the volume',
      (u, c) => Math.floor(c / 16384) - 11 - Math.floor(u / 1048576),
    );
    vs(
      'kubelet_volume_stats_inodes_used',
      '[ALPHA] Number of used inodes in the volume',
      (u) => 11 + Math.floor(u / 1048576),
    );
    vs('kubelet_volume_stats_used_bytes', '[ALPHA] Number of used bytes in the volume', (u) => u);

    g('kubernetes_build_info', 'gauge', BUILD_INFO_HELP, 1, BUILD_INFO);
    this.go.writeProcess(out, t);
    const h = `host="${API_HOST}"`;
    family(
      out,
      'rest_client_request_duration_seconds',
      'histogram',
      '[ALPHA] Request latency in seconds. Broken down by verb, and host.',
    );
    for (const r of this.restHists)
      r.hist.write(out, 'rest_client_request_duration_seconds', `${h},verb="${r.verb}"`, t);
    family(
      out,
      'rest_client_requests_total',
      'counter',
      '[ALPHA] Number of HTTP requests, partitioned by status code, method, and host.',
    );
    for (const r of this.restCounts)
      sample(
        out,
        'rest_client_requests_total',
        `code="${r.code}",${h},method="${r.method}"`,
        Math.floor(r.count(t)),
      );
    family(out, 'storage_operation_duration_seconds', 'histogram', '[ALPHA] Storage operation duration');
    for (const st of this.storage) st.hist.write(out, 'storage_operation_duration_seconds', st.labels, t);

    family(out, 'volume_manager_total_volumes', 'gauge', '[ALPHA] Number of volumes in Volume Manager');
    const plugins = new Map<string, number>();
    const add = (k: string, n: number) => n && plugins.set(k, (plugins.get(k) ?? 0) + n);
    for (const p of running) {
      add('kubernetes.io/configmap', p.configMaps.length);
      add('kubernetes.io/empty-dir', p.emptyDirs.length);
      add('kubernetes.io/host-path', p.hostPaths.length);
      add('kubernetes.io/projected', 1);
      if (p.pvc) add('kubernetes.io/csi:ebs.csi.aws.com', 1);
    }
    for (const [k, n] of [...plugins].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      sample(out, 'volume_manager_total_volumes', `plugin_name="${k}",state="actual_state_of_world"`, n);
      sample(out, 'volume_manager_total_volumes', `plugin_name="${k}",state="desired_state_of_world"`, n);
    }
    return out.join('');
  }
}

// Pod restarts create events (POST) at about this rate.
function totalRestartsRate(model: NodeModel): number {
  let r = 0;
  for (const p of model.pods) {
    for (const c of p.containers) {
      if (c.behavior === 'crashLoop') r += 2 / 320;
      if (c.behavior === 'oomLoop') r += 2 / 720;
    }
  }
  return r;
}
