import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseAll } from '../testing/parse-all.js';
import { fixture, fixturesMissing } from '../testing/shared.js';
import { HEALTH_FAMILIES, podHealth, renderHealth } from './health.js';
import { parsePod, type Pod } from './pod.js';

// PodLists and kube-state-metrics output captured from the same clusters (same Kubernetes version,
// same source: ../shared/fixtures/real/SOURCES.tsv). 1.16 and 1.18 ran kube-state-metrics 1.x,
// whose series have other shapes (no uid label, a zero-valued series per possible reason): not
// compared. The captures were not taken at the same instant: the pods named below changed state
// in between, and their series of that state differ (every other series must be equal).
const PAIRS = ['1_20', '1_23', '1_24', '1_26', '1_28', '1_32', '1_34', '1_35'];
const DRIFT: Record<string, Record<string, string>> = {
  '1_24': {
    'scraper/e2e-failjob-9wtfb': 'Running in the PodList, Failed when kube-state-metrics was read',
    'scraper/e2e-failjob-slmm5': 'Running in the PodList, Failed when kube-state-metrics was read',
  },
  '1_32': {
    'scraper/e2e-container-creating':
      'terminated (Completed) in the PodList, waiting (CrashLoopBackOff) in kube-state-metrics',
  },
};

const FAMILIES = new Set(HEALTH_FAMILIES.map((f) => f.name));

function podsOf(v: string): Pod[] {
  const list = JSON.parse(readFileSync(fixture('pods', `nri-k8s-${v}-kubelet-pods.json`), 'utf8')) as {
    items: unknown[];
  };
  return list.items.map((i) => parsePod(i)!);
}

test(
  'pod health series equal kube-state-metrics on real captures of the same clusters',
  { skip: fixturesMissing() },
  () => {
    const report: string[] = [];
    for (const v of PAIRS) {
      const pods = podsOf(v);
      const byKey = new Map(pods.map((p) => [p.namespace + '/' + p.name, p]));
      // A static pod is known to the kubelet under its own uid, to the API (and kube-state-metrics)
      // through its mirror pod's: compared without uid. Older kube-state-metrics 2.x (the 1.20 pair) wrote "<none>"
      // for a pod without controller where newer versions (and nodegraf) write no label.
      const key = (name: string, labels: Record<string, string>) => {
        const p = byKey.get(labels.namespace + '/' + labels.pod);
        const pairs = Object.entries(labels)
          .filter(([k, x]) => x !== '' && x !== '<none>' && !(k === 'uid' && p?.static))
          .sort(([a], [b]) => (a < b ? -1 : 1));
        return `${name}{${pairs.map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(',')}}`;
      };
      const ksmText = readFileSync(fixture('ksm', `nri-k8s-${v}-ksm-metrics.txt`));
      const ksm = parseAll(ksmText, { openMetrics: false }).samples.filter(
        (s) => FAMILIES.has(s.name) && byKey.has(s.labels.namespace + '/' + s.labels.pod),
      );
      const theirFamilies = new Set(ksm.map((s) => s.name));
      const ours = parseAll(Buffer.from(renderHealth(pods, { podLabels: [], podAnnotations: [] })), {
        openMetrics: false,
      }).samples.filter((s) => theirFamilies.has(s.name));
      const theirs = new Map(ksm.map((s) => [key(s.name, s.labels), s]));
      const mine = new Map(ours.map((s) => [key(s.name, s.labels), s]));
      const drift = DRIFT[v] ?? {};
      const isDrift = (labels: Record<string, string>) =>
        drift[labels.namespace + '/' + labels.pod] !== undefined;
      let matched = 0;
      let drifted = 0;
      const bad: string[] = [];
      for (const [k, s] of theirs) {
        const m = mine.get(k);
        if (m && m.value === s.value) matched++;
        else if (isDrift(s.labels)) drifted++;
        else
          bad.push(
            m ? `${k}: kube-state-metrics ${s.value}, nodegraf ${m.value}` : `${k}: missing in nodegraf`,
          );
      }
      for (const [k, s] of mine)
        if (!theirs.has(k) && !isDrift(s.labels)) bad.push(`${k}: not in kube-state-metrics`);
      assert.deepEqual(bad, [], `${v}: series that differ`);
      report.push(
        `${v}: ${pods.length} pods, ${matched}/${theirs.size} series equal (${drifted} of pods that changed state between the captures)`,
      );
    }
    console.log(report.join('\n'));
  },
);

