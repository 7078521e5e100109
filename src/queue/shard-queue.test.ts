// The shard queue without HTTP: where chunks live (memory, disk), spills, replay order, the shutdown
// persist, and the counted drops. Each chunk's body carries its sequence number, so order and
// identity are checked byte for byte.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Chunk } from '../prompb/chunk.js';
import { DiskQueue } from './diskqueue.js';
import { ShardQueue, type QueueDropReason, type ShardQueueOptions } from './shard-queue.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegraf-shardqueue-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const chunk = (seq: number, samples = 10): Chunk => ({ body: Buffer.from(`chunk-${seq}`), samples });
const seqOf = (c: Chunk): number => Number(c.body.toString().slice(6));

interface Harness {
  q: ShardQueue;
  drops: Record<QueueDropReason, number>;
  spills: string[];
}

async function harness(
  dir: string | undefined,
  o: Partial<ShardQueueOptions> = {},
  maxBytes = 1 << 30,
  segmentBytes?: number,
): Promise<Harness> {
  const drops: Record<QueueDropReason, number> = { queue_full: 0, disk_full: 0, disk_error: 0, shutdown: 0 };
  const spills: string[] = [];
  const disk = dir
    ? await DiskQueue.open({
        dir,
        maxBytes,
        segmentBytes,
        onDrop: (_r, samples) => (drops.disk_full += samples),
      })
    : undefined;
  const q = new ShardQueue({
    memorySamples: 30,
    disk,
    onDrop: (reason, samples) => (drops[reason] += samples),
    onSpill: (samples, why) => spills.push(`${samples} ${why}`),
    ...o,
  });
  return { q, drops, spills };
}

/** Deliver everything: peek, ack, until empty. */
async function drain(q: ShardQueue): Promise<number[]> {
  const out: number[] = [];
  for (let c = await q.peek(); c; c = await q.peek()) {
    out.push(seqOf(c));
    await q.ack();
  }
  return out;
}

test('a store that keeps up: chunks wait in memory, in order, and nothing touches the disk', async (t) => {
  const { q, spills } = await harness(tempDir(t));
  q.push(chunk(1));
  q.push(chunk(2));
  assert.equal(q.memorySamples, 20);
  assert.deepEqual(await drain(q), [1, 2]);
  q.push(chunk(3));
  assert.deepEqual(await drain(q), [3]);
  assert.equal(q.diskSamples, 0);
  assert.deepEqual(spills, []);
  assert.ok(q.empty);
  await q.close();
});

test('memory full: everything moves to disk in order, is read back from there, then memory again', async (t) => {
  const { q, spills } = await harness(tempDir(t));
  for (let i = 1; i <= 5; i++) q.push(chunk(i)); // memory holds 3 (30 samples)
  assert.equal(q.memorySamples, 0, 'memory moved to disk with the overflow');
  assert.deepEqual(spills, ['30 memory full (30 samples)']);
  assert.deepEqual(await drain(q), [1, 2, 3, 4, 5]);
  q.push(chunk(6));
  assert.equal(q.memorySamples, 10, 'drained: back to memory');
  assert.equal(q.diskSamples, 0);
  assert.deepEqual(await drain(q), [6]);
  await q.close();
});

test('a failed send: the chunk in flight and memory go to disk, new chunks follow them there', async (t) => {
  const { q } = await harness(tempDir(t));
  q.push(chunk(1));
  q.push(chunk(2));
  const head = await q.peek();
  assert.equal(seqOf(head!), 1);
  q.failing(); // the send of chunk 1 failed
  assert.equal(q.memorySamples, 0);
  q.push(chunk(3));
  assert.equal(q.memorySamples, 0, 'while failing, new chunks go straight to disk');
  const retry = await q.peek();
  assert.equal(seqOf(retry!), 1, 'the retry sends the same chunk, now from disk');
  assert.deepEqual(await drain(q), [1, 2, 3]);
  await q.close();
});

test('a spill while a chunk is in flight: its ack removes that chunk, not the next one', async (t) => {
  const { q } = await harness(tempDir(t));
  q.push(chunk(1));
  assert.equal(seqOf((await q.peek())!), 1);
  for (let i = 2; i <= 5; i++) q.push(chunk(i)); // overflow spills 1 (in flight), 2, 3, then 4, 5
  await q.ack(); // chunk 1 was delivered after all
  assert.deepEqual(await drain(q), [2, 3, 4, 5]);
  await q.close();
});

