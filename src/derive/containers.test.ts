// The derived container values through the real pipeline (the tap is fed as a target's series
// are scraped): the recipes, counter resets, a missing quota, a zero memory limit, the first
// scrape, a restarted container (new id), series that vanish, a failed scrape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { pipelineOptions, TargetPipeline, type PipelineOptions } from '../scrape/pipeline.js';
import { fixture, fixturesMissing } from '../testing/shared.js';
import { ContainerTap, NO_VALUES } from './containers.js';
import { DeriveHub, History, HISTORY_BUCKETS } from './hub.js';
import { ScrapeError } from '../scrape/errors.js';

function pipeline(tap: ContainerTap, o: Partial<PipelineOptions> = {}): TargetPipeline {
  return new TargetPipeline(
    pipelineOptions({
      targetLabels: [
        ['instance', '127.0.0.1:10250'],
        ['job', 'cadvisor'],
        ['ident', 'node-1'],
      ],
      tap,
      ...o,
    }),
  );
}

/** A cAdvisor-like page at time t (s): values given per container. */
function page(
  t: number,
  cs: {
    c: string;
    id: string;
    cpu: number;
    thr?: number;
    per?: number;
    quota?: number;
    ws?: number;
    lim?: number;
    wr?: number;
  }[],
  net?: { rx: number; tx: number },
): string {
  const ts = t * 1000;
  const L = (c: string, id: string, extra = '') =>
    `{container="${c}",id="${id}",namespace="shop",pod="web-1"${extra}}`;
  const out: string[] = [];
  for (const x of cs) {
    out.push(`container_cpu_usage_seconds_total${L(x.c, x.id, ',cpu="total"')} ${x.cpu} ${ts}`);
    if (x.per !== undefined) {
      out.push(`container_cpu_cfs_periods_total${L(x.c, x.id)} ${x.per} ${ts}`);
      out.push(`container_cpu_cfs_throttled_periods_total${L(x.c, x.id)} ${x.thr} ${ts}`);
    }
    if (x.quota !== undefined) out.push(`container_spec_cpu_quota${L(x.c, x.id)} ${x.quota} ${ts}`);
    out.push(`container_spec_cpu_period${L(x.c, x.id)} 100000 ${ts}`);
    if (x.ws !== undefined) out.push(`container_memory_working_set_bytes${L(x.c, x.id)} ${x.ws} ${ts}`);
    if (x.lim !== undefined) out.push(`container_spec_memory_limit_bytes${L(x.c, x.id)} ${x.lim} ${ts}`);
    if (x.wr !== undefined)
      out.push(`container_fs_writes_bytes_total${L(x.c, x.id, ',device="/dev/sda"')} ${x.wr} ${ts}`);
  }
  if (net) {
    out.push(`container_network_receive_bytes_total${L('', 'sandbox', ',interface="eth0"')} ${net.rx} ${ts}`);
    out.push(
      `container_network_transmit_bytes_total${L('', 'sandbox', ',interface="eth0"')} ${net.tx} ${ts}`,
    );
  }
  return out.join('\n') + '\n';
}

const scrape = (p: TargetPipeline, text: string, t: number) =>
  p.process(Buffer.from(text), false, t * 1000, () => {});
const row = (tap: ContainerTap, c: string) => tap.rows.get(`shop/web-1/${c}`)?.values;

