// kube-state-metrics kept beside nodegraf (as docs/kubernetes.md advises): both report the same pods,
// nodegraf as job="pod-health" (with ident), kube-state-metrics as job="kube-state-metrics" (without,
// and with only the pod labels of its allowlist). Written into real Prometheus and VictoriaMetrics,
// the kit must count each pod once: every dashboard panel and pod alert over kube_pod_* gives what
// it gives with nodegraf's series alone, and the documented kube_pod_labels join runs on both engines.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compressSync } from 'snappy';
import { encodeLabels, WriteRequestBuilder, type LabelPairs } from '../prompb/encode.js';
import {
  flushVm,
  peerMissing,
  PROMETHEUS_BIN,
  startPrometheus,
  startVictoriaMetrics,
  VM_BIN,
  waitQueryable,
  type Receiver,
} from '../testing/peers.js';
import { ROOT } from './generate.js';
import { kitQueries } from './queries.js';

const skip = peerMissing(VM_BIN) ?? peerMissing(PROMETHEUS_BIN);
const STEP_MS = 15_000;
const STEPS = 80; // 20 minutes

type Pod = { namespace: string; pod: string; container: string; restartsPerStep: number; waiting?: string };
const PODS: Pod[] = [
  {
    namespace: 'shop',
    pod: 'checkout-7d9f-x2',
    container: 'checkout',
    restartsPerStep: 0.25,
    waiting: 'CrashLoopBackOff',
  },
  {
    namespace: 'shop',
    pod: 'cart-5c4b-k8',
    container: 'cart',
    restartsPerStep: 0,
    waiting: 'CreateContainerConfigError',
  },
  { namespace: 'db', pod: 'pg-0', container: 'pg', restartsPerStep: 0 },
];

/** Both sources' series for PODS, one sample per step, ending at `end`. */
function requests(end: number): Buffer[] {
  const b = new WriteRequestBuilder();
  const bodies: Buffer[] = [];
  const sources: Array<{ job: string; extra: LabelPairs; podLabels: LabelPairs }> = [
    {
      job: 'pod-health',
      extra: [
        ['ident', 'node-1'],
        ['instance', '127.0.0.1:10250'],
      ],
      podLabels: [
        ['label_dept', 'retail'],
        ['label_region', 'eu-west-1'],
      ],
    },
    // its default allowlist exports no pod label: kube_pod_labels{namespace, pod, uid} only
    { job: 'kube-state-metrics', extra: [['instance', '10.0.3.4:8080']], podLabels: [] },
  ];
  for (let i = 0; i < STEPS; i++) {
    const ts = end - (STEPS - 1 - i) * STEP_MS;
    const put = (name: string, labels: LabelPairs, v: number) => {
      const all: LabelPairs = [['__name__', name], ['cluster', 'proof'], ...labels];
      all.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
      b.append(encodeLabels(all), v, ts);
    };
    for (const p of PODS) {
      const pl: LabelPairs = [
        ['namespace', p.namespace],
        ['pod', p.pod],
      ];
      const cl: LabelPairs = [...pl, ['container', p.container]];
      for (const s of sources) {
        const base: LabelPairs = [['job', s.job], ...s.extra];
        put('kube_pod_info', [...base, ...pl, ['node', 'node-1']], 1);
        put('kube_pod_labels', [...base, ...pl, ...s.podLabels], 1);
        put('kube_pod_container_status_restarts_total', [...base, ...cl], Math.floor(i * p.restartsPerStep));
        put('kube_pod_container_status_last_terminated_reason', [...base, ...cl, ['reason', 'OOMKilled']], 1);
        if (p.waiting)
          put('kube_pod_container_status_waiting_reason', [...base, ...cl, ['reason', p.waiting]], 1);
        put('kube_pod_status_ready', [...base, ...pl, ['condition', 'false']], p.waiting ? 1 : 0);
        put('kube_pod_status_ready', [...base, ...pl, ['condition', 'true']], p.waiting ? 0 : 1);
        put('kube_pod_status_phase', [...base, ...pl, ['phase', 'Running']], 1);
      }
      put(
        'container_fs_writes_bytes_total',
        [
          ['job', 'cadvisor'],
          ['ident', 'node-1'],
          ...cl,
          ['label_dept', 'retail'],
          ['label_region', 'eu-west-1'],
        ],
        i * 4096,
      );
    }
    if (b.length > 256 * 1024) bodies.push(b.take());
  }
  bodies.push(b.take());
  return bodies;
}

/**
 * The expression with every kube_pod_* selector restricted to nodegraf's series: a bare name, and a
 * `{__name__=~"kube_pod_…|kube_pod_init_…"}` selector (the names inside its regex are left alone).
 */