test('a spilled chunk in flight that the disk bound dropped meanwhile: its ack removes no other chunk', async (t) => {
  // room for three records of 'chunk-N' (7 bytes + a 13-byte header), one per segment
  const { q, drops } = await harness(tempDir(t), {}, 60, 20);
  q.push(chunk(1));
  assert.equal(seqOf((await q.peek())!), 1); // in flight
  q.push(chunk(2));
  q.push(chunk(3));
  q.push(chunk(4)); // memory full: 1, 2, 3 go to disk, then 4, which pushes 1 out
  await q.ack(); // chunk 1 was delivered after all
  assert.equal(drops.disk_full, 10);
  assert.deepEqual(await drain(q), [2, 3, 4], 'chunk 2 is still there');
  await q.close();
});

test('a push between an empty peek and waitForData is not missed', async () => {
  const { q } = await harness(undefined);
  assert.equal(await q.peek(), undefined);
  q.push(chunk(1)); // the writer has not started waiting yet
  const woke = await Promise.race([
    q.waitForData().then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
  ]);
  assert.equal(woke, true);
  assert.deepEqual(await drain(q), [1]);
});

test('a request in flight for too long: the next chunk moves everything to disk', async (t) => {
  const { q, spills } = await harness(tempDir(t), { inFlightSpillMs: 0 });
  q.push(chunk(1));
  await q.peek(); // in flight ...
  await new Promise((r) => setTimeout(r, 5));
  q.push(chunk(2)); // ... for longer than the bound
  assert.equal(q.memorySamples, 0);
  assert.match(spills[0], /in flight/);
  await q.ack();
  assert.deepEqual(await drain(q), [2]);
  await q.close();
});

test('shutdown persists memory and the chunk in flight; the next start replays them before new chunks', async (t) => {
  const dir = tempDir(t);
  const a = await harness(dir);
  a.q.push(chunk(1));
  a.q.push(chunk(2));
  await a.q.peek(); // 1 in flight when the shutdown comes
  assert.deepEqual(await a.q.close(), { persisted: 20, lost: 0 });
  assert.equal(a.drops.shutdown, 0);
  a.q.push(chunk(99));
  assert.equal(a.drops.shutdown, 10, 'a push after close is counted, not queued');

  const b = await harness(dir);
  assert.equal(b.q.diskSamples, 20, 'backlog found');
  b.q.push(chunk(3));
  assert.deepEqual(await drain(b.q), [1, 2, 3], 'backlog first, then what came after the restart');
  await b.q.close();
});

test('without a disk: a full memory drops and counts, a shutdown counts what is lost', async () => {
  const { q, drops } = await harness(undefined);
  for (let i = 1; i <= 5; i++) q.push(chunk(i));
  assert.equal(drops.queue_full, 20);
  q.failing(); // no disk: the chunks stay in memory
  assert.equal(q.memorySamples, 30);
  assert.deepEqual(await q.close(), { persisted: 0, lost: 30 });
  assert.equal(drops.shutdown, 30);
});

for (const [code, reason] of [
  ['EIO', 'disk_error'],
  ['ENOSPC', 'disk_full'],
] as const)
  test(`a disk that refuses writes (${code}): the chunk is dropped as ${reason}, the queue goes on`, async () => {
    let failNext = true;
    const records: Chunk[] = [];
    // A stand-in for DiskQueue that fails the first append (ENOSPC) and keeps the rest in an array.
    const disk = {
      get records() {
        return records.length;
      },
      get samples() {
        return records.reduce((a, c) => a + c.samples, 0);
      },
      get bytes() {
        return records.reduce((a, c) => a + c.body.length, 0);
      },
      async append(body: Buffer, samples: number) {
        if (failNext) {
          failNext = false;
          throw Object.assign(new Error(`write failed (${code})`), { code });
        }
        records.push({ body, samples });
      },
      async peek() {
        return records[0];
      },
      async ack() {
        records.shift();
      },
      setMaxBytes() {},
      async close() {},
    } as unknown as DiskQueue;
    const drops: Record<string, number> = {};
    const q = new ShardQueue({ memorySamples: 30, disk, onDrop: (r, n) => (drops[r] = (drops[r] ?? 0) + n) });
    q.push(chunk(1));
    await q.peek();
    q.failing(); // chunk 1 (in flight) is the append that fails
    q.push(chunk(2));
    await q.ack(); // chunk 1 delivered after all: chunk 2 must stay
    assert.equal(drops[reason], 10);
    assert.deepEqual(await drain(q), [2]);
  });
