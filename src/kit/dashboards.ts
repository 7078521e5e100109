// The dashboards: kube-proxy, kubelet, containers (SPEC §11), and nodegraf's own fleet
// (agents-dashboard.ts). Every query here is parsed with
// the official PromQL grammar and run against a real Prometheus and VictoriaMetrics holding
// nodegraf-written simulator data (src/kit/proof.e2e.test.ts).
//
// Renames across Kubernetes versions, checked against ../shared/fixtures/real (docs/metrics-guide.md):
// where a family changed its name, the query is `new or old` so one dashboard serves both.
//   kubelet_running_pods              <- kubelet_running_pod_count        (renamed in 1.19)
//   kubelet_running_containers        <- kubelet_running_container_count  (renamed in 1.19)
//   kubelet_runtime_operations_total  <- kubelet_runtime_operations       (1.14; old one removed 1.17)
//   kubelet_runtime_operations_errors_total <- kubelet_runtime_operations_errors
//   rest_client_request_duration_seconds <- rest_client_request_latency_seconds (seconds both)
//   kubeproxy_sync_proxy_rules_duration_seconds <- kubeproxy_sync_proxy_rules_latency_microseconds
//     (a histogram in microseconds until 1.13: `or` the old one divided by 1e6)
//   kubelet_{runtime_operations,pleg_relist,pod_start,cgroup_manager}_duration_seconds (histograms)
//     <- *_latency_microseconds summaries until 1.13: `or` their quantile="0.99" divided by 1e6
// The captures of 1.10, 1.13, 1.21 (kubelet) and 1.8, 1.13, 1.21, 1.28-1.30 (kube-proxy) have the
// names on either side of each rename.
import { agents } from './agents-dashboard.js';
import type { Dashboard, Panel, Variable } from './model.js';
import { clusterVar, identVar, node } from './vars.js';

/** A kube_pod_container_* family and its kube_pod_init_container_* twin, as a __name__ regex. */
const withInit = (suffix: string) => `kube_pod_container_${suffix}|kube_pod_init_container_${suffix}`;

/** Go runtime and process panels every Kubernetes component has. */
function processPanels(job: string): Panel[] {
  return [
    {
      title: 'CPU used (cores)',
      description:
        'CPU seconds per second of the process. kube-proxy idles near 0.01 core; a sustained rise follows rule syncs on a node with many Services/endpoints.',
      unit: 'none',
      queries: [
        { expr: `rate(process_cpu_seconds_total{${node(job)}}[$__rate_interval])`, legend: '{{ident}}' },
      ],
    },
    {
      title: 'Memory (resident)',
      description:
        'Resident set size of the process. Steady growth over days hints at a leak; compare with the container limit.',
      unit: 'bytes',
      queries: [{ expr: `process_resident_memory_bytes{${node(job)}}`, legend: '{{ident}}' }],
    },
    {
      title: 'Goroutines',
      description:
        'Go goroutines. A count that only grows means goroutines are stuck (often on a hung API call).',
      unit: 'none',
      queries: [{ expr: `go_goroutines{${node(job)}}`, legend: '{{ident}}' }],
    },
  ];
}

/** rest_client_* panels: the component's own calls to the API server. */
function apiPanels(job: string): Panel[] {
  return [
    {
      title: 'API server requests by code',
      description:
        'Requests this component makes to the API server, per HTTP code. 5xx or 429 mean the API server is failing or throttling it; 403 means its RBAC is wrong.',
      unit: 'perSec',
      queries: [
        {
          expr: `sum by (ident, code) (rate(rest_client_requests_total{${node(job)}}[$__rate_interval]))`,
          legend: '{{ident}} {{code}}',
        },
      ],
    },
    {
      title: 'API server request latency p99',
      description:
        'p99 of requests to the API server, per verb. Above 1 s the API server or the network to it is slow; watches are excluded by the client.',
      unit: 'seconds',
      warnAt: 1,
      queries: [
        {
          expr: `histogram_quantile(0.99, sum by (ident, verb, le) (rate(rest_client_request_duration_seconds_bucket{${node(job)}}[$__rate_interval]) or rate(rest_client_request_latency_seconds_bucket{${node(job)}}[$__rate_interval])))`,
          legend: '{{ident}} {{verb}}',
        },
      ],
    },
  ];
}

