// The DaemonSet's memory limit, for real: the agent runs in a memory cgroup of the kit's limit
// (512 MiB, no swap) with the kit's --max-old-space-size=384, scrapes every hostile target of the
// matrix (testing/hostile.ts) beside a 200,000-series target, while the store is down (503) for a
// while and then back. The kernel must never OOM-kill it, nothing may be dropped, and the backlog
// must drain. The soak (`npm run soak`) runs the same for longer; this is the short version.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { memoryCgroup, type MemoryCgroup } from '../testing/cgroup.js';
import { startBigTarget, startHostileTargets, type Served } from '../testing/hostile.js';
import { freePort, waitFor } from '../testing/net.js';
import { metricTotals } from '../testing/own-metrics.js';

const MAIN = join(import.meta.dirname, 'main.ts');
const LIMIT = 512 * 1024 * 1024; // deploy/kubernetes: resources.limits.memory
const HEAP_MB = 384; // deploy/kubernetes: --max-old-space-size
const SERIES = 200_000;
const DOWN_S = Number(process.env.NODEGRAF_MEMTEST_DOWN_S ?? 60);

const cg = memoryCgroup(LIMIT, `nodegraf-memtest-${process.pid}`);
const skip = typeof cg === 'string' ? cg : false;

let dir: string;
let hostile: Awaited<ReturnType<typeof startHostileTargets>>;
let big: Served & { bytes: number };
let store: Server;
let storeDown = true;
let agent: ChildProcess | undefined;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'nodegraf-memtest-'));
  hostile = await startHostileTargets();
  big = await startBigTarget(SERIES);
  store = createServer((req, res) => {
    req.resume(); // the body is not kept: only the answer matters here
    req.on('end', () => {
      res.writeHead(storeDown ? 503 : 204);
      res.end();
    });
  });
  await new Promise<void>((r) => store.listen(0, '127.0.0.1', r));
});

after(async () => {
  agent?.kill('SIGKILL');
  await Promise.all([hostile?.close(), big?.close(), new Promise((r) => (store ? store.close(r) : r(0)))]);
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (typeof cg !== 'string') {
    await new Promise((r) => setTimeout(r, 200));
    try {
      cg.remove();
    } catch {
      // a process still inside: it goes with the test process
    }
  }
});

test(
  `under a ${LIMIT >> 20} MiB memory cgroup: hostile targets and a ${SERIES}-series target with the store down ${DOWN_S} s, never OOM-killed, nothing dropped`,
  { skip },
  async () => {
    const group = cg as MemoryCgroup;
    const conf = join(dir, 'conf');
    mkdirSync(join(conf, 'input.prometheus'), { recursive: true });
    writeFileSync(join(conf, 'token'), 'a-token\n');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(conf, 'config.toml'),
      `[global]
hostname = "memtest"
interval = 10
[[writers]]
url = "http://127.0.0.1:${(store.address() as AddressInfo).port}/api/v1/write"
timeout = 5000
[queue]
dir = "${join(dir, 'queue')}"
[http]
address = "127.0.0.1:${port}"
[log]
level = "warn"
`,
    );
    const inst = (url: string, job: string, extra = '') =>
      `[[instances]]\nurls = ["${url}"]\nlabels = { job = "${job}" }\ntimeout = 9\n${extra}\n`;
    writeFileSync(
      join(conf, 'input.prometheus', 'p.toml'),
      [
        inst(big.url, 'big'),
        inst(hostile.urls['endless-line'], 'endless-line'),
        inst(hostile.urls['endless-series'], 'endless-series', 'sample_limit = 1000'),
        inst(hostile.urls['gzip-bomb'], 'gzip-bomb'),
        inst(hostile.urls['trickle-401'], 'trickle-401', 'bearer_token_file = "token"'),
        inst(hostile.urls.hang, 'hang'),
      ].join(''),
    );
    agent = spawn(
      'sh',
      [
        '-c',
        'echo $$ > "$CG_PROCS" && exec "$@"',
        'sh',
        process.execPath,
        `--max-old-space-size=${HEAP_MB}`,
        '--import',
        'tsx',
        MAIN,
        'run',
        '--configs',
        conf,
      ],
      { env: { ...process.env, CG_PROCS: group.procs }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    agent.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const exited = new Promise<number | null>((r) =>
      agent!.once('exit', (code, signal) => r(code ?? (signal ? -1 : null))),
    );
    let peakRss = 0;
    let peakDisk = 0;
    const sample = async () => {
      const m = await metricTotals(base);
      peakRss = Math.max(peakRss, m.get('process_resident_memory_bytes') ?? 0);
      peakDisk = Math.max(peakDisk, m.get('nodegraf_writer_disk_queue_bytes') ?? 0);
      return m;
    };
    await waitFor(
      'agent ready',
      async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok === true,
      60_000,
    );
    const downUntil = Date.now() + DOWN_S * 1000;
    while (Date.now() < downUntil) {
      await sample();
      await new Promise((r) => setTimeout(r, 2000));
    }
    storeDown = false;
    let m = await sample();
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline) {
      m = await sample();
      if (
        (m.get('nodegraf_writer_disk_queue_samples') ?? 1) === 0 &&
        (m.get('nodegraf_writer_queue_samples') ?? 1) < SERIES
      )
        break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    const status = (await (await fetch(`${base}/api/status`)).json()) as {
      targets: Array<{ job: string; health: string; lastError: string }>;
    };
    assert.equal(agent.exitCode, null, `the agent exited: ${stderr}`);
    assert.equal(group.oomKills(), 0, 'no OOM kill in the cgroup');
    assert.equal(m.get('nodegraf_writer_dropped_samples_total'), 0, 'nothing dropped');
    assert.equal(m.get('nodegraf_writer_disk_queue_samples'), 0, 'the backlog drained');
    const byJob = Object.fromEntries(status.targets.map((t) => [t.job, t]));
    assert.equal(byJob.big.health, 'up');
    assert.match(byJob['endless-line'].lastError, /line_size_limit/);
    assert.match(byJob['endless-series'].lastError, /sample_limit/);
    assert.match(byJob['gzip-bomb'].lastError, /line_size_limit/);
    assert.match(byJob['trickle-401'].lastError, /401/);
    assert.match(byJob.hang.lastError, /timeout/);
    agent.kill('SIGTERM');
    assert.equal(await exited, 0, 'a clean exit on SIGTERM');
    console.log(
      `# memory cgroup ${LIMIT >> 20} MiB, heap cap ${HEAP_MB} MiB, store down ${DOWN_S} s: peak RSS ${(peakRss / 1048576).toFixed(0)} MiB, cgroup peak ${(group.maxUsage() / 1048576).toFixed(0)} MiB (page cache included), disk backlog peak ${(peakDisk / 1048576).toFixed(0)} MiB, ${m.get('nodegraf_writer_sent_samples_total')} samples delivered, 0 dropped, 0 OOM kills`,
    );
  },
);
