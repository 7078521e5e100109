// The dashboards as data: one definition per dashboard (variables, rows, panels, queries), rendered
// into Grafana's and Nightingale's JSON by grafana.ts and nightingale.ts, so that the two formats
// can never disagree on a query. Queries use Grafana's variable syntax ($var, $__rate_interval);
// the Nightingale renderer and the proof test substitute what their engine does not know.

/** What a panel's values are, mapped to each tool's unit name. */
export type Unit =
  | 'none'
  | 'ratio' // 0..1, shown as percent
  | 'percent' // 0..100
  | 'bytes'
  | 'bytesPerSec'
  | 'bitsPerSec'
  | 'seconds'
  | 'perSec'
  | 'timestamp';

export interface Query {
  expr: string;
  /** Legend with {{label}} placeholders (both tools use this syntax). */
  legend: string;
}

export interface Panel {
  title: string;
  /** What the panel tells and what to do when it looks bad (shown as the panel's tooltip). */
  description: string;
  unit: Unit;
  queries: Query[];
  /** 'stat' for one number per series; default a time series graph. */
  kind?: 'timeseries' | 'stat';
  /** Grid width out of 24. Default 12 (two per row); stats default to 6. */
  width?: number;
  /** Threshold (in the unit's scale) from which the value is shown as bad. */
  warnAt?: number;
  /**
   * What the panel says instead of an empty graph when its queries return nothing because the
   * node does not serve the families (not an error): Grafana's "no value" text; in Nightingale,
   * which has none, it ends the description.
   */
  noValue?: string;
}

export interface Row {
  title: string;
  panels: Panel[];
}

export interface Variable {
  name: string;
  label: string;
  /** label_values(<selector>, <label>) */
  query: string;
  /** Pod-label variables: documented as the ones to edit to your `pod_labels`. */
  podLabel?: boolean;
}

export interface Dashboard {
  /** File name without extension, and the Grafana uid. */
  id: string;
  title: string;
  description: string;
  tags: string[];
  variables: Variable[];
  rows: Row[];
}