export const kubeProxy: Dashboard = {
  id: 'nodegraf-kube-proxy',
  title: 'nodegraf / kube-proxy',
  description:
    'kube-proxy on every node: is it up, does it program Service rules in time, does it talk to the API server.',
  tags: ['nodegraf', 'kubernetes', 'kube-proxy'],
  variables: [clusterVar('up{job="kube-proxy"}'), identVar('up{job="kube-proxy"}')],
  rows: [
    {
      title: 'Health',
      panels: [
        {
          title: 'Up',
          description:
            '1 when the last scrape of kube-proxy succeeded. 0: kube-proxy is down or not listening on the scraped address (metricsBindAddress).',
          unit: 'none',
          kind: 'stat',
          queries: [{ expr: `up{${node('kube-proxy')}}`, legend: '{{ident}}' }],
        },
        {
          title: 'Change waiting for a sync',
          description:
            'Seconds a queued Service/endpoint change has waited for kube-proxy to apply it (0: nothing waits). A quiet kube-proxy syncs only on change or about hourly, so the age of the last sync says nothing alone; a change waiting minutes means it is stuck (KubeProxyRulesSyncStale).',
          unit: 'seconds',
          kind: 'stat',
          warnAt: 300,
          queries: [
            {
              expr: `clamp_min(time() - kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds{${node('kube-proxy')}}, 0) * (kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds{${node('kube-proxy')}} > bool kubeproxy_sync_proxy_rules_last_timestamp_seconds{${node('kube-proxy')}})`,
              legend: '{{ident}} {{ip_family}}',
            },
          ],
        },
        {
          title: 'Last rules sync age',
          description:
            'Seconds since kube-proxy last synced its rules. The iptables and nftables proxiers sync on change and otherwise about hourly (older iptables mode: every syncPeriod, 30 s): an hour here is normal on a quiet node.',
          unit: 'seconds',
          kind: 'stat',
          queries: [
            {
              expr: `time() - kubeproxy_sync_proxy_rules_last_timestamp_seconds{${node('kube-proxy')}}`,
              legend: '{{ident}} {{ip_family}}',
            },
          ],
        },
        {
          title: 'Rule sync failures',
          description:
            'Failed rule syncs in the last hour: iptables-restore runs in iptables mode, nft transactions in nftables mode (GA in 1.33). Any failure means Service rules on the node may be stale; see the kube-proxy log.',
          unit: 'none',
          kind: 'stat',
          width: 12,
          queries: [
            {
              expr: `sum by (ident) (increase(kubeproxy_sync_proxy_rules_iptables_restore_failures_total{${node('kube-proxy')}}[1h]) or increase(kubeproxy_sync_proxy_rules_nftables_sync_failures_total{${node('kube-proxy')}}[1h]))`,
              legend: '{{ident}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Rules sync',
      panels: [
        {
          title: 'Rules syncs per second',
          description:
            "How often kube-proxy rewrites the node's Service rules. It follows Service and endpoint churn.",
          unit: 'perSec',
          queries: [
            {
              expr: `sum by (ident) (rate(kubeproxy_sync_proxy_rules_duration_seconds_count{${node('kube-proxy')}}[$__rate_interval]) or rate(kubeproxy_sync_proxy_rules_latency_microseconds_count{${node('kube-proxy')}}[$__rate_interval]))`,
              legend: '{{ident}}',
            },
          ],
        },
        {
          title: 'Rules sync duration p99',
          description:
            'p99 time of one rules sync. Under a second is normal; several seconds with thousands of Services means iptables mode is at its limit (consider ipvs or nftables).',
          unit: 'seconds',
          warnAt: 1,
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (ident, le) (rate(kubeproxy_sync_proxy_rules_duration_seconds_bucket{${node('kube-proxy')}}[$__rate_interval]))) or histogram_quantile(0.99, sum by (ident, le) (rate(kubeproxy_sync_proxy_rules_latency_microseconds_bucket{${node('kube-proxy')}}[$__rate_interval]))) / 1e6`,
              legend: '{{ident}}',
            },
          ],
        },
        {
          title: 'Network programming per second',
          description: 'Endpoint changes that kube-proxy has programmed into the node, per second.',
          unit: 'perSec',
          queries: [
            {
              expr: `sum by (ident) (rate(kubeproxy_network_programming_duration_seconds_count{${node('kube-proxy')}}[$__rate_interval]))`,
              legend: '{{ident}}',
            },
          ],
        },
        {
          title: 'Network programming latency p99',
          description:
            'p99 time from a Service/endpoint change in the API to the rule on this node (the SLI of the Kubernetes scalability SLOs: 30 s at p99).',
          unit: 'seconds',
          warnAt: 30,
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (ident, le) (rate(kubeproxy_network_programming_duration_seconds_bucket{${node('kube-proxy')}}[$__rate_interval])))`,
              legend: '{{ident}}',
            },
          ],
        },
      ],
    },
    { title: 'API server', panels: apiPanels('kube-proxy') },
    { title: 'Process', panels: processPanels('kube-proxy') },
  ],
};

export const kubelet: Dashboard = {
  id: 'nodegraf-kubelet',
  title: 'nodegraf / kubelet',
  description:
    'The kubelet on every node: pods and containers, container runtime calls, PLEG, pod start, volumes, cgroups, evictions.',
  tags: ['nodegraf', 'kubernetes', 'kubelet'],
  variables: [clusterVar('up{job="kubelet"}'), identVar('up{job="kubelet"}')],
  rows: [
    {
      title: 'Health',
      panels: [
        {
          title: 'Up',
          description:
            "1 when the last scrape of the kubelet succeeded. 0 with a 401/403 in nodegraf's /targets is RBAC or the token, not the kubelet.",
          unit: 'none',
          kind: 'stat',
          queries: [{ expr: `up{${node('kubelet')}}`, legend: '{{ident}}' }],
        },
        {
          title: 'Running pods',
          description:
            'Pods with a running sandbox on the node (kubelet_running_pods; kubelet_running_pod_count before 1.19). The default maximum is 110.',
          unit: 'none',
          kind: 'stat',
          queries: [
            {
              expr: `sum by (ident) (kubelet_running_pods{${node('kubelet')}} or kubelet_running_pod_count{${node('kubelet')}})`,
              legend: '{{ident}}',
            },
          ],
        },
        {
          title: 'Running containers',
          description:
            'Containers in state running (kubelet_running_containers; kubelet_running_container_count before 1.19).',
          unit: 'none',
          kind: 'stat',
          queries: [
            {
              expr: `sum by (ident) (kubelet_running_containers{${node('kubelet')}, container_state="running"} or kubelet_running_container_count{${node('kubelet')}})`,
              legend: '{{ident}}',
            },
          ],
        },
        {
          title: 'Evictions',
          description:
            'Pods evicted by the kubelet in the window, by signal (memory.available, nodefs.available…). Any eviction means the node ran short.',
          unit: 'none',
          kind: 'stat',
          queries: [
            {
              expr: `sum by (ident, eviction_signal) (increase(kubelet_evictions{${node('kubelet')}}[1h]))`,
              legend: '{{ident}} {{eviction_signal}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Container runtime',
      panels: [
        {
          title: 'Runtime operations per second',
          description: 'CRI calls the kubelet makes to containerd/CRI-O, per operation type.',
          unit: 'perSec',
          queries: [
            {
              expr: `sum by (ident, operation_type) (rate(kubelet_runtime_operations_total{${node('kubelet')}}[$__rate_interval]) or rate(kubelet_runtime_operations{${node('kubelet')}}[$__rate_interval]))`,
              legend: '{{ident}} {{operation_type}}',
            },
          ],
        },
        {
          title: 'Runtime operation errors per second',
          description:
            'Failed CRI calls, per operation type. A steady trickle of container_status or exec_sync errors is common; pull_image or create_container errors mean pods cannot start.',
          unit: 'perSec',
          queries: [
            {
              expr: `sum by (ident, operation_type) (rate(kubelet_runtime_operations_errors_total{${node('kubelet')}}[$__rate_interval]) or rate(kubelet_runtime_operations_errors{${node('kubelet')}}[$__rate_interval]))`,
              legend: '{{ident}} {{operation_type}}',
            },
          ],
        },
        {
          title: 'Runtime operation latency p99',
          description:
            'p99 of CRI calls per operation type. pull_image is slow by nature; seconds for list or status calls mean the runtime is overloaded.',
          unit: 'seconds',
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (ident, operation_type, le) (rate(kubelet_runtime_operations_duration_seconds_bucket{${node('kubelet')}}[$__rate_interval]))) or max by (ident, operation_type) (kubelet_runtime_operations_latency_microseconds{${node('kubelet')}, quantile="0.99"}) / 1e6`,
              legend: '{{ident}} {{operation_type}}',
            },
          ],
        },
        {
          title: 'Pod start latency p99',
          description:
            'p99 from pod creation to all containers running as seen by the kubelet, image pulls included (kubelet_pod_start_duration_seconds).',
          unit: 'seconds',
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (ident, le) (rate(kubelet_pod_start_duration_seconds_bucket{${node('kubelet')}}[$__rate_interval]))) or max by (ident) (kubelet_pod_start_latency_microseconds{${node('kubelet')}, quantile="0.99"}) / 1e6`,
              legend: '{{ident}}',
            },
          ],
        },
      ],
    },
    {
      title: 'PLEG',
      panels: [
        {
          title: 'PLEG relists per second',
          description:
            'The pod lifecycle event generator relists containers about once a second. Fewer means relists take longer than their period.',
          unit: 'perSec',
          queries: [
            {
              expr: `sum by (ident) (rate(kubelet_pleg_relist_duration_seconds_count{${node('kubelet')}}[$__rate_interval]) or rate(kubelet_pleg_relist_latency_microseconds_count{${node('kubelet')}}[$__rate_interval]))`,
              legend: '{{ident}}',
            },
          ],
        },
        {
          title: 'PLEG relist duration p99',
          description:
            'p99 of one relist. Above 3 minutes the node turns NotReady ("PLEG is not healthy"); seconds already mean a slow runtime or too many containers.',
          unit: 'seconds',
          warnAt: 1,
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (ident, le) (rate(kubelet_pleg_relist_duration_seconds_bucket{${node('kubelet')}}[$__rate_interval]))) or max by (ident) (kubelet_pleg_relist_latency_microseconds{${node('kubelet')}, quantile="0.99"}) / 1e6`,
              legend: '{{ident}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Volumes and cgroups',
      panels: [
        {
          title: 'Volume operations p99',
          description:
            'p99 of volume operations (mount, unmount, attach…) per operation and plugin (storage_operation_duration_seconds). Slow mounts delay pod starts.',
          unit: 'seconds',
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (ident, operation_name, le) (rate(storage_operation_duration_seconds_bucket{${node('kubelet')}}[$__rate_interval])))`,
              legend: '{{ident}} {{operation_name}}',
            },
          ],
        },
        {
          title: 'Volume operations by status',
          description:
            'Volume operations per second by operation and status (storage_operation_duration_seconds_count; the status label exists since 1.21). Any status other than success needs a look at the CSI driver.',
          unit: 'perSec',
          queries: [
            {
              expr: `sum by (ident, operation_name, status) (rate(storage_operation_duration_seconds_count{${node('kubelet')}}[$__rate_interval]))`,
              legend: '{{ident}} {{operation_name}} {{status}}',
            },
          ],
        },
        {
          title: 'Volumes desired vs actual',
          description:
            "Volumes the kubelet's volume manager should have mounted (desired_state_of_world) and has mounted (actual_state_of_world), per plugin. A gap that lasts means volumes that do not mount or unmount: pods stuck in ContainerCreating or Terminating.",
          unit: 'none',
          queries: [
            {
              expr: `sum by (ident, plugin_name, state) (volume_manager_total_volumes{${node('kubelet')}})`,
              legend: '{{ident}} {{plugin_name}} {{state}}',
            },
          ],
        },
        {
          title: 'Persistent volume usage',
          description:
            'Used bytes of each mounted PVC as a share of its capacity (kubelet_volume_stats_*). Above 90 % the application will soon fail to write.',
          unit: 'ratio',
          warnAt: 0.9,
          queries: [
            {
              expr: `kubelet_volume_stats_used_bytes{${node('kubelet')}} / kubelet_volume_stats_capacity_bytes{${node('kubelet')}}`,
              legend: '{{namespace}}/{{persistentvolumeclaim}}',
            },
          ],
        },
        {
          title: 'cgroup manager latency p99',
          description:
            'p99 of cgroup create/update/destroy calls. Seconds here slow every pod start and stop.',
          unit: 'seconds',
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (ident, operation_type, le) (rate(kubelet_cgroup_manager_duration_seconds_bucket{${node('kubelet')}}[$__rate_interval]))) or max by (ident, operation_type) (kubelet_cgroup_manager_latency_microseconds{${node('kubelet')}, quantile="0.99"}) / 1e6`,
              legend: '{{ident}} {{operation_type}}',
            },
          ],
        },
      ],
    },
    {
      // /metrics/probes and /metrics/resource (the input.kubelet preset's kubelet-probes and
      // kubelet-resource jobs, Kubernetes 1.18+)
      title: 'Probes and resource summary',
      panels: [
        {
          title: 'Probe failures by pod',
          description:
            "Failed liveness, readiness and startup probes per second, by pod, container and probe type (the kubelet's prober_probe_total, job kubelet-probes). A failing liveness probe restarts the container; a failing readiness probe takes the pod out of its Services. `kubectl describe pod` shows the probe's last output.",
          unit: 'perSec',
          queries: [
            {
              expr: `sum by (namespace, pod, container, probe_type) (rate(prober_probe_total{${node('kubelet-probes')}, result="failed"}[$__rate_interval]))`,
              legend: '{{namespace}}/{{pod}}/{{container}} {{probe_type}}',
            },
          ],
        },
        {
          title: 'Node working set (kubelet summary)',
          description:
            "The node's memory working set as the kubelet reports it to the metrics server and `kubectl top node` (/metrics/resource, job kubelet-resource): what eviction thresholds compare against.",
          unit: 'bytes',
          queries: [
            { expr: `node_memory_working_set_bytes{${node('kubelet-resource')}}`, legend: '{{ident}}' },
          ],
        },
      ],
    },
    { title: 'API server', panels: apiPanels('kubelet') },
    { title: 'Process', panels: processPanels('kubelet') },
  ],
};

// Containers: cAdvisor series with the pod metadata nodegraf adds (workload, label_*). The filter
// keeps real containers: container="" is the pod's cgroup total, "POD" the sandbox (Docker).
// cAdvisor's `name` and `image` labels are not used: containerd often leaves them empty.
const ct = `job="cadvisor", cluster=~"$cluster", ident=~"$ident", namespace=~"$namespace", workload_kind=~"$workload_kind", workload=~"$workload", pod=~"$pod", label_region=~"$label_region", label_dept=~"$label_dept", container!="", container!="POD"`;
// Network is reported on the pod's sandbox (container="" with containerd, "POD" with Docker).
const netSel = `job="cadvisor", cluster=~"$cluster", ident=~"$ident", namespace=~"$namespace", workload_kind=~"$workload_kind", workload=~"$workload", pod=~"$pod", label_region=~"$label_region", label_dept=~"$label_dept", pod!=""`;
// The node's own file systems: cAdvisor's root cgroup.
const fsRoot = `job="cadvisor", cluster=~"$cluster", ident=~"$ident", id="/"`;
// kube_pod_* (nodegraf's pod health series, or kube-state-metrics': the same names and labels). Both
// may be in the store for the same pod (kube-state-metrics kept beside nodegraf): the panels take the
// max per pod/container, never the sum, so the two sources count once (docs/alerts.md).
const kp = `cluster=~"$cluster", namespace=~"$namespace", pod=~"$pod"`;
const byPodC = 'cluster, namespace, pod, container';
const byC = 'namespace, pod, container';

const containerVar = (name: string, label: string, filter: string): Variable => ({
  name,
  label,
  query: `label_values(container_cpu_usage_seconds_total{job="cadvisor", ${filter}}, ${name})`,
});

/** What the PSI panels show where cAdvisor serves no pressure series (docs/metrics-guide.md). */
export const NO_PSI =
  'No pressure data: PSI needs cgroup v2, a kernel with PSI enabled and a kubelet of Kubernetes 1.34 or later (cAdvisor container_pressure_*).';

/** One PSI panel: the waiting and stalled shares of one resource per container. */
function psiPanel(
  resource: 'cpu' | 'memory' | 'io',
  title: string,
  description: string,
  warnAt: number,
): Panel {
  const q = (what: 'waiting' | 'stalled') => ({
    expr: `sum by (${byC}) (rate(container_pressure_${resource}_${what}_seconds_total{${ct}}[$__rate_interval]))`,
    legend: `{{namespace}}/{{pod}}/{{container}} ${what}`,
  });
  return {
    title,
    description,
    unit: 'ratio',
    warnAt,
    noValue: NO_PSI,
    queries: [q('waiting'), q('stalled')],
  };
}

export const containers: Dashboard = {
  id: 'nodegraf-containers',
  title: 'nodegraf / containers',
  description:
    'Every container of the selected pods: CPU of its quota, throttling, memory of its limit, network, disk, restarts and OOM kills. Filter by workload and pod labels.',
  tags: ['nodegraf', 'kubernetes', 'containers'],
  variables: [
    clusterVar('container_cpu_usage_seconds_total{job="cadvisor"}'),
    identVar('container_cpu_usage_seconds_total{job="cadvisor"}'),
    containerVar('namespace', 'namespace', 'cluster=~"$cluster", ident=~"$ident"'),
    containerVar(
      'workload_kind',
      'workload kind',
      'cluster=~"$cluster", ident=~"$ident", namespace=~"$namespace"',
    ),
    containerVar(
      'workload',
      'workload',
      'cluster=~"$cluster", ident=~"$ident", namespace=~"$namespace", workload_kind=~"$workload_kind"',
    ),
    containerVar(
      'pod',
      'pod',
      'cluster=~"$cluster", ident=~"$ident", namespace=~"$namespace", workload_kind=~"$workload_kind", workload=~"$workload"',
    ),
    {
      ...containerVar('label_region', 'region', 'cluster=~"$cluster", namespace=~"$namespace"'),
      podLabel: true,
    },
    { ...containerVar('label_dept', 'dept', 'cluster=~"$cluster", namespace=~"$namespace"'), podLabel: true },
  ],
  rows: [
    {
      title: 'CPU',
      panels: [
        {
          title: 'CPU usage of quota',
          description:
            'CPU used over the CPU limit (quota / period). Near 100 % the container is at its limit and will be throttled. Containers without a CPU limit have no quota and are not shown.',
          unit: 'ratio',
          warnAt: 0.9,
          queries: [
            {
              expr: `sum by (${byC}) (irate(container_cpu_usage_seconds_total{${ct}}[$__rate_interval])) / sum by (${byC}) (container_spec_cpu_quota{${ct}} / container_spec_cpu_period{${ct}})`,
              legend: '{{namespace}}/{{pod}}/{{container}}',
            },
          ],
        },
        {
          title: 'CPU throttling',
          description:
            'Share of CFS periods in which the container was throttled. Above 25 % latency suffers even when average usage looks low: raise the limit or remove it.',
          unit: 'ratio',
          warnAt: 0.25,
          queries: [
            {
              expr: `sum by (${byC}) (increase(container_cpu_cfs_throttled_periods_total{${ct}}[$__rate_interval])) / sum by (${byC}) (increase(container_cpu_cfs_periods_total{${ct}}[$__rate_interval]))`,
              legend: '{{namespace}}/{{pod}}/{{container}}',
            },
          ],
        },
        {
          title: 'CPU user and system (cores)',
          description:
            'CPU seconds per second in user space and in the kernel. System time well above user time points at syscalls, page faults or network-heavy work.',
          unit: 'none',
          queries: [
            {
              expr: `sum by (${byC}) (irate(container_cpu_user_seconds_total{${ct}}[$__rate_interval]))`,
              legend: '{{namespace}}/{{pod}}/{{container}} user',
            },
            {
              expr: `sum by (${byC}) (irate(container_cpu_system_seconds_total{${ct}}[$__rate_interval]))`,
              legend: '{{namespace}}/{{pod}}/{{container}} system',
            },
          ],
        },
        {
          title: 'Load average (10 s)',
          description:
            "Runnable and uninterruptible tasks of the container, averaged over 10 s (container_cpu_load_average_10s). The kubelet's cAdvisor reports it only with its load reader on; otherwise 0.",
          unit: 'none',
          queries: [
            {
              expr: `max by (${byC}) (container_cpu_load_average_10s{${ct}})`,
              legend: '{{namespace}}/{{pod}}/{{container}}',
            },
          ],
        },
        {
          title: 'Tasks by state',
          description:
            'Tasks of the container by state (sleeping, running, stopped, uninterruptible, iowaitting). Many uninterruptible tasks mean it waits on IO. Like the load average, needs the load reader; otherwise 0.',
          unit: 'none',
          queries: [
            {
              expr: `sum by (${byC}, state) (container_tasks_state{${ct}})`,
              legend: '{{namespace}}/{{pod}}/{{container}} {{state}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Memory',
      panels: [
        {
          title: 'Memory working set of limit',
          description:
            'Working set (what the OOM killer looks at) over the memory limit. At 100 % the container is OOM-killed. Containers without a limit (limit 0) are left out.',
          unit: 'ratio',
          warnAt: 0.9,
          queries: [
            {
              expr: `max by (${byC}) (container_memory_working_set_bytes{${ct}} / container_spec_memory_limit_bytes{${ct}} and container_spec_memory_limit_bytes{${ct}} != 0)`,
              legend: '{{namespace}}/{{pod}}/{{container}}',
            },
          ],
        },
        {
          title: 'Memory working set',
          description: 'Working set bytes per container.',
          unit: 'bytes',
          queries: [
            {
              expr: `max by (${byC}) (container_memory_working_set_bytes{${ct}})`,
              legend: '{{namespace}}/{{pod}}/{{container}}',
            },
          ],
        },
        {
          title: 'Memory usage, RSS and cache',
          description:
            'usage: all memory charged to the cgroup, page cache included; rss: anonymous memory (heap, stacks); cache: page cache, which the kernel reclaims under pressure. The working set (above) is usage minus inactive file pages: the figure the OOM killer and evictions use.',
          unit: 'bytes',
          queries: [
            {
              expr: `max by (${byC}) (container_memory_usage_bytes{${ct}})`,
              legend: '{{namespace}}/{{pod}}/{{container}} usage',
            },
            {
              expr: `max by (${byC}) (container_memory_rss{${ct}})`,
              legend: '{{namespace}}/{{pod}}/{{container}} rss',
            },
            {
              expr: `max by (${byC}) (container_memory_cache{${ct}})`,
              legend: '{{namespace}}/{{pod}}/{{container}} cache',
            },
          ],
        },
        {
          title: 'OOM events in the last hour',
          description:
            "OOM kills inside the container's cgroup (container_oom_events_total), also those of a child process that did not restart the container, which the restart count misses.",
          unit: 'none',
          queries: [
            {
              expr: `sum by (${byC}) (increase(container_oom_events_total{${ct}}[1h]))`,
              legend: '{{namespace}}/{{pod}}/{{container}}',
            },
          ],
        },
      ],
    },
    {
      // Pressure stall information (cAdvisor on cgroup v2, Kubernetes 1.34+: the KubeletPSI
      // feature, beta in 1.34, GA in 1.36). The rate of a pressure counter is the share of wall time.
      title: 'Pressure (PSI)',
      panels: [
        psiPanel(
          'cpu',
          'CPU pressure',
          'Share of time some task of the container waited for a CPU (waiting, PSI "some") and all of them did (stalled, PSI "full"). Unlike usage of quota it shows contention with or without a limit: throttling, or a node whose CPUs are all busy. Sustained waiting above 25 %: the container runs slower than it could; raise or remove its limit, or move it.',
          0.25,
        ),
        psiPanel(
          'memory',
          'Memory pressure',
          'Share of time tasks of the container were stalled on memory: reclaiming pages, refaulting, swapping in. Stalled (all tasks at once) above 10 % is thrashing: the working set does not fit the limit; raise the limit before the OOM killer decides.',
          0.1,
        ),
        psiPanel(
          'io',
          'IO pressure',
          'Share of time tasks of the container waited for block IO. High while the disk is saturated, or when memory pressure turns into reads of evicted pages (check memory pressure first).',
          0.25,
        ),
      ],
    },
    {
      title: 'Network and disk',
      panels: [
        {
          title: 'Network received (bits/s)',
          description:
            'Bits per second received by each pod (cAdvisor reports network on the pod sandbox, not per container).',
          unit: 'bitsPerSec',
          queries: [
            {
              expr: `sum by (namespace, pod) (irate(container_network_receive_bytes_total{${netSel}}[$__rate_interval])) * 8`,
              legend: '{{namespace}}/{{pod}}',
            },
          ],
        },
        {
          title: 'Network transmitted (bits/s)',
          description: 'Bits per second sent by each pod.',
          unit: 'bitsPerSec',
          queries: [
            {
              expr: `sum by (namespace, pod) (irate(container_network_transmit_bytes_total{${netSel}}[$__rate_interval])) * 8`,
              legend: '{{namespace}}/{{pod}}',
            },
          ],
        },
        {
          title: 'Disk reads (bytes/s)',
          description: 'Bytes per second read by each container from block devices.',
          unit: 'bytesPerSec',
          queries: [
            {
              expr: `sum by (${byC}) (irate(container_fs_reads_bytes_total{${ct}}[$__rate_interval]))`,
              legend: '{{namespace}}/{{pod}}/{{container}}',
            },
          ],
        },
        {
          title: 'Disk writes (bytes/s)',
          description: 'Bytes per second written by each container to block devices.',
          unit: 'bytesPerSec',
          queries: [
            {
              expr: `sum by (${byC}) (irate(container_fs_writes_bytes_total{${ct}}[$__rate_interval]))`,
              legend: '{{namespace}}/{{pod}}/{{container}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Network packets, errors and drops',
      panels: [
        {
          title: 'Network packets (packets/s)',
          description:
            'Packets per second received and sent by each pod. Many small packets cost CPU in the kernel.',
          unit: 'perSec',
          queries: [
            {
              expr: `sum by (namespace, pod) (irate(container_network_receive_packets_total{${netSel}}[$__rate_interval]))`,
              legend: '{{namespace}}/{{pod}} received',
            },
            {
              expr: `sum by (namespace, pod) (irate(container_network_transmit_packets_total{${netSel}}[$__rate_interval]))`,
              legend: '{{namespace}}/{{pod}} sent',
            },
          ],
        },
        {
          title: 'Network errors and drops (packets/s)',
          description:
            "Packets per second the pod's interfaces counted as errors or dropped. Drops on receive: a full socket buffer or a conntrack/netfilter drop; any steady rate needs a look.",
          unit: 'perSec',
          queries: [
            {
              expr: `sum by (namespace, pod) (irate(container_network_receive_errors_total{${netSel}}[$__rate_interval]))`,
              legend: '{{namespace}}/{{pod}} receive errors',
            },
            {
              expr: `sum by (namespace, pod) (irate(container_network_transmit_errors_total{${netSel}}[$__rate_interval]))`,
              legend: '{{namespace}}/{{pod}} transmit errors',
            },
            {
              expr: `sum by (namespace, pod) (irate(container_network_receive_packets_dropped_total{${netSel}}[$__rate_interval]))`,
              legend: '{{namespace}}/{{pod}} receive drops',
            },
            {
              expr: `sum by (namespace, pod) (irate(container_network_transmit_packets_dropped_total{${netSel}}[$__rate_interval]))`,
              legend: '{{namespace}}/{{pod}} transmit drops',
            },
          ],
        },
      ],
    },
    {
      // On containerd kubelets (1.20+) cAdvisor reports file systems for the node's root cgroup only
      // (id="/"): the real captures of 1.20-1.35 have no per-container usage, inodes or IO in
      // progress, those of 1.16 and 1.18 (Docker) do. The node panels serve every kubelet.
      title: 'Filesystem',
      panels: [
        {
          title: 'Node file systems (usage of size)',
          description:
            "Bytes used over size of each file system of the node, as cAdvisor sees it (the root cgroup). Containers' writable layers, logs and emptyDirs live here: the kubelet evicts pods at its nodefs/imagefs thresholds (10-15 % free by default).",
          unit: 'ratio',
          warnAt: 0.85,
          queries: [
            {
              expr: `max by (ident, device) (container_fs_usage_bytes{${fsRoot}} / container_fs_limit_bytes{${fsRoot}})`,
              legend: '{{ident}} {{device}}',
            },
          ],
        },
        {
          title: 'Node inodes free',
          description:
            'Share of inodes free on each file system of the node. Millions of small files (images, logs) run out of inodes before bytes; the kubelet evicts on inodesFree too.',
          unit: 'ratio',
          queries: [
            {
              expr: `min by (ident, device) (container_fs_inodes_free{${fsRoot}} / container_fs_inodes_total{${fsRoot}})`,
              legend: '{{ident}} {{device}}',
            },
          ],
        },
        {
          title: 'Node IO in progress',
          description:
            'IO requests in flight on each device of the node (container_fs_io_current). A queue that stays long means the disk is saturated: every container on it waits.',
          unit: 'none',
          queries: [
            {
              expr: `max by (ident, device) (container_fs_io_current{${fsRoot}})`,
              legend: '{{ident}} {{device}}',
            },
          ],
        },
        {
          title: 'Container file systems (usage of size)',
          description:
            "Bytes each container uses on each file system over its size, where cAdvisor reports it per container (Docker-era kubelets, a standalone cAdvisor). containerd kubelets report a container's disk through the CRI (kubectl describe node, /stats/summary), not here: use the node panels.",
          unit: 'ratio',
          warnAt: 0.9,
          queries: [
            {
              expr: `max by (${byC}, device) (container_fs_usage_bytes{${ct}} / container_fs_limit_bytes{${ct}})`,
              legend: '{{namespace}}/{{pod}}/{{container}} {{device}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Restarts and OOM kills',
      panels: [
        {
          title: 'Restarts in the last hour',
          description:
            'Container restarts (kube_pod_container_status_restarts_total; init containers and native sidecars: kube_pod_init_container_status_restarts_total). More than a few per hour is a crash loop.',
          unit: 'none',
          queries: [
            {
              expr: `max by (${byPodC}) (increase({__name__=~"${withInit('status_restarts_total')}", ${kp}}[1h]))`,
              legend: '{{namespace}}/{{pod}}/{{container}}',
            },
          ],
        },
        {
          title: 'OOM-killed containers',
          description:
            'Containers (and init containers, native sidecars among them) whose last termination was an OOM kill (kube_pod_container_status_last_terminated_reason, reason="OOMKilled"). Raise the memory limit or fix the leak.',
          unit: 'none',
          queries: [
            {
              expr: `max by (${byPodC}) ({__name__=~"${withInit('status_last_terminated_reason')}", ${kp}, reason="OOMKilled"})`,
              legend: '{{namespace}}/{{pod}}/{{container}}',
            },
          ],
        },
        {
          title: 'Container uptime',
          description:
            'Seconds since each container started (container_start_time_seconds). A short uptime beside restarts in the last hour is a crash loop; all containers young together is a node restart.',
          unit: 'seconds',
          queries: [
            {
              expr: `time() - max by (${byC}) (container_start_time_seconds{${ct}})`,
              legend: '{{namespace}}/{{pod}}/{{container}}',
            },
          ],
        },
        {
          title: 'Waiting containers by reason',
          description:
            'Containers and init containers (native sidecars among them) waiting, by reason: CrashLoopBackOff, ImagePullBackOff, ErrImagePull, CreateContainerConfigError…',
          unit: 'none',
          queries: [
            {
              expr: `max by (${byPodC}, reason) ({__name__=~"${withInit('status_waiting_reason')}", ${kp}}) > 0`,
              legend: '{{namespace}}/{{pod}}/{{container}} {{reason}}',
            },
          ],
        },
        {
          title: 'Pods not ready',
          description: 'Pods whose Ready condition is false (kube_pod_status_ready, condition="false").',
          unit: 'none',
          queries: [
            {
              expr: `max by (cluster, namespace, pod) (kube_pod_status_ready{${kp}, condition="false"}) > 0`,
              legend: '{{namespace}}/{{pod}}',
            },
          ],
        },
      ],
    },
  ],
};

export const DASHBOARDS: Dashboard[] = [kubeProxy, kubelet, containers, agents];
