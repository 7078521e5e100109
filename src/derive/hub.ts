// The derived container values of every target, for the status page (node top and its
// sparklines) and, with `[derive] enable = true`, as ordinary series through an internal target.
import type { SampleTap, TapFactory } from '../scrape/sample-tap.js';
import { ContainerTap, type DerivedValues, type Row } from './containers.js';

/** The columns the history keeps, in this order. */
export const HISTORY_FIELDS = [
  'cpuOfQuota',
  'throttledRatio',
  'memoryOfLimit',
  'rxBitsPerSec',
  'txBitsPerSec',
  'fsReadBytesPerSec',
  'fsWriteBytesPerSec',
] as const satisfies readonly (keyof DerivedValues)[];

/** 15 minutes in 15 s buckets: the last value of each bucket. */
export const HISTORY_BUCKETS = 60;
export const HISTORY_BUCKET_MS = 15_000;

/**
 * A bounded ring per row: HISTORY_BUCKETS × 7 Float32 = 1,680 bytes of values, plus the bucket
 * number of the newest entry. It holds 15 minutes whatever the scrape interval (a faster scrape
 * overwrites within its bucket, a slower one leaves NaN gaps).
 */
export class History {
  readonly values = new Float32Array(HISTORY_BUCKETS * HISTORY_FIELDS.length).fill(NaN);
  /** Bucket number (ts / bucket ms) of the newest entry; -1 before the first. */
  newest = -1;

  push(v: DerivedValues, nowMs = Date.now()): void {
    // a target whose clock runs ahead would otherwise park the ring in the future, and every
    // later (correct) sample would be dropped as older than the newest bucket
    const b = Math.floor(Math.min(v.ts, nowMs) / HISTORY_BUCKET_MS);
    if (this.newest >= 0 && b < this.newest) return;
    // clear the buckets skipped since the newest (no data then)
    for (let x = this.newest + 1; this.newest >= 0 && x < b && x <= this.newest + HISTORY_BUCKETS; x++)
      this.clear(x);
    this.newest = b;
    const base = (b % HISTORY_BUCKETS) * HISTORY_FIELDS.length;
    HISTORY_FIELDS.forEach((f, i) => (this.values[base + i] = v[f]));
  }

  private clear(bucket: number): void {
    this.values.fill(
      NaN,
      (bucket % HISTORY_BUCKETS) * HISTORY_FIELDS.length,
      ((bucket % HISTORY_BUCKETS) + 1) * HISTORY_FIELDS.length,
    );
  }

  /** One field, oldest first, HISTORY_BUCKETS points ending at the newest bucket (null: no data). */
  series(field: number): (number | null)[] {
    const out: (number | null)[] = [];
    for (let k = HISTORY_BUCKETS - 1; k >= 0; k--) {
      const b = this.newest - k;
      const x = b < 0 ? NaN : this.values[(b % HISTORY_BUCKETS) * HISTORY_FIELDS.length + field];
      out.push(x === x ? x : null);
    }
    return out;
  }
}

export interface ContainerView {
  namespace: string;
  pod: string;
  container: string;
  labels: Record<string, string>;
  values: DerivedValues;
  /** The pod's network (cAdvisor reports it per pod), with its own sample time. */
  podNetwork: { rxBitsPerSec: number; txBitsPerSec: number; ts: number } | undefined;
  history: History;
}

export class DeriveHub {
  private readonly taps = new Set<ContainerTap>();
  private readonly history = new Map<string, History>();

  /** One tap per target; targets without container series cost a Map lookup per new series. */
  readonly factory: TapFactory = (): SampleTap => {
    const tap = new ContainerTap();
    tap.onUpdate = (rows) => this.record(rows);
    // a container gone from its target (or the target removed) takes its history with it
    tap.onRowDeleted = (key) => this.history.delete(key);
    tap.onClose = () => this.taps.delete(tap);
    this.taps.add(tap);
    return tap;
  };

