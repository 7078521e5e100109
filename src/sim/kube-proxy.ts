// kube-proxy :10249/metrics as Kubernetes 1.30 serves it (families, label sets, HELP texts and
// bucket layouts from the captures in fixtures/real/), as a family table over kube-proxy's state at
// render time. Every value is a function of time.
import {
  API_HOST,
  B_EXP2,
  B_NETPROG,
  B_REST,
  B_SIZE,
  BUILD_INFO,
  BUILD_INFO_HELP,
  counterFn,
} from './components.js';
import { GoProcess } from './go-process.js';
import type { NodeModel } from './model.js';
import {
  MiB,
  SimHistogram,
  Wave,
  component,
  histogram as simHistogram,
  renderFamilies,
  rngFor,
  scalar,
  type SimFamily,
} from './util.js';

interface ProxyState {
  t: number;
  kp: KubeProxyMetrics;
  /** When rules were last synced: every 30 s since start. */
  lastSync: number;
}

const H = `host="${API_HOST}"`;
const verbs = (get: SimHistogram, post: SimHistogram): Array<[SimHistogram, string]> => [
  [get, `${H},verb="GET"`],
  [post, `${H},verb="POST"`],
];
const counter = (name: string, help: string, value: (s: ProxyState) => number) =>
  scalar<ProxyState>(name, 'counter', help, value);
const gauge = (name: string, help: string, value: (s: ProxyState) => number, labels = '') =>
  scalar<ProxyState>(name, 'gauge', help, value, labels);
const histogram = (name: string, help: string, hists: (s: ProxyState) => Array<[SimHistogram, string]>) =>
  simHistogram<ProxyState>(name, help, hists);
const tables = (filter: number, nat: (s: ProxyState) => number) => (s: ProxyState) =>
  [
    ['table="filter"', filter],
    ['table="nat"', nat(s)],
  ] as Array<[string, number]>;