test('the recipes from two scrapes: CPU of quota, throttled ratio, memory of limit, disk and pod network', () => {
  const tap = new ContainerTap();
  const p = pipeline(tap);
  scrape(
    p,
    page(
      100,
      [{ c: 'web', id: 'a', cpu: 10, thr: 10, per: 100, quota: 50000, ws: 100, lim: 400, wr: 1000 }],
      { rx: 0, tx: 0 },
    ),
    100,
  );
  // first scrape: levels are known, rates are not
  assert.equal(row(tap, 'web')?.memoryOfLimit, 0.25);
  assert.ok(Number.isNaN(row(tap, 'web')!.cpuOfQuota));
  scrape(
    p,
    page(
      115,
      [{ c: 'web', id: 'a', cpu: 13, thr: 25, per: 250, quota: 50000, ws: 300, lim: 400, wr: 4000 }],
      { rx: 1500, tx: 3000 },
    ),
    115,
  );
  const v = row(tap, 'web')!;
  assert.equal(v.cpuCores, 0.2); // 3 s over 15 s
  assert.equal(v.cpuOfQuota, 0.4); // of 0.5 core
  assert.equal(v.throttledRatio, 0.1); // 15 of 150 periods
  assert.equal(v.memoryOfLimit, 0.75);
  assert.equal(v.fsWriteBytesPerSec, 200);
  assert.equal(row(tap, '')!.rxBitsPerSec, 800); // 1500 B / 15 s * 8
  assert.equal(row(tap, '')!.txBitsPerSec, 1600);
  assert.equal(v.ts, 115_000);
});

test('a counter reset is read as PromQL does; no quota and a zero limit give no ratio', () => {
  const tap = new ContainerTap();
  const p = pipeline(tap);
  scrape(p, page(0, [{ c: 'job', id: 'a', cpu: 100, thr: 40, per: 400, ws: 50, lim: 0 }]), 0);
  scrape(p, page(10, [{ c: 'job', id: 'a', cpu: 2, thr: 5, per: 10, ws: 60, lim: 0 }]), 10);
  const v = row(tap, 'job')!;
  assert.equal(v.cpuCores, 0.2); // reset: the new value is the increase
  assert.equal(v.throttledRatio, 0.5);
  assert.ok(Number.isNaN(v.cpuOfQuota), 'no quota: no share of it');
  assert.ok(Number.isNaN(v.memoryOfLimit), 'limit 0: left out');
  assert.equal(v.memoryBytes, 60);
});

test('a restarted container (new id) starts over; the old series and then the container are forgotten', () => {
  const tap = new ContainerTap();
  const p = pipeline(tap);
  scrape(p, page(0, [{ c: 'api', id: 'old', cpu: 50, quota: 100000 }]), 0);
  scrape(p, page(10, [{ c: 'api', id: 'old', cpu: 55, quota: 100000 }]), 10);
  assert.equal(row(tap, 'api')!.cpuOfQuota, 0.5);
  // restarted: only the new id, whose first sample has no rate yet
  scrape(p, page(20, [{ c: 'api', id: 'new', cpu: 1, quota: 100000 }]), 20);
  assert.ok(Number.isNaN(row(tap, 'api')!.cpuOfQuota));
  scrape(p, page(30, [{ c: 'api', id: 'new', cpu: 3, quota: 100000 }]), 30);
  assert.equal(row(tap, 'api')!.cpuOfQuota, 0.2);
  assert.equal(tap.seriesCount, 3, 'cpu, quota and period of the new id only');
  // the container goes away: its state goes with the next good scrape
  scrape(p, 'up_other 1\n', 40);
  assert.equal(tap.rows.size, 0);
  assert.equal(tap.seriesCount, 0);
});

test('a failed scrape changes nothing and forgets only the series it met first', () => {
  const tap = new ContainerTap();
  const p = pipeline(tap);
  scrape(p, page(0, [{ c: 'web', id: 'a', cpu: 10, quota: 100000 }]), 0);
  scrape(p, page(10, [{ c: 'web', id: 'a', cpu: 12, quota: 100000 }]), 10);
  const before = row(tap, 'web')!.cpuCores;
  p.begin(false, 20_000);
  p.feed(
    Buffer.from(
      page(20, [
        { c: 'web', id: 'a', cpu: 99, quota: 100000 },
        { c: 'new', id: 'n', cpu: 1 },
      ]),
    ),
  );
  p.fail(() => {}, new ScrapeError('other', 'failed on purpose'), 20_000, 0);
  assert.equal(row(tap, 'web')!.cpuCores, before);
  assert.equal(tap.rows.has('shop/web-1/new'), false);
});