  private record(rows: Iterable<Row>): void {
    for (const r of rows) {
      if (r.values === undefined) continue;
      let h = this.history.get(r.key);
      if (h === undefined) this.history.set(r.key, (h = new History()));
      h.push(r.values);
    }
  }

  /** Container series the taps follow, all targets (/metrics). */
  get seriesCount(): number {
    let n = 0;
    for (const t of this.taps) n += t.seriesCount;
    return n;
  }

  /** Every container with values, its pod's network and its history. */
  containers(): ContainerView[] {
    const pods = new Map<string, Row>();
    const out: ContainerView[] = [];
    for (const t of this.taps.values())
      for (const r of t.rows.values()) if (r.container === '') pods.set(`${r.namespace}/${r.pod}`, r);
    for (const t of this.taps.values())
      for (const r of t.rows.values()) {
        if (r.container === '' || r.values === undefined) continue;
        const p = pods.get(`${r.namespace}/${r.pod}`)?.values;
        out.push({
          namespace: r.namespace,
          pod: r.pod,
          container: r.container,
          labels: Object.fromEntries(r.labels),
          values: r.values,
          podNetwork: p
            ? { rxBitsPerSec: p.rxBitsPerSec, txBitsPerSec: p.txBitsPerSec, ts: p.ts }
            : undefined,
          history: this.history.get(r.key) ?? new History(),
        });
      }
    return out;
  }

  /** The derived values as exposition text, each sample with the timestamp of its source samples. */
  render(): string {
    const lines: string[] = [];
    const families: [string, string, (v: DerivedValues) => number, boolean][] = [
      [
        'nodegraf_container_cpu_usage_of_quota_ratio',
        'irate of CPU usage over the CPU limit (quota/period)',
        (v) => v.cpuOfQuota,
        false,
      ],
      [
        'nodegraf_container_cpu_throttled_ratio',
        'throttled CFS periods over all periods, last scrape interval',
        (v) => v.throttledRatio,
        false,
      ],
      [
        'nodegraf_container_memory_working_set_of_limit_ratio',
        'working set over the memory limit (containers with a limit)',
        (v) => v.memoryOfLimit,
        false,
      ],
      [
        'nodegraf_container_fs_reads_bytes_per_second',
        'irate of bytes read',
        (v) => v.fsReadBytesPerSec,
        false,
      ],
      [
        'nodegraf_container_fs_writes_bytes_per_second',
        'irate of bytes written',
        (v) => v.fsWriteBytesPerSec,
        false,
      ],
      [
        'nodegraf_pod_network_receive_bits_per_second',
        'irate of bytes received by the pod, times 8',
        (v) => v.rxBitsPerSec,
        true,
      ],
      [
        'nodegraf_pod_network_transmit_bits_per_second',
        'irate of bytes sent by the pod, times 8',
        (v) => v.txBitsPerSec,
        true,
      ],
    ];
    const rows: Row[] = [];
    for (const t of this.taps.values()) rows.push(...t.rows.values());
    for (const [name, help, get, perPod] of families) {
      lines.push(`# HELP ${name} ${help} (nodegraf, from cAdvisor)`, `# TYPE ${name} gauge`);
      for (const r of rows) {
        if (r.values === undefined || (r.container === '') !== perPod) continue;
        const x = get(r.values);
        if (!(x === x) || !Number.isFinite(x)) continue;
        const labels: [string, string][] = [
          ['namespace', r.namespace],
          ['pod', r.pod],
        ];
        if (!perPod) labels.push(['container', r.container]);
        // ident and cluster stay as the cAdvisor series had them (the derive target honors labels)
        for (const [k, v] of r.labels) labels.push([k, v]);
        const text = labels
          .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
          .join(',');
        lines.push(`${name}{${text}} ${x} ${r.values.ts}`);
      }
    }
    return lines.join('\n') + '\n';
  }

  /** Bytes the history holds (values only). */
  get historyBytes(): number {
    let n = 0;
    for (const h of this.history.values()) n += h.values.byteLength;
    return n;
  }
}
