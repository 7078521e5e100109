// The article's container recipes (SPEC §10), computed in the agent from consecutive cAdvisor
// scrapes of one target, as PromQL computes them from the stored samples:
//   CPU usage of quota  sum by (c) (irate(container_cpu_usage_seconds_total)) / sum by (c) (quota / period)
//   throttled ratio     sum by (c) (increase(throttled_periods)) / sum by (c) (increase(periods))
//                       over the last two samples (one scrape interval)
//   memory of limit     max by (c) (working_set / limit and limit != 0)
//   network bits/s      sum by (namespace, pod) (irate(network_{receive,transmit}_bytes)) * 8
//   disk bytes/s        sum by (c) (irate(fs_{reads,writes}_bytes))
// where c = namespace, pod, container (container "" and "POD" are a pod's total and its sandbox:
// not containers; network lives on the sandbox, so it is per pod). Rates use the samples' own
// timestamps (cAdvisor sends them) and treat a decrease as a counter reset, as irate/increase do.
// A series is state from its first sample to the first good scrape without it (a container that
// restarts is a new series, with a new `id`); a container without series is forgotten.
import type { SampleTap } from '../scrape/sample-tap.js';

const enum F {
  Cpu,
  Quota,
  Period,
  Periods,
  Throttled,
  WorkingSet,
  MemLimit,
  Rx,
  Tx,
  FsReads,
  FsWrites,
}

const FAMILY = new Map<string, F>([
  ['container_cpu_usage_seconds_total', F.Cpu],
  ['container_spec_cpu_quota', F.Quota],
  ['container_spec_cpu_period', F.Period],
  ['container_cpu_cfs_periods_total', F.Periods],
  ['container_cpu_cfs_throttled_periods_total', F.Throttled],
  ['container_memory_working_set_bytes', F.WorkingSet],
  ['container_spec_memory_limit_bytes', F.MemLimit],
  ['container_network_receive_bytes_total', F.Rx],
  ['container_network_transmit_bytes_total', F.Tx],
  ['container_fs_reads_bytes_total', F.FsReads],
  ['container_fs_writes_bytes_total', F.FsWrites],
]);

/** Labels that identify the row, or are cAdvisor's own per-series detail: not copied to the row. */
const NOT_ROW_LABELS = new Set([
  '__name__',
  'namespace',
  'pod',
  'container',
  'pod_name',
  'container_name',
  'id',
  'name',
  'image',
  'cpu',
  'interface',
  'device',
  'job',
  'instance',
]);

/** The values of one row (a container, or a pod for the network), NaN where unknown. */
export interface DerivedValues {
  /** ms: the newest sample timestamp the values come from */
  ts: number;
  cpuOfQuota: number;
  throttledRatio: number;
  memoryOfLimit: number;
  cpuCores: number;
  memoryBytes: number;
  fsReadBytesPerSec: number;
  fsWriteBytesPerSec: number;
  rxBitsPerSec: number;
  txBitsPerSec: number;
}

export interface Row {
  key: string;
  namespace: string;
  pod: string;
  /** '' for the pod row (network). */
  container: string;
  /** Other labels of its series (enrichment: workload_kind, workload, label_*, ident, cluster…). */
  labels: [string, string][];
  values: DerivedValues | undefined;
  series: number;
}

/** A series and its last two committed samples, plus the one of the scrape in progress. */
interface Series {
  family: F;
  row: Row;
  /** The series' labels without __name__: pairs quota with period, working set with limit. */
  sibling: string;
  prevV: number;
  prevTs: number;
  lastV: number;
  lastTs: number;
  curV: number;
  curTs: number;
  seen: number;
  born: number;
}

const NO_VALUES = (): DerivedValues => ({
  ts: 0,
  cpuOfQuota: NaN,
  throttledRatio: NaN,
  memoryOfLimit: NaN,
  cpuCores: NaN,
  memoryBytes: NaN,
  fsReadBytesPerSec: NaN,
  fsWriteBytesPerSec: NaN,
  rxBitsPerSec: NaN,
  txBitsPerSec: NaN,
});

/** irate of the last two samples, a decrease read as a counter reset (as PromQL). */
function irate(s: Series): number {
  if (!(s.prevTs < s.lastTs)) return NaN;
  const d = s.lastV >= s.prevV ? s.lastV - s.prevV : s.lastV;
  return d / ((s.lastTs - s.prevTs) / 1000);
}

function delta(s: Series): number {
  if (!(s.prevTs < s.lastTs)) return NaN;
  return s.lastV >= s.prevV ? s.lastV - s.prevV : s.lastV;
}

/** Sum of the defined terms; NaN when none is. */
function sum(xs: Iterable<number>): number {
  let t = 0;
  let n = 0;
  for (const x of xs)
    if (x === x) {
      t += x;
      n++;
    }
  return n ? t : NaN;
}

/** One target's containers. One instance per target (TapFactory). */
export class ContainerTap implements SampleTap {
  private readonly slots: (Series | undefined)[] = [];
  private readonly free: number[] = [];
  readonly rows = new Map<string, Row>();
  private seq = 1;
  /** Called after every good scrape with the rows that have values. */
  onUpdate: ((rows: Iterable<Row>, scrapeTimeMs: number) => void) | undefined;

