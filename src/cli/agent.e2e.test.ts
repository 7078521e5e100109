// `nodegraf run` as a process: its own server, reload, and `kill -9` during an outage — the on-disk
// backlog must be delivered to a real VictoriaMetrics after the restart.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFaultProxy, type FaultProxy } from '../testing/fault-proxy.js';
import { startFixtureServer, type FixtureServer } from '../testing/fixture-server.js';
import { freePort, waitFor } from '../testing/net.js';
import { flushVm, peerMissing, startVictoriaMetrics, VM_BIN, type Receiver } from '../testing/peers.js';

const MAIN = join(import.meta.dirname, 'main.ts');
const PAYLOAD = Array.from({ length: 300 }, (_, i) => `agent_test_series{i="${i}"} ${i}`).join('\n') + '\n';

function startAgent(conf: string, logFile: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'run', '--configs', conf], {
    env: { ...process.env, HOSTNAME: 'agent-node' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => log.push(d));
  child.stderr!.on('data', (d: Buffer) => {
    log.push(d);
    writeFileSync(logFile, Buffer.concat(log));
  });
  return child;
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{'))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

describe('the agent process', { skip: peerMissing(VM_BIN) }, () => {
  let vm: Receiver;
  let proxy: FaultProxy;
  let target: FixtureServer;
  let dir: string;
  let conf: string;
  let base: string;
  let agent: ChildProcess | undefined;

  before(async () => {
    vm = await startVictoriaMetrics();
    proxy = await startFaultProxy(vm.writeUrl);
    target = await startFixtureServer({ routes: { '/metrics': PAYLOAD } });
    dir = mkdtempSync(join(tmpdir(), 'nodegraf-agent-'));
    conf = join(dir, 'conf');
    mkdirSync(join(conf, 'input.prometheus'), { recursive: true });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(conf, 'config.toml'),
      `[global]
hostname = "$HOSTNAME"
interval = 1
[writer_opt]
batch = 100
chan_size = 400
[[writers]]
url = "${proxy.url}"
timeout = 2000
[queue]
dir = "${join(dir, 'queue')}"
[http]
address = "127.0.0.1:${port}"
enable_lifecycle = true
`,
    );
    writeFileSync(
      join(conf, 'input.prometheus', 'prometheus.toml'),
      `[[instances]]\nurls = ["${target.url}/metrics"]\nlabels = { job = "agent-test" }\n`,
    );
  });

  after(async () => {
    agent?.kill('SIGKILL');
    await Promise.all([vm?.stop(), proxy?.close(), target?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('own server: /healthz, /readyz, /targets, /metrics, status page, POST /-/reload', async () => {
    agent = startAgent(conf, join(dir, 'agent1.log'));
    await waitFor('agent ready', async () => (await fetch(`${base}/readyz`)).ok, 30_000);
    assert.equal(await (await fetch(`${base}/healthz`)).text(), 'ok\n');
    await waitFor('a scrape', async () => (await metric(base, 'nodegraf_target_up')) === 1, 15_000);
    const targets = (await (await fetch(`${base}/targets`)).json()) as {
      targets: Array<{ health: string; job: string; samples: number }>;
    };
    assert.equal(targets.targets[0].health, 'up');
    assert.equal(targets.targets[0].job, 'agent-test');
    assert.equal(targets.targets[0].samples, 300);
    await waitFor(
      'samples delivered',
      async () => (await metric(base, 'nodegraf_writer_sent_samples_total')) >= 305,
      15_000,
    );
    assert.ok((await metric(base, 'process_resident_memory_bytes')) > 0);
    // the page is a shell; its data comes from the JSON API it polls
    const page = await (await fetch(`${base}/`)).text();
    assert.match(page, /<h2 id="h-targets">Targets<\/h2>/);
    const status = (await (await fetch(`${base}/api/status`)).json()) as { targets: { job: string }[] };
    assert.equal(status.targets[0].job, 'agent-test');
    assert.equal((await fetch(`${base}/-/reload`)).status, 405, 'GET is refused');
    const csrf = await fetch(`${base}/-/reload`, {
      method: 'POST',
      headers: { origin: 'http://other.example' },
    });
    assert.equal(csrf.status, 403, 'a POST from another site is refused');
    const reload = await fetch(`${base}/-/reload`, { method: 'POST' });
    assert.equal(reload.status, 200, await reload.text());
    assert.equal(await metric(base, 'nodegraf_config_reloads_total'), 1);
    agent.kill('SIGHUP'); // same as POST /-/reload
    await waitFor(
      'SIGHUP reload',
      async () => (await metric(base, 'nodegraf_config_reloads_total')) === 2,
      10_000,
    );
    // a broken file: the reload fails, the agent keeps running with the old configuration
    const input = join(conf, 'input.prometheus', 'prometheus.toml');
    const good = readFileSync(input, 'utf8');
    writeFileSync(input, good + 'timeout = true\n');
    const bad = await fetch(`${base}/-/reload`, { method: 'POST' });
    assert.equal(bad.status, 500);
    assert.match(await bad.text(), /prometheus\.toml:4: .*timeout/);
    assert.equal(await metric(base, 'nodegraf_config_last_reload_successful'), 0);
    writeFileSync(input, good);
    assert.ok((await fetch(`${base}/readyz`)).ok);
  });

  test('kill -9 during an outage, restart: the on-disk backlog is delivered', async () => {
    assert.ok(agent, 'agent from the previous test');
    proxy.fallback = 'drop-connection';
    const firstScrapes = await metric(base, 'nodegraf_target_scrapes_total');
    await waitFor(
      'backlog on disk',
      async () => (await metric(base, 'nodegraf_writer_disk_queue_samples')) >= 1500,
      60_000,
    );
    const outageScrapes = (await metric(base, 'nodegraf_target_scrapes_total')) - firstScrapes;
    agent!.kill('SIGKILL');
    await exited(agent!);
    proxy.fallback = 'forward';
    agent = startAgent(conf, join(dir, 'agent2.log'));
    await waitFor('agent ready again', async () => (await fetch(`${base}/readyz`)).ok, 30_000);
    await waitFor(
      'backlog delivered',
      async () => (await metric(base, 'nodegraf_writer_disk_queue_samples')) === 0,
      60_000,
    );
    await flushVm(vm);
    // every scrape of the outage (at least those persisted before the kill) arrived: each has `up`
    const ups = await vm.query('count_over_time(up{job="agent-test"}[1h])');
    const series = await vm.query('count(last_over_time(agent_test_series[1h]))');
    assert.equal(Number(series[0].value[1]), 300);
    assert.ok(
      Number(ups[0].value[1]) >= outageScrapes - 2,
      `${ups[0].value[1]} scrapes stored, ${outageScrapes} during the outage`,
    );
    const corrupt = readFileSync(join(dir, 'agent2.log'), 'utf8');
    console.log(
      `# kill -9: ${outageScrapes} scrapes during the outage, ${ups[0].value[1]} scrapes of up stored after restart`,
    );
    agent!.kill('SIGTERM');
    assert.equal(await exited(agent!), 0, corrupt);
    agent = undefined;
  });
});

describe('outages with the default memory queue', { skip: peerMissing(VM_BIN) }, () => {
  let vm: Receiver;
  let proxy: FaultProxy;
  let targets: FixtureServer[];
  let dir: string;
  let conf: string;
  let base: string;
  const agents: ChildProcess[] = [];

  before(async () => {
    vm = await startVictoriaMetrics();
    proxy = await startFaultProxy(vm.writeUrl);
    targets = await Promise.all(
      ['a', 'b'].map((t) =>
        startFixtureServer({
          routes: { '/metrics': PAYLOAD.replaceAll('agent_test_series', `outage_${t}_series`) },
        }),
      ),
    );
    dir = mkdtempSync(join(tmpdir(), 'nodegraf-agent-'));
    conf = join(dir, 'conf');
    mkdirSync(join(conf, 'input.prometheus'), { recursive: true });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // [writer_opt] left at its defaults: chan_size = 1,000,000 samples, far more than the outage
    writeFileSync(
      join(conf, 'config.toml'),
      `[global]
hostname = "$HOSTNAME"
interval = 1
[writer_opt]
shutdown_grace = "2s"
[[writers]]
url = "${proxy.url}"
timeout = 30000
[queue]
dir = "${join(dir, 'queue')}"
[http]
address = "127.0.0.1:${port}"
`,
    );
    writeFileSync(
      join(conf, 'input.prometheus', 'prometheus.toml'),
      targets
        .map((t, i) => `[[instances]]\nurls = ["${t.url}/metrics"]\nlabels = { job = "outage-${'ab'[i]}" }\n`)
        .join(''),
    );
  });

  after(async () => {
    for (const a of agents) a.kill('SIGKILL');
    await Promise.all([vm?.stop(), proxy?.close(), ...(targets ?? []).map((t) => t.close())]);
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (name: string) => {
    const a = startAgent(conf, join(dir, name));
    agents.push(a);
    return a;
  };
  const logOf = (name: string) => readFileSync(join(dir, name), 'utf8');

  test('kill -9 during an outage: after the restart every scrape of every target has its up', async () => {
    const first = start('kill1.log');
    await waitFor('agent ready', async () => (await fetch(`${base}/readyz`)).ok, 30_000);
    proxy.fallback = 'drop-connection';
    const outageStart = Date.now();
    // about 8 scrapes per target while the store is down, all far below the memory bound
    await waitFor(
      '8 scrapes per target',
      async () => (await metric(base, 'nodegraf_target_scrapes_total')) >= 16,
      30_000,
    );
    await waitFor(
      'the outage is noticed',
      async () => (await metric(base, 'nodegraf_writer_up')) === 0,
      15_000,
    );
    await new Promise((r) => setTimeout(r, 6000));
    const scrapesBefore = await metric(base, 'nodegraf_target_scrapes_total');
    const killedAt = Date.now();
    first.kill('SIGKILL');
    await exited(first);
    proxy.fallback = 'forward';
    const second = start('kill2.log');
    await waitFor('agent ready again', async () => (await fetch(`${base}/readyz`)).ok, 30_000);
    await waitFor(
      'backlog delivered',
      async () => (await metric(base, 'nodegraf_writer_disk_queue_samples')) === 0,
      60_000,
    );
    await flushVm(vm);
    // the scrapes of the outage: up samples stamped between its start and the kill
    const at = Math.floor(killedAt / 1000);
    const window = Math.ceil((killedAt - outageStart) / 1000);
    for (const job of ['outage-a', 'outage-b']) {
      const r = await vm.query(`count_over_time(up{job="${job}"}[${window}s])`, at);
      const stored = r.length ? Number(r[0].value[1]) : 0;
      const expected = Math.floor(window); // one scrape a second
      console.log(`# kill -9 (default chan_size): ${job}: ${stored} of ~${expected} outage scrapes stored`);
      // at most the last second (one scrape) may be lost, plus one for the window's rounding
      assert.ok(stored >= expected - 2, `${job}: ${stored} scrapes stored, ~${expected} during the outage`);
    }
    assert.ok(scrapesBefore >= 16);
    second.kill('SIGTERM');
    assert.equal(await exited(second), 0, logOf('kill2.log'));
  });

  test('SIGTERM while the store hangs: the agent exits within the grace, a restart right away takes over', async () => {
    const first = start('term1.log');
    await waitFor('agent ready', async () => (await fetch(`${base}/readyz`)).ok, 30_000);
    proxy.fallback = { delayMs: 10 * 60_000 }; // the store accepts the request and never answers
    await waitFor(
      'scrapes during the hang',
      async () => (await metric(base, 'nodegraf_writer_disk_queue_samples')) > 0,
      30_000,
    );
    const t0 = Date.now();
    first.kill('SIGTERM');
    // the next process starts at once: it must wait for the queue lock and the port, not give up
    const second = start('term2.log');
    const code = await exited(first);
    const seconds = (Date.now() - t0) / 1000;
    console.log(
      `# SIGTERM during a hang: exited in ${seconds.toFixed(1)} s (shutdown_grace 2 s, writer timeout 30 s)`,
    );
    assert.equal(code, 0, logOf('term1.log'));
    assert.ok(seconds < 15, `took ${seconds} s`);
    const log1 = logOf('term1.log');
    assert.equal(log1.match(/\d+ unsent samples are in the on-disk queue/g)?.length, 1, log1);
    assert.doesNotMatch(log1, /samples=0\b/);
    proxy.fallback = 'forward';
    await waitFor('second agent ready', async () => (await fetch(`${base}/readyz`)).ok, 30_000);
    const log2 = logOf('term2.log');
    assert.doesNotMatch(log2, /memory only/);
    assert.doesNotMatch(log2, /EADDRINUSE/);
    await waitFor(
      'backlog delivered by the second agent',
      async () => (await metric(base, 'nodegraf_writer_disk_queue_samples')) === 0,
      60_000,
    );
    second.kill('SIGTERM');
    assert.equal(await exited(second), 0, logOf('term2.log'));
  });
});
