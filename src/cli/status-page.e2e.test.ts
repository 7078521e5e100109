// The status page in a real browser (Debian's chromium, driven by playwright-core, headless and
// kept off the network): the simulator and the agent (1 s scrapes, pod metadata on), then through
// the DOM: the three node targets up, the throttled container first when sorted by throttling,
// the near-limit container first by memory, a namespace filter, a target taken down turning red,
// keyboard sorting; screenshots at desktop and phone width under test-output/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { startSimulator, type Simulator } from '../sim/simulator.js';
import { startFixtureServer, type FixtureServer } from '../testing/fixture-server.js';
import { freePort, waitFor } from '../testing/net.js';
import { articleInputToml, demoPodMetadataToml } from './demo.js';
import { demoToken } from './demo-token.js';
import { Runtime } from './runtime.js';

// The page functions below run in the browser; this project loads no DOM types (lib "dom" would
// change the types of Node's own fetch), so the little they use is declared here.
declare const document: {
  querySelectorAll(selector: string): Iterable<{ textContent: string | null }>;
  body: { dataset: Record<string, string | undefined> };
};

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT = resolve(import.meta.dirname, '..', '..', 'test-output');

function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  if (process.env.CI === 'true')
    throw new Error(`${CHROMIUM} not found: scripts/test.sh installs Debian's chromium`);
  return `${CHROMIUM} not found (apt-get install chromium)`;
}

