// The kit's files: generated ones in sync with their sources, the dashboards in the shape Grafana
// and Nightingale import, every query valid PromQL by the official grammar, the alert rules loaded
// and unit-tested by promtool (firing on bad data, silent on healthy data).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { peerMissing, PROMTOOL_BIN } from '../testing/peers.js';
import { parser } from '@prometheus-io/lezer-promql';
import { ALERT_FILES, alertGroups, generated, ROOT, RUNBOOK_BASE_URL } from './generate.js';
import { DASHBOARDS } from './dashboards.js';
import { kitQueries, syntaxErrors, withoutThresholds } from './queries.js';

test('the generated dashboards and PrometheusRule are in sync with their sources (npm run kit)', () => {
  for (const [path, text] of generated())
    assert.equal(readFileSync(join(ROOT, path), 'utf8'), text, `${path} is stale: run npm run kit`);
});

describe('Grafana dashboards', () => {
  for (const file of readdirSync(join(ROOT, 'dashboards/grafana')).filter((f) => f.endsWith('.json'))) {
    test(`${file}: schemaVersion 39+, a prometheus datasource variable, no fixed datasource uid`, () => {
      const text = readFileSync(join(ROOT, 'dashboards/grafana', file), 'utf8');
      const d = JSON.parse(text) as {
        schemaVersion: number;
        uid: string;
        templating: { list: { name: string; type: string; query: unknown }[] };
        panels: {
          id: number;
          type: string;
          datasource?: { uid: string };
          targets?: { datasource: { uid: string } }[];
        }[];
      };
      assert.ok(d.schemaVersion >= 39);
      assert.match(d.uid, /^[a-z0-9-]{1,40}$/);
      const ds = d.templating.list.find((v) => v.type === 'datasource');
      assert.deepEqual([ds?.name, ds?.query], ['datasource', 'prometheus']);
      for (const name of ['cluster', 'ident'])
        assert.ok(
          d.templating.list.some((v) => v.name === name && v.type === 'query'),
          `variable ${name}`,
        );
      const uids = [...text.matchAll(/"uid": "([^"]*)"/g)].map((m) => m[1]);
      for (const uid of uids)
        assert.ok(uid === '${datasource}' || uid === '-- Grafana --' || uid === d.uid, uid);
      const ids = d.panels.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
      for (const p of d.panels.filter((x) => x.type !== 'row')) {
        assert.equal(p.datasource?.uid, '${datasource}');
        assert.ok(p.targets?.length);
      }
    });
  }

  test('the containers dashboard has the workload and pod-label variables, and no name/image matchers', () => {
    const d = JSON.parse(readFileSync(join(ROOT, 'dashboards/grafana/nodegraf-containers.json'), 'utf8')) as {
      templating: { list: { name: string }[] };
    };
    const names = d.templating.list.map((v) => v.name);
    for (const v of [
      'cluster',
      'ident',
      'namespace',
      'workload_kind',
      'workload',
      'pod',
      'label_region',
      'label_dept',
    ])
      assert.ok(names.includes(v), v);
    for (const q of kitQueries(ROOT).filter((x) => x.where.includes('containers')))
      assert.doesNotMatch(q.raw, /\b(name|image)\s*(=|!=|=~|!~)\s*"/, q.where);
  });

  test('provisioning.yaml: a file provider', () => {
    const p = parse(readFileSync(join(ROOT, 'dashboards/grafana/provisioning.yaml'), 'utf8')) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    assert.equal(p.apiVersion, 1);
    assert.equal(p.providers[0].type, 'file');
    assert.ok(p.providers[0].options.path);
  });
});

test('Nightingale dashboards: configs with version, var (prom datasource, ident) and panels with targets', () => {
  const files = readdirSync(join(ROOT, 'dashboards/nightingale')).filter((f) => f.endsWith('.json'));
  assert.equal(files.length, DASHBOARDS.length);
  for (const file of files) {
    const d = JSON.parse(readFileSync(join(ROOT, 'dashboards/nightingale', file), 'utf8')) as {
      name: string;
      configs: {
        version: string;
        var: { name: string; type: string; datasource?: { cate: string; value: string } }[];
        panels: {
          id: string;
          type: string;
          layout: { i: string };
          datasourceValue?: string;
          targets?: unknown[];
        }[];
      };
    };
    assert.ok(d.name && d.configs.version, file);
    assert.deepEqual(
      d.configs.var.filter((v) => v.type === 'datasource').map((v) => v.name),
      ['prom'],
    );
    assert.ok(
      d.configs.var.some((v) => v.name === 'ident'),
      `${file}: ident variable`,
    );
    for (const v of d.configs.var.filter((x) => x.type === 'query'))
      assert.equal(v.datasource?.value, '${prom}');
    for (const p of d.configs.panels) {
      assert.equal(p.layout.i, p.id);
      if (p.type !== 'row') {
        assert.equal(p.datasourceValue, '${prom}');
        assert.ok(p.targets?.length, `${file}: ${p.id}`);
      }
    }
  }
});

test('every dashboard, variable and rule query parses with the official PromQL grammar', () => {
  const qs = kitQueries(ROOT);
  assert.ok(qs.length > 100, `${qs.length} queries`);
  for (const q of qs) {
    assert.deepEqual(syntaxErrors(q.expr), [], `${q.where}: ${q.expr}`);
    assert.deepEqual(syntaxErrors(withoutThresholds(q.expr)), [], `${q.where} without thresholds`);
  }
  console.log(`# ${qs.length} queries parsed`);
});

/** Every `by (...)` of an aggregation and `on (...)` of a vector match in a PromQL expression. */
function groupings(expr: string): string[][] {
  const out: string[][] = [];
  parser.parse(expr).iterate({
    enter(n) {
      if (n.name !== 'By' && n.name !== 'On') return;
      const labels = n.node.nextSibling;
      if (labels?.name !== 'GroupingLabels') return;
      out.push(labels.getChildren('LabelName').map((l) => expr.slice(l.from, l.to)));
    },
  });
  return out;
}

test('alert rules keep cluster in every aggregation and match: one cluster never merges with another', () => {
  assert.deepEqual(groupings('sum by (cluster, ident) (x) * on (a) group_left (n) y'), [
    ['cluster', 'ident'],
    ['a'],
  ]);
  const rules = kitQueries(ROOT).filter((q) => q.kind === 'rule');
  assert.ok(rules.length > 30);
  for (const q of rules)
    for (const g of groupings(q.raw)) assert.ok(g.includes('cluster'), `${q.where}: by/on (${g.join(', ')})`);
});

test('every alert rule links its runbook: a runbook_url to a section of docs/alerts.md', () => {
  const doc = readFileSync(join(ROOT, 'docs/alerts.md'), 'utf8');
  const anchors = new Set([...doc.matchAll(/^###? (\w+)\s*$/gm)].map((m) => m[1].toLowerCase()));
  for (const f of ALERT_FILES)
    for (const g of alertGroups(f))
      for (const r of g.rules as Array<{ alert: string; annotations: Record<string, string> }>) {
        assert.equal(r.annotations.runbook_url, `${RUNBOOK_BASE_URL}#${r.alert.toLowerCase()}`, r.alert);
        assert.ok(anchors.has(r.alert.toLowerCase()), `docs/alerts.md has no section ${r.alert}`);
      }
});

test('npm run kit -- rules: the rules with a site runbook URL and a release label, loadable as shipped', () => {
  const out = mkdtempSync(join(tmpdir(), 'nodegraf-rules-'));
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src/kit/generate.ts'),
      'rules',
      '--out',
      out,
      '--runbook-base-url',
      'https://wiki.example.com/sre/nodegraf-alerts',
      '--label',
      'release=kube-prometheus-stack',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const pr = parse(readFileSync(join(out, 'prometheusrule.yaml'), 'utf8')) as {
    metadata: { labels: Record<string, string> };
    spec: { groups: Array<{ rules: Array<{ alert: string; annotations: Record<string, string> }> }> };
  };
  assert.equal(pr.metadata.labels.release, 'kube-prometheus-stack');
  const rules = pr.spec.groups.flatMap((g) => g.rules);
  assert.equal(rules.length, kitQueries(ROOT).filter((q) => q.kind === 'rule').length);
  for (const rule of rules)
    assert.equal(
      rule.annotations.runbook_url,
      `https://wiki.example.com/sre/nodegraf-alerts#${rule.alert.toLowerCase()}`,
    );
  if (!peerMissing(PROMTOOL_BIN)) {
    const files = ALERT_FILES.map((f) => join(out, 'alerts', f));
    assert.match(execFileSync(PROMTOOL_BIN, ['check', 'rules', ...files], { encoding: 'utf8' }), /SUCCESS/);
  }
});

test('withoutThresholds strips comparisons with numbers only', () => {
  assert.equal(withoutThresholds('up == 0'), 'up');
  assert.equal(withoutThresholds('(a >= 1) * on (x) group_left (n) b'), '(a) * on (x) group_left (n) b');
  assert.equal(withoutThresholds('a / b and b != 0'), 'a / b and b');
  assert.equal(withoutThresholds('a > b'), 'a > b');
});

describe('alert rules with promtool', { skip: peerMissing(PROMTOOL_BIN) }, () => {
  test('promtool check rules: every file loads', () => {
    const out = execFileSync(
      PROMTOOL_BIN,
      ['check', 'rules', ...ALERT_FILES.map((f) => join(ROOT, 'alerts', f))],
      {
        encoding: 'utf8',
      },
    );
    assert.match(out, /SUCCESS/);
  });

  test('promtool test rules: every rule fires on bad data and stays silent on healthy data', () => {
    const tests = readdirSync(join(ROOT, 'alerts/tests')).filter((f) => f.endsWith('.yaml'));
    const r = spawnSync(PROMTOOL_BIN, ['test', 'rules', ...tests], {
      cwd: join(ROOT, 'alerts/tests'),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    // every alert has at least one test that expects it and one that expects silence
    const text = tests.map((f) => readFileSync(join(ROOT, 'alerts/tests', f), 'utf8')).join('\n');
    const doc = tests.flatMap(
      (f) =>
        (
          parse(readFileSync(join(ROOT, 'alerts/tests', f), 'utf8')) as {
            tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
          }
        ).tests,
    );
    const cases = doc.flatMap((t) => t.alert_rule_test ?? []);
    for (const q of kitQueries(ROOT).filter((x) => x.kind === 'rule')) {
      const name = q.where.split(': ')[1];
      assert.ok(
        cases.some((c) => c.alertname === name && (c.exp_alerts?.length ?? 0) > 0),
        `${name} fires in a test`,
      );
      assert.ok(
        cases.some((c) => c.alertname === name && (c.exp_alerts?.length ?? 0) === 0),
        `${name} silent in a test`,
      );
    }
    assert.ok(text.length > 0);
  });
});