test("the hub renders the derived series with the samples' timestamps, and keeps a bounded history", () => {
  const hub = new DeriveHub();
  const tap = hub.factory({
    url: 'https://127.0.0.1:10250/metrics/cadvisor',
    job: 'cadvisor',
  }) as ContainerTap;
  const p = pipeline(tap);
  for (let i = 0; i < 80; i++)
    scrape(p, page(15 * i, [{ c: 'web', id: 'a', cpu: 0.1 * i, quota: 20000, ws: 10, lim: 20 }]), 15 * i);
  const text = hub.render();
  assert.match(
    text,
    /^nodegraf_container_cpu_usage_of_quota_ratio\{namespace="shop",pod="web-1",container="web",ident="node-1"\} 0\.03333\d* 1185000$/m,
  );
  assert.match(
    text,
    /^nodegraf_container_memory_working_set_of_limit_ratio\{namespace="shop",pod="web-1",container="web",ident="node-1"\} 0\.5 1185000$/m,
  );
  const [c] = hub.containers();
  assert.equal(c.history.series(0).length, HISTORY_BUCKETS);
  assert.equal(c.history.values.byteLength, 1680);
  assert.ok(Math.abs(c.history.series(0).at(-1)! - 1 / 30) < 1e-6);
  assert.equal(hub.historyBytes, 1680);
  const h = new History();
  assert.deepEqual(
    h.series(0).filter((x) => x !== null),
    [],
  );
});

test(
  'on a real cAdvisor capture: every container of a pod with a limit gets a memory ratio',
  { skip: fixturesMissing() },
  () => {
    const tap = new ContainerTap();
    const p = pipeline(tap);
    const text = readFileSync(fixture('cadvisor', 'nri-k8s-1_35-metrics-cadvisor.txt'), 'utf8');
    scrape(p, text, Date.now() / 1000);
    const rows = [...tap.rows.values()].filter((r) => r.container !== '');
    assert.ok(rows.length > 5, `${rows.length} containers`);
    const limited = rows.filter((r) => r.values && Number.isFinite(r.values.memoryOfLimit));
    console.log(
      `# 1.35 capture: ${rows.length} containers, ${limited.length} with a memory limit, ${tap.seriesCount} series tapped`,
    );
    assert.ok(limited.length > 0);
  },
);

/** The capture again, 10 s later: every sample's timestamp +10 s and each counter +rate × 10 s. */
function later(text: string, rate: (name: string) => number): string {
  return text.replace(
    /^([a-z_]+)(\{[^}]*\})? (\S+) (\d+)$/gm,
    (_line, name: string, labels = '', v: string, ts: string) => {
      const r = rate(name);
      return `${name}${labels} ${Number(v) + r * 10} ${Number(ts) + 10_000}`;
    },
  );
}

