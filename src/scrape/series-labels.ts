// The cache-miss path of a target's pipeline: what a series seen for the first time becomes.
// Decode the scraped labels, apply the metric and label filters, merge the target labels (SPEC
// §3.2 precedence, exported_* for overridden ones), relabel, drop empty values, check the label
// limits, sort and encode. About 12 µs a series (docs/performance.md); it runs once per series, and
// again only when the series churns.
import type { TextParser, Labels } from '../parse/text.js';
import { encodeLabels, type LabelPairs } from '../prompb/encode.js';
import type { Relabeler } from '../relabel/relabel.js';
import type { PipelinePlugins } from './plugins.js';
import { CacheEntry } from './series-cache.js';

/** How a new series' labels are built; the plug-ins (plugins.ts) join in on the miss. */
export interface LabelRules extends PipelinePlugins {
  /** Labels that override scraped ones (URL label, instance labels, ident), final values. */
  targetLabels: LabelPairs;
  /** Labels added only where the series lacks them (`[global] labels`). */
  defaultLabels: LabelPairs;
  /** Label names whose configured value is "-": removed from every series. */
  deleteLabels: string[];
  honorLabels: boolean;
  /** false = drop the series by metric name (metrics_pass / metrics_drop / ignore_metrics). */
  keepMetric: (name: string) => boolean;
  /** true = remove this scraped label (ignore_label_keys). */
  ignoreLabel: (name: string) => boolean;
  relabel?: Relabeler;
  labelLimit: number;
  labelValueLengthLimit: number;
}

/** Build the cache entry of the current Series entry of `p`. */
export function buildSeries(o: LabelRules, p: TextParser, scratch: Labels): CacheEntry {
  scratch.length = 0;
  const err = p.labels(scratch);
  if (err !== undefined) return new CacheEntry(null, err);
  const name = p.metricName();
  if (!o.keepMetric(name)) return new CacheEntry(null);
  const m = new Map<string, string>();
  m.set('__name__', name);
  for (let i = 0; i < scratch.length; i++) {
    const [k, v] = scratch[i];
    if (o.ignoreLabel(k)) continue;
    if (m.has(k)) {
      return new CacheEntry(null, `duplicate label name ${JSON.stringify(k)}`);
    }
    m.set(k, v);
  }
  for (const k of o.deleteLabels) m.delete(k);
  for (const [k, v] of o.targetLabels) {
    const cur = m.get(k);
    if (cur !== undefined && cur !== '') {
      if (o.honorLabels) continue;
      m.set('exported_' + k, cur);
    }
    m.set(k, v);
  }
  fillMissing(m, o.defaultLabels);
  // the enricher's labels come before relabeling, so rules can use them (keep only some workloads)
  const group = o.enricher?.enrich(m);
  const entry = finish(o, m, name);
  entry.group = group;
  // relabel (in finish) edited m in place: the tap sees the final labels
  if (o.tap !== undefined && entry.labels !== null) entry.slot = o.tap.slot(m);
  return entry;
}

function finish(o: LabelRules, m: Map<string, string>, name: string): CacheEntry {
  if (o.relabel !== undefined && !o.relabel(m)) return new CacheEntry(null);
  const pairs: LabelPairs = [];
  let limit: string | undefined;
  for (const [k, v] of m) {
    if (v === '') continue;
    if (o.labelValueLengthLimit > 0 && v.length > o.labelValueLengthLimit && limit === undefined) {
      limit = `label_value_length_limit exceeded: label ${k} of ${name} has ${v.length} characters > ${o.labelValueLengthLimit}`;
    }
    pairs.push([k, v]);
  }
  if (!m.get('__name__')) return new CacheEntry(null);
  if (o.labelLimit > 0 && pairs.length > o.labelLimit && limit === undefined) {
    limit = `label_limit exceeded: ${name} has ${pairs.length} labels > ${o.labelLimit}`;
  }
  pairs.sort(byName);
  return new CacheEntry(encodeLabels(pairs), undefined, limit);
}

/** Set each label the series lacks (absent or empty); present values win. */
export function fillMissing(m: Map<string, string>, pairs: LabelPairs): void {
  for (const [k, v] of pairs) {
    const cur = m.get(k);
    if (cur === undefined || cur === '') m.set(k, v);
  }
}

function byName(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
