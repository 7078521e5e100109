// What a target's series cache holds, by metric family and as label sets: for the series contract
// (contract.ts, once a minute), the cardinality report (cardinality.ts, on request) and the series
// budget (budget.ts, which evicts whole families). Read from the cache's interned label runs
// (series-cache.ts): O(entries) integer work and one decode per distinct run, never per sample.
import { decodeLabels, varintAt } from '../prompb/decode.js';
import type { LabelPairs } from '../prompb/encode.js';
import type { SeriesCache } from './series-cache.js';

/**
 * The family (metric name) of cache entries: the first label of the name run — `__name__` sorts
 * before every lowercase label name — read once per run; a run whose first label is another (a
 * label name in uppercase sorts first) is decoded per entry.
 */
export function familyNamer(cache: SeriesCache): (id: number) => string {
  const memo = new Map<number, string>();
  return (id) => {
    const a = cache.nameRunOf(id);
    let name = memo.get(a);
    if (name !== undefined) return name;
    name = metricNameOf(cache.runBytes(a));
    if (name !== undefined) {
      memo.set(a, name);
      return name;
    }
    return decodeLabels(cache.labelsOf(id)!).find(([k]) => k === '__name__')?.[1] ?? '';
  };
}

/** The families the last good scrape delivered: name -> series and the bytes of their encoded labels. */
export function familiesOf(cache: SeriesCache): Map<string, { series: number; labelBytes: number }> {
  const name = familyNamer(cache);
  const out = new Map<string, { series: number; labelBytes: number }>();
  cache.forEachDelivered((id, labelBytes) => {
    const f = name(id);
    const cur = out.get(f);
    if (cur) {
      cur.series++;
      cur.labelBytes += labelBytes;
    } else out.set(f, { series: 1, labelBytes });
  });
  return out;
}

/**
 * Every series the last good scrape delivered, as its label pairs (each distinct run decoded
 * once), `visit`ed with its encoded size. On request only (a 40k-series target: tens of ms).
 */
export function censusOf(cache: SeriesCache, visit: (labels: LabelPairs, labelBytes: number) => void): void {
  const decoded = new Map<number, LabelPairs>();
  const run = (r: number): LabelPairs => {
    let d = decoded.get(r);
    if (!d) decoded.set(r, (d = decodeLabels(cache.runBytes(r))));
    return d;
  };
  cache.forEachDelivered((id, labelBytes) =>
    visit([...run(cache.nameRunOf(id)), ...run(cache.restRunOf(id))], labelBytes),
  );
}

/** The metric name when the first Label of an encoded labels field is `__name__`, else undefined. */
function metricNameOf(b: Buffer): string | undefined {
  let p = 1; // 0x0a: Label
  const varint = () => {
    const [v, next] = varintAt(b, p);
    p = next;
    return v;
  };
  varint(); // the Label's length
  p++; // 0x0a: name
  const nameLength = varint();
  if (nameLength !== 8 || b.latin1Slice(p, p + 8) !== '__name__') return undefined;
  p += nameLength;
  p++; // 0x12: value
  const n = varint();
  return p + n <= b.length ? b.toString('utf8', p, p + n) : undefined;
}