test(
  'PSI: on the 1.35 capture the tap derives CPU and memory pressure as shares of time; on 1.33 (no PSI) they stay unknown',
  { skip: fixturesMissing() },
  () => {
    const psi = (name: string) =>
      name === 'container_pressure_cpu_waiting_seconds_total'
        ? 0.3
        : name === 'container_pressure_memory_stalled_seconds_total'
          ? 0.05
          : name === 'container_cpu_usage_seconds_total'
            ? 0.5
            : 0;
    for (const [file, hasPsi] of [
      ['nri-k8s-1_35-metrics-cadvisor.txt', true],
      ['nri-k8s-1_33-metrics-cadvisor.txt', false],
    ] as const) {
      const tap = new ContainerTap();
      const p = pipeline(tap);
      const text = readFileSync(fixture('cadvisor', file), 'utf8');
      scrape(p, text, Date.now() / 1000);
      scrape(p, later(text, psi), Date.now() / 1000 + 10);
      const rows = [...tap.rows.values()].filter((r) => r.container !== '' && r.values);
      assert.ok(rows.length > 5, `${file}: ${rows.length} containers`);
      for (const r of rows) {
        const v = r.values!;
        assert.ok(Math.abs(v.cpuCores - 0.5) < 1e-9, `${file} ${r.key}: cpu ${v.cpuCores}`);
        if (hasPsi) {
          assert.ok(Math.abs(v.cpuPressure - 0.3) < 1e-9, `${file} ${r.key}: cpu pressure ${v.cpuPressure}`);
          assert.ok(
            Math.abs(v.memoryPressure - 0.05) < 1e-9,
            `${file} ${r.key}: memory pressure ${v.memoryPressure}`,
          );
        } else {
          assert.ok(
            Number.isNaN(v.cpuPressure) && Number.isNaN(v.memoryPressure),
            `${file} ${r.key}: no PSI`,
          );
        }
      }
    }
  },
);

test("a container's labels follow its newest series (pod metadata that arrived late)", () => {
  const tap = new ContainerTap();
  const base = (extra: [string, string][]) =>
    new Map<string, string>([
      ['__name__', 'container_cpu_usage_seconds_total'],
      ['namespace', 'shop'],
      ['pod', 'web-1'],
      ['container', 'web'],
      ...extra,
    ]);
  tap.slot(base([]));
  assert.deepEqual(tap.rows.get('shop/web-1/web')!.labels, []);
  // the pipeline rebuilds the series when the pod's enrichment changes: the new one has it
  tap.slot(
    base([
      ['workload_kind', 'Deployment'],
      ['workload', 'web'],
    ]),
  );
  assert.deepEqual(tap.rows.get('shop/web-1/web')!.labels, [
    ['workload_kind', 'Deployment'],
    ['workload', 'web'],
  ]);
});

test('a series whose final labels another one already sent is kept but not summed (touch)', () => {
  const tap = new ContainerTap();
  // two raw series that differ only in a label the instance drops: one final series
  const q = pipeline(tap, { ignoreLabel: (k) => k === 'id' });
  scrape(
    q,
    page(0, [
      { c: 'web', id: 'a', cpu: 10, quota: 100000 },
      { c: 'web', id: 'b', cpu: 10, quota: 100000 },
    ]),
    0,
  );
  scrape(
    q,
    page(10, [
      { c: 'web', id: 'a', cpu: 12, quota: 100000 },
      { c: 'web', id: 'b', cpu: 12, quota: 100000 },
    ]),
    10,
  );
  assert.equal(row(tap, 'web')!.cpuCores, 0.2, 'once, as the store holds it once');
});

test('a target removed (close) takes its containers and their history with it', () => {
  const hub = new DeriveHub();
  const tap = hub.factory({ url: 'u', job: 'cadvisor' }) as ContainerTap;
  const p = pipeline(tap);
  scrape(p, page(0, [{ c: 'web', id: 'a', cpu: 1, ws: 1, lim: 2 }]), 0);
  assert.equal(hub.containers().length, 1);
  assert.equal(hub.historyBytes, 1680);
  tap.close();
  assert.equal(hub.containers().length, 0);
  assert.equal(hub.historyBytes, 0);
});

test('a sample stamped in the future does not freeze the history', () => {
  const h = new History();
  const v = (ts: number, x: number) => ({ ...NO_VALUES(), ts, cpuOfQuota: x });
  const now = 1_000_000_000;
  h.push(v(now + 3_600_000, 0.5), now); // an hour ahead: filed now
  h.push(v(now + 15_000, 0.7), now + 15_000);
  const s = h.series(0);
  assert.deepEqual(
    s.slice(-2).map((x) => (x === null ? null : Math.round(x * 10) / 10)),
    [0.5, 0.7],
  );
});
