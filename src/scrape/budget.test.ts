// The node's series budget: the plan (largest unread families first, never the kit's or `up`,
// back under 90 %), and a manager over a real socket that stops sending a family with staleness
// markers and sends it again when the limit is raised.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Chunk } from '../prompb/chunk.js';
import { decodeChunk, type DecodedSample } from '../prompb/decode.js';
import { createLogger } from '../log.js';
import { testGlobal, testInstance, testWriterOpt } from '../testing/config.js';
import { startFixtureServer } from '../testing/fixture-server.js';
import { fixture, fixturesMissing } from '../testing/shared.js';
import type { Config } from '../config/types.js';
import { SeriesBudget } from './budget.js';
import { KIT_READERS } from './kit-readers.js';
import { ScrapeManager } from './manager.js';

test("the plan drops the largest families nothing of the kit reads, never the kit's or up, and admits them back under 90 %", () => {
  const kit = 'container_cpu_usage_seconds_total';
  assert.ok(KIT_READERS[kit]);
  assert.equal(KIT_READERS['container_memory_failcnt'], undefined);
  const b = new SeriesBudget(1010);
  const delivered = new Map([
    [kit, 700],
    ['container_memory_failcnt', 300],
    ['container_fs_reads_merged_total', 200],
    ['container_ulimits_soft', 100],
    ['up', 3],
  ]);
  const plan = b.plan(delivered);
  // 1303 > 1010: 300 is enough
  assert.deepEqual(plan.drop, [['container_memory_failcnt', 300]]);
  assert.equal(b.drops('container_memory_failcnt'), true);
  assert.equal(b.drops(kit), false);
  assert.equal(b.droppedSeries, 300);
  // planned again before the targets scraped (the dropped family still delivered): nothing more
  assert.deepEqual(b.plan(delivered).drop, []);
  // over again after the node grew (1023): the next largest unread one
  delivered.delete('container_memory_failcnt');
  delivered.set(kit, 700);
  delivered.set('container_ulimits_soft', 100);
  delivered.set('container_fs_reads_merged_total', 200);
  delivered.set('container_blkio_device_usage_total', 20);
  assert.deepEqual(b.plan(delivered).drop, [['container_fs_reads_merged_total', 200]]);
  // the kit alone over the limit: nothing of it goes
  const tight = new SeriesBudget(500);
  const p2 = tight.plan(
    new Map([
      [kit, 700],
      ['up', 3],
    ]),
  );
  assert.deepEqual(p2.drop, []);
  assert.equal(tight.overByKit, true);
  // under 90 % with them: back
  b.limit = 2000;
  assert.deepEqual(b.plan(delivered).admit.sort(), [
    'container_fs_reads_merged_total',
    'container_memory_failcnt',
  ]);
  assert.equal(b.dropped.size, 0);
});

test(
  'a manager over its budget stops sending a family with markers, and sends it again when the limit is raised',
  { skip: fixturesMissing() },
  async () => {
    const page = readFileSync(fixture('cadvisor', 'nri-k8s-1_35-metrics-cadvisor.txt'), 'utf8');
    const server = await startFixtureServer({ routes: { '/metrics/cadvisor': page } });
    const sent: DecodedSample[][] = [];
    let current: DecodedSample[] = [];
    const sink = { push: (c: Chunk) => current.push(...decodeChunk(c.body)) };
    const config = (limit: number) =>
      ({
        global: testGlobal({ seriesLimit: limit }),
        writerOpt: testWriterOpt,
        inputs: [
          {
            name: 'prometheus',
            instances: [
              testInstance({
                urls: [`${server.url}/metrics/cadvisor`],
                labels: { job: 'cadvisor' },
                honorTimestamps: false,
              }),
            ],
          },
        ],
      }) as unknown as Config;
    const m = new ScrapeManager(config(0), sink, createLogger('silent', 'text'));
    const name = (s: DecodedSample) => s.labels.find(([k]) => k === '__name__')![1];
    let t = Date.now();
    const scrape = async () => {
      current = [];
      t += 60_000; // the manager plans at most every 30 s
      await m.scrapeAll(t);
      sent.push(current);
      return current;
    };
    try {
      const all = await scrape();
      const counts = new Map<string, number>();
      for (const s of all) counts.set(name(s), (counts.get(name(s)) ?? 0) + 1);
      const unread = [...counts]
        .filter(([f]) => !KIT_READERS[f] && f !== 'up' && !f.startsWith('scrape_'))
        .sort((a, b) => b[1] - a[1]);
      const [largest, size] = unread[0]!;
      const total = [...counts]
        .filter(([f]) => f !== 'up' && !f.startsWith('scrape_'))
        .reduce((n, [, c]) => n + c, 0);
      // a limit the largest unread family alone brings the node under
      await m.update(config(total - size + 5));
      const planned = await scrape(); // plans after this one
      assert.deepEqual([...m.budget.dropped.keys()], [largest], `dropped ${[...m.budget.dropped.keys()]}`);
      assert.ok(
        planned.some((s) => name(s) === largest && !s.stale),
        'the planning scrape still sent it',
      );
      const next = await scrape();
      const markers = next.filter((s) => name(s) === largest && s.stale);
      assert.equal(markers.length, size, 'a marker for each of its series');
      assert.equal(next.filter((s) => name(s) === largest && !s.stale).length, 0);
      assert.ok(
        next.some((s) => name(s) === 'container_cpu_usage_seconds_total' && !s.stale),
        "the kit's families stay",
      );
      const after = await scrape();
      assert.equal(
        after.filter((s) => name(s) === largest).length,
        0,
        'neither samples nor markers any more',
      );
      assert.ok(m.budget.droppedBuilds >= size);
      // raised: back on the scrape after the one that plans it
      await m.update(config(10 * total));
      await scrape();
      assert.equal(m.budget.dropped.size, 0);
      const back = await scrape();
      assert.equal(back.filter((s) => name(s) === largest && !s.stale).length, size);
    } finally {
      await m.stop();
      await server.close();
    }
  },
);