const FAMILIES: SimFamily<ProxyState>[] = [
  counter(
    'aggregator_discovery_aggregation_count_total',
    '[ALPHA] Counter of number of times discovery was aggregated',
    () => 0,
  ),
  counter('disabled_metrics_total', '[BETA] The count of disabled metrics.', () => 0),
  { raw: (out, s) => s.kp.go.write(out, s.t) },
  counter('hidden_metrics_total', '[BETA] The count of hidden metrics.', () => 0),
  histogram(
    'kubeproxy_network_programming_duration_seconds',
    '[ALPHA] In Cluster Network Programming Latency in seconds',
    (s) => [[s.kp.netProg, '']],
  ),
  histogram(
    'kubeproxy_sync_full_proxy_rules_duration_seconds',
    '[ALPHA] SyncProxyRules latency in seconds for full resyncs',
    (s) => [[s.kp.syncFull, '']],
  ),
  histogram(
    'kubeproxy_sync_partial_proxy_rules_duration_seconds',
    '[ALPHA] SyncProxyRules latency in seconds for partial resyncs',
    (s) => [[s.kp.syncPartial, '']],
  ),
  // all syncs = full + partial, bucket by bucket
  histogram(
    'kubeproxy_sync_proxy_rules_duration_seconds',
    '[ALPHA] SyncProxyRules latency in seconds',
    (s) => [[new SimHistogram(B_EXP2, [...s.kp.syncFull.components, ...s.kp.syncPartial.components]), '']],
  ),
  gauge(
    'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
    '[ALPHA] Pending proxy rules Endpoint changes',
    () => 0,
  ),
  counter(
    'kubeproxy_sync_proxy_rules_endpoint_changes_total',
    '[ALPHA] Cumulative proxy rules Endpoint changes',
    (s) => Math.floor(s.kp.endpointChanges(s.t) * 1.3),
  ),
  {
    name: 'kubeproxy_sync_proxy_rules_iptables_last',
    type: 'gauge',
    help: '[ALPHA] Number of iptables rules written by kube-proxy in last sync',
    samples: tables(4, () => 21),
  },
  counter(
    'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total',
    '[ALPHA] Cumulative proxy iptables partial restore failures',
    () => 0,
  ),
  counter(
    'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
    '[ALPHA] Cumulative proxy iptables restore failures',
    () => 0,
  ),
  {
    name: 'kubeproxy_sync_proxy_rules_iptables_total',
    type: 'gauge',
    help: '[ALPHA] Total number of iptables rules owned by kube-proxy',
    samples: tables(4, (s) => 25 + s.kp.services * 9),
  },
  gauge(
    'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
    '[ALPHA] The last time a sync of proxy rules was queued',
    (s) => s.lastSync - 0.0065,
  ),
  gauge(
    'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
    '[ALPHA] The last time proxy rules were successfully synced',
    (s) => s.lastSync,
  ),
  {
    name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
    type: 'gauge',
    help: '[ALPHA] Number of services with a Local traffic policy and no endpoints',
    samples: () => [
      ['traffic_policy="external"', 0],
      ['traffic_policy="internal"', 0],
    ],
  },
  gauge(
    'kubeproxy_sync_proxy_rules_service_changes_pending',
    '[ALPHA] Pending proxy rules Service changes',
    () => 0,
  ),
  counter(
    'kubeproxy_sync_proxy_rules_service_changes_total',
    '[ALPHA] Cumulative proxy rules Service changes',
    (s) => Math.floor(s.kp.serviceChanges(s.t)),
  ),
  gauge('kubernetes_build_info', BUILD_INFO_HELP, () => 1, BUILD_INFO),
  { raw: (out, s) => s.kp.go.writeProcess(out, s.t) },
  {
    name: 'registered_metrics_total',
    type: 'counter',
    help: '[BETA] The count of registered metrics broken by stability level and deprecation version.',
    samples: () => [
      ['deprecated_version="",stability_level="ALPHA"', 87],
      ['deprecated_version="",stability_level="BETA"', 4],
      ['deprecated_version="",stability_level="STABLE"', 5],
    ],
  },
  gauge(
    'rest_client_exec_plugin_ttl_seconds',
    '[ALPHA] Gauge of the shortest TTL (time-to-live) of the client certificate(s) managed by the auth exec plugin. The value is in seconds until certificate expiry (negative if already expired). If auth exec plugins are unused or manage no TLS certificates, the value will be +INF.',
    () => Infinity,
  ),
  histogram(
    'rest_client_rate_limiter_duration_seconds',
    '[ALPHA] Client side rate limiter latency in seconds. Broken down by verb, and host.',
    (s) => verbs(s.kp.restLimGet, s.kp.restLimPost),
  ),
  histogram(
    'rest_client_request_duration_seconds',
    '[ALPHA] Request latency in seconds. Broken down by verb, and host.',
    (s) => verbs(s.kp.restGet, s.kp.restPost),
  ),
  histogram(
    'rest_client_request_size_bytes',
    '[ALPHA] Request size in bytes. Broken down by verb and host.',
    (s) =>
      verbs(
        new SimHistogram(B_SIZE, [{ count: s.kp.gets, cdf: B_SIZE.map(() => 1), mean: 0 }]),
        new SimHistogram(B_SIZE, [component(s.kp.posts, B_SIZE, 218, 0.2)]),
      ),
  ),
  {
    name: 'rest_client_requests_total',
    type: 'counter',
    help: '[ALPHA] Number of HTTP requests, partitioned by status code, method, and host.',
    samples: (s) => [
      [`code="200",${H},method="GET"`, Math.floor(s.kp.gets(s.t))],
      [`code="201",${H},method="POST"`, Math.floor(s.kp.posts(s.t))],
    ],
  },
  histogram(
    'rest_client_response_size_bytes',
    '[ALPHA] Response size in bytes. Broken down by verb and host.',
    (s) =>
      verbs(
        new SimHistogram(B_SIZE, [component(s.kp.gets, B_SIZE, 2300, 1.1)]),
        new SimHistogram(B_SIZE, [component(s.kp.posts, B_SIZE, 465, 0.2)]),
      ),
  ),
  gauge(
    'rest_client_transport_cache_entries',
    '[ALPHA] Number of transport entries in the internal cache.',
    () => 1,
  ),
  {
    name: 'rest_client_transport_create_calls_total',
    type: 'counter',
    help: '[ALPHA] Number of calls to get a new transport, partitioned by the result of the operation hit: obtained from the cache, miss: created and added to the cache, uncacheable: created and not cached',
    samples: () => [['result="miss"', 1]],
  },
];

export class KubeProxyMetrics {
  readonly startSec: number;
  readonly go: GoProcess;
  readonly syncFull: SimHistogram;
  readonly syncPartial: SimHistogram;
  readonly netProg: SimHistogram;
  readonly restGet: SimHistogram;
  readonly restPost: SimHistogram;
  readonly restLimGet: SimHistogram;
  readonly restLimPost: SimHistogram;
  readonly endpointChanges: (t: number) => number;
  readonly serviceChanges: (t: number) => number;
  readonly gets: (t: number) => number;
  readonly posts: (t: number) => number;
  readonly services: number;

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
    renderFamilies(out, FAMILIES, { t, kp: this, lastSync: s + Math.floor((t - s) / 30) * 30 + 0.01391 });
    return out.join('');
  }
}
