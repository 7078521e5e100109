// Delivery under faults, against a real VictoriaMetrics behind a fault-injecting proxy. Each test
// writes numbered samples (series `fault_test{test,seq}` = seq) and counts, through the query API,
// exactly which arrived. Bounded in time: every wait has a deadline.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { createLogger } from '../log.js';
import { testWriter } from '../testing/config.js';
import { startFaultProxy } from '../testing/fault-proxy.js';
import { waitFor } from '../testing/net.js';
import { flushVm, peerMissing, startVictoriaMetrics, VM_BIN, type Receiver } from '../testing/peers.js';
import { encodeLabels, WriteRequestBuilder } from '../prompb/encode.js';
import { RemoteWriter } from './writer.js';
import type { Chunk } from '../prompb/chunk.js';

const skip = peerMissing(VM_BIN);
const log = createLogger('silent', 'text');
const T0 = Date.now() - 60_000;

/** `n` chunks of `per` samples: series fault_test{test=name, seq=i}, value i, one timestamp each. */
function chunks(name: string, n: number, per: number, from = 0): Chunk[] {
  const out: Chunk[] = [];
  for (let c = 0; c < n; c++) {
    const b = new WriteRequestBuilder();
    for (let i = 0; i < per; i++) {
      const seq = from + c * per + i;
      b.append(
        encodeLabels([
          ['__name__', 'fault_test'],
          ['seq', String(seq)],
          ['test', name],
        ]),
        seq,
        T0 + (seq % 1000),
      );
    }
    out.push({ samples: b.samples, body: b.takeCompressed() });
  }
  return out;
}

/**
 * `n` chunks of `per` samples over 1000 series (`slot` = seq % 1000), one sample per millisecond
 * from two hours ago: large volumes without a series per sample (a store bounds series per query).
 */
function denseChunks(name: string, n: number, per: number): Chunk[] {
  const t0 = Date.now() - 2 * 3600_000;
  const out: Chunk[] = [];
  for (let c = 0; c < n; c++) {
    const b = new WriteRequestBuilder();
    for (let i = 0; i < per; i++) {
      const seq = c * per + i;
      b.append(
        encodeLabels([
          ['__name__', 'fault_dense'],
          ['slot', String(seq % 1000)],
          ['test', name],
        ]),
        seq,
        t0 + seq,
      );
    }
    out.push({ samples: b.samples, body: b.takeCompressed() });
  }
  return out;
}

/** Samples of a denseChunks test the store holds, polled (bounded) until `expect` are there. */
async function denseArrived(vm: Receiver, name: string, expect: number): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await flushVm(vm);
    const r = await vm.query(`sum(count_over_time(fault_dense{test="${name}"}[3h]))`);
    const n = r.length ? Number(r[0].value[1]) : 0;
    if (n >= expect || Date.now() > deadline) return n;
    await new Promise((res) => setTimeout(res, 250));
  }
}

/**
 * Series of test `name` the store returns. With `expect`, polls (bounded) until that many are
 * there: a store makes new series searchable a moment after it acknowledged them.
 */
async function arrived(vm: Receiver, name: string, expect?: number): Promise<number> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await flushVm(vm);
    const r = await vm.query(`count(last_over_time(fault_test{test="${name}"}[1h]))`);
    const n = r.length ? Number(r[0].value[1]) : 0;
    if (expect === undefined || n >= expect || Date.now() > deadline) return n;
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** Writers and proxies of the running test, closed after it even when it fails (no hung file). */
const open: Array<{ close(ms?: number): Promise<unknown> }> = [];

async function faultProxy(...args: Parameters<typeof startFaultProxy>) {
  const p = await startFaultProxy(...args);
  open.push(p);
  return p;
}

async function writer(
  url: string,
  o: { dir?: string; maxBytes?: number; chanSize?: number; batch?: number; timeoutMs?: number } = {},
) {
  const w = new RemoteWriter(
    testWriter(url, { timeoutMs: o.timeoutMs ?? 5000, maxInFlight: 2 }),
    { batch: o.batch ?? 100, chanSize: o.chanSize ?? 1_000_000, shutdownGraceMs: 5000 },
    { dir: o.dir ?? '', maxBytes: o.maxBytes ?? 1 << 30 },
    log,
  );
  await w.start();
  open.push(w);
  return w;
}

