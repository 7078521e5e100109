// The running agent in-process (Runtime over real loopback sockets): its own /metrics as promtool and
// docs/metrics.md see them, secrets never shown, and what a reload keeps, applies and retires.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../log.js';
import { startFixtureServer, type FixtureServer } from '../testing/fixture-server.js';
import { waitFor } from '../testing/net.js';
import { peerMissing, PROMTOOL_BIN } from '../testing/peers.js';
import { startWriteReceiver, type WriteReceiver } from '../testing/receiver.js';
import { Runtime } from './runtime.js';

const DOCS = join(import.meta.dirname, '..', '..', 'docs', 'metrics.md');
const SECRET = 'hunter2-query-token';

/** A log that keeps every line, to check what was (not) said. */
function memoryLog(level = 'debug') {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: createLogger(level, 'text', out), lines };
}

const payload = (name: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${name}{i="${i}"} ${i}`).join('\n') + '\n';

describe('the running agent', () => {
  let dir: string;
  let conf: string;
  let a: FixtureServer;
  let b: FixtureServer;
  let rx: WriteReceiver;
  let rt: Runtime;
  let base: string;
  const mem = memoryLog();

  const writeInputs = (targets: FixtureServer[]) =>
    writeFileSync(
      join(conf, 'input.prometheus', 'p.toml'),
      targets
        .map(
          (t) =>
            `[[instances]]\nurls = ["${t.url}/metrics?token=${SECRET}"]\nlabels = { job = "${t === a ? 'job-a' : 'job-b'}" }\n`,
        )
        .join(''),
    );
  const writeMain = (extra = '') =>
    writeFileSync(
      join(conf, 'config.toml'),
      `[global]
hostname = "node-1"
interval = 3600
[writer_opt]
batch = 50
chan_size = 5000
${extra}
[[writers]]
url = "${rx.url}?access_token=${SECRET}"
[queue]
dir = "${join(dir, 'queue')}"
[http]
address = "127.0.0.1:0"
`,
    );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nodegraf-runtime-'));
    conf = join(dir, 'conf');
    mkdirSync(join(conf, 'input.prometheus'), { recursive: true });
    a = await startFixtureServer({ routes: { '/metrics': payload('series_a', 20) } });
    b = await startFixtureServer({ routes: { '/metrics': payload('series_b', 30) } });
    rx = await startWriteReceiver();
    writeMain();
    writeInputs([a, b]);
    rt = new Runtime({ configDir: conf }, mem.log);
    await rt.start();
    base = `http://${rt.server!.address}`; // port 0: no port picked in advance that another test could take
    await rt.manager.scrapeAll(); // the schedule is an hour: scrapes are driven by the test
    await waitFor('delivery', () => rt.writers[0].idle && rx.samples().length >= 60);
  });

  after(async () => {
    await rt?.stop();
    await Promise.all([a?.close(), b?.close(), rx?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('/metrics passes promtool check metrics', { skip: peerMissing(PROMTOOL_BIN) }, async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    // promtool exits 0 and prints nothing when every family is well-formed and well-named
    const out = execFileSync(PROMTOOL_BIN, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(out.trim(), '');
  });

  test('every family on /metrics is in docs/metrics.md, and every documented one is served', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const served = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const docs = readFileSync(DOCS, 'utf8');
    const documented = new Set([...docs.matchAll(/^\| `([a-z_:][a-z0-9_:]*)`/gm)].map((m) => m[1]));
    assert.deepEqual(
      [...served].filter((n) => !documented.has(n)),
      [],
      'served but not documented',
    );
    assert.deepEqual(
      [...documented].filter((n) => !served.has(n)),
      [],
      'documented but not served',
    );
    // the latency histogram carries the writer label, as the docs say
    assert.match(
      text,
      /^nodegraf_writer_request_duration_seconds_count\{writer="127\.0\.0\.1:\d+\/api\/v1\/write"\} [1-9]/m,
    );
  });

  test('a token in a writer or target URL appears nowhere: metrics, /targets, status page, log', async () => {
    const shown = [
      await (await fetch(`${base}/metrics`)).text(),
      await (await fetch(`${base}/targets`)).text(),
      await (await fetch(`${base}/`)).text(),
      mem.lines.join('\n'),
    ];
    for (const s of shown)
      assert.ok(!s.includes(SECRET), s.slice(s.indexOf(SECRET) - 200, s.indexOf(SECRET) + 50));
    const targets = JSON.parse(shown[1]) as {
      writers: Array<{ name: string; url: string }>;
      targets: Array<{ url: string }>;
    };
    assert.match(targets.writers[0].name, /^127\.0\.0\.1:\d+\/api\/v1\/write$/);
    assert.match(targets.writers[0].url, /access_token=<secret>/);
    assert.match(targets.targets[0].url, /token=<secret>/);
  });

  test('reload: an unchanged target is kept as it is, a removed one is stale-marked, writer settings applied', async () => {
    const [ta, tb] = rt.manager.targets;
    const writer = rt.writers[0];
    const before = rx.seen.length;
    writeInputs([a]); // b removed
    // [writer_opt] and [queue] changed, [[writers]] unchanged
    const main = readFileSync(join(conf, 'config.toml'), 'utf8')
      .replace('chan_size = 5000', 'chan_size = 8000')
      .replace(/dir = ".*"/, `dir = "${join(dir, 'elsewhere')}"`);
    writeFileSync(join(conf, 'config.toml'), main);
    await rt.reload();
    assert.equal(rt.manager.targets.length, 1);
    assert.equal(rt.manager.targets[0], ta, 'the same target object: schedule, cache and counters kept');
    assert.equal(ta.scrapes, 1);
    assert.equal(ta.health, 'up');
    assert.equal(rt.writers[0], writer, 'the same writer: its queue kept');
    assert.equal(writer.memoryBoundSamples, 8000, 'chan_size applied to the running queues');
    assert.ok(
      mem.lines.some((l) => /take effect after a restart/.test(l) && /\[queue\] dir/.test(l)),
      'a changed queue folder is named as needing a restart',
    );
    await waitFor('markers delivered', () => writer.idle && rx.seen.length > before);
    const after = rx.samples().slice(-1000);
    const staleB = after.filter((s) => s.stale && s.labels.some(([k, v]) => k === 'job' && v === 'job-b'));
    const names = new Set(staleB.map((s) => s.labels.find(([k]) => k === '__name__')![1]));
    assert.deepEqual([...names].sort(), [
      'scrape_duration_seconds',
      'scrape_samples_post_metric_relabeling',
      'scrape_samples_scraped',
      'scrape_series_added',
      'series_b',
      'up',
    ]);
    assert.equal(staleB.length, 35, "b's 30 series and its 5 synthetic ones, once each");
    assert.ok(
      !after.some((s) => s.stale && s.labels.some(([k, v]) => k === 'job' && v === 'job-a')),
      'a is untouched',
    );
    assert.equal(tb.health, 'up', 'the removed target was stopped as it was');
    // the kept target's next scrape adds no series: its cache survived the reload
    const [r] = await rt.manager.scrapeAll();
    assert.equal(r.stats?.added, 0);
  });

  test('a reload that fails (a new instance whose tls_ca is missing) changes nothing, is counted and names file, line and key', async () => {
    const targets = [...rt.manager.targets];
    const writers = [...rt.writers];
    const failuresBefore = rt.reloadFailures;
    const input = join(conf, 'input.prometheus', 'p.toml');
    const good = readFileSync(input, 'utf8');
    writeFileSync(
      input,
      good +
        `[[instances]]\nurls = ["https://127.0.0.1:1/metrics"]\ntls_ca = "${join(dir, 'missing-ca.pem')}"\n`,
    );
    try {
      await assert.rejects(
        rt.reload(),
        /p\.toml:\d+: instances\.tls_ca: cannot read .*missing-ca\.pem: ENOENT/,
      );
      assert.equal(rt.reloadFailures, failuresBefore + 1, 'counted');
      assert.equal(rt.lastReloadOk, false);
      assert.deepEqual(rt.manager.targets, targets, 'the running targets are the same objects');
      assert.deepEqual(rt.writers, writers);
      assert.ok(
        mem.lines.some((l) => /reload failed; keeping the running configuration/.test(l) && /tls_ca/.test(l)),
        'logged with the key',
      );
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /^nodegraf_config_reload_failures_total \d+/m);
      assert.match(metrics, /^nodegraf_config_last_reload_successful 0$/m);
    } finally {
      writeFileSync(input, good);
    }
    await rt.reload();
    assert.equal(rt.lastReloadOk, true);
  });
});
