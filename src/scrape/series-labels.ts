// The cache-miss path of a target's pipeline: what a series seen for the first time becomes.
// Decode the scraped labels, apply the metric and label filters, merge the target labels (SPEC
// §3.2 precedence, exported_* for overridden ones), relabel, drop empty values, check the label
// limits, sort and encode. About 12 µs a series (docs/performance.md); it runs once per series, and
// again only when the series churns.
import type { TextParser, Labels } from '../parse/text.js';
import { encodeLabelBytes, type LabelPairs } from '../prompb/encode.js';
import type { Relabeler } from '../relabel/relabel.js';
import type { PipelinePlugins } from './plugins.js';
import type { BuiltSeries } from './series-cache.js';
import { BUDGET_GROUP } from './budget.js';

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

/** A series that is not sent: dropped (filters, relabeling) or invalid (`error`). */
function dropped(error?: string): BuiltSeries {
  return { labels: null, error, slot: -1 };
}

/** Where a new series' name and scraped labels come from: the text parser's current entry, or a native histogram (native.ts). */
export type SeriesSource = Pick<TextParser, 'labels' | 'metricName'>;

/** Build what the cache keeps for the current Series entry of `p`. */
export function buildSeries(o: LabelRules, p: SeriesSource, scratch: Labels): BuiltSeries {
  scratch.length = 0;
  const err = p.labels(scratch);
  if (err !== undefined) return dropped(err);
  const name = p.metricName();
  if (!o.keepMetric(name)) return dropped();
  if (o.budget?.drops(name)) {
    // in a group of its own: re-admitting the family evicts and so rebuilds it
    const d = dropped();
    d.group = BUDGET_GROUP + name;
    return d;
  }
  const m = new Map<string, string>();
  m.set('__name__', name);
  for (let i = 0; i < scratch.length; i++) {
    const [k, v] = scratch[i];
    if (o.ignoreLabel(k)) continue;
    if (m.has(k)) {
      return dropped(`duplicate label name ${JSON.stringify(k)}`);
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
  if (o.enricher?.dropped?.(m)) {
    const d = dropped();
    d.group = group;
    return d;
  }
  const built = finish(o, m, name);
  built.group = group;
  // relabel (in finish) edited m in place: the tap sees the final labels
  if (o.tap !== undefined && built.labels !== null) built.slot = o.tap.slot(m);
  return built;
}

function finish(o: LabelRules, m: Map<string, string>, name: string): BuiltSeries {
  if (o.relabel !== undefined && !o.relabel(m)) return dropped();
  const pairs: LabelPairs = [];
  let limit: string | undefined;
  for (const [k, v] of m) {
    if (v === '') continue;
    if (o.labelValueLengthLimit > 0 && v.length > o.labelValueLengthLimit && limit === undefined) {
      limit = `label_value_length_limit exceeded: label ${k} of ${name} has ${v.length} characters > ${o.labelValueLengthLimit}`;
    }
    pairs.push([k, v]);
  }
  if (!m.get('__name__')) return dropped();
  if (o.labelLimit > 0 && pairs.length > o.labelLimit && limit === undefined) {
    limit = `label_limit exceeded: ${name} has ${pairs.length} labels > ${o.labelLimit}`;
  }
  pairs.sort(byName);
  return { labels: encodeLabelBytes(pairs), limit, slot: -1 };
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
