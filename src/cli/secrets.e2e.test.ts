// A secret of every kind the configuration can hold never appears in any output: the log at debug,
// `--test`, `check`, `doctor`, and every page of the agent's own server. Each secret is a distinct
// string, so a leak names the kind that leaked.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startSimulator, type Simulator } from '../sim/simulator.js';
import { nodegraf } from '../testing/cli.js';
import { startFixtureServer, type FixtureServer } from '../testing/fixture-server.js';
import { freePort, waitFor } from '../testing/net.js';
import { startWriteReceiver, type WriteReceiver } from '../testing/receiver.js';

const MAIN = join(import.meta.dirname, 'main.ts');

const SECRETS = {
  writerUrlQuery: 'sqWriterQuery1x',
  writerUrlPassword: 'sqWriterUrlPass2x',
  writerBasicPass: 'sqWriterBasic3x',
  writerHeader: 'sqWriterHeader4x',
  targetBearerString: 'sqTargetBearer5x',
  targetTokenFile: 'sqTokenFileContent6x',
  targetPassword: 'sqTargetPass7x',
  targetUrlQuery: 'sqTargetQuery8x',
  targetHeader: 'sqTargetHeader9x',
  podViewTokenFile: 'sqPodViewToken10x',
  wrongToken: 'sqWrongToken11x',
};

let dir: string;
let conf: string;
let sim: Simulator;
let fixture: FixtureServer;
let rxA: WriteReceiver;
let rxB: WriteReceiver;
let port: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nodegraf-secrets-'));
  conf = join(dir, 'conf');
  mkdirSync(join(conf, 'input.prometheus'), { recursive: true });
  sim = await startSimulator({
    kubeProxyPort: 0,
    kubeProxyHealthPort: 0,
    kubeletPort: 0,
    tokens: [SECRETS.targetTokenFile, SECRETS.podViewTokenFile],
  });
  fixture = await startFixtureServer({
    routes: { '/metrics': 'secret_test_metric 1\n' },
    tokens: [SECRETS.targetBearerString],
  });
  rxA = await startWriteReceiver();
  rxB = await startWriteReceiver();
  port = await freePort();
  writeFileSync(join(conf, 'token'), `${SECRETS.targetTokenFile}\n`);
  writeFileSync(join(conf, 'podtoken'), `${SECRETS.podViewTokenFile}\n`);
  writeFileSync(join(conf, 'wrongtoken'), `${SECRETS.wrongToken}\n`);
  const a = new URL(rxA.url);
  writeFileSync(
    join(conf, 'config.toml'),
    `[global]
hostname = "secret-node"
interval = 1
[[writers]]
url = "http://user:${SECRETS.writerUrlPassword}@${a.host}${a.pathname}?access_token=${SECRETS.writerUrlQuery}&tenant=t1"
[[writers]]
url = "${rxB.url}"
basic_auth_user = "writer"
basic_auth_pass = "${SECRETS.writerBasicPass}"
headers = ["Authorization", "Bearer ${SECRETS.writerHeader}"]
[queue]
dir = ""
[http]
address = "127.0.0.1:${port}"
[pod_metadata]
enable = true
source = "kubelet"
kubelet_url = "${sim.kubeletUrl}"
bearer_token_file = "podtoken"
insecure_skip_verify = true
`,
  );
  writeFileSync(
    join(conf, 'input.prometheus', 'prometheus.toml'),
    `[[instances]]
urls = ["${fixture.url}/metrics?token=${SECRETS.targetUrlQuery}"]
labels = { job = "bearer-string" }
bearer_token_string = "${SECRETS.targetBearerString}"
headers = ["X-Api-Key", "${SECRETS.targetHeader}"]

[[instances]]
urls = ["${sim.kubeletUrl}/metrics/cadvisor"]
labels = { job = "cadvisor" }
bearer_token_file = "token"
insecure_skip_verify = true

[[instances]]
urls = ["${sim.kubeletUrl}/metrics"]
labels = { job = "wrong-token" }
bearer_token_file = "wrongtoken"
insecure_skip_verify = true

[[instances]]
urls = ["${sim.kubeProxyUrl}"]
labels = { job = "basic" }
username = "scraper"
password = "${SECRETS.targetPassword}"
`,
  );
});

after(async () => {
  await Promise.all([sim?.close(), fixture?.close(), rxA?.close(), rxB?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function assertNoSecret(where: string, text: string): void {
  for (const [kind, secret] of Object.entries(SECRETS)) {
    assert.ok(!text.includes(secret), `${where} shows the ${kind} secret`);
  }
}

test('no secret in check, doctor, --test, the debug log, or any page of the own server', async () => {
  const outputs: Array<[string, string]> = [];
  const check = await nodegraf(['check', '--configs', conf]);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /<secret>/);
  outputs.push(['check', check.stdout + check.stderr]);
  const doctor = await nodegraf(['doctor', '--configs', conf]);
  assert.match(doctor.stdout, /access_token=<secret>/, 'doctor shows the writer, its token redacted');
  outputs.push(['doctor', doctor.stdout + doctor.stderr]);
  for (const format of ['prom', 'categraf']) {
    const t = await nodegraf(['--test', '--once', '--format', format, '--configs', conf]);
    assert.match(t.stderr, /wrong-token/);
    outputs.push([`--test --format ${format}`, t.stdout + t.stderr]);
  }

  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'run', '--configs', conf, '--log-level', 'debug'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d));
  child.stderr.on('data', (d: Buffer) => (log += d));
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      'a few scrapes and writes',
      async () => {
        const r = await fetch(`${base}/api/status`).catch(() => undefined);
        if (!r?.ok) return false;
        const s = (await r.json()) as { targets: Array<{ health: string }> };
        return s.targets.every((t) => t.health !== 'unknown') && rxA.seen.length > 2 && rxB.seen.length > 2;
      },
      60_000,
    );
    for (const path of [
      '/',
      '/metrics',
      '/targets',
      '/pods',
      '/api/status',
      '/api/containers',
      '/healthz',
      '/readyz',
    ]) {
      const r = await fetch(base + path);
      outputs.push([path, await r.text()]);
    }
    // what the writers sent: credentials in their own headers, never in the samples
    for (const rx of [rxA, rxB]) outputs.push(['samples sent', JSON.stringify(rx.samples())]);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  outputs.push(['the log at debug', log]);
  assert.match(log, /"level":"?debug|DEBUG|debug/i, 'the log was at debug');
  for (const [where, text] of outputs) assertNoSecret(where, text);
  console.log(`# ${Object.keys(SECRETS).length} secrets, ${outputs.length} outputs: none shows a secret`);
});
