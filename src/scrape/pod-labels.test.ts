import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeChunk, type DecodedSample } from '../prompb/decode.js';
import type { Chunk } from '../prompb/chunk.js';
import type { LabelPairs } from '../prompb/encode.js';
import { pipelineOptions, TargetPipeline } from './pipeline.js';
import { PodLabeler, type PodEnrichment, type PodLabelSource } from './pod-labels.js';

/** A pod view in miniature: set() changes a pod's enrichment and bumps the version. */
class FakePods implements PodLabelSource {
  version = 0;
  private readonly m = new Map<string, PodEnrichment>();
  set(key: string, labels: LabelPairs | undefined): void {
    if (labels) this.m.set(key, { labels });
    else this.m.delete(key);
    this.version++;
  }
  lookup(key: string): PodEnrichment | undefined {
    return this.m.get(key);
  }
  isDead(): boolean {
    return false;
  }
}

function pipeline(pods: PodLabelSource) {
  return new TargetPipeline(
    pipelineOptions({ targetLabels: [['job', 'cadvisor']], enricher: new PodLabeler(pods) }),
  );
}

function scrape(p: TargetPipeline, text: string, now: number) {
  const chunks: Chunk[] = [];
  p.process(Buffer.from(text), false, now, (c) => chunks.push(c));
  p.flush((c) => chunks.push(c));
  const samples: DecodedSample[] = chunks.flatMap((c) => decodeChunk(c.body));
  return samples.map((s) => ({ labels: Object.fromEntries(s.labels), stale: Number.isNaN(s.value) }));
}

const WEB = 'container_cpu_usage_seconds_total{namespace="shop",pod="web-1",container="web"} 1\n';

test('series of a known pod get its workload and labels; unknown pods pass through unchanged', () => {
  const pods = new FakePods();
  pods.set('shop/web-1', [
    ['workload_kind', 'Deployment'],
    ['workload', 'web'],
    ['label_region', 'eu'],
  ]);
  const out = scrape(
    pipeline(pods),
    WEB +
      'container_cpu_usage_seconds_total{namespace="shop",pod="other",container="x"} 1\nmachine_cpu_cores 4\n',
    1000,
  );
  assert.deepEqual(out[0].labels, {
    __name__: 'container_cpu_usage_seconds_total',
    container: 'web',
    job: 'cadvisor',
    label_region: 'eu',
    namespace: 'shop',
    pod: 'web-1',
    workload: 'web',
    workload_kind: 'Deployment',
  });
  assert.equal(out[1].labels.workload, undefined, 'unknown pod: unchanged');
  assert.equal(out[2].labels.workload, undefined, 'no pod label: unchanged');
});

test('old cAdvisor pod_name / container_name: enriched, and pod / container added', () => {
  const pods = new FakePods();
  pods.set('shop/web-1', [['workload', 'web']]);
  const [s] = scrape(
    pipeline(pods),
    'container_memory_working_set_bytes{namespace="shop",pod_name="web-1",container_name="web"} 5\n',
    1000,
  );
  assert.equal(s.labels.workload, 'web');
  assert.equal(s.labels.pod, 'web-1');
  assert.equal(s.labels.container, 'web');
  assert.equal(s.labels.pod_name, 'web-1');
});

test('when a pod label changes, the next scrape carries the new value and the old series gets one staleness marker', () => {
  const pods = new FakePods();
  pods.set('shop/web-1', [['label_region', 'eu']]);
  const p = pipeline(pods);
  assert.equal(scrape(p, WEB, 1000)[0].labels.label_region, 'eu');
  assert.equal(scrape(p, WEB, 2000).length, 1, 'unchanged: served from the cache');
  pods.set('shop/web-1', [['label_region', 'us']]);
  const out = scrape(p, WEB, 3000);
  assert.deepEqual(
    out.map((s) => [s.labels.label_region, s.stale]),
    [
      ['us', false],
      ['eu', true],
    ],
  );
  assert.deepEqual(
    scrape(p, WEB, 4000).map((s) => [s.labels.label_region, s.stale]),
    [['us', false]],
    'the marker is sent once',
  );
  // a pod the view learns of later: its series are rebuilt enriched, the plain ones go stale
  const other = 'container_cpu_usage_seconds_total{namespace="shop",pod="late",container="x"} 1\n';
  assert.equal(scrape(p, WEB + other, 5000)[1].labels.workload, undefined);
  pods.set('shop/late', [['workload', 'late']]);
  const after = scrape(p, WEB + other, 6000);
  assert.deepEqual(
    after.map((s) => [s.labels.pod, s.labels.workload, s.stale]),
    [
      ['web-1', undefined, false],
      ['late', 'late', false],
      ['late', undefined, true],
    ],
  );
});

test("a view version that moved without changing this target's pods evicts nothing", () => {
  const pods = new FakePods();
  pods.set('shop/web-1', [['workload', 'web']]);
  const p = pipeline(pods);
  scrape(p, WEB, 1000);
  pods.set('elsewhere/x', [['workload', 'x']]);
  const out = scrape(p, WEB, 2000);
  assert.deepEqual(
    out.map((s) => s.stale),
    [false],
  );
});
