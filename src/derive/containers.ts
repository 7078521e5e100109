// The article's container recipes (SPEC §10), computed in the agent from consecutive cAdvisor
// scrapes of one target, as PromQL computes them from the stored samples:
//   CPU usage of quota  sum by (c) (irate(container_cpu_usage_seconds_total)) / sum by (c) (quota / period)
//   throttled ratio     sum by (c) (increase(throttled_periods)) / sum by (c) (increase(periods))
//                       over the last two samples (one scrape interval)
//   memory of limit     max by (c) (working_set / limit and limit != 0)
//   network bits/s      sum by (namespace, pod) (irate(network_{receive,transmit}_bytes)) * 8
//   disk bytes/s        sum by (c) (irate(fs_{reads,writes}_bytes))
//   CPU pressure        sum by (c) (irate(container_pressure_cpu_waiting_seconds_total))
//   memory pressure     sum by (c) (irate(container_pressure_memory_stalled_seconds_total))
//                       (PSI: the share of time waiting / stalled; NaN where the node has no PSI)
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
  CpuPressure,
  MemoryPressure,
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
  ['container_pressure_cpu_waiting_seconds_total', F.CpuPressure],
  ['container_pressure_memory_stalled_seconds_total', F.MemoryPressure],
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
  /** Share of time some task waited for a CPU (PSI cpu some). */
  cpuPressure: number;
  /** Share of time all tasks were stalled on memory (PSI memory full). */
  memoryPressure: number;
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
  /** The row's series (kept on slot/release, so compute needs no grouping pass). */
  series: Series[];
  /** quota/period and working set/limit pairs, by the series' other labels. */
  pairs: Map<string, Pair>;
  /** Reused for every scrape's values (no allocation per row and scrape). */
  scratch: DerivedValues;
}

/** The gauges PromQL divides one-to-one: same labels but the name. */
interface Pair {
  /** Its key in the row's pairs. */
  key: string;
  quota: number;
  period: number;
  ws: number;
  limit: number;
  refs: number;
}

/** A series and its last two committed samples, plus the one of the scrape in progress. */
interface Series {
  family: F;
  row: Row;
  /** Its pair (quota, period, working set and limit series only). */
  pair: Pair | undefined;
  prevV: number;
  prevTs: number;
  lastV: number;
  lastTs: number;
  curV: number;
  curTs: number;
  seen: number;
  born: number;
}

