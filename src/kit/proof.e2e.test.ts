// The proof of the kit on real engines. The node simulator runs on a fast clock: 40 minutes of
// simulated time, from 40 minutes ago until now, scraped every 15 simulated seconds by the whole
// agent (Runtime: kube-proxy, kubelet, cAdvisor, the pod health series with pod metadata, and
// nodegraf's own /metrics) and written to a real Prometheus and a real VictoriaMetrics (the
// scrapes carry the simulated time as their timestamps: a backfill, in order). Then:
//  - every dashboard panel (Grafana and Nightingale files, variables set to All) and every variable
//    query returns data on both engines over the last 10 minutes, as a dashboard asks;
//  - every alert expression runs on both; without its thresholds it returns data (its names and
//    joins are right), except the named exceptions below;
//  - real vmalert loads alerts/*.yaml and, replaying the 40 minutes against VictoriaMetrics, fires
//    for the simulator's crash-looping, OOM-killed, throttled and near-limit containers.
// A real kube-state-metrics capture (1.34, with a crash-looping pod) is scraped beside them as
// job="kube-state-metrics": the same pod rules fire from its series as from nodegraf's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startBackfill, type Backfill } from '../testing/backfill.js';
import { startFixtureServer, type FixtureServer } from '../testing/fixture-server.js';
import { freePort, waitFor } from '../testing/net.js';
import { fixture, fixturesMissing } from '../testing/shared.js';
import {
  flushVm,
  waitQueryable,
  peerMissing,
  PROMETHEUS_BIN,
  startPrometheus,
  startVictoriaMetrics,
  VM_BIN,
  type Receiver,
} from '../testing/peers.js';
import { ALERT_FILES, ROOT } from './generate.js';
import { kitQueries, withoutThresholds, type KitQuery } from './queries.js';

const VMALERT_BIN = VM_BIN.replace(/victoria-metrics$/, 'vmalert');
const skip = peerMissing(VM_BIN) ?? peerMissing(PROMETHEUS_BIN) ?? peerMissing(VMALERT_BIN);

const STEP_MS = 15_000;
const SPAN_MS = 40 * 60_000;

/**
 * Queries that may return nothing here, each with its reason. Keyed by the panel title or alert
 * name (the same in the Grafana and the Nightingale file).
 */
const NO_DATA_EXPECTED: Record<string, string> = {
  Evictions: 'kubelet_evictions exists only after the kubelet evicted a pod; the simulator evicts none',
  KubePodImagePullFailing:
    'the simulator injects no image pull failure (the promtool tests make this rule fire)',
  'Pod start latency p99':
    'the simulator starts no pod after its boot: the buckets do not move, rate() is 0 and the quantile NaN',
  'Container file systems (usage of size)':
    'containerd kubelets (as simulated, and the real captures of 1.20-1.35) report file systems for the root cgroup only; the node panels show them',
  KubeletPodStartUpLatencyHigh: 'as the "Pod start latency p99" panel: no pod starts, the quantile is NaN',
  KubeletEvicting: 'kubelet_evictions exists only after an eviction (as the Evictions panel)',
  KubeClientErrors:
    'the simulated API server answers no 5xx: the numerator has no series (the promtool tests make it fire)',
  KubeContainerWaiting:
    "the simulator's only waiting container is crash-looping, which this rule leaves to KubePodCrashLooping",
  NodegrafAbsent: 'a silence rule: it returns a series only for an agent that stopped (promtool tests)',
};

/** The real kube-state-metrics output scraped beside the simulator (it has a crash-looping pod). */
const KSM_CAPTURE = 'nri-k8s-1_34-ksm-metrics.txt';

/** Alerts the simulator's faults must make fire in vmalert. */
const MUST_FIRE = [
  'KubePodCrashLooping',
  'KubePodOOMKilled',
  'ContainerCPUThrottled',
  'ContainerMemoryNearLimit',
];

