// The series contract: what the kit needs from a job, checked on real captures — a kubelet 1.20
// whose cAdvisor has no CPU throttling counters (no container there had a CPU limit) and a 1.35
// one that has everything — through a target's pipeline and over a real socket.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fixture, fixturesMissing } from '../testing/shared.js';
import { startFixtureServer, type FixtureServer } from '../testing/fixture-server.js';
import { testGlobal, testInstance, testWriterOpt } from '../testing/config.js';
import type { Chunk } from '../prompb/chunk.js';
import { describeMissing, missingFamilies, SERIES_CONTRACT } from './contract.js';
import { KIT_READERS } from './kit-readers.js';
import { pipelineOptions, TargetPipeline } from './pipeline.js';
import { ScrapeTarget } from './target.js';

const skip = fixturesMissing();

function familiesOf(body: Buffer, o = pipelineOptions()): Set<string> {
  const p = new TargetPipeline(o);
  p.process(body, false, Date.now(), () => undefined);
  return new Set(p.families().keys());
}

test('every family of the contract is one the kit reads (the table cannot drift from the kit)', () => {
  for (const e of SERIES_CONTRACT)
    assert.ok(
      e.families.some((f) => KIT_READERS[f] !== undefined),
      `${e.families.join(' | ')} (${e.job}) is read by no panel or alert`,
    );
});

test(
  'cAdvisor of 1.20 without throttling counters: the two CFS families are missing, with what they empty',
  { skip },
  () => {
    const present = familiesOf(readFileSync(fixture('cadvisor', 'nri-k8s-1_20-metrics-cadvisor.txt')));
    assert.ok(present.has('container_cpu_usage_seconds_total'));
    const missing = missingFamilies('cadvisor', present);
    assert.deepEqual(
      missing.map((m) => m.family),
      ['container_cpu_cfs_throttled_periods_total', 'container_cpu_cfs_periods_total'],
    );
    assert.ok(missing[0]!.empties.includes('alert ContainerCPUThrottled'), missing[0]!.empties.join());
    assert.ok(missing[0]!.empties.some((e) => e.startsWith('nodegraf-containers: ')));
    assert.match(describeMissing(missing[0]!), /likely: no container on this node has a CPU limit/);
    // the same families are not the kubelet job's business
    assert.deepEqual(
      missingFamilies('kubelet', present).map((m) => m.family),
      [
        'kubelet_running_pods | kubelet_running_pod_count',
        'kubelet_pleg_relist_duration_seconds_bucket | kubelet_pleg_relist_latency_microseconds',
      ],
    );
  },
);

test(
  'cAdvisor of 1.35 meets the contract; a metrics_drop that removes a needed family breaks it',
  { skip },
  () => {
    const body = readFileSync(fixture('cadvisor', 'nri-k8s-1_35-metrics-cadvisor.txt'));
    assert.deepEqual(missingFamilies('cadvisor', familiesOf(body)), []);
    const dropped = familiesOf(
      body,
      pipelineOptions({ keepMetric: (n) => n !== 'container_memory_working_set_bytes' }),
    );
    assert.deepEqual(
      missingFamilies('cadvisor', dropped).map((m) => m.family),
      ['container_memory_working_set_bytes'],
    );
  },
);

test(
  'kubelets of 1.10 to 1.21 (old and new names) and kube-proxies meet theirs; a userspace kube-proxy syncs no rules',
  { skip },
  () => {
    for (const f of ['dd-k8s-v1_10_0', 'netdata-k8s-v1_13_4', 'dd-k8s-v1_21_2'])
      assert.deepEqual(
        missingFamilies('kubelet', familiesOf(readFileSync(fixture('kubelet', `${f}-kubelet-metrics.txt`)))),
        [],
        f,
      );
    for (const f of [
      'dd-k8s-v1_8_3-kube-proxy-iptables',
      'dd-k8s-v1_21_1-kube-proxy-iptables',
      'beats-k8s-v1_30-kube-proxy',
    ])
      assert.deepEqual(
        missingFamilies('kube-proxy', familiesOf(readFileSync(fixture('kube-proxy', `${f}-metrics.txt`)))),
        [],
        f,
      );
    const userspace = missingFamilies(
      'kube-proxy',
      familiesOf(readFileSync(fixture('kube-proxy', 'dd-k8s-v1_21_1-kube-proxy-userspace-metrics.txt'))),
    );
    assert.equal(userspace.length, 1);
    assert.match(userspace[0]!.cause, /userspace/);
  },
);

describe(
  'a target over a real socket reports the missing families after its first good scrape',
  { skip },
  () => {
    let server: FixtureServer;
    before(async () => {
      server = await startFixtureServer({
        routes: {
          '/metrics/cadvisor': () =>
            readFileSync(fixture('cadvisor', 'nri-k8s-1_20-metrics-cadvisor.txt'), 'utf8'),
        },
      });
    });
    after(() => server.close());

    test('missingFamilies on the target, as /targets and nodegraf_target_missing_families show it', async () => {
      const url = `${server.url}/metrics/cadvisor`;
      const t = new ScrapeTarget(
        testInstance({ urls: [url], labels: { job: 'cadvisor' } }),
        url,
        testGlobal(),
        testWriterOpt,
      );
      try {
        assert.equal(t.missingFamilies.length, 0);
        const r = await t.scrape({ push: (_c: Chunk) => undefined });
        assert.equal(r.up, true);
        assert.deepEqual(
          t.missingFamilies.map((m) => m.family),
          ['container_cpu_cfs_throttled_periods_total', 'container_cpu_cfs_periods_total'],
        );
      } finally {
        await t.stop();
      }
    });
  },
);
