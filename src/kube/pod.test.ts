import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fixture, fixturesMissing } from '../testing/shared.js';
import { kubeLabelName, parsePod, parseQuantity, workloadOf } from './pod.js';

const pod = (o: { name?: string; owners?: object[]; labels?: object; annotations?: object } = {}) =>
  parsePod({
    metadata: {
      namespace: 'shop',
      name: o.name ?? 'p',
      uid: 'u',
      labels: o.labels ?? {},
      annotations: o.annotations ?? {},
      ownerReferences: o.owners,
    },
    spec: { nodeName: 'node-1', containers: [] },
    status: {},
  })!;

test('workload from ownerReferences: Deployment via its ReplicaSet and pod-template-hash, CronJob via its Job', () => {
  const rs = [{ kind: 'ReplicaSet', name: 'web-5d4f8c7b9', controller: true }];
  assert.deepEqual(workloadOf(pod({ owners: rs, labels: { 'pod-template-hash': '5d4f8c7b9' } })), {
    kind: 'Deployment',
    name: 'web',
  });
  // a ReplicaSet nobody made from a Deployment (no pod-template-hash) stays a ReplicaSet
  assert.deepEqual(workloadOf(pod({ owners: rs })), { kind: 'ReplicaSet', name: 'web-5d4f8c7b9' });
  const ss = [{ kind: 'StatefulSet', name: 'db', controller: true }];
  assert.deepEqual(workloadOf(pod({ owners: ss })), { kind: 'StatefulSet', name: 'db' });
  const ds = [{ kind: 'DaemonSet', name: 'kube-proxy', controller: true }];
  assert.deepEqual(workloadOf(pod({ owners: ds })), { kind: 'DaemonSet', name: 'kube-proxy' });
  const cron = [{ kind: 'Job', name: 'cleanup-29936400', controller: true }];
  assert.deepEqual(workloadOf(pod({ owners: cron })), { kind: 'CronJob', name: 'cleanup' });
  const job = [{ kind: 'Job', name: 'report-generator', controller: true }];
  assert.deepEqual(workloadOf(pod({ owners: job })), { kind: 'Job', name: 'report-generator' });
  assert.deepEqual(workloadOf(pod({ name: 'debug-shell' })), { kind: 'Pod', name: 'debug-shell' });
  // the mirror pod of a static pod (API) and the static pod itself (kubelet /pods)
  const node = [{ kind: 'Node', name: 'node-1', controller: true }];
  assert.deepEqual(workloadOf(pod({ owners: node })), { kind: 'Node', name: 'node-1' });
  const stat = pod({ name: 'etcd-node-1', annotations: { 'kubernetes.io/config.source': 'file' } });
  assert.deepEqual(workloadOf(stat), { kind: 'Node', name: 'node-1' });
  assert.deepEqual(stat.owners, [{ kind: 'Node', name: 'node-1', controller: true }]);
});

test('Kubernetes quantities', () => {
  assert.equal(parseQuantity('250m'), 0.25);
  assert.equal(parseQuantity('1'), 1);
  assert.equal(parseQuantity('1.5'), 1.5);
  assert.equal(parseQuantity('1Gi'), 1073741824);
  assert.equal(parseQuantity('92960Ki'), 92960 * 1024);
  assert.equal(parseQuantity('5M'), 5e6);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity('100n'), 1e-7);
  assert.ok(Number.isNaN(parseQuantity('1 Gi')));
  assert.ok(Number.isNaN(parseQuantity('lots')));
});

test('label names as kube-state-metrics writes them', () => {
  assert.equal(kubeLabelName('label', 'region'), 'label_region');
  assert.equal(kubeLabelName('label', 'app.kubernetes.io/name'), 'label_app_kubernetes_io_name');
  assert.equal(kubeLabelName('label', 'regionName'), 'label_region_name');
  assert.equal(kubeLabelName('annotation', 'owner-team'), 'annotation_owner_team');
});

test('every real PodList parses; every pod gets a workload', { skip: fixturesMissing() }, () => {
  const dir = fixture('pods');
  const kinds = new Map<string, number>();
  let pods = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const list = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as { items: unknown[] };
    for (const item of list.items) {
      const p = parsePod(item);
      assert.ok(p, `${f}: a pod without namespace or name`);
      const w = workloadOf(p);
      assert.ok(w.kind && w.name, `${f}: ${p.namespace}/${p.name} has no workload`);
      kinds.set(w.kind, (kinds.get(w.kind) ?? 0) + 1);
      pods++;
    }
  }
  console.log(`${pods} pods; workloads: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  for (const k of ['Deployment', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob', 'Node', 'Pod'])
    assert.ok(kinds.has(k), `no ${k} among the real pods`);
});
