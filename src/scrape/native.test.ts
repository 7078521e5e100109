// A protobuf scrape through a target's pipeline, on the simulator's kubelet page: the classic
// series are those of the text page, the native histograms go in the chunks' `native` form (and as
// converted classic series in the other form when the page has no classic buckets), and a native
// series that goes away gets a staleness marker in both forms.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Chunk } from '../prompb/chunk.js';
import { decodeChunk, type DecodedSample } from '../prompb/decode.js';
import { startSimulator, type Simulator } from '../sim/simulator.js';
import { pipelineOptions, TargetPipeline } from './pipeline.js';
import { ACCEPT_HEADER, acceptHeader } from './client.js';
import { wantsProtobuf } from '../sim/protobuf.js';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ seed: 7, pods: 12, kubeProxyPort: 0, kubeProxyHealthPort: 0, kubeletPort: 0 });
});
after(() => sim.close());

interface Scrape {
  /** What every writer gets (the classic form). */
  classic: DecodedSample[];
  /** What a writer with native_histograms gets. */
  native: DecodedSample[];
}

const nameOf = (s: DecodedSample) => s.labels.find(([k]) => k === '__name__')![1];
const seriesOf = (s: DecodedSample) => JSON.stringify(s.labels);

function scrape(p: TargetPipeline, body: Buffer | string, format: 'text' | 'protobuf', now: number): Scrape {
  const out: Scrape = { classic: [], native: [] };
  const emit = (c: Chunk) => {
    if (c.samples > 0) out.classic.push(...decodeChunk(c.body));
    const n = c.native ?? c;
    if (n.samples > 0) out.native.push(...decodeChunk(n.body));
  };
  p.process(Buffer.from(body), format, now, emit);
  p.flush(emit);
  return out;
}

test('protobuf page: the classic series equal the text page, native histograms beside them', () => {
  const t = 1_800_000_000_000;
  const text = scrape(new TargetPipeline(pipelineOptions()), sim.render.kubeletMetrics(t), 'text', t);
  const pb = scrape(
    new TargetPipeline(pipelineOptions()),
    sim.render.kubeletMetricsProtobuf(t),
    'protobuf',
    t,
  );
  const values = (ss: DecodedSample[]) =>
    new Map(ss.filter((s) => !s.histogram).map((s) => [seriesOf(s), s.value]));
  assert.deepEqual(values(pb.classic), values(text.classic));
  const natives = pb.native.filter((s) => s.histogram);
  const names = new Set(natives.map(nameOf));
  assert.ok(names.has('kubelet_pleg_relist_duration_seconds'), [...names].join());
  assert.ok(names.has('kubelet_runtime_operations_duration_seconds'));
  assert.ok(![...names].some((n) => !n.endsWith('_seconds')), 'only the latency families are native');
  // the native histograms hold the same observations: _count and _sum of the text page
  const classic = values(text.classic);
  for (const n of natives) {
    const rest = n.labels.filter(([k]) => k !== '__name__');
    const count = classic.get(JSON.stringify([['__name__', nameOf(n) + '_count'], ...rest]));
    assert.equal(n.histogram!.count, count, `${nameOf(n)} count`);
    assert.equal(n.histogram!.schema, 3);
    let bucket = 0;
    let total = n.histogram!.zeroCount;
    for (const d of n.histogram!.positive) total += bucket += d; // deltas -> counts
    assert.equal(total, count, `${nameOf(n)}: buckets add up to the count`);
  }
  // a histogram with classic buckets needs no conversion: the classic form has nothing extra
  assert.equal(pb.classic.length, text.classic.length);
});

test('native-only page: writers without native histograms get classic series converted from them', () => {
  const t = 1_800_000_000_000;
  const text = scrape(new TargetPipeline(pipelineOptions()), sim.render.kubeletMetrics(t), 'text', t);
  sim.setFaults({ kubeletNativeOnly: true });
  let body: Buffer;
  try {
    body = sim.render.kubeletMetricsProtobuf(t);
  } finally {
    sim.setFaults({});
  }
  const pb = scrape(new TargetPipeline(pipelineOptions()), body, 'protobuf', t);
  const family = 'kubelet_pleg_relist_duration_seconds';
  const buckets = pb.classic.filter((s) => nameOf(s) === family + '_bucket');
  assert.ok(buckets.length > 20, `${buckets.length} converted buckets (native resolution)`);
  const count = (ss: DecodedSample[]) => ss.find((s) => nameOf(s) === family + '_count')!.value;
  assert.equal(count(pb.classic), count(text.classic));
  const inf = buckets.find((s) => s.labels.some(([k, v]) => k === 'le' && v === '+Inf'))!;
  assert.equal(inf.value, count(text.classic));
  // cumulative: never decreasing in le
  const sorted = buckets
    .map(
      (s) => [Number(s.labels.find(([k]) => k === 'le')![1].replace('+Inf', 'Infinity')), s.value] as const,
    )
    .sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]![1] >= sorted[i - 1]![1]);
  // the native form has the histogram, not the conversion
  assert.ok(pb.native.some((s) => s.histogram && nameOf(s) === family));
  assert.ok(!pb.native.some((s) => nameOf(s) === family + '_bucket'));
});

test('a native histogram that goes away gets a staleness marker in both forms', () => {
  const t = 1_800_000_000_000;
  const p = new TargetPipeline(pipelineOptions());
  sim.setFaults({ kubeletNativeOnly: true });
  try {
    scrape(p, sim.render.kubeletMetricsProtobuf(t), 'protobuf', t);
  } finally {
    sim.setFaults({});
  }
  // the next scrape answers in text (the target no longer offers protobuf)
  const next = scrape(p, sim.render.kubeletMetrics(t + 10_000), 'text', t + 10_000);
  const staleNative = next.native.filter((s) => s.histogram && s.stale);
  assert.ok(staleNative.length > 5, `${staleNative.length} native markers`);
  assert.ok(staleNative.every((s) => s.timestampMs === t + 10_000));
  // the converted buckets that the text page does not have again are marked too
  const staleConverted = next.classic.filter((s) => s.stale && nameOf(s).endsWith('_bucket'));
  assert.ok(staleConverted.length > 20, `${staleConverted.length} converted markers`);
  // and a third scrape has none left to mark
  const third = scrape(p, sim.render.kubeletMetrics(t + 20_000), 'text', t + 20_000);
  assert.equal(third.native.filter((s) => s.stale).length, 0);
});

test('scrape_protocols become an Accept header as Prometheus builds it; the simulator honours the ranking', () => {
  assert.equal(
    acceptHeader(['PrometheusProto', 'PrometheusText0.0.4']),
    'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,text/plain;version=0.0.4;q=0.5,*/*;q=0.4',
  );
  assert.equal(
    ACCEPT_HEADER,
    'application/openmetrics-text;version=1.0.0;q=0.6,text/plain;version=0.0.4;q=0.5,*/*;q=0.4',
  );
  assert.equal(wantsProtobuf(acceptHeader(['PrometheusProto', 'PrometheusText0.0.4'])), true);
  assert.equal(wantsProtobuf(acceptHeader(['PrometheusText0.0.4', 'PrometheusProto'])), false);
  assert.equal(wantsProtobuf(ACCEPT_HEADER), false);
});
