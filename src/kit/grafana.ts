// A dashboard definition as Grafana dashboard JSON (schemaVersion 39: Grafana 11.0 and later
// import it as is; Grafana 12 migrates it on load). The data source is the `datasource` variable
// (type prometheus), never a fixed uid, so the file imports through the UI and through file
// provisioning on any Grafana.
import type { Dashboard, Panel, Unit, Variable } from './model.js';

export const GRAFANA_SCHEMA_VERSION = 39;

const DS = { type: 'prometheus', uid: '${datasource}' };

const UNITS: Record<Unit, string> = {
  none: 'short',
  ratio: 'percentunit',
  percent: 'percent',
  bytes: 'bytes',
  bytesPerSec: 'Bps',
  bitsPerSec: 'bps',
  seconds: 's',
  perSec: 'ops',
  timestamp: 'dateTimeFromNow',
};

function variable(v: Variable): object {
  return {
    name: v.name,
    label: v.label,
    type: 'query',
    datasource: DS,
    definition: v.query,
    query: { qryType: 1, query: v.query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2, // on time range change
    includeAll: true,
    allValue: '.*',
    multi: true,
    current: { selected: true, text: ['All'], value: ['$__all'] },
    options: [],
    regex: '',
    sort: 1,
    hide: 0,
  };
}

function thresholds(p: Panel): object {
  const steps: object[] = [{ color: 'green', value: null }];
  if (p.warnAt !== undefined) steps.push({ color: 'red', value: p.warnAt });
  return { mode: 'absolute', steps };
}

function panel(p: Panel, id: number, gridPos: object): object {
  const targets = p.queries.map((q, i) => ({
    datasource: DS,
    expr: q.expr,
    legendFormat: q.legend,
    refId: String.fromCharCode(65 + i),
    range: p.kind !== 'stat',
    instant: p.kind === 'stat',
  }));
  const defaults: Record<string, unknown> = { unit: UNITS[p.unit], thresholds: thresholds(p) };
  if (p.noValue !== undefined) defaults.noValue = p.noValue;
  if (p.unit === 'ratio' || p.unit === 'perSec' || p.unit === 'bytesPerSec' || p.unit === 'bitsPerSec')
    defaults.min = 0;
  if (p.kind === 'stat') {
    return {
      id,
      type: 'stat',
      title: p.title,
      description: p.description,
      datasource: DS,
      gridPos,
      fieldConfig: { defaults: { ...defaults, color: { mode: 'thresholds' } }, overrides: [] },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'value',
        graphMode: 'area',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
      targets,
    };
  }
  return {
    id,
    type: 'timeseries',
    title: p.title,
    description: p.description,
    datasource: DS,
    gridPos,
    fieldConfig: {
      defaults: {
        ...defaults,
        color: { mode: 'palette-classic' },
        custom: {
          drawStyle: 'line',
          lineWidth: 1,
          fillOpacity: 10,
          showPoints: 'never',
          spanNulls: false,
          thresholdsStyle: { mode: p.warnAt !== undefined ? 'dashed' : 'off' },
        },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets,
  };
}

export function grafanaDashboard(d: Dashboard): object {
  const panels: object[] = [];
  let id = 1;
  let y = 0;
  for (const row of d.rows) {
    panels.push({
      id: id++,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    for (const p of row.panels) {
      const w = p.width ?? (p.kind === 'stat' ? 6 : 12);
      const h = p.kind === 'stat' ? 5 : 8;
      if (x + w > 24) {
        x = 0;
        y += h;
      }
      panels.push(panel(p, id++, { h, w, x, y }));
      x += w;
      if (x >= 24) {
        x = 0;
        y += h;
      }
    }
    if (x > 0) y += 8;
  }
  return {
    uid: d.id,
    title: d.title,
    description: d.description,
    tags: d.tags,
    editable: true,
    graphTooltip: 1,
    schemaVersion: GRAFANA_SCHEMA_VERSION,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    refresh: '30s',
    timezone: 'browser',
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          hide: 0,
          includeAll: false,
          multi: false,
          refresh: 1,
          regex: '',
          options: [],
        },
        ...d.variables.map(variable),
      ],
    },
    links: [
      {
        title: 'nodegraf',
        type: 'dashboards',
        tags: ['nodegraf'],
        asDropdown: true,
        includeVars: true,
        keepTime: true,
      },
    ],
    panels,
  };
}
