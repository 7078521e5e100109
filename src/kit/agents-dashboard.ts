// nodegraf's own fleet: every agent's health, delivery and footprint, from its /metrics (the deploy
// kit scrapes it as job="nodegraf"). One row of stats answers "are all agents fine?"; the graphs
// say which node and why.
import type { Dashboard } from './model.js';
import { clusterVar, identVar, node } from './vars.js';

const ng = node('nodegraf');
const byNode = 'cluster, ident';

export const agents: Dashboard = {
  id: 'nodegraf-agents',
  title: 'nodegraf / agents',
  description:
    'The nodegraf fleet: agents up, targets down, delivery backlog and drops, scrape duration, memory and CPU per node.',
  tags: ['nodegraf', 'kubernetes', 'agents'],
  variables: [clusterVar('up{job="nodegraf"}'), identVar('up{job="nodegraf"}')],
  rows: [
    {
      title: 'Fleet',
      panels: [
        {
          title: 'Agents up',
          description:
            'Agents whose own /metrics was scraped last time. An agent that disappeared altogether is NodegrafAbsent (its series stop; nothing is 0).',
          unit: 'none',
          kind: 'stat',
          queries: [{ expr: `sum by (cluster) (up{${ng}})`, legend: '{{cluster}}' }],
        },
        {
          title: 'Targets down',
          description:
            'Targets (kubelet, cAdvisor, kube-proxy, pod health, yours) whose last scrape failed, over all agents. 0 is healthy; `nodegraf doctor` on the node names the error.',
          unit: 'none',
          kind: 'stat',
          warnAt: 1,
          queries: [{ expr: `sum by (cluster) (1 - nodegraf_target_up{${ng}})`, legend: '{{cluster}}' }],
        },
        {
          title: 'Writers not delivering',
          description:
            'Writers whose store is not taking what is sent (retrying, refused, or no 2xx for 60 s while data waits). The data waits in the queue meanwhile.',
          unit: 'none',
          kind: 'stat',
          warnAt: 1,
          queries: [{ expr: `sum by (cluster) (1 - nodegraf_writer_up{${ng}})`, legend: '{{cluster}}' }],
        },
        {
          title: 'Samples dropped in the last hour',
          description:
            'Samples lost for good, over all agents (rejected by the store, or the backlog past its bound). Anything but 0: see NodegrafSamplesDropped.',
          unit: 'none',
          kind: 'stat',
          warnAt: 1,
          queries: [
            {
              expr: `sum by (cluster) (increase(nodegraf_writer_dropped_samples_total{${ng}}[1h]))`,
              legend: '{{cluster}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Delivery',
      panels: [
        {
          title: 'Backlog on disk',
          description:
            'Bytes waiting in the on-disk queue per node and writer. It grows while the store is down and drains in order when it is back; bounded by [queue] max_bytes.',
          unit: 'bytes',
          queries: [
            {
              expr: `sum by (${byNode}, writer) (nodegraf_writer_disk_queue_bytes{${ng}})`,
              legend: '{{ident}} {{writer}}',
            },
          ],
        },
        {
          title: 'Samples sent per second',
          description: 'Samples the store accepted per second, per node and writer.',
          unit: 'perSec',
          queries: [
            {
              expr: `sum by (${byNode}, writer) (rate(nodegraf_writer_sent_samples_total{${ng}}[$__rate_interval]))`,
              legend: '{{ident}} {{writer}}',
            },
          ],
        },
        {
          title: 'Dropped samples by reason',
          description:
            'Samples dropped per node, writer and reason: rejected (4xx), queue_full/disk_full (the bound), disk_error, shutdown.',
          unit: 'perSec',
          queries: [
            {
              expr: `sum by (${byNode}, writer, reason) (rate(nodegraf_writer_dropped_samples_total{${ng}}[$__rate_interval]))`,
              legend: '{{ident}} {{writer}} {{reason}}',
            },
          ],
        },
        {
          title: 'Remote write latency p99',
          description: "p99 of one remote-write request to the store. Rising latency is the store's load.",
          unit: 'seconds',
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (${byNode}, writer, le) (rate(nodegraf_writer_request_duration_seconds_bucket{${ng}}[$__rate_interval])))`,
              legend: '{{ident}} {{writer}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Scraping',
      panels: [
        {
          title: 'Scrape duration',
          description:
            "Duration of each target's last scrape. Close to the interval (or the timeout) means the target is slow or too big: samples come late or not at all.",
          unit: 'seconds',
          queries: [
            {
              expr: `max by (${byNode}, job) (nodegraf_target_scrape_duration_seconds{${ng}})`,
              legend: '{{ident}} {{job}}',
            },
          ],
        },
        {
          title: 'Samples scraped per second',
          description:
            'Samples read from all targets of the node, per second: what the node costs the store.',
          unit: 'perSec',
          queries: [
            {
              expr: `sum by (${byNode}) (rate(nodegraf_scraped_samples_total{${ng}}[$__rate_interval]))`,
              legend: '{{ident}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Footprint',
      panels: [
        {
          title: 'Memory (resident)',
          description:
            "Resident memory of each agent. Compare with the DaemonSet's limit (512Mi in the kit): steady growth over days hints at a leak, a step follows more series.",
          unit: 'bytes',
          queries: [
            { expr: `max by (${byNode}) (process_resident_memory_bytes{${ng}})`, legend: '{{ident}}' },
          ],
        },
        {
          title: 'CPU used (cores)',
          description:
            'CPU seconds per second of each agent. A busy node (40k series every 10 s) uses about 0.05.',
          unit: 'none',
          queries: [
            {
              expr: `sum by (${byNode}) (rate(process_cpu_seconds_total{${ng}}[$__rate_interval]))`,
              legend: '{{ident}}',
            },
          ],
        },
      ],
    },
  ],
};