const nodegrafOnly = (expr: string) =>
  expr
    .replace(/(?<!["|])\b(kube_pod_[a-z_]+)(\{|\b(?!\{))/g, (_m, n: string, brace: string) =>
      brace === '{' ? `${n}{job="pod-health", ` : `${n}{job="pod-health"}`,
    )
    .replace(/\{__name__=~"kube_pod_/g, '{job="pod-health", __name__=~"kube_pod_');

type Series = { metric: Record<string, string>; value: [number, string] };
const key = (s: Series) =>
  JSON.stringify(
    Object.entries(s.metric)
      .filter(([k]) => k !== 'job' && k !== 'instance' && k !== 'ident')
      .sort(),
  );
const asMap = (rs: Series[]) => new Map(rs.map((s) => [key(s), Number(s.value[1])]));

/** The ```promql lines of the docs that join kube_pod_labels. */
function documentedJoins(): string[] {
  const out = new Set<string>();
  for (const doc of ['docs/kubernetes.md', 'docs/metrics-guide.md'])
    for (const m of readFileSync(join(ROOT, doc), 'utf8').matchAll(/```promql\n([\s\S]*?)```/g))
      for (const line of m[1].split('\n'))
        if (line.includes('group_left') && line.includes('kube_pod_labels')) out.add(line.trim());
  return [...out];
}

describe('kube-state-metrics beside nodegraf on real Prometheus and VictoriaMetrics', { skip }, () => {
  let stores: Receiver[] = [];
  const end = Math.floor(Date.now() / STEP_MS) * STEP_MS;

  before(async () => {
    stores = await Promise.all([startPrometheus(), startVictoriaMetrics()]);
    for (const body of requests(end))
      for (const r of stores) {
        const res = await fetch(r.writeUrl, {
          method: 'POST',
          body: compressSync(body),
          headers: {
            'Content-Type': 'application/x-protobuf',
            'Content-Encoding': 'snappy',
            'X-Prometheus-Remote-Write-Version': '0.1.0',
          },
        });
        assert.ok(res.ok, `${r.kind}: ${res.status} ${await res.text()}`);
      }
    await flushVm(stores[1]);
    await waitQueryable(stores, 'count(kube_pod_info{job="kube-state-metrics"})', end / 1000);
  });

  after(() => Promise.all(stores.map((r) => r.stop())));

  const queries = kitQueries(ROOT).filter((q) => /kube_pod_/.test(q.expr) && q.kind !== 'variable');

  for (const kind of ['prometheus', 'victoria-metrics'] as const) {
    test(`${kind}: every panel and pod alert over kube_pod_* gives with both sources what nodegraf's alone gives`, async () => {
      const r = stores.find((s) => s.kind === kind)!;
      assert.ok(queries.some((q) => q.kind === 'rule') && queries.some((q) => q.kind === 'panel'));
      for (const q of queries) {
        const both = (await r.query(q.expr, end / 1000)) as Series[];
        const alone = (await r.query(nodegrafOnly(q.expr), end / 1000)) as Series[];
        assert.notEqual(nodegrafOnly(q.expr), q.expr);
        // the healthy pod pg-0 keeps e.g. KubePodOOMKilled silent: only a query with data proves much
        const ours = asMap(alone);
        assert.deepEqual(asMap(both), ours, `${q.where}\n  ${q.expr}`);
        assert.equal(both.length, alone.length, `${q.where}: one series per pod, not one per source`);
      }
      const restarts = queries.find(
        (q) => q.where.endsWith('Restarts in the last hour') && q.kind === 'panel',
      )!;
      const res = (await r.query(restarts.expr, end / 1000)) as Series[];
      const checkout = res.find((s) => s.metric.pod === 'checkout-7d9f-x2')!;
      // 0.25 restarts a step over 80 steps: 19 in the window, extrapolated by increase(); not twice that
      assert.ok(Number(checkout.value[1]) > 15 && Number(checkout.value[1]) < 25, checkout.value[1]);
    });

    test(`${kind}: the documented kube_pod_labels join runs and gives each container its pod's labels`, async () => {
      const r = stores.find((s) => s.kind === kind)!;
      const joins = documentedJoins();
      assert.ok(joins.length >= 1, 'the docs show the join');
      for (const j of joins) {
        const res = (await r.query(j, end / 1000)) as Series[];
        assert.equal(res.length, PODS.length, `${j}: one series per container`);
        for (const s of res)
          assert.deepEqual([s.metric.label_region, s.metric.label_dept], ['eu-west-1', 'retail'], j);
      }
    });
  }
});