test('a crash-looping and an OOM-killed container, as kube-state-metrics reports them', () => {
  const p = parsePod({
    metadata: { namespace: 'default', name: 'api-1', uid: 'u1' },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'api', image: 'api:1', resources: { limits: { memory: '256Mi', cpu: '500m' } } }],
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        {
          name: 'api',
          image: 'api:1',
          imageID: 'sha256:1',
          containerID: 'containerd://c1',
          ready: false,
          restartCount: 7,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
        },
      ],
    },
  })!;
  const got = new Map(
    podHealth(p, { podLabels: [], podAnnotations: [] }).map((s) => [
      s.name + JSON.stringify(Object.fromEntries(s.labels.slice(3))),
      s.value,
    ]),
  );
  assert.equal(
    got.get('kube_pod_container_status_waiting_reason{"container":"api","reason":"CrashLoopBackOff"}'),
    1,
  );
  assert.equal(
    got.get('kube_pod_container_status_last_terminated_reason{"container":"api","reason":"OOMKilled"}'),
    1,
  );
  assert.equal(got.get('kube_pod_container_status_restarts_total{"container":"api"}'), 7);
  assert.equal(got.get('kube_pod_status_ready{"condition":"false"}'), 1);
  assert.equal(got.get('kube_pod_status_phase{"phase":"Running"}'), 1);
  assert.equal(
    got.get(
      'kube_pod_container_resource_limits{"container":"api","node":"n1","resource":"memory","unit":"byte"}',
    ),
    268435456,
  );
  assert.equal(
    got.get(
      'kube_pod_container_resource_limits{"container":"api","node":"n1","resource":"cpu","unit":"core"}',
    ),
    0.5,
  );
  assert.equal(got.get('kube_pod_owner{"owner_kind":"","owner_name":"","owner_is_controller":""}'), 1);
});

test('kube_pod_labels carries the listed labels, named as kube-state-metrics does', () => {
  const p = parsePod({
    metadata: {
      namespace: 's',
      name: 'web-1',
      uid: 'u',
      labels: { region: 'eu', 'app.kubernetes.io/name': 'web', x: 'y' },
    },
    spec: {},
    status: {},
  })!;
  const [labels] = podHealth(p, {
    podLabels: ['region', 'app.kubernetes.io/name', 'absent'],
    podAnnotations: [],
  }).filter((s) => s.name === 'kube_pod_labels');
  assert.deepEqual(labels.labels, [
    ['namespace', 's'],
    ['pod', 'web-1'],
    ['uid', 'u'],
    ['label_app_kubernetes_io_name', 'web'],
    ['label_region', 'eu'],
  ]);
});

