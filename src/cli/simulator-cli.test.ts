// The whole job without Kubernetes: `--test --once` against the node simulator, and `demo`.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type Simulator } from '../sim/simulator.js';
import { freePort } from '../testing/net.js';
import { nodegraf } from '../testing/cli.js';
import { demoToken } from './demo-token.js';
import { articleInputToml } from './demo.js';

describe('against the node simulator', () => {
  let sim: Simulator;
  let conf: string;
  before(async () => {
    const token = demoToken();
    sim = await startSimulator({ kubeProxyPort: 0, kubeProxyHealthPort: 0, kubeletPort: 0, tokens: [token] });
    const dir = mkdtempSync(join(tmpdir(), 'nodegraf-sim-cli-'));
    writeFileSync(join(dir, 'token'), token);
    conf = join(dir, 'conf');
    mkdirSync(join(conf, 'input.prometheus'), { recursive: true });
    writeFileSync(join(conf, 'config.toml'), '[global]\nhostname = "$HOSTNAME"\ninterval = 15\n');
    writeFileSync(
      join(conf, 'input.prometheus', 'prometheus.toml'),
      articleInputToml(sim.kubeProxyUrl, sim.kubeletUrl, join(dir, 'token')),
    );
  });
  after(() => sim.close());

  test('--test --inputs prometheus --once prints kube-proxy, kubelet and cAdvisor series', async () => {
    const r = await nodegraf(['--test', '--inputs', 'prometheus', '--once', '--configs', conf], {
      HOSTNAME: 'sim-node',
    });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
    assert.ok(count(/ kubeproxy_sync_proxy_rules_duration_seconds_bucket .*job=kube-proxy /) > 5);
    assert.ok(count(/ kubelet_running_pods .*job=kubelet /) === 1);
    assert.ok(count(/ container_cpu_usage_seconds_total .*job=cadvisor /) > 10);
    assert.ok(count(/ container_memory_working_set_bytes .*namespace=shop .*pod=db-0 /) >= 1);
    assert.ok(lines.filter(Boolean).every((l) => l.includes(' ident=sim-node ')));
    assert.equal((r.stderr.match(/: up, \d+ samples/g) ?? []).length, 3);
  });

  test('doctor on a healthy simulator: all checks pass', async () => {
    const r = await nodegraf(['doctor', '--configs', conf], { HOSTNAME: 'sim-node' });
    assert.match(r.stdout, /OK {4}target kube-proxy/);
    assert.match(r.stdout, /OK {4}target cadvisor .*\d+ series/);
    // no writer configured: a warning, and the exit code reflects only failures
    assert.match(r.stdout, /no \[\[writers\]\] configured/);
    assert.equal(r.code, 0, r.stdout);
  });
});

test('demo: simulator + agent + status page, three targets up, then a clean stop', async () => {
  const port = await freePort();
  const r = await nodegraf(
    ['demo', '--duration', '6', '--interval', '2', '--http', `127.0.0.1:${port}`],
    {},
    90_000,
  );
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, new RegExp(`status page http://127\\.0\\.0\\.1:${port}/`));
  for (const job of ['kube-proxy', 'kubelet', 'cadvisor']) {
    assert.match(
      r.stdout,
      new RegExp(`up {3}${job} +\\d+ samples/scrape.*samples collected so far`),
      `${job} up`,
    );
  }
  // without --remote-write the demo shows what it collects: no "samples are dropped" warning
  assert.doesNotMatch(r.stdout + r.stderr, /no \[\[writers\]\] configured/);
  assert.match(r.stdout, /e\.g\. cadvisor: container_cpu_usage_seconds_total\{/);
  assert.match(r.stdout, /stopped/);
});
