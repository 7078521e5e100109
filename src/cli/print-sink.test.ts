// `--test` output of a protobuf scrape: the classic form as sample lines (what a default writer
// gets), each native histogram as one comment line (what a native_histograms writer gets instead).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Chunk } from '../prompb/chunk.js';
import { pipelineOptions, TargetPipeline } from '../scrape/pipeline.js';
import { startSimulator, type Simulator } from '../sim/simulator.js';
import { PrintSink } from './print-sink.js';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ seed: 7, pods: 12, kubeProxyPort: 0, kubeProxyHealthPort: 0, kubeletPort: 0 });
});
after(() => sim.close());

test('--test output: the classic form as lines, each native histogram as a comment line', () => {
  const t = 1_800_000_000_000;
  const out: string[] = [];
  const sink = new PrintSink(
    { write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream,
    'prom',
  );
  const p = new TargetPipeline(pipelineOptions());
  const emit = (c: Chunk) => sink.push(c);
  p.process(sim.render.kubeletMetricsProtobuf(t, true), 'protobuf', t, emit);
  p.flush(emit);
  const lines = out.join('').split('\n');
  assert.ok(lines.some((l) => l.startsWith('kubelet_pleg_relist_duration_seconds_bucket{le="')));
  const native = lines.find((l) => l.startsWith('# native histogram kubelet_pleg_relist_duration_seconds '));
  assert.match(native ?? '', /count=\d+ sum=[\d.e+-]+ schema=3 buckets=\d+ 1800000000000$/);
});