  slot(labels: ReadonlyMap<string, string>): number {
    const family = FAMILY.get(labels.get('__name__') ?? '');
    if (family === undefined) return -1;
    const namespace = labels.get('namespace') ?? '';
    const pod = labels.get('pod') ?? labels.get('pod_name') ?? '';
    if (!namespace || !pod) return -1;
    const network = family === F.Rx || family === F.Tx;
    let container = labels.get('container') ?? labels.get('container_name') ?? '';
    if (network) container = '';
    else if (container === '' || container === 'POD') return -1;
    const key = `${namespace}/${pod}/${container}`;
    let row = this.rows.get(key);
    if (row === undefined) {
      const rowLabels: [string, string][] = [];
      for (const [k, v] of labels) if (!NOT_ROW_LABELS.has(k) && v !== '') rowLabels.push([k, v]);
      row = { key, namespace, pod, container, labels: rowLabels, values: undefined, series: 0 };
      this.rows.set(key, row);
    }
    row.series++;
    let sibling = '';
    for (const [k, v] of labels) if (k !== '__name__') sibling += k + '\u0000' + v + '\u0001';
    const s: Series = {
      family,
      row,
      sibling,
      prevV: NaN,
      prevTs: NaN,
      lastV: NaN,
      lastTs: NaN,
      curV: NaN,
      curTs: NaN,
      seen: 0,
      born: this.seq,
    };
    const i = this.free.pop() ?? this.slots.length;
    this.slots[i] = s;
    return i;
  }

  observe(slot: number, value: number, tsMs: number): void {
    const s = this.slots[slot];
    if (s === undefined) return;
    s.seen = this.seq;
    s.curV = value;
    s.curTs = tsMs;
  }

  end(good: boolean, scrapeTimeMs: number): void {
    const seq = this.seq++;
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i];
      if (s === undefined) continue;
      // forgotten by the pipeline's cache (sample-tap.ts): not in a good scrape, or new in a failed one
      if (good ? s.seen !== seq : s.born === seq) {
        this.release(i, s);
        continue;
      }
      if (good && s.seen === seq && s.curTs > s.lastTs) {
        s.prevV = s.lastV;
        s.prevTs = s.lastTs;
        s.lastV = s.curV;
        s.lastTs = s.curTs;
      } else if (good && s.seen === seq && !(s.lastTs === s.lastTs)) {
        s.lastV = s.curV;
        s.lastTs = s.curTs;
      }
    }
    if (!good) return;
    this.compute();
    this.onUpdate?.(this.rows.values(), scrapeTimeMs);
  }

  private release(i: number, s: Series): void {
    this.slots[i] = undefined;
    this.free.push(i);
    if (--s.row.series === 0) this.rows.delete(s.row.key);
  }

  /** The recipes, per row, from the committed samples. */
  private compute(): void {
    const byRow = new Map<Row, Series[]>();
    for (const s of this.slots) {
      if (s === undefined || !(s.lastTs === s.lastTs)) continue;
      let list = byRow.get(s.row);
      if (list === undefined) byRow.set(s.row, (list = []));
      list.push(s);
    }
    for (const [row, list] of byRow) {
      const v = NO_VALUES();
      const of = (f: F) => list.filter((s) => s.family === f);
      // the time of the measured samples (cAdvisor stamps them); spec_* series carry none and
      // get the scrape time, which is later: they count only when nothing else is there
      for (const s of list)
        if (s.lastTs > v.ts && s.family !== F.Quota && s.family !== F.Period && s.family !== F.MemLimit)
          v.ts = s.lastTs;
      if (v.ts === 0) for (const s of list) if (s.lastTs > v.ts) v.ts = s.lastTs;
      // pair quota/period and working set/limit by their other labels, as PromQL's one-to-one match
      const pairs = new Map<string, Partial<Record<F, number>>>();
      for (const s of list) {
        if (
          s.family !== F.Quota &&
          s.family !== F.Period &&
          s.family !== F.WorkingSet &&
          s.family !== F.MemLimit
        )
          continue;
        let p = pairs.get(s.sibling);
        if (p === undefined) pairs.set(s.sibling, (p = {}));
        p[s.family] = s.lastV;
      }
      let cores = NaN;
      let mem = NaN;
      for (const p of pairs.values()) {
        const q = p[F.Quota];
        const per = p[F.Period];
        if (q !== undefined && per !== undefined && per > 0) cores = (cores === cores ? cores : 0) + q / per;
        const ws = p[F.WorkingSet];
        const lim = p[F.MemLimit];
        if (ws !== undefined && lim !== undefined && lim !== 0)
          mem = mem === mem ? Math.max(mem, ws / lim) : ws / lim;
      }
      v.cpuCores = sum(of(F.Cpu).map(irate));
      v.cpuOfQuota = v.cpuCores / cores;
      const periods = sum(of(F.Periods).map(delta));
      v.throttledRatio = periods > 0 ? sum(of(F.Throttled).map(delta)) / periods : NaN;
      v.memoryOfLimit = mem;
      const ws = of(F.WorkingSet).map((s) => s.lastV);
      v.memoryBytes = ws.length ? Math.max(...ws) : NaN;
      v.fsReadBytesPerSec = sum(of(F.FsReads).map(irate));
      v.fsWriteBytesPerSec = sum(of(F.FsWrites).map(irate));
      v.rxBitsPerSec = sum(of(F.Rx).map(irate)) * 8;
      v.txBitsPerSec = sum(of(F.Tx).map(irate)) * 8;
      row.values = v;
    }
    for (const row of this.rows.values()) if (!byRow.has(row)) row.values = undefined;
  }

  /** Series state held (for the status page's memory figures). */
  get seriesCount(): number {
    return this.slots.length - this.free.length;
  }
}
