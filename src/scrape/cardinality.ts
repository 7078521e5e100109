// What the series cost (issue 21): a report of a node's series from what its targets' last good
// scrapes delivered — per job, metric family, namespace/workload/pod and label — with the families
// no shipped dashboard or alert reads marked, and what dropping each would save. Served as
// /api/cardinality (and on the status page), printed by `nodegraf --test --once --cardinality`.
// Computed on request from the series caches (no per-sample cost).
import type { LabelPairs } from '../prompb/encode.js';
import { KIT_READERS } from './kit-readers.js';

/** A target as the report reads it (ScrapeTarget). */
export interface CensusSource {
  readonly job: string;
  readonly instance: { readonly intervalMs: number };
  census(visit: (labels: LabelPairs, labelBytes: number) => void): void;
}

/**
 * Bytes a sample costs in a remote-write request besides its labels (uncompressed protobuf): the
 * TimeSeries and Sample tags and lengths, the double and a varint timestamp of 6 bytes. Requests
 * are sent snappy-compressed; the report gives the uncompressed size, which is what compression
 * starts from and what a store's ingestion parses.
 */
const SAMPLE_OVERHEAD = 2 + 2 + 9 + 7;

export interface FamilyCost {
  family: string;
  jobs: string[];
  series: number;
  samplesPerSecond: number;
  /** Uncompressed remote-write bytes per sample (labels + SAMPLE_OVERHEAD), average. */
  bytesPerSample: number;
  bytesPerSecond: number;
  /** The dashboards and alerts of the kit that read it (none: dropping it costs no shipped panel). */
  readers: string[];
  /** Share of the node's series that dropping it saves. */
  savingShare: number;
}

export interface CardinalityReport {
  series: number;
  samplesPerSecond: number;
  bytesPerSecond: number;
  bytesPerSample: number;
  jobs: Array<{ job: string; series: number; samplesPerSecond: number }>;
  families: FamilyCost[];
  /** The families nothing of the kit reads, largest first: what a budget would drop first. */
  unread: { families: number; series: number; share: number };
  pods: Array<{ namespace: string; workload: string; pod: string; series: number }>;
  labels: Array<{ label: string; values: number; capped: boolean }>;
}

/** Distinct values counted per label at most (a label with more is reported as at least this). */
const VALUES_CAP = 10_000;

export function cardinalityReport(targets: readonly CensusSource[]): CardinalityReport {
  const families = new Map<string, { jobs: Set<string>; series: number; bytes: number; sps: number }>();
  const jobs = new Map<string, { series: number; sps: number }>();
  const pods = new Map<string, { namespace: string; workload: string; pod: string; series: number }>();
  const labels = new Map<string, Set<string>>();
  let series = 0;
  let sps = 0;
  let bps = 0;
  for (const t of targets) {
    const perSecond = 1000 / Math.max(1, t.instance.intervalMs);
    const job = jobs.get(t.job) ?? { series: 0, sps: 0 };
    jobs.set(t.job, job);
    t.census((ls, labelBytes) => {
      let name = '';
      let namespace = '';
      let pod = '';
      let workload = '';
      for (const [k, v] of ls) {
        if (k === '__name__') name = v;
        else if (k === 'namespace') namespace = v;
        else if (k === 'pod') pod = v;
        else if (k === 'workload') workload = v;
        let vs = labels.get(k);
        if (!vs) labels.set(k, (vs = new Set()));
        if (vs.size < VALUES_CAP) vs.add(v);
      }
      const bytes = labelBytes + SAMPLE_OVERHEAD;
      let f = families.get(name);
      if (!f) families.set(name, (f = { jobs: new Set(), series: 0, bytes: 0, sps: 0 }));
      f.jobs.add(t.job);
      f.series++;
      f.bytes += bytes * perSecond;
      f.sps += perSecond;
      job.series++;
      job.sps += perSecond;
      series++;
      sps += perSecond;
      bps += bytes * perSecond;
      if (pod) {
        const key = `${namespace}/${pod}`;
        const p = pods.get(key) ?? { namespace, workload, pod, series: 0 };
        pods.set(key, p);
        p.series++;
        if (!p.workload && workload) p.workload = workload;
      }
    });
  }
  const costs: FamilyCost[] = [...families].map(([family, f]) => ({
    family,
    jobs: [...f.jobs].sort(),
    series: f.series,
    samplesPerSecond: f.sps,
    bytesPerSample: f.sps > 0 ? f.bytes / f.sps : 0,
    bytesPerSecond: f.bytes,
    readers: [...(KIT_READERS[family] ?? [])],
    savingShare: series > 0 ? f.series / series : 0,
  }));
  costs.sort((a, b) => b.series - a.series || (a.family < b.family ? -1 : 1));
  const unread = costs.filter((c) => c.readers.length === 0 && c.family !== 'up');
  const unreadSeries = unread.reduce((n, c) => n + c.series, 0);
  return {
    series,
    samplesPerSecond: sps,
    bytesPerSecond: bps,
    bytesPerSample: sps > 0 ? bps / sps : 0,
    jobs: [...jobs]
      .map(([job, j]) => ({ job, series: j.series, samplesPerSecond: j.sps }))
      .sort((a, b) => b.series - a.series),
    families: costs,
    unread: { families: unread.length, series: unreadSeries, share: series > 0 ? unreadSeries / series : 0 },
    pods: [...pods.values()].sort((a, b) => b.series - a.series),
    labels: [...labels]
      .map(([label, vs]) => ({ label, values: vs.size, capped: vs.size >= VALUES_CAP }))
      .sort((a, b) => b.values - a.values),
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** The report as text (`nodegraf --test --once --cardinality`): the largest first, `top` rows a table. */
export function formatCardinality(r: CardinalityReport, top = 25): string {
  const out: string[] = [];
  out.push(
    `${r.series} series, ${r.samplesPerSecond.toFixed(0)} samples/s, ${(r.bytesPerSecond / 1024).toFixed(1)} KiB/s of remote write before compression (${r.bytesPerSample.toFixed(0)} B a sample)`,
    `read by no shipped dashboard or alert: ${r.unread.families} families, ${r.unread.series} series (${pct(r.unread.share)}): what metrics_drop could save`,
    '',
    'job                              series   samples/s',
  );
  for (const j of r.jobs)
    out.push(
      `${(j.job || '(no job)').padEnd(30)} ${String(j.series).padStart(8)} ${j.samplesPerSecond.toFixed(1).padStart(11)}`,
    );
  out.push(
    '',
    `family (largest ${Math.min(top, r.families.length)} of ${r.families.length})`.padEnd(62) +
      'series  share  B/sample  read by the kit',
  );
  for (const f of r.families.slice(0, top))
    out.push(
      `${f.family.padEnd(60)} ${String(f.series).padStart(7)} ${pct(f.savingShare).padStart(7)} ${f.bytesPerSample.toFixed(0).padStart(9)}  ${f.readers.length ? f.readers.length + ' panel(s)/alert(s)' : 'no: drop it to save ' + pct(f.savingShare)}`,
    );
  out.push('', 'pod (largest)'.padEnd(62) + 'series');
  for (const p of r.pods.slice(0, 10))
    out.push(
      `${`${p.namespace}/${p.pod}${p.workload ? ` (${p.workload})` : ''}`.padEnd(60)} ${String(p.series).padStart(7)}`,
    );
  out.push('', 'label (most values)'.padEnd(62) + 'values');
  for (const l of r.labels.slice(0, 10))
    out.push(`${l.label.padEnd(60)} ${((l.capped ? '≥' : '') + l.values).padStart(7)}`);
  return out.join('\n') + '\n';
}
