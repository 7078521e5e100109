// Writes the generated parts of the kit from their sources: the Grafana and Nightingale dashboards
// from src/kit/dashboards.ts, and the PrometheusRule manifest from alerts/*.yaml.
//   npm run kit            write them
//   npm run kit -- --check exit 1 if a checked-in file differs from what would be written
// (src/kit/kit.test.ts runs the check, so a change to a source without regenerating fails CI).
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { DASHBOARDS } from './dashboards.js';
import { grafanaDashboard } from './grafana.js';
import { nightingaleDashboard } from './nightingale.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');

const json = (o: unknown) => JSON.stringify(o, null, 2) + '\n';

export const ALERT_FILES = ['nodegraf.yaml', 'kubernetes-node.yaml', 'pods.yaml', 'containers.yaml'];

/** alerts/*.yaml as one PrometheusRule (prometheus-operator), for clusters that run the operator. */
function prometheusRule(): string {
  const groups = ALERT_FILES.flatMap(
    (f) => (parse(readFileSync(join(ROOT, 'alerts', f), 'utf8')) as { groups: unknown[] }).groups,
  );
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'nodegraf', labels: { 'app.kubernetes.io/name': 'nodegraf' } },
    spec: { groups },
  };
  return (
    '# Generated from alerts/*.yaml by `npm run kit`: edit those, not this file.\n' +
    stringify(rule, { lineWidth: 0 })
  );
}

/** Every generated file: path relative to the repository -> content. */
export function generated(): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of DASHBOARDS) {
    out.set(`dashboards/grafana/${d.id}.json`, json(grafanaDashboard(d)));
    out.set(`dashboards/nightingale/${d.id}.json`, json(nightingaleDashboard(d)));
  }
  out.set('deploy/prometheus-rules/prometheusrule.yaml', prometheusRule());
  return out;
}

function main(): void {
  const check = process.argv.includes('--check');
  const stale: string[] = [];
  const files = generated();
  for (const [path, text] of files) {
    const file = join(ROOT, path);
    let old = '';
    try {
      old = readFileSync(file, 'utf8');
    } catch {
      // new file
    }
    if (old === text) continue;
    if (check) stale.push(path);
    else {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      console.log(`wrote ${path}`);
    }
  }
  const known = new Set(files.keys());
  for (const dir of ['dashboards/grafana', 'dashboards/nightingale'])
    for (const f of readdirSync(join(ROOT, dir)))
      if (f.endsWith('.json') && !known.has(`${dir}/${f}`)) console.log(`note: ${dir}/${f} is not generated`);
  if (stale.length) {
    console.error(`out of date (run npm run kit): ${stale.join(', ')}`);
    process.exit(1);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) main();