describe('remote write under faults (real VictoriaMetrics)', { skip }, () => {
  let vm: Receiver;
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'nodegraf-queue-'));
    dirs.push(d);
    return d;
  };
  before(async () => {
    vm = await startVictoriaMetrics();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((x) => x.close(0).catch(() => undefined)));
  });
  after(async () => {
    await vm?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('500 and 429 (Retry-After) are retried: 2000 sent, 2000 arrive', async () => {
    const proxy = await faultProxy(vm.writeUrl);
    proxy.faults.push({ status: 500 }, { status: 503 }, { status: 429, retryAfter: '1' }, { status: 500 });
    const w = await writer(proxy.url);
    for (const c of chunks('retry', 20, 100)) w.push(c, 0);
    await waitFor('delivery', () => w.idle, 60_000);
    assert.equal(await arrived(vm, 'retry', 2000), 2000);
    assert.ok(w.stats.retriedSamples >= 400, `retried ${w.stats.retriedSamples}`);
    assert.ok(proxy.answered.includes(429));
    await w.close(1000);
    await proxy.close();
    console.log(`# retry: 2000 sent, 2000 arrived, ${w.stats.retriedSamples} samples retried`);
  });

  test('401 from the store (credentials rotated) keeps the data: the writer shows down with the fix, every sample arrives once accepted', async () => {
    const proxy = await faultProxy(vm.writeUrl, { status: 401 });
    const dir = tmp();
    const w = await writer(proxy.url, { dir, chanSize: 300 });
    for (const c of chunks('auth', 20, 100)) w.push(c, 0);
    await waitFor('refused attempts', () => proxy.answered.filter((s) => s === 401).length >= 3, 30_000);
    for (const c of chunks('auth', 20, 100, 2000)) w.push(c, 0); // scrapes go on during the window
    assert.notEqual(w.state, 'ok', 'a writer whose store answers 401 is not ok');
    assert.match(w.stats.lastError, /^HTTP 401/);
    assert.match(w.stats.lastHint, /credentials/);
    assert.ok((w.stats.refusedRequests['401'] ?? 0) >= 3, 'refusals counted by status');
    assert.equal(w.stats.droppedSamples.rejected, 0, 'nothing dropped');
    assert.ok(w.diskSamples > 0, 'the backlog spilled to disk');
    proxy.fallback = 'forward';
    await waitFor('delivery after the credentials are accepted', () => w.idle, 90_000);
    assert.equal(w.state, 'ok');
    assert.equal(await arrived(vm, 'auth', 4000), 4000);
    await w.close(1000);
    await proxy.close();
    console.log(
      `# 401: 4000 sent while the store refused the credentials (${w.stats.refusedRequests['401']} refused requests), 4000 arrived, 0 dropped`,
    );
  });

  test('400 is not retried: the batch is dropped and counted, the rest arrives', async () => {
    const proxy = await faultProxy(vm.writeUrl);
    proxy.faults.push({ status: 400 });
    const w = await writer(proxy.url);
    for (const c of chunks('reject', 10, 100)) w.push(c, 0);
    await waitFor('delivery', () => w.idle, 60_000);
    assert.equal(w.stats.droppedSamples.rejected, 100);
    assert.equal(await arrived(vm, 'reject', 900), 900);
    await w.close(1000);
    await proxy.close();
    console.log('# reject: 1000 sent, 100 rejected by 400 and counted, 900 arrived');
  });

  test('receiver down for a while, then back: every sample arrives (memory queue)', async () => {
    const proxy = await faultProxy(vm.writeUrl, { status: 502 });
    const w = await writer(proxy.url);
    for (const c of chunks('outage', 30, 100)) w.push(c, 0);
    await waitFor('some failed attempts', () => proxy.answered.length >= 3, 30_000);
    assert.equal(await arrived(vm, 'outage'), 0);
    proxy.fallback = 'forward';
    await waitFor('delivery after recovery', () => w.idle, 90_000);
    assert.equal(w.stats.sentSamples, 3000, 'every sample acknowledged by the store');
    assert.equal(await arrived(vm, 'outage', 3000), 3000);
    await w.close(1000);
    await proxy.close();
    console.log(
      `# outage: 3000 sent during the outage, 3000 arrived after it, ${proxy.answered.filter((s) => s === 502).length} failed attempts`,
    );
  });

  test('a slow receiver does not stall another writer', async () => {
    const slow = await faultProxy(vm.writeUrl, { delayMs: 3000 });
    const fast = await faultProxy(vm.writeUrl);
    const ws = await writer(slow.url, { timeoutMs: 10_000 });
    const wf = await writer(fast.url);
    const cs = chunks('slowfast', 10, 100);
    for (const c of cs) {
      ws.push(c, 0);
      wf.push(c, 0);
    }
    await waitFor('fast writer delivery', () => wf.idle, 30_000);
    assert.equal(ws.idle, false, 'the slow writer is still busy');
    assert.equal(wf.stats.sentSamples, 1000);
    await ws.close(0);
    await wf.close(1000);
    await slow.close();
    await fast.close();
  });

  test('memory full without a disk queue: dropped and counted, never blocks', async () => {
    const proxy = await faultProxy(vm.writeUrl, { status: 503 });
    const w = await writer(proxy.url, { chanSize: 1000 });
    for (const c of chunks('full', 30, 100)) w.push(c, 0);
    assert.ok(w.stats.droppedSamples.queue_full >= 1000, `dropped ${w.stats.droppedSamples.queue_full}`);
    assert.ok(w.memorySamples <= 1000);
    await w.close(0);
    await proxy.close();
    console.log(
      `# queue full: 3000 pushed, ${w.stats.droppedSamples.queue_full} dropped and counted, memory bounded at ${1000}`,
    );
  });

  test('outage longer than memory: spills to disk, replays in order, every sample arrives', async () => {
    const proxy = await faultProxy(vm.writeUrl, 'drop-connection');
    const dir = tmp();
    const w = await writer(proxy.url, { dir, chanSize: 400 });
    for (const c of chunks('spill', 50, 100)) w.push(c, 0);
    await waitFor('spill to disk', () => w.diskSamples > 0, 30_000);
    assert.ok(w.memorySamples <= 400);
    proxy.fallback = 'forward';
    await waitFor('delivery from disk', () => w.idle, 90_000);
    assert.equal(await arrived(vm, 'spill', 5000), 5000);
    await w.close(1000);
    await proxy.close();
    console.log('# spill: 5000 sent during the outage with a 400-sample memory queue, 5000 arrived');
  });

  test('restart during an outage: the on-disk backlog survives and is delivered', async () => {
    const proxy = await faultProxy(vm.writeUrl, 'drop-connection');
    const dir = tmp();
    const w1 = await writer(proxy.url, { dir, chanSize: 200 });
    for (const c of chunks('restart', 20, 100)) w1.push(c, 0);
    await w1.close(500); // SIGTERM path: flush fails, the rest is persisted
    assert.equal(w1.stats.droppedSamples.shutdown, 0);
    proxy.fallback = 'forward';
    const w2 = await writer(proxy.url, { dir });
    assert.ok(w2.diskSamples > 0, 'backlog found on start');
    await waitFor('backlog delivery', () => w2.idle, 60_000);
    assert.equal(await arrived(vm, 'restart', 2000), 2000);
    await w2.close(1000);
    await proxy.close();
    console.log('# restart: 2000 queued while down, persisted at shutdown, 2000 delivered after restart');
  });

  test('disk queue full: the oldest are dropped and counted, the newest arrive', async () => {
    const proxy = await faultProxy(vm.writeUrl, 'drop-connection');
    const dir = tmp();
    // 2 shards x 1 MiB (the per-shard minimum) of disk; each chunk of 1000 samples is ~25 KB compressed
    const w = await writer(proxy.url, { dir, chanSize: 1000, maxBytes: 2 << 20, batch: 1000 });
    const cs = chunks('diskfull', 400, 1000);
    for (const c of cs) w.push(c, 0);
    await waitFor('disk appends', () => w.stats.droppedSamples.disk_full > 0, 60_000);
    proxy.fallback = 'forward';
    await waitFor('delivery', () => w.idle, 120_000);
    const got = await arrived(vm, 'diskfull');
    const dropped = w.stats.droppedSamples.disk_full;
    assert.ok(dropped > 0);
    assert.equal(got + dropped, 400_000, 'every sample either arrived or was counted as dropped');
    const newest = await vm.query(`max(last_over_time(fault_test{test="diskfull"}[1h]))`);
    assert.equal(Number(newest[0].value[1]), 399_999, 'the newest sample survived');
    await w.close(1000);
    await proxy.close();
    console.log(
      `# disk full: 400000 sent during the outage, ${dropped} oldest dropped and counted, ${got} arrived`,
    );
  });

  test('one target may use the whole max_bytes, the bound holds on disk, drained space is reclaimed, the next outage keeps everything', async () => {
    const proxy = await faultProxy(vm.writeUrl, 'drop-connection');
    const dir = tmp();
    const maxBytes = 8 << 20;
    // 2 shards; every chunk of this one target goes to shard 0 (SampleSink's stable shard)
    const w = await writer(proxy.url, { dir, chanSize: 1000, maxBytes, batch: 1000 });
    let peak = 0;
    const cs = denseChunks('budget', 1000, 1000); // ~12 MB compressed (12 B a sample): more than the bound
    for (const [i, c] of cs.entries()) {
      w.push(c, 0);
      if (i % 25 === 24) {
        await waitFor('appends', () => w.memorySamples === 0, 30_000);
        peak = Math.max(peak, bytesOnDisk(dir));
      }
    }
    await waitFor('appends', () => w.diskSamples + w.stats.droppedSamples.disk_full >= 999_000, 60_000);
    peak = Math.max(peak, bytesOnDisk(dir));
    assert.ok(peak <= maxBytes, `${peak} bytes on disk over the ${maxBytes} bound`);
    assert.ok(peak > maxBytes / 2, `one shard used ${peak} bytes: more than its quarter share`);
    assert.ok(w.stats.droppedSamples.disk_full > 0, 'the oldest were dropped to respect the bound');
    proxy.fallback = 'forward';
    await waitFor('delivery', () => w.idle, 120_000);
    // read after the delivery: a chunk dropped while in flight counts only once its send failed
    const dropped = w.stats.droppedSamples.disk_full;
    assert.equal((await denseArrived(vm, 'budget', 1_000_000 - dropped)) + dropped, 1_000_000);
    assert.ok(bytesOnDisk(dir) < 1024, 'drained: the segments are reclaimed (reader.json and LOCK remain)');
    assert.equal(w.diskBytes, 0);

    // a second outage of less than the bound loses nothing
    proxy.fallback = 'drop-connection';
    for (const c of denseChunks('budget2', 500, 1000)) w.push(c, 0);
    await waitFor('spill', () => w.diskSamples >= 499_000, 60_000);
    proxy.fallback = 'forward';
    await waitFor('delivery', () => w.idle, 120_000);
    assert.equal(w.stats.droppedSamples.disk_full, dropped, 'nothing more dropped');
    assert.equal(await denseArrived(vm, 'budget2', 500_000), 500_000);
    await w.close(1000);
    await proxy.close();
    console.log(
      `# shared budget: one target used ${(peak / 1048576).toFixed(1)} MiB of max_bytes 8 MiB on disk (peak), ${dropped} oldest samples dropped in a 12 MB outage, no segment bytes left after the replay, a second outage of 500000 samples (~6 MB): 500000 arrived`,
    );
  });
});

/** Bytes of every file under `dir` (the queue's segments, reader.json and LOCK). */
function bytesOnDisk(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  }
  return n;
}
