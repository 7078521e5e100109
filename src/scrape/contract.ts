// The series contract (issue 21): the families the kit's dashboards and alerts need from each job,
// checked against what a target delivers, so an empty dashboard explains itself (on the status
// page, in `doctor`, and as nodegraf_target_missing_families for an alert). Each entry is one need:
// a family, or a family and its old names (any one present satisfies it), and the likely causes
// when none is. The panels it empties come from the kit itself (kit-readers.ts, generated).
import { KIT_READERS } from './kit-readers.js';

export interface ContractEntry {
  job: string;
  /** The family and its other names across versions: one present is enough. */
  families: string[];
  /** Why it is usually missing, and what to do. */
  cause: string;
}

const FILTERED = 'or a metrics_drop / relabel rule of this instance drops it';

export const SERIES_CONTRACT: ContractEntry[] = [
  {
    job: 'cadvisor',
    families: ['container_cpu_usage_seconds_total'],
    cause: `cAdvisor reports no container (the kubelet's /metrics/cadvisor without container rows), ${FILTERED}`,
  },
  {
    job: 'cadvisor',
    families: ['container_memory_working_set_bytes'],
    cause: `cAdvisor reports no container memory, ${FILTERED}`,
  },
  {
    job: 'cadvisor',
    families: ['container_cpu_cfs_throttled_periods_total'],
    cause: `no container on this node has a CPU limit (cAdvisor writes the CFS counters only for cgroups with a CPU quota), the cgroup's cpu controller is not enabled, ${FILTERED}`,
  },
  {
    job: 'cadvisor',
    families: ['container_cpu_cfs_periods_total'],
    cause: `no container on this node has a CPU limit (cAdvisor writes the CFS counters only for cgroups with a CPU quota), ${FILTERED}`,
  },
  {
    job: 'cadvisor',
    families: ['container_spec_memory_limit_bytes'],
    cause: `cAdvisor reports no container spec, ${FILTERED}`,
  },
  {
    job: 'cadvisor',
    families: ['container_network_receive_bytes_total'],
    cause: `the network counters are on the pods' own rows (container="" or "POD"): a relabel rule that drops those drops them, ${FILTERED}`,
  },
  {
    job: 'kubelet',
    families: ['kubelet_running_pods', 'kubelet_running_pod_count'],
    cause: `not a kubelet's /metrics (the URL's path?), ${FILTERED}; kubelets before 1.20 call it kubelet_running_pod_count`,
  },
  {
    job: 'kubelet',
    families: ['kubelet_pleg_relist_duration_seconds_bucket', 'kubelet_pleg_relist_latency_microseconds'],
    cause: `not a kubelet's /metrics, ${FILTERED}; kubelets before 1.14 call it kubelet_pleg_relist_latency_microseconds (a summary)`,
  },
  {
    job: 'kube-proxy',
    families: [
      'kubeproxy_sync_proxy_rules_duration_seconds_bucket',
      'kubeproxy_sync_proxy_rules_latency_microseconds_bucket',
    ],
    cause: `kube-proxy runs in userspace mode (it syncs no rules) or is replaced on this node (Cilium, GKE Dataplane V2: nothing to scrape), ${FILTERED}; kube-proxy before 1.14 calls it kubeproxy_sync_proxy_rules_latency_microseconds`,
  },
];

export interface MissingFamily {
  family: string;
  /** The panels and alerts it empties (from the kit). */
  empties: string[];
  cause: string;
}

/** The needs of job `job` that none of `present` (family names a target delivers) meets. */
export function missingFamilies(job: string, present: ReadonlySet<string>): MissingFamily[] {
  const out: MissingFamily[] = [];
  for (const e of SERIES_CONTRACT) {
    if (e.job !== job || e.families.some((f) => present.has(f))) continue;
    const empties = [...new Set(e.families.flatMap((f) => KIT_READERS[f] ?? []))].sort();
    out.push({ family: e.families.join(' | '), empties, cause: e.cause });
  }
  return out;
}

/** One line for `doctor` and the logs. */
export function describeMissing(m: MissingFamily): string {
  return `${m.family} is missing (empties ${m.empties.join(', ') || 'no panel'}); likely: ${m.cause}`;
}