test('init containers and native sidecars: kube-state-metrics kube_pod_init_container_* families', () => {
  const p = parsePod({
    metadata: { namespace: 'shop', name: 'db-0', uid: 'u2' },
    spec: {
      nodeName: 'n1',
      initContainers: [
        { name: 'migrate', image: 'migrate:3' },
        {
          name: 'exporter',
          image: 'exporter:0.15',
          restartPolicy: 'Always',
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '50m', memory: '64Mi' } },
        },
      ],
      containers: [{ name: 'postgres', image: 'postgres:16' }],
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      initContainerStatuses: [
        {
          name: 'migrate',
          image: 'migrate:3',
          imageID: 'sha256:m',
          containerID: 'containerd://m1',
          ready: false,
          restartCount: 0,
          state: { terminated: { reason: 'Completed', exitCode: 0 } },
        },
        {
          name: 'exporter',
          image: 'exporter:0.15',
          imageID: 'sha256:e',
          containerID: 'containerd://e2',
          ready: false,
          restartCount: 4,
          started: false,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { reason: 'Error', exitCode: 1 } },
        },
      ],
      containerStatuses: [
        {
          name: 'postgres',
          image: 'postgres:16',
          imageID: 'sha256:p',
          containerID: 'containerd://p1',
          ready: true,
          restartCount: 0,
          state: { running: {} },
        },
      ],
    },
  })!;
  assert.deepEqual(
    p.initContainers.map((c) => [c.name, c.restartPolicy]),
    [
      ['migrate', ''],
      ['exporter', 'Always'],
    ],
  );
  const series = podHealth(p, { podLabels: [], podAnnotations: [] });
  const got = new Map(
    series.map((s) => [
      s.name + JSON.stringify(Object.fromEntries(s.labels.slice(3).filter(([, v]) => v))),
      s.value,
    ]),
  );
  const want: Array<[string, number]> = [
    [
      'kube_pod_init_container_info{"container":"exporter","image_spec":"exporter:0.15","image":"exporter:0.15","image_id":"sha256:e","container_id":"containerd://e2","restart_policy":"Always"}',
      1,
    ],
    [
      'kube_pod_init_container_info{"container":"migrate","image_spec":"migrate:3","image":"migrate:3","image_id":"sha256:m","container_id":"containerd://m1"}',
      1,
    ],
    ['kube_pod_init_container_status_terminated_reason{"container":"migrate","reason":"Completed"}', 1],
    ['kube_pod_init_container_status_running{"container":"exporter"}', 0],
    ['kube_pod_init_container_status_waiting{"container":"exporter"}', 1],
    ['kube_pod_init_container_status_waiting_reason{"container":"exporter","reason":"CrashLoopBackOff"}', 1],
    ['kube_pod_init_container_status_last_terminated_reason{"container":"exporter","reason":"Error"}', 1],
    ['kube_pod_init_container_status_restarts_total{"container":"exporter"}', 4],
    ['kube_pod_init_container_status_ready{"container":"exporter"}', 0],
    [
      'kube_pod_init_container_resource_requests{"container":"exporter","node":"n1","resource":"cpu","unit":"core"}',
      0.05,
    ],
    [
      'kube_pod_init_container_resource_limits{"container":"exporter","node":"n1","resource":"memory","unit":"byte"}',
      64 * 1024 * 1024,
    ],
  ];
  for (const [k, v] of want) assert.equal(got.get(k), v, k);
  // the app container's families hold the app container only
  assert.deepEqual(
    series.filter((s) => s.name === 'kube_pod_container_status_running').map((s) => s.labels[3]![1]),
    ['postgres'],
  );
  // every family written carries HELP and TYPE once in the page
  const page = renderHealth([p], { podLabels: [], podAnnotations: [] });
  for (const f of HEALTH_FAMILIES.filter((f) => f.name.startsWith('kube_pod_init_container')))
    assert.match(page, new RegExp(`^# TYPE ${f.name} ${f.type}$`, 'm'));
});

test(
  "the init-container families are kube-state-metrics' own: names and types as in its 1.35 capture",
  { skip: fixturesMissing() },
  () => {
    // the captured clusters ran no init containers: the samples cannot be compared, the families can
    const ksm = readFileSync(fixture('ksm', 'nri-k8s-1_35-ksm-metrics.txt'), 'utf8');
    for (const f of HEALTH_FAMILIES.filter((f) => f.name.startsWith('kube_pod_init_container'))) {
      assert.match(ksm, new RegExp(`^# TYPE ${f.name} ${f.type}$`, 'm'), f.name);
      const help = new RegExp(`^# HELP ${f.name} (?:\\[STABLE\\] )?(.*)$`, 'm').exec(ksm);
      assert.equal(help?.[1], f.help, f.name);
    }
  },
);
