// End to end: the node simulator's kubelet (/pods and /metrics/cadvisor) -> nodegraf with pod
// metadata (kubelet source) and the pod health series -> real VictoriaMetrics and Prometheus,
// queried back. Every container series of a Deployment's pod must carry its workload and the
// listed pod labels, and the health series must flag the simulator's crash-looping and OOM-killed
// pods, in both stores.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PodMetadataConfig } from '../config/types.js';
import { createLogger } from '../log.js';
import { ScrapeManager } from '../scrape/manager.js';
import { startSimulator, type Simulator } from '../sim/simulator.js';
import { testGlobal, testInstance, testWriter, testWriterOpt } from '../testing/config.js';
import { waitFor } from '../testing/net.js';
import {
  flushVm,
  peerMissing,
  PROMETHEUS_BIN,
  startPrometheus,
  startVictoriaMetrics,
  VM_BIN,
  type Receiver,
} from '../testing/peers.js';
import { Fanout } from '../write/fanout.js';
import { RemoteWriter } from '../write/writer.js';
import { PodMetadata } from './pod-metadata.js';

const skip = peerMissing(VM_BIN) ?? peerMissing(PROMETHEUS_BIN);

describe('pod metadata and pod health in real VictoriaMetrics and Prometheus', { skip }, () => {
  let vm: Receiver;
  let prom: Receiver;
  let sim: Simulator;
  let pods: PodMetadata;
  let manager: ScrapeManager;
  const writers: RemoteWriter[] = [];
  const log = createLogger('error', 'text');

  before(async () => {
    [vm, prom] = await Promise.all([startVictoriaMetrics(), startPrometheus()]);
    sim = await startSimulator({ tokens: ['tok'], kubeProxyPort: 0, kubeProxyHealthPort: 0, kubeletPort: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'nodegraf-pods-e2e-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'tok\n');
    const pm: PodMetadataConfig = {
      enable: true,
      source: 'kubelet',
      nodeName: '',
      apiserverUrl: '',
      kubeletUrl: sim.kubeletUrl,
      pollIntervalMs: 1000,
      bearerTokenFile: tokenFile,
      tlsCa: '',
      insecureSkipVerify: true,
      podLabels: ['region', 'dept'],
      podAnnotations: [],
      healthMetrics: true,
      dropStaleContainers: true,
    };
    const global = testGlobal({ labels: { cluster: 'e2e' } });
    pods = new PodMetadata(pm, global, log);
    pods.start();
    assert.ok(await pods.view.waitSynced(10_000), 'first /pods list');
    for (const r of [vm, prom]) {
      const w = new RemoteWriter(testWriter(r.writeUrl), testWriterOpt, { dir: '', maxBytes: 0 }, log);
      await w.start();
      writers.push(w);
    }
    const config = {
      global,
      writerOpt: testWriterOpt,
      inputs: [
        {
          name: 'prometheus',
          instances: [
            testInstance({
              urls: [`${sim.kubeletUrl}/metrics/cadvisor`],
              labels: { job: 'cadvisor' },
              bearerTokenFile: tokenFile,
              tls: { useTls: true, insecureSkipVerify: true },
            }),
          ],
        },
      ],
    } as unknown as ConstructorParameters<typeof ScrapeManager>[0];
    manager = new ScrapeManager(config, new Fanout(writers), log, {
      pods: pods.view,
      internal: [pods.health!],
    });
    const reports = await manager.scrapeAll();
    for (const r of reports) assert.ok(r.up, `${r.target}: ${r.error?.describe()}`);
    await waitFor('delivery', () => writers.every((w) => w.memorySamples === 0), 30_000);
    await flushVm(vm);
    // VictoriaMetrics makes new series searchable a moment after they are written, flush or not
    for (const r of [vm, prom])
      await waitFor(
        `${r.kind}: the pod health series`,
        async () => {
          await flushVm(r);
          return (await r.query('count({job="pod-health"})')).length > 0;
        },
        30_000,
      );
  });

  after(async () => {
    await manager?.stop();
    await pods?.stop();
    await Promise.all(writers.map((w) => w.close(1000)));
    await Promise.all([vm?.stop(), prom?.stop(), sim?.close()]);
  });

  for (const name of ['victoria-metrics', 'prometheus'] as const) {
    test(`${name}: every container series of a Deployment's pod carries workload and pod labels`, async () => {
      const r = name === 'victoria-metrics' ? vm : prom;
      const deployments = sim.model.pods.filter((p) => p.owner?.kind === 'ReplicaSet');
      assert.ok(deployments.length >= 3);
      // over a window, not at the query's instant: cAdvisor stamps its samples up to a housekeeping
      // interval back, and a loaded machine queries some seconds after the one scrape; whether the
      // instant lookback still reaches every sample then is the engine's business, not this test's
      const rows = await r.query(
        'last_over_time(container_cpu_usage_seconds_total{job="cadvisor",container!="",pod!=""}[10m])',
      );
      let checked = 0;
      let podsSeen = 0;
      for (const p of deployments) {
        // a crash-looping container has no series while it waits; its pod sandbox has
        const mine = rows.filter((x) => x.metric.pod === p.name);
        if (mine.length) podsSeen++;
        for (const x of mine) {
          assert.equal(x.metric.workload_kind, 'Deployment', `${p.name}`);
          assert.equal(x.metric.workload, p.name.split('-').slice(0, -2).join('-'));
          assert.equal(x.metric.label_region, p.labels.region);
          assert.equal(x.metric.label_dept, p.labels.dept);
          assert.equal(x.metric.cluster, 'e2e');
          checked++;
        }
      }
      assert.ok(podsSeen >= deployments.length - 1, `${podsSeen} of ${deployments.length} pods have series`);
      const join = await r.query(
        'sum by (label_dept) (container_memory_working_set_bytes{container!=""} * on(namespace, pod) group_left() (kube_pod_labels > 0))',
      );
      assert.ok(join.length > 0, 'the PromQL join over our own kube_pod_labels');
      console.log(`${name}: ${checked} container series of ${deployments.length} Deployment pods enriched`);
    });

    test(`${name}: the pod health series flag the crash-looping and the OOM-killed pod`, async () => {
      const r = name === 'victoria-metrics' ? vm : prom;
      const oom = await r.query('kube_pod_container_status_last_terminated_reason{reason="OOMKilled"} == 1');
      const all = await r.query('count by (__name__) ({job="pod-health"})');
      assert.ok(
        oom.some((x) => x.metric.pod.startsWith('recommender-')),
        JSON.stringify(all),
      );
      assert.equal(oom[0].metric.workload_kind, 'Deployment');
      const crash = await r.query('kube_pod_container_status_restarts_total{pod=~"flaky-api-.*"} > 3');
      assert.equal(crash.length, 1, 'flaky-api restarts');
      const err = await r.query(
        'kube_pod_container_status_last_terminated_reason{reason="Error",pod=~"flaky-api-.*"}',
      );
      assert.equal(err.length, 1, 'flaky-api terminated with Error');
      const phase = await r.query('sum(kube_pod_status_phase{phase="Running"})');
      assert.ok(Number(phase[0].value[1]) >= 10, 'running pods');
    });

    test(`${name}: the native sidecar of db-0 has its init-container series, cAdvisor rows and metadata`, async () => {
      const r = name === 'victoria-metrics' ? vm : prom;
      const info = await r.query('kube_pod_init_container_info{pod="db-0"}');
      assert.deepEqual(
        info.map((x) => [x.metric.container, x.metric.restart_policy, x.metric.image_spec]),
        [['postgres-exporter', 'Always', 'quay.io/prometheuscommunity/postgres-exporter:v0.15.0']],
      );
      const running = await r.query('kube_pod_init_container_status_running{pod="db-0"} == 1');
      assert.equal(running.length, 1);
      const req = await r.query('kube_pod_init_container_resource_requests{pod="db-0", resource="cpu"}');
      assert.equal(Number(req[0]!.value[1]), 0.05);
      // the app container's families do not list it (as kube-state-metrics)
      assert.equal((await r.query('kube_pod_container_info{pod="db-0"}')).length, 1);
      // cAdvisor's rows of the sidecar are enriched like any container of the pod
      const cpu = await r.query(
        'container_cpu_usage_seconds_total{pod="db-0", container="postgres-exporter"}',
      );
      assert.ok(
        cpu.length > 0 &&
          cpu.every((x) => x.metric.workload === 'db' && x.metric.workload_kind === 'StatefulSet'),
      );
    });
  }

  test('the node top (pod view summary) lists the sidecar as a container of its pod', () => {
    const db = pods.pods().find((p) => p.name === 'db-0')!;
    assert.deepEqual(
      db.containers.map((c) => c.name),
      ['postgres', 'postgres-exporter'],
    );
  });
});
