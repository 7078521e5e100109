// Every PromQL expression the kit ships, read back from the files users import (the Grafana and
// Nightingale dashboards, the variables' label_values queries, the alert rules), checked with the
// official PromQL grammar (@prometheus-io/lezer-promql), and the forms the proof runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';
import { DASHBOARDS } from './dashboards.js';
import { ALERT_FILES } from './files.js';

export interface KitQuery {
  /** file and panel/variable/rule, e.g. "dashboards/grafana/nodegraf-kubelet.json: Up" */
  where: string;
  kind: 'panel' | 'variable' | 'rule';
  /** As written in the file (variables unsubstituted). */
  raw: string;
  /** Runnable PromQL: variables set to "All", label_values(sel, l) as count by (l) (sel). */
  expr: string;
}

/** The window the proof substitutes for $__rate_interval (four 15 s scrapes). */
export const RATE_INTERVAL = '1m';

/** Grafana's and Nightingale's variables as the "All" choice (allValue .*). */
export function substitute(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', RATE_INTERVAL)
    .replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, '.*');
}

/** label_values(<selector>, <label>) as the PromQL that finds the same values. */
export function labelValuesAsPromql(definition: string): string {
  const m = /^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/s.exec(definition.trim());
  if (!m) throw new Error(`not a label_values(selector, label) query: ${definition}`);
  return `count by (${m[2]}) (${m[1]})`;
}

/** Syntax errors the official grammar finds (empty: the expression parses). */
export function syntaxErrors(expr: string): string[] {
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter(n) {
      if (n.type.isError) errors.push(`at ${n.from}: "${expr.slice(Math.max(0, n.from - 15), n.to + 15)}"`);
    },
  });
  return errors;
}

const COMPARISONS = new Set(['Gtr', 'Gte', 'Lss', 'Lte', 'Eql', 'Neq']);

/**
 * The expression with every `<expr> <comparison> <number>` replaced by `<expr>`: what an alert
 * measures before its threshold, which must return data even where the alert is silent.
 */
export function withoutThresholds(expr: string): string {
  for (;;) {
    let cut: { from: number; to: number; keep: string } | undefined;
    parser.parse(expr).iterate({
      enter(n) {
        if (cut || n.name !== 'BinaryExpr') return;
        const kids: { name: string; from: number; to: number }[] = [];
        for (let c = n.node.firstChild; c; c = c.nextSibling)
          kids.push({ name: c.name, from: c.from, to: c.to });
        const op = kids.find((k) => COMPARISONS.has(k.name));
        const last = kids.at(-1)!;
        if (op && last.name === 'NumberDurationLiteral')
          cut = { from: n.from, to: n.to, keep: expr.slice(kids[0].from, kids[0].to) };
      },
    });
    if (!cut) return expr;
    expr = expr.slice(0, cut.from) + cut.keep + expr.slice(cut.to);
  }
}

type GrafanaJson = {
  panels: { type: string; title: string; targets?: { expr: string }[] }[];
  templating: { list: { type: string; name: string; definition?: string }[] };
};
type NightingaleJson = {
  configs: {
    var: { type: string; name: string; definition?: string }[];
    panels: { type: string; name: string; targets?: { expr: string }[] }[];
  };
};

/** Every query of the checked-in kit files. */
export function kitQueries(root: string): KitQuery[] {
  const out: KitQuery[] = [];
  const add = (where: string, kind: KitQuery['kind'], raw: string) =>
    out.push({
      where,
      kind,
      raw,
      expr: substitute(kind === 'variable' ? labelValuesAsPromql(raw) : raw),
    });
  for (const d of DASHBOARDS) {
    const gf = `dashboards/grafana/${d.id}.json`;
    const g = JSON.parse(readFileSync(join(root, gf), 'utf8')) as GrafanaJson;
    for (const v of g.templating.list)
      if (v.type === 'query') add(`${gf}: $${v.name}`, 'variable', v.definition!);
    for (const p of g.panels) for (const t of p.targets ?? []) add(`${gf}: ${p.title}`, 'panel', t.expr);
    const nf = `dashboards/nightingale/${d.id}.json`;
    const n = JSON.parse(readFileSync(join(root, nf), 'utf8')) as NightingaleJson;
    for (const v of n.configs.var)
      if (v.type === 'query') add(`${nf}: $${v.name}`, 'variable', v.definition!);
    for (const p of n.configs.panels)
      for (const t of p.targets ?? []) add(`${nf}: ${p.name}`, 'panel', t.expr);
  }
  for (const f of ALERT_FILES) {
    const doc = parse(readFileSync(join(root, 'alerts', f), 'utf8')) as {
      groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
    };
    for (const g of doc.groups)
      for (const r of g.rules) add(`alerts/${f}: ${r.alert ?? r.record}`, 'rule', r.expr.trim());
  }
  return out;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * The metric families an expression reads: each selector's name, and the names a
 * `{__name__=~"a|b"}` selector lists. Other regexes on __name__ are not followed.
 */
export function familiesOf(expr: string): string[] {
  const out = new Set<string>();
  parser.parse(expr).iterate({
    enter(n) {
      if (n.name !== 'VectorSelector') return;
      for (let c = n.node.firstChild; c; c = c.nextSibling) {
        if (c.name === 'Identifier') out.add(expr.slice(c.from, c.to));
        if (c.name !== 'LabelMatchers') continue;
        for (let m = c.firstChild; m; m = m.nextSibling) {
          const name = m.getChild('LabelName');
          const value = m.getChild('StringLiteral');
          if (!name || !value || expr.slice(name.from, name.to) !== '__name__') continue;
          const v = expr.slice(value.from + 1, value.to - 1);
          for (const alt of v.split('|')) if (NAME.test(alt)) out.add(alt);
        }
      }
    },
  });
  return [...out];
}

/**
 * Every family the kit reads and what reads it: `<dashboard id>: <panel>` (Grafana's; Nightingale's
 * are the same queries) and `alert <name>`, sorted. The agent ships it (src/scrape/kit-readers.ts)
 * to say which panels a missing family empties and which families nothing of the kit reads.
 */
export function kitReaders(root: string): Map<string, string[]> {
  const readers = new Map<string, Set<string>>();
  for (const q of kitQueries(root)) {
    if (q.kind === 'variable' || q.where.startsWith('dashboards/nightingale/')) continue;
    const who =
      q.kind === 'rule'
        ? `alert ${q.where.slice(q.where.indexOf(': ') + 2)}`
        : q.where.replace(/^dashboards\/grafana\/(.*)\.json: /, '$1: ');
    for (const f of familiesOf(q.raw)) {
      let s = readers.get(f);
      if (!s) readers.set(f, (s = new Set()));
      s.add(who);
    }
  }
  return new Map([...readers].sort(([a], [b]) => (a < b ? -1 : 1)).map(([f, s]) => [f, [...s].sort()]));
}

/** src/scrape/kit-readers.ts: the kit's readers as a module of the agent (generated, not formatted by prettier). */
export function kitReadersModule(root: string): string {
  const lines = [
    "// Generated by `npm run kit` (src/kit/queries.ts kitReaders) from the kit's dashboards and alert",
    '// rules: do not edit. Every metric family the kit reads, and the panels and alerts that read it.',
    'export const KIT_READERS: Readonly<Record<string, readonly string[]>> = {',
  ];
  for (const [f, who] of kitReaders(root)) lines.push(`  ${JSON.stringify(f)}: ${JSON.stringify(who)},`);
  lines.push('};', '');
  return lines.join('\n');
}