/** The job of the cAdvisor scrape with the pod-cgroup rows dropped. */
const NO_POD_ROWS = 'cadvisor-no-pod-rows';

/** docs/kubernetes.md's relabel rules that drop the pod-cgroup and pause rows, as written there. */
function documentedPodRowDrop(): string {
  const doc = readFileSync(join(ROOT, 'docs/kubernetes.md'), 'utf8');
  const block = [...doc.matchAll(/```toml\n([\s\S]*?)```/g)].find((m) => m[1].includes('__nodegraf_keep'));
  if (!block) throw new Error('docs/kubernetes.md lost its pod-row relabel rules');
  return block[1];
}

type Series = { metric: Record<string, string>; values?: [number, string][]; value?: [number, string] };

/**
 * The series of a query's answer that hold a number: NaN alone is no data (Prometheus returns NaN
 * where VictoriaMetrics returns nothing, e.g. a quantile of buckets that did not move).
 */
async function api(r: Receiver, path: string, params: Record<string, string>): Promise<Series[]> {
  const res = await fetch(`${r.baseUrl}${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as { status: string; data: { result: Series[] }; error?: string };
  if (body.status !== 'success') throw new Error(`${r.kind}: ${body.error} in ${params.query}`);
  return body.data.result.filter((s) =>
    (s.values ?? (s.value ? [s.value] : [])).some(([, v]) => v !== 'NaN'),
  );
}

describe('dashboards and alert rules on real Prometheus, VictoriaMetrics and vmalert', { skip }, () => {
  let vm: Receiver;
  let prom: Receiver;
  let bf: Backfill;
  let ksm: FixtureServer | undefined;
  const end = Math.floor(Date.now() / STEP_MS) * STEP_MS;
  const start = end - SPAN_MS;

  before(async () => {
    [vm, prom] = await Promise.all([startVictoriaMetrics(), startPrometheus()]);
    const http = `127.0.0.1:${await freePort()}`;
    const ksmMissing = fixturesMissing();
    if (ksmMissing) console.log(`# no kube-state-metrics capture: ${ksmMissing}; its part is skipped`);
    else
      ksm = await startFixtureServer({
        routes: { '/metrics': readFileSync(fixture('ksm', KSM_CAPTURE)) },
        contentType: 'text/plain; version=0.0.4',
      });
    bf = await startBackfill({
      writeUrls: [vm.writeUrl, prom.writeUrl],
      startMs: start,
      stepMs: STEP_MS,
      steps: SPAN_MS / STEP_MS + 1,
      labels: { cluster: 'proof' },
      http,
      // nodegraf's own /metrics, as the deploy kit scrapes it, kube-state-metrics, and cAdvisor
      // once more with the pod-cgroup rows dropped by docs/kubernetes.md's relabel rules
      instances: (kubeletUrl, tokenFile) =>
        `[[instances]]\nurls = ["http://${http}/metrics"]\nlabels = { job = "nodegraf" }\n` +
        (ksm
          ? `[[instances]]\nurls = ["${ksm.url}/metrics"]\nlabels = { job = "kube-state-metrics" }\n`
          : '') +
        `[[instances]]\nurls = ["${kubeletUrl}/metrics/cadvisor"]\nbearer_token_file = "${tokenFile}"\n` +
        `use_tls = true\ninsecure_skip_verify = true\nlabels = { job = "${NO_POD_ROWS}" }\n` +
        documentedPodRowDrop(),
    });
    // 161 scrapes of every target, each at its simulated instant
    await bf.run();
    await waitFor('delivery to both stores', () => bf.drained(), 120_000);
    await waitQueryable([vm, prom], 'count(up{job="cadvisor"})', end / 1000);
  });

  /** engine, query, result: written to test-output/kit-proof.tsv for the record. */
  const results: [string, string, string][] = [];

  after(async () => {
    const out = join(ROOT, 'test-output');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'kit-proof.tsv'), results.map((r) => r.join('\t')).join('\n') + '\n');
    console.log(`# results per query: ${join(out, 'kit-proof.tsv')}`);
    await bf?.stop();
    await Promise.all([vm?.stop(), prom?.stop(), ksm?.close()]);
  });

  const queries = kitQueries(ROOT);
  const nameOf = (q: KitQuery) => q.where.slice(q.where.indexOf(': ') + 2);

  for (const engine of ['prometheus', 'victoria-metrics'] as const) {
    test(`${engine}: every dashboard panel and variable query returns data over the last 10 minutes`, async () => {
      const r = engine === 'prometheus' ? prom : vm;
      const empty: string[] = [];
      let ran = 0;
      let excused = 0;
      for (const q of queries.filter((x) => x.kind !== 'rule')) {
        const res = await api(r, '/api/v1/query_range', {
          query: q.expr,
          start: String((end - 10 * 60_000) / 1000),
          end: String(end / 1000),
          step: '30',
        });
        ran++;
        const why = NO_DATA_EXPECTED[nameOf(q)];
        results.push([
          engine,
          q.where,
          res.length ? `data (${res.length} series)` : why ? `no data, excused: ${why}` : 'NO DATA',
        ]);
        if (res.length === 0 && why) excused++;
        else if (res.length === 0) empty.push(`${q.where}\n    ${q.expr}`);
      }
      assert.deepEqual(empty, [], `queries without data on ${engine}`);
      console.log(
        `# ${engine}: ${ran} panel and variable queries ran, ${ran - excused} with data, ${excused} excused`,
      );
    });

    test(`${engine}: every alert expression runs, and without its thresholds returns data`, async () => {
      const r = engine === 'prometheus' ? prom : vm;
      const empty: string[] = [];
      const firing: string[] = [];
      for (const q of queries.filter((x) => x.kind === 'rule')) {
        const now = await api(r, '/api/v1/query', { query: q.expr, time: String(end / 1000) });
        if (now.length) firing.push(nameOf(q));
        const inner = withoutThresholds(q.expr);
        const res = await api(r, '/api/v1/query', { query: inner, time: String(end / 1000) });
        const why = NO_DATA_EXPECTED[nameOf(q)];
        results.push([
          engine,
          q.where,
          `${now.length ? 'true' : 'false'} at the end; without thresholds ${res.length ? `${res.length} series` : why ? `no data, excused: ${why}` : 'NO DATA'}`,
        ]);
        if (res.length === 0 && !why) empty.push(`${q.where}\n    ${inner}`);
      }
      assert.deepEqual(empty, [], `alert expressions without data on ${engine}`);
      console.log(`# ${engine}: alert conditions true at the end: ${firing.join(', ')}`);
    });
  }

  test('vmalert loads the rules and fires for the crash-looping, OOM-killed, throttled and near-limit containers', async () => {
    const port = await freePort();
    const args = [
      ...ALERT_FILES.map((f) => `-rule=${join(ROOT, 'alerts', f)}`),
      `-datasource.url=${vm.baseUrl}`,
      `-remoteWrite.url=${vm.baseUrl}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      `-replay.timeFrom=${new Date(start).toISOString()}`,
      `-replay.timeTo=${new Date(end).toISOString()}`,
      '-replay.rulesDelay=0s',
      '-evaluationInterval=30s',
      // the replay's range queries step by queryStep (default 5m): a gap wider than the group's
      // interval resets an alert's `for`, so step by the interval
      '-datasource.queryStep=30s',
      '-loggerLevel=ERROR',
    ];
    const child = spawn(VMALERT_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, output);
    await flushVm(vm);
    let fired: string[] = [];
    await waitFor(
      'the ALERTS series of the replay',
      async () => {
        await flushVm(vm);
        const res = await vm.query(
          `count by (alertname) (max_over_time(ALERTS{alertstate="firing"}[${SPAN_MS / 60_000 + 5}m]))`,
          end / 1000,
        );
        fired = res.map((s) => s.metric.alertname).sort();
        return MUST_FIRE.every((a) => fired.includes(a));
      },
      60_000,
    ).catch(() => undefined);
    if (ksm) {
      // the same rule fires from kube-state-metrics' series (its crash-looping pod) and from
      // nodegraf's (the simulator's); a pod both report would be one alert (ksm-beside.e2e.test.ts)
      const res = await vm.query(
        'count by (namespace, pod) (max_over_time(ALERTS{alertstate="firing", alertname="KubePodCrashLooping"}[1h]))',
        end / 1000,
      );
      const pods = res.map((x) => `${x.metric.namespace}/${x.metric.pod}`).sort();
      console.log(`# KubePodCrashLooping fired for: ${pods.join(', ')}`);
      assert.ok(
        pods.includes('scraper/e2e-container-creating'),
        `from kube-state-metrics: ${pods.join(', ')}`,
      );
      assert.ok(
        pods.some((p) => p !== 'scraper/e2e-container-creating'),
        `from nodegraf's pod health series: ${pods.join(', ')}`,
      );
    }
    console.log(`# vmalert (replay of ${SPAN_MS / 60_000} min) fired: ${fired.join(', ')}`);
    for (const q of queries.filter((x) => x.kind === 'rule'))
      results.push(['vmalert', q.where, fired.includes(nameOf(q)) ? 'fired' : 'did not fire']);
    for (const a of MUST_FIRE)
      assert.ok(fired.includes(a), `${a} fired (fired: ${fired.join(', ')})\n${output}`);
  });

  for (const engine of ['prometheus', 'victoria-metrics'] as const) {
    test(`${engine}: with the pod-cgroup rows dropped, the article's sum by (pod) without a filter counts each container once`, async () => {
      const r = engine === 'prometheus' ? prom : vm;
      const t = String(end / 1000);
      const byPod = async (q: string) =>
        new Map(
          (await api(r, '/api/v1/query', { query: q, time: t })).map((x) => [
            x.metric.pod,
            Number(x.value![1]),
          ]),
        );
      for (const [metric, filter] of [
        ['rate(container_cpu_usage_seconds_total', 'container!="", container!="POD"'],
        ['rate(container_fs_writes_bytes_total', 'container!="", container!="POD"'],
        ['rate(container_network_receive_bytes_total', 'pod!=""'],
      ] as const) {
        const verbatim = await byPod(`sum by (pod) (${metric}{job="${NO_POD_ROWS}", namespace="shop"}[1m]))`);
        const filtered = await byPod(
          `sum by (pod) (${metric}{job="cadvisor", namespace="shop", ${filter}}[1m]))`,
        );
        const unfiltered = await byPod(`sum by (pod) (${metric}{job="cadvisor", namespace="shop"}[1m]))`);
        assert.ok(filtered.size >= 3, `${metric}: ${filtered.size} pods`);
        assert.deepEqual([...verbatim.keys()].sort(), [...filtered.keys()].sort(), metric);
        for (const [pod, v] of filtered) {
          const got = verbatim.get(pod)!;
          assert.ok(Math.abs(got - v) <= 1e-9 * Math.max(1, Math.abs(v)), `${metric} ${pod}: ${got} vs ${v}`);
        }
        if (metric.includes('cpu')) {
          const checkout = [...filtered.keys()].find((p) => p.startsWith('checkout-'))!;
          const ratio = unfiltered.get(checkout)! / filtered.get(checkout)!;
          console.log(
            `# ${engine}: checkout CPU by the recipe verbatim: ${unfiltered.get(checkout)!.toFixed(3)} cores with the pod rows, ${verbatim.get(checkout)!.toFixed(3)} without (${ratio.toFixed(2)}x)`,
          );
          assert.ok(ratio > 1.5, `the pod rows double the verbatim sum (${ratio})`);
        }
      }
    });
  }
});
