// A dashboard definition as Nightingale (n9e) dashboard JSON, the format Categraf ships for n9e:
// `configs` with `version`, `var` and `panels`, a `prom` datasource variable, and `ident` as the
// host variable. Queries are the Grafana ones as they are: n9e substitutes $__rate_interval too
// (four times the panel's step).
import { createHash } from 'node:crypto';
import type { Dashboard, Panel, Unit, Variable } from './model.js';

const UTIL: Record<Unit, string> = {
  none: 'none',
  ratio: 'percentUnit',
  percent: 'percent',
  bytes: 'bytesIEC',
  bytesPerSec: 'bytesSecIEC',
  bitsPerSec: 'bitsSecSI',
  seconds: 'seconds',
  perSec: 'none',
  timestamp: 'datetimeSeconds',
};

/** Stable ids: a panel keeps its id across regenerations (n9e keys layout by it). */
function uuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const DS = { cate: 'prometheus', value: '${prom}' };

function variable(v: Variable): object {
  return {
    name: v.name,
    label: v.label,
    type: 'query',
    definition: v.query,
    datasource: DS,
    multi: true,
    allOption: true,
    allValue: '.*',
    reg: '',
  };
}

function panel(d: Dashboard, p: Panel, layout: { h: number; w: number; x: number; y: number }): object {
  const id = uuid(`${d.id}/${p.title}`);
  const base = {
    id,
    type: p.kind === 'stat' ? 'stat' : 'timeseries',
    name: p.title,
    description: p.noValue === undefined ? p.description : `${p.description} ${p.noValue}`,
    version: '3.0.0',
    datasourceCate: 'prometheus',
    datasourceValue: '${prom}',
    layout: { ...layout, i: id },
    targets: p.queries.map((q, i) => ({
      refId: String.fromCharCode(65 + i),
      expr: q.expr,
      legend: q.legend,
    })),
    options: {
      tooltip: { mode: 'all', sort: 'desc' },
      legend: { displayMode: 'table' },
      standardOptions: { util: UTIL[p.unit], ...(p.unit === 'ratio' ? { min: 0 } : {}) },
      thresholds: {
        steps: [
          { color: '#634CD9', value: null, type: 'base' },
          ...(p.warnAt !== undefined ? [{ color: '#f50505', value: p.warnAt }] : []),
        ],
      },
    },
  };
  if (p.kind === 'stat') {
    return {
      ...base,
      custom: { textMode: 'valueAndName', colorMode: 'value', calc: 'lastNotNull', colSpan: 1, textSize: {} },
    };
  }
  return {
    ...base,
    custom: { drawStyle: 'lines', lineInterpolation: 'smooth', fillOpacity: 0.3, stack: 'off' },
  };
}

export function nightingaleDashboard(d: Dashboard): object {
  const panels: object[] = [];
  let y = 0;
  for (const row of d.rows) {
    const rowId = uuid(`${d.id}/row/${row.title}`);
    panels.push({
      id: rowId,
      type: 'row',
      name: row.title,
      collapsed: false,
      layout: { h: 1, w: 24, x: 0, y, i: rowId },
      panels: [],
    });
    y += 1;
    let x = 0;
    for (const p of row.panels) {
      const w = p.width ?? (p.kind === 'stat' ? 6 : 12);
      const h = p.kind === 'stat' ? 4 : 7;
      if (x + w > 24) {
        x = 0;
        y += h;
      }
      panels.push(panel(d, p, { h, w, x, y }));
      x += w;
      if (x >= 24) {
        x = 0;
        y += h;
      }
    }
    if (x > 0) y += 7;
  }
  return {
    name: d.title,
    tags: d.tags.join(' '),
    ident: d.id,
    configs: {
      version: '3.0.0',
      links: [],
      var: [
        { name: 'prom', label: 'datasource', type: 'datasource', definition: 'prometheus' },
        ...d.variables.map(variable),
      ],
      panels,
    },
  };
}
