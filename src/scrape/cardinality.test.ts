// The series report: on the simulator's busy node through a target's pipeline, and from the
// command line (`--test --once --cardinality`) on a real cAdvisor capture served over a socket.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSimulator } from '../sim/simulator.js';
import { nodegraf } from '../testing/cli.js';
import { startFixtureServer } from '../testing/fixture-server.js';
import { fixture, fixturesMissing } from '../testing/shared.js';
import { cardinalityReport, formatCardinality, type CensusSource } from './cardinality.js';
import { pipelineOptions, TargetPipeline } from './pipeline.js';

test("the simulator's busy node: totals, families with their readers, the unread share, pods and labels", async () => {
  const sim = await startSimulator({
    seed: 5,
    pods: 110,
    kubeProxyPort: 0,
    kubeProxyHealthPort: 0,
    kubeletPort: 0,
  });
  try {
    const now = Date.now();
    const sources: CensusSource[] = [];
    for (const [job, body] of [
      ['cadvisor', sim.render.cadvisor(now)],
      ['kubelet', sim.render.kubeletMetrics(now)],
    ] as const) {
      const p = new TargetPipeline(pipelineOptions({ targetLabels: [['job', job]] }));
      p.process(Buffer.from(body), false, now, () => undefined);
      sources.push({ job, instance: { intervalMs: 10_000 }, census: (v) => p.census(v) });
    }
    const r = cardinalityReport(sources);
    console.log(`# ${formatCardinality(r, 8).split('\n').slice(0, 2).join('\n# ')}`);
    assert.equal(
      r.series,
      r.jobs.reduce((n, j) => n + j.series, 0),
    );
    assert.equal(
      r.series,
      r.families.reduce((n, f) => n + f.series, 0),
    );
    assert.ok(Math.abs(r.samplesPerSecond - r.series / 10) < 1e-6, 'one sample a series every 10 s');
    const cpu = r.families.find((f) => f.family === 'container_cpu_usage_seconds_total')!;
    assert.deepEqual(cpu.jobs, ['cadvisor']);
    assert.ok(cpu.readers.some((x) => x.startsWith('nodegraf-containers: ')));
    assert.ok(cpu.bytesPerSample > 100 && cpu.bytesPerSample < 1000, String(cpu.bytesPerSample));
    // some families nothing of the kit reads, and their share adds up
    const unread = r.families.filter((f) => f.readers.length === 0 && f.family !== 'up');
    assert.ok(unread.length > 10);
    assert.equal(
      r.unread.series,
      unread.reduce((n, f) => n + f.series, 0),
    );
    assert.ok(r.unread.share > 0 && r.unread.share < 1);
    // sorted largest first; pods and labels
    for (let i = 1; i < r.families.length; i++) assert.ok(r.families[i - 1]!.series >= r.families[i]!.series);
    assert.ok(r.pods.length >= 100);
    assert.ok(r.pods[0]!.series >= r.pods.at(-1)!.series);
    assert.ok(r.labels.find((l) => l.label === 'id')!.values > 100);
  } finally {
    await sim.close();
  }
});

test(
  'nodegraf --test --once --cardinality prints the report, not the samples',
  { skip: fixturesMissing() },
  async () => {
    const server = await startFixtureServer({
      routes: { '/metrics/cadvisor': readFileSync(fixture('cadvisor', 'nri-k8s-1_35-metrics-cadvisor.txt')) },
    });
    try {
      const conf = mkdtempSync(join(tmpdir(), 'nodegraf-card-'));
      mkdirSync(join(conf, 'input.prometheus'));
      writeFileSync(join(conf, 'config.toml'), '[global]\nhostname = "node-1"\n[http]\nenable = false\n');
      writeFileSync(
        join(conf, 'input.prometheus', 'prometheus.toml'),
        `[[instances]]\nurls = ["${server.url}/metrics/cadvisor"]\nlabels = { job = "cadvisor" }\n`,
      );
      const r = await nodegraf([
        '--test',
        '--once',
        '--cardinality',
        '--inputs',
        'prometheus',
        '--configs',
        conf,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^\d+ series, \d+ samples\/s, [\d.]+ KiB\/s of remote write before compression/);
      assert.match(r.stdout, /read by no shipped dashboard or alert: \d+ families, \d+ series/);
      assert.match(r.stdout, /container_cpu_usage_seconds_total +\d+/);
      assert.doesNotMatch(r.stdout, /^container_cpu_usage_seconds_total\{/m, 'no sample lines');
      // --cardinality without --test is a usage error
      const bad = await nodegraf(['--cardinality', '--configs', conf]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--cardinality works with --test only/);
    } finally {
      await server.close();
    }
  },
);
