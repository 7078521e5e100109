// Selectors and variables the dashboards share.
import type { Variable } from './model.js';

/** The node-level selector: cluster and node, plus the job. */
export const node = (job: string) => `job="${job}", cluster=~"$cluster", ident=~"$ident"`;

export const clusterVar = (metric: string): Variable => ({
  name: 'cluster',
  label: 'cluster',
  query: `label_values(${metric}, cluster)`,
});
/** `metric` is a selector such as up{job="kubelet"}: the cluster matcher joins its braces. */
export const identVar = (metric: string): Variable => ({
  name: 'ident',
  label: 'node',
  query: `label_values(${metric.replace(/}$/, ', cluster=~"$cluster"}')}, ident)`,
});
