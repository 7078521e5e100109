// The whole job without Kubernetes: `--test --once` against the node simulator, and `demo`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type Simulator } from '../sim/simulator.js';
import { waitFor } from '../testing/net.js';
import { nodegraf } from '../testing/cli.js';
import { kitConfForSimulator } from '../testing/kit-conf.js';
import { demoToken } from './demo-token.js';
import { articleInputToml } from './demo.js';

const MAIN = join(import.meta.dirname, 'main.ts');

describe('against the node simulator', () => {
  let sim: Simulator;
  let conf: string;
  let demoTokenValue = '';
  before(async () => {
    const token = demoToken();
    demoTokenValue = token;
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

  test('input.kubelet drop_pod_cgroup_rows: no pod-total or pause rows but the network ones; the node rows stay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodegraf-sim-podrows-'));
    writeFileSync(join(dir, 'token'), demoTokenValue + '\n');
    const kit = join(dir, 'conf');
    kitConfForSimulator(sim, kit, join(dir, 'token'), join(dir, 'queue'));
    appendFileSync(join(kit, 'input.kubelet', 'kubelet.toml'), 'drop_pod_cgroup_rows = true\n');
    const r = await nodegraf(['--test', '--once', '--configs', kit], { HOSTNAME: 'sim-node' });
    assert.equal(r.code, 0, r.stderr);
    const cadvisor = r.stdout.split('\n').filter((l) => / job=cadvisor( |$)/.test(l));
    const podRow = (l: string) => / pod=\S/.test(l) && !/ container=(?!POD )\S/.test(l);
    const name = (l: string) => l.split(' ')[2];
    assert.deepEqual(
      [...new Set(cadvisor.filter(podRow).map(name))].filter((n) => !n.startsWith('container_network_')),
      [],
    );
    assert.ok(cadvisor.some((l) => podRow(l) && name(l) === 'container_network_receive_bytes_total'));
    assert.ok(
      cadvisor.some((l) => / id=\/ /.test(l) && name(l) === 'container_fs_usage_bytes'),
      'node rows',
    );
    assert.ok(
      cadvisor.some((l) => / container=checkout /.test(l) && name(l) === 'container_cpu_usage_seconds_total'),
    );
    assert.ok(!cadvisor.some((l) => l.includes('__nodegraf_keep')));
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

test("demo: simulator + agent + status page, the node's five targets up (kubelet resource and probes included), then a clean stop", async () => {
  // Not a fixed --duration: on a loaded machine the first scrapes may come late. The demo runs
  // until its report shows the node's five targets up (bounded), then gets Ctrl-C. Port 0: a port picked
  // in advance may be taken by another test's server before the demo binds it.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'demo', '--interval', '2', '--http', '127.0.0.1:0'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const upLine = (job: string) => new RegExp(`up {3}${job} +\\d+ samples/scrape.*samples collected so far`);
  try {
    await waitFor(
      "the node's targets up in the report: the article's three and the kubelet's resource and probes endpoints",
      () =>
        ['kube-proxy', 'kubelet', 'cadvisor', 'kubelet-resource', 'kubelet-probes'].every((job) =>
          upLine(job).test(stdout),
        ),
      90_000,
    );
    // the page's node top has the simulator's containers once the first scrape is in
    const url = /status page (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)![1];
    const res = (await (await fetch(`${url}/api/containers`)).json()) as { containers: unknown[] };
    assert.ok(res.containers.length >= 10, `${res.containers.length} containers on the page`);
    assert.match(await (await fetch(`${url}/`)).text(), /Node top: containers/);
    await waitFor(
      'an example line',
      () => /e\.g\. cadvisor: container_cpu_usage_seconds_total\{/.test(stdout),
      30_000,
    );
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, stderr + stdout);
  // pod metadata from the simulated kubelet's /pods: workload labels and the pod health target
  assert.match(stdout, /e\.g\. cadvisor: container_cpu_usage_seconds_total\{[^\n]*workload_kind="/);
  assert.match(stdout, /up {3}pod-health +\d+ samples\/scrape/);
  // the page URL is the first line
  assert.match(stdout.split('\n')[0], /^nodegraf demo: status page http:\/\/127\.0\.0\.1:\d+\//);
  // without --remote-write the demo shows what it collects: no "samples are dropped" warning
  assert.doesNotMatch(stdout + stderr, /no \[\[writers\]\] configured/);
  assert.match(stdout, /stopped/);
});

test('demo --store without VictoriaMetrics installed says how to get it', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'demo', '--store', '--http', '127.0.0.1:0'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, VM_BIN: '/nonexistent/victoria-metrics' },
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.notEqual(code, 0);
  assert.match(
    out,
    /--store needs VictoriaMetrics at \/nonexistent\/victoria-metrics: run `sudo bash scripts\/install-peers.sh`/,
  );
});