/** Values with nothing known yet. */
export const NO_VALUES = (): DerivedValues => ({
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
  cpuPressure: NaN,
  memoryPressure: NaN,
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

/** a + b over the defined terms (NaN + NaN = NaN: no term yet). */
function add(a: number, b: number): number {
  if (!(b === b)) return a;
  return a === a ? a + b : b;
}

/** One target's containers. One instance per target (TapFactory). */
export class ContainerTap implements SampleTap {
  private readonly slots: (Series | undefined)[] = [];
  private readonly free: number[] = [];
  readonly rows = new Map<string, Row>();
  private seq = 1;
  /** Called after every good scrape with the rows that have values. */
  onUpdate: ((rows: Iterable<Row>, scrapeTimeMs: number) => void) | undefined;
  /** Called when a row is forgotten (its last series went away), and for every row on close. */
  onRowDeleted: ((key: string) => void) | undefined;
  /** Called once by close. */
  onClose: (() => void) | undefined;

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
    const rowLabels: [string, string][] = [];
    for (const [k, v] of labels) if (!NOT_ROW_LABELS.has(k) && v !== '') rowLabels.push([k, v]);
    let row = this.rows.get(key);
    // the newest series' labels are the row's: pod metadata that arrived or changed (the pipeline
    // rebuilds the container's series then) shows on the page and in the derived series
    if (row !== undefined) row.labels = rowLabels;
    if (row === undefined) {
      row = {
        key,
        namespace,
        pod,
        container,
        labels: rowLabels,
        values: undefined,
        series: [],
        pairs: new Map(),
        scratch: NO_VALUES(),
      };
      this.rows.set(key, row);
    }
    let pair: Pair | undefined;
    if (family === F.Quota || family === F.Period || family === F.WorkingSet || family === F.MemLimit) {
      let sibling = '';
      for (const [k, v] of labels) if (k !== '__name__') sibling += k + '\u0000' + v + '\u0001';
      pair = row.pairs.get(sibling);
      if (pair === undefined)
        row.pairs.set(
          sibling,
          (pair = { key: sibling, quota: NaN, period: NaN, ws: NaN, limit: NaN, refs: 0 }),
        );
      pair.refs++;
    }
    const s: Series = {
      family,
      row,
      pair,
      prevV: NaN,
      prevTs: NaN,
      lastV: NaN,
      lastTs: NaN,
      curV: NaN,
      curTs: NaN,
      seen: 0,
      born: this.seq,
    };
    row.series.push(s);
    const i = this.free.pop() ?? this.slots.length;
    this.slots[i] = s;
    return i;
  }

  touch(slot: number): void {
    const s = this.slots[slot];
    if (s !== undefined) s.seen = this.seq;
  }

  close(): void {
    for (const key of this.rows.keys()) this.onRowDeleted?.(key);
    this.rows.clear();
    this.slots.length = 0;
    this.free.length = 0;
    this.onClose?.();
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
      // kept after a good scrape means seen in it: commit its sample if its time advanced (the
      // first sample always: lastTs is NaN)
      if (good && !(s.curTs <= s.lastTs)) {
        s.prevV = s.lastV;
        s.prevTs = s.lastTs;
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
    const row = s.row;
    row.series.splice(row.series.indexOf(s), 1);
    if (s.pair !== undefined) {
      // its value leaves the pair with it
      if (s.family === F.Quota) s.pair.quota = NaN;
      else if (s.family === F.Period) s.pair.period = NaN;
      else if (s.family === F.WorkingSet) s.pair.ws = NaN;
      else s.pair.limit = NaN;
    }
    if (s.pair !== undefined && --s.pair.refs === 0) row.pairs.delete(s.pair.key);
    if (row.series.length === 0) {
      this.rows.delete(row.key);
      this.onRowDeleted?.(row.key);
    }
  }

  /**
   * The recipes, per row, from the committed samples: one pass over the row's series and one over
   * its pairs, nothing allocated. Measured with callgrind (1.35 capture, scrapes 41-201): grouping
   * the series per scrape with Maps and filters cost +8.1 % instructions per repeated scrape; this
   * layout (series and pairs kept on the row) +1.3 % (docs/performance.md).
   */
  private compute(): void {
    for (const row of this.rows.values()) {
      const v = row.scratch;
      let ts = 0;
      let specTs = 0;
      let cpu = NaN;
      let periods = NaN;
      let throttled = NaN;
      let reads = NaN;
      let writes = NaN;
      let rx = NaN;
      let tx = NaN;
      let cpuPressure = NaN;
      let memoryPressure = NaN;
      let wsMax = NaN;
      let any = false;
      for (const s of row.series) {
        if (!(s.lastTs === s.lastTs)) continue;
        any = true;
        const f = s.family;
        // the time of the measured samples (cAdvisor stamps them); spec_* series carry none and
        // get the scrape time, which is later: they count only when nothing else is there
        if (f === F.Quota || f === F.Period || f === F.MemLimit) {
          if (s.lastTs > specTs) specTs = s.lastTs;
        } else if (s.lastTs > ts) ts = s.lastTs;
        switch (f) {
          case F.Cpu:
            cpu = add(cpu, irate(s));
            break;
          case F.Periods:
            periods = add(periods, delta(s));
            break;
          case F.Throttled:
            throttled = add(throttled, delta(s));
            break;
          case F.FsReads:
            reads = add(reads, irate(s));
            break;
          case F.FsWrites:
            writes = add(writes, irate(s));
            break;
          case F.Rx:
            rx = add(rx, irate(s));
            break;
          case F.Tx:
            tx = add(tx, irate(s));
            break;
          case F.CpuPressure:
            cpuPressure = add(cpuPressure, irate(s));
            break;
          case F.MemoryPressure:
            memoryPressure = add(memoryPressure, irate(s));
            break;
          case F.Quota:
            s.pair!.quota = s.lastV;
            break;
          case F.Period:
            s.pair!.period = s.lastV;
            break;
          case F.WorkingSet:
            s.pair!.ws = s.lastV;
            wsMax = wsMax === wsMax ? Math.max(wsMax, s.lastV) : s.lastV;
            break;
          case F.MemLimit:
            s.pair!.limit = s.lastV;
            break;
        }
      }
      if (!any) {
        row.values = undefined;
        continue;
      }
      let cores = NaN;
      let mem = NaN;
      for (const p of row.pairs.values()) {
        if (p.period > 0 && p.quota === p.quota) cores = add(cores, p.quota / p.period);
        if (p.limit !== 0 && p.limit === p.limit && p.ws === p.ws) {
          const r = p.ws / p.limit;
          mem = mem === mem ? Math.max(mem, r) : r;
        }
      }
      v.ts = ts || specTs;
      v.cpuCores = cpu;
      v.cpuOfQuota = cpu / cores;
      v.throttledRatio = periods > 0 ? throttled / periods : NaN;
      v.memoryOfLimit = mem;
      v.memoryBytes = wsMax;
      v.fsReadBytesPerSec = reads;
      v.fsWriteBytesPerSec = writes;
      v.rxBitsPerSec = rx * 8;
      v.txBitsPerSec = tx * 8;
      v.cpuPressure = cpuPressure;
      v.memoryPressure = memoryPressure;
      row.values = v;
    }
  }

  /** Series state held (for the status page's memory figures). */
  get seriesCount(): number {
    return this.slots.length - this.free.length;
  }
}