describe('the status page in headless Chromium', { skip: chromiumMissing() }, () => {
  let sim: Simulator;
  let extra: FixtureServer;
  let rt: Runtime;
  let browser: Browser;
  let page: Page;
  let base = '';

  before(async () => {
    const token = demoToken();
    // cAdvisor housekeeping every 5 s (1 s scrapes): the ratios of integer counters over one
    // second would jump (1 throttled period of 3 is 33 %); over 5 s they are those of the model
    sim = await startSimulator({
      tokens: [token],
      kubeProxyPort: 0,
      kubeProxyHealthPort: 0,
      kubeletPort: 0,
      housekeepingIntervalMs: 5000,
    });
    extra = await startFixtureServer({
      routes: {
        '/metrics': 'app_requests_total 1\n',
        // a kube-proxy in userspace mode: no rule syncs, so the kit's sync latency panel is empty
        '/userspace-kube-proxy': 'kubeproxy_network_programming_duration_seconds_count 3\n',
      },
    });
    const dir = mkdtempSync(join(tmpdir(), 'nodegraf-page-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, token + '\n');
    const conf = join(dir, 'conf');
    mkdirSync(join(conf, 'input.prometheus'), { recursive: true });
    const http = `127.0.0.1:${await freePort()}`;
    base = `http://${http}`;
    // a store that is down, behind a long URL (a tenant path and a query): its error must show whole
    const store = `http://127.0.0.1:${await freePort()}/insert/multitenant/prometheus/api/v1/write?extra_label=environment%3Dproduction-eu-west-1`;
    writeFileSync(
      join(conf, 'config.toml'),
      `[global]\nhostname = "node-1"\ninterval = 1\n[queue]\ndir = "${join(dir, 'queue')}"\n[http]\naddress = "${http}"\n` +
        `[[writers]]\nurl = "${store}"\n` +
        demoPodMetadataToml(sim.kubeletUrl, tokenFile),
    );
    writeFileSync(
      join(conf, 'input.prometheus', 'prometheus.toml'),
      articleInputToml(sim.kubeProxyUrl, sim.kubeletUrl, tokenFile).replaceAll(
        '[[instances]]',
        '[[instances]]\ntimeout = 900',
      ) +
        `[[instances]]\nurls = ["${extra.url}/metrics"]\nlabels = { job = "app" }\ntimeout = 500\n` +
        `[[instances]]\nurls = ["${extra.url}/userspace-kube-proxy"]\nlabels = { job = "kube-proxy" }\ntimeout = 500\n`,
    );
    const { config } = loadConfig(conf, { env: {} });
    rt = new Runtime({ configDir: conf, env: {}, scrapeAtStart: true }, createLogger('error', 'text'));
    await rt.start(config);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--disable-background-networking', '--no-sandbox', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(base + '/');
    // two scrapes: the rates need two samples of every container
    await waitFor(
      'rates in the node top',
      async () => {
        const res = (await (await fetch(base + '/api/containers')).json()) as {
          containers: { container: string; throttledRatio: number | null }[];
        };
        return res.containers.some((c) => c.container === 'checkout' && c.throttledRatio !== null);
      },
      60_000,
    );
    await page.waitForFunction(
      () =>
        // the page's own data (it polls every 2 s), not only the API's
        [...document.querySelectorAll('#top tr[data-key$="/checkout"] td[data-col="throttledRatio"]')].some(
          (td) => /%/.test(td.textContent ?? ''),
        ),
      undefined,
      { timeout: 30_000 },
    );
  });

  after(async () => {
    await browser?.close();
    await rt?.stop();
    await Promise.all([sim?.close(), extra?.close()]);
  });

  const firstKey = () => page.locator('#top tbody tr').first().getAttribute('data-key');

  test('the three node targets are up, and every container of the simulator is listed', async () => {
    for (const job of ['kube-proxy', 'kubelet', 'cadvisor'])
      await page.waitForSelector(`#targets tr.up[data-job="${job}"]`, { timeout: 20_000 });
    const rows = await page.locator('#top tbody tr').count();
    assert.ok(rows >= 10, `${rows} containers`);
    assert.match((await page.textContent('#podview')) ?? '', /kubelet source, synced/);
  });

  test('sorted by throttling, the throttled container leads', async () => {
    await page.click('#top th button[data-sort="throttledRatio"]');
    assert.equal(
      await page.getAttribute('#top th:has(button[data-sort="throttledRatio"])', 'aria-sort'),
      'descending',
    );
    assert.match((await firstKey()) ?? '', /^shop\/checkout-[^/]+\/checkout$/);
  });

  test('sorted by CPU pressure, the throttled container leads, and its pressure is shown as a share of time', async () => {
    // the simulator's throttled container waits for CPU most (PSI cpu waiting grows with throttling)
    await page.click('#top th button[data-sort="cpuPressure"]');
    assert.match((await firstKey()) ?? '', /^shop\/checkout-[^/]+\/checkout$/);
    const cell = await page.textContent('#top tbody tr:first-child td[data-col="cpuPressure"]');
    assert.match(cell ?? '', /\d+(\.\d+)? ?%/, `CPU pressure cell: ${cell}`);
    const mem = await page.textContent('#top tbody tr:first-child td[data-col="memoryPressure"]');
    assert.match(mem ?? '', /%|–/, `memory pressure cell: ${mem}`);
  });

  test('sorted by memory, the container nearest its limit leads', async () => {
    await page.click('#top th button[data-sort="memoryOfLimit"]');
    // db-0 runs at 95 % of its limit; the OOM-looping recommender climbs past it in the last
    // seconds before each kill: the leader is whichever the agent reports highest, and db-0 is
    // first or second
    const keys = await page
      .locator('#top tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key')));
    const values = await page
      .locator('#top tbody td[data-col="memoryOfLimit"]')
      .evaluateAll((tds) => tds.map((td) => parseFloat(td.textContent ?? '') || -1));
    assert.deepEqual(
      [...values].sort((a, b) => b - a),
      values,
      'descending',
    );
    const db = keys.indexOf(keys.find((k) => k?.startsWith('shop/db-0/postgres')) ?? '');
    assert.ok(
      db === 0 || (db === 1 && (keys[0] ?? '').startsWith('shop/recommender-')),
      `db-0 at ${db}: ${keys.slice(0, 3)}`,
    );
  });

  test('restarts per container, with why the last run ended', async () => {
    const cell = page.locator('#top tr[data-key^="shop/recommender-"] td[data-col="restarts"]');
    assert.match((await cell.textContent()) ?? '', /^\d+.*last: OOMKilled/);
  });

  test('pods in trouble come first: the crash-looping pod with its reason, restarts and age, then the OOM-killed', async () => {
    await page.waitForSelector('#trouble tbody tr', { timeout: 20_000 });
    const rows = await page
      .locator('#trouble tbody tr')
      .evaluateAll((trs) => trs.map((tr) => ({ cls: tr.getAttribute('class'), text: tr.textContent ?? '' })));
    assert.match(rows[0].text, /default\/flaky-api-.*CrashLoopBackOff/, rows[0].text);
    assert.equal(rows[0].cls, 'down');
    assert.match(rows[0].text, /not ready/);
    assert.ok(
      rows.some((r) => /shop\/recommender-.*OOM-killed \d+ (s|min) ago/.test(r.text)),
      rows.map((r) => r.text).join('\n'),
    );
    const restarts = Number(await page.locator('#trouble tbody tr').first().locator('td.num').textContent());
    assert.ok(restarts >= 1, `restarts ${restarts}`);
    // above the node top, where cAdvisor has no row for a container that is not running
    const trouble = await page.locator('#trouble').boundingBox();
    const top = await page.locator('#top').boundingBox();
    assert.ok(trouble && top && trouble.y < top.y, 'the list is above the node top');
    assert.match(
      (await page.textContent('#trouble-caption')) ?? '',
      /^\d+ of \d+ pods on the node need a look/,
    );
    assert.match((await page.textContent('#summary')) ?? '', /\d+ pods in trouble/);
  });

  test('the writers table shows its last error whole at 1280 px', async () => {
    await page.waitForSelector('#writers tr.down td.err:not(:empty)', { timeout: 30_000 });
    const m = await page.locator('#writers tr.down td.err').evaluate((td) => {
      const r = td.getBoundingClientRect();
      const wrap = td.closest('.scroll')!;
      return {
        right: r.right,
        clipped: td.scrollWidth > td.clientWidth,
        overflow: wrap.scrollWidth - wrap.clientWidth,
        text: td.textContent ?? '',
      };
    });
    assert.match(m.text, /refused|ECONNREFUSED/i);
    assert.ok(m.right <= 1280, `the error cell ends at x=${m.right}`);
    assert.equal(m.clipped, false, 'the error text is cut');
    assert.ok(m.overflow <= 0, `the writers table scrolls sideways by ${m.overflow} px`);
  });

  test('the keyboard sorts too: Enter on a focused header button flips the order', async () => {
    await page.focus('#top th button[data-sort="memoryOfLimit"]');
    await page.keyboard.press('Enter');
    assert.equal(
      await page.getAttribute('#top th:has(button[data-sort="memoryOfLimit"])', 'aria-sort'),
      'ascending',
    );
    await page.keyboard.press('Enter');
    assert.equal(
      await page.getAttribute('#top th:has(button[data-sort="memoryOfLimit"])', 'aria-sort'),
      'descending',
    );
  });

  test('a namespace filter hides the rest', async () => {
    const all = await page.locator('#top tbody tr').count();
    await page.selectOption('#f-ns', 'shop');
    const keys = await page
      .locator('#top tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key') ?? ''));
    assert.ok(keys.length > 0 && keys.length < all, `${keys.length} of ${all}`);
    assert.ok(
      keys.every((k) => k.startsWith('shop/')),
      keys.join(' '),
    );
    await page.fill('#f-label', 'label_dept=payments');
    const paying = await page
      .locator('#top tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key') ?? ''));
    assert.ok(paying.length >= 1 && paying.every((k) => k.startsWith('shop/checkout-')), paying.join(' '));
    await page.fill('#f-label', '');
    await page.selectOption('#f-ns', '');
  });

  test('sparklines from the history ring', async () => {
    const points = await page
      .locator('#top td[data-col="memoryOfLimit"] svg.spark polyline')
      .evaluateAll((ps) => ps.map((p) => p.getAttribute('points') ?? ''));
    assert.ok(
      points.some((p) => p.trim().length > 0),
      'at least one sparkline has points',
    );
  });

  test('a target that lacks a family the kit needs says so in its row: the panels it empties, the likely cause', async () => {
    const row = '#targets tr[data-url$="/userspace-kube-proxy"]';
    await page.waitForSelector(`${row} .missing`, { timeout: 20_000 });
    const text = (await page.textContent(`${row} .missing`)) ?? '';
    assert.match(
      text,
      /^missing kubeproxy_sync_proxy_rules_duration_seconds_bucket \| kubeproxy_sync_proxy_rules_latency_microseconds_bucket: empties .*nodegraf-kube-proxy: /,
    );
    assert.match(text, /likely: kube-proxy runs in userspace mode/);
    // the simulator's kube-proxy has it all
    assert.equal(await page.locator(`#targets tr[data-url="${sim.kubeProxyUrl}"] .missing`).count(), 0);
  });

  test('the series report: counted on request, the families the kit does not read marked', async () => {
    await page.click('#card-load');
    await page.waitForSelector('#card tbody tr', { timeout: 20_000 });
    const summary = (await page.textContent('#card-summary')) ?? '';
    assert.match(
      summary,
      /^\d+ series, \d+ samples\/s, .* read by no shipped dashboard or alert: \d+ families/,
    );
    const rows = await page.locator('#card tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        family: tr.getAttribute('data-family'),
        cls: tr.className,
        text: tr.textContent ?? '',
      })),
    );
    assert.ok(
      rows.some((r) => r.cls === 'unread' && /metrics_drop saves/.test(r.text)),
      'an unread family',
    );
    assert.match((await page.textContent('#card-jobs')) ?? '', /^By job: .*cadvisor \d+/);
    assert.match((await page.textContent('#card-pods')) ?? '', /^Largest pods: \S+\/\S+/);
    assert.match((await page.textContent('#card-labels')) ?? '', /^Labels with the most values: .*\bid \d+/);
    const cpu = rows.find((r) => r.family === 'container_cpu_usage_seconds_total');
    assert.ok(!cpu || cpu.cls === 'read', 'a family the kit reads is not offered for dropping');
  });

  test('screenshots at desktop and phone width', async () => {
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'status-page-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(OUT, 'status-page-phone.png'), fullPage: true });
    // on a phone the key columns stay on screen: CPU, throttling and memory next to the name
    const box = await page.locator('#top th:has(button[data-sort="memoryOfLimit"])').boundingBox();
    assert.ok(box && box.x + box.width <= 390, `memory column at x=${box?.x}`);
    await page.setViewportSize({ width: 1280, height: 800 });
    console.log(
      `# screenshots: ${join(OUT, 'status-page-desktop.png')}, ${join(OUT, 'status-page-phone.png')}`,
    );
  });

  test('a target taken down turns red on the page without a reload', async () => {
    await page.waitForSelector('#targets tr.up[data-job="app"]');
    const marker = await page.evaluate(() => document.body.dataset.updated);
    const t0 = Date.now();
    await extra.close();
    await page.waitForSelector('#targets tr.down[data-job="app"]', { timeout: 30_000 });
    const err = (await page.textContent('#targets tr.down[data-job="app"] .err')) ?? '';
    assert.match(err, /refused|reset|closed|ECONN/i);
    // the same document (updated in place), not a reload
    assert.notEqual(await page.evaluate(() => document.body.dataset.updated), marker);
    console.log(`# the downed target turned red after ${Date.now() - t0} ms (1 s scrapes, 2 s page poll)`);
  });
});
