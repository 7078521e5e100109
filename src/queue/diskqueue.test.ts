import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mulberry32 as rng } from '../sim/util.js';
import { DiskBudget } from './budget.js';
import { DiskQueue, type DiskQueueOptions } from './diskqueue.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const modulePath = fileURLToPath(new URL('./diskqueue.ts', import.meta.url));
const HEADER = 13;

// ---------------------------------------------------------------------------------------------
// helpers

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegraf-diskqueue-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Record payload: seq, length, then a pattern derived from seq (the child script uses the same). */
function makeBody(seq: number, len: number): Buffer {
  assert.ok(len >= 8);
  const b = Buffer.alloc(len);
  b.writeUInt32LE(seq, 0);
  b.writeUInt32LE(len, 4);
  for (let i = 8; i < len; i++) b[i] = (seq * 31 + i) & 0xff;
  return b;
}

/** Checks a payload is intact; returns its seq. */
function checkBody(b: Buffer): number {
  assert.ok(b.length >= 8, `body too short: ${b.length}`);
  const seq = b.readUInt32LE(0);
  assert.equal(b.readUInt32LE(4), b.length, `record ${seq}: length field`);
  for (let i = 8; i < b.length; i++) {
    if (b[i] !== ((seq * 31 + i) & 0xff)) assert.fail(`record ${seq}: byte ${i} corrupted`);
  }
  return seq;
}

async function drain(q: DiskQueue): Promise<Array<{ seq: number; samples: number }>> {
  const out: Array<{ seq: number; samples: number }> = [];
  for (let r = await q.peek(); r; r = await q.peek()) {
    out.push({ seq: checkBody(r.body), samples: r.samples });
    await q.ack();
  }
  return out;
}

const seqsOf = (rs: Array<{ seq: number }>): number[] => rs.map((r) => r.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

function segFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => /^\d{16}\.seg$/.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

/** Bytes of the segment files in `dir`, as the file system counts them. */
function diskBytes(dir: string): number {
  return segFiles(dir).reduce((n, f) => n + fs.statSync(f).size, 0);
}

function open(dir: string, extra: Partial<DiskQueueOptions> = {}): Promise<DiskQueue> {
  return DiskQueue.open({ dir, maxBytes: 64 * 1024 * 1024, ...extra });
}

// ---------------------------------------------------------------------------------------------

test('FIFO across many segments, concurrent calls, consumed segments deleted', async (t) => {
  const dir = tempDir(t);
  const q = await open(dir, { segmentBytes: 8 * 1024 });
  const r = rng(1);
  const total = 400;
  let next = 0;
  let expectSamples = 0;
  const appendOne = (): Promise<unknown> => {
    const seq = next++;
    expectSamples += seq % 9;
    return q.append(makeBody(seq, 8 + Math.floor(r() * 3000)), seq % 9);
  };

  // not awaited one by one: the queue serialises them in call order
  await Promise.all(range(0, 150).map(() => appendOne()));
  assert.equal(q.records, 150);
  assert.equal(q.samples, expectSamples);
  assert.ok(segFiles(dir).length >= 10, `expected many segments, got ${segFiles(dir).length}`);

  // peek is idempotent; ack without a peek does nothing
  await q.ack();
  const a = await q.peek();
  const b = await q.peek();
  assert.ok(a && b);
  assert.equal(checkBody(a.body), 0);
  assert.equal(checkBody(b.body), 0);

  const got: number[] = [];
  let gotSamples = 0;
  while (got.length < total) {
    if (next < total && r() < 0.5) {
      await appendOne();
    } else {
      const rec = await q.peek();
      if (!rec) continue;
      got.push(checkBody(rec.body));
      gotSamples += rec.samples;
      await q.ack();
    }
    assert.equal(q.records, next - got.length);
  }
  assert.deepEqual(got, range(0, total));
  assert.equal(gotSamples, expectSamples);
  assert.equal(await q.peek(), undefined);
  assert.equal(q.records, 0);
  assert.equal(q.samples, 0);
  assert.equal(q.bytes, 0);
  assert.equal(segFiles(dir).length, 1, 'only the segment being written remains');
  assert.equal(q.corruptRecords, 0);
  assert.equal(q.droppedRecords, 0);
  await q.close();
  await q.close(); // idempotent
  await assert.rejects(q.append(makeBody(0, 8), 1), /closed/);
  await assert.rejects(q.peek(), /closed/);
});

test('survives close/reopen with partial consumption; unacked records are not skipped', async (t) => {
  const dir = tempDir(t);
  const opts = { segmentBytes: 4096 };
  let q = await open(dir, opts);
  for (let i = 0; i < 60; i++) await q.append(makeBody(i, 300 + i), i + 1);
  for (let i = 0; i < 25; i++) {
    await q.peek();
    await q.ack();
  }
  await q.close();

  q = await open(dir, opts);
  assert.equal(q.records, 35);
  assert.equal(
    q.samples,
    range(25, 60).reduce((s, i) => s + i + 1, 0),
  );
  assert.equal(
    q.bytes,
    range(25, 60).reduce((s, i) => s + HEADER + 300 + i, 0),
  );
  for (let i = 25; i < 35; i++) {
    const rec = await q.peek();
    assert.equal(checkBody(rec!.body), i);
    assert.equal(rec!.samples, i + 1);
    await q.ack();
  }
  const peeked = await q.peek(); // not acked
  assert.equal(checkBody(peeked!.body), 35);
  await q.close();

  q = await open(dir, opts);
  for (let i = 60; i < 65; i++) await q.append(makeBody(i, 100), 1);
  assert.deepEqual(seqsOf(await drain(q)), range(35, 65));
  await q.close();

  q = await open(dir, opts);
  assert.equal(q.records, 0);
  assert.equal(await q.peek(), undefined);
  await q.close();
});

test('a stale read position re-sends records, never skips any', async (t) => {
  const dir = tempDir(t);
  const opts = { segmentBytes: 4096 };
  let q = await open(dir, opts);
  for (let i = 0; i < 60; i++) await q.append(makeBody(i, 500), 1);
  for (let i = 0; i < 10; i++) {
    await q.peek();
    await q.ack();
  }
  await q.close();
  const readerFile = path.join(dir, 'reader.json');
  const old = fs.readFileSync(readerFile);

  q = await open(dir, opts);
  for (let i = 0; i < 20; i++) {
    await q.peek();
    await q.ack();
  }
  await q.close();
  fs.writeFileSync(readerFile, old); // as if the later position had not been persisted

  q = await open(dir, opts);
  const got = seqsOf(await drain(q));
  assert.ok(got[0] <= 30, `first record ${got[0]} is past the first unacked one`);
  assert.ok(got[0] >= 10, `first record ${got[0]} is before the stale position`);
  assert.deepEqual(got, range(got[0], 60));
  await q.close();

  // a garbled reader.json falls back to the oldest segment still on disk: re-sends, no skips
  q = await open(dir, opts);
  for (let i = 60; i < 70; i++) await q.append(makeBody(i, 500), 1);
  await q.close();
  fs.writeFileSync(readerFile, '{"segm');
  q = await open(dir, opts);
  const again = seqsOf(await drain(q));
  assert.ok(again[0] <= 60 && again[0] >= 50, `first record ${again[0]}`);
  assert.deepEqual(again, range(again[0], 70));
  await q.close();
});

test('size bound drops the oldest whole segments, counts them and calls onDrop', async (t) => {
  const dir = tempDir(t);
  const calls: Array<[number, number, number]> = [];
  const q = await open(dir, {
    maxBytes: 10_000,
    segmentBytes: 3000,
    onDrop: (r, s, b) => calls.push([r, s, b]),
  });
  // every record is exactly 1000 bytes with its header: 3 per segment
  for (let i = 0; i < 40; i++) {
    await q.append(makeBody(i, 1000 - HEADER), i + 1);
    assert.ok(q.bytes <= 10_000, `bytes ${q.bytes} over the bound`);
  }
  assert.ok(q.records >= 7 && q.records <= 10, `records ${q.records}`);
  assert.equal(q.records + q.droppedRecords, 40);
  const dropped = range(0, q.droppedRecords);
  assert.equal(
    q.droppedSamples,
    dropped.reduce((s, i) => s + i + 1, 0),
  );
  assert.equal(q.droppedBytes, q.droppedRecords * 1000);
  assert.deepEqual(
    calls.reduce((a, c) => [a[0] + c[0], a[1] + c[1], a[2] + c[2]], [0, 0, 0]),
    [q.droppedRecords, q.droppedSamples, q.droppedBytes],
  );
  assert.ok(
    calls.every((c) => c[0] % 3 === 0),
    'whole segments were dropped',
  );
  assert.ok(segFiles(dir).length <= 5);
  assert.deepEqual(seqsOf(await drain(q)), range(q.droppedRecords, 40));
  await q.close();
});

test('the bound holds for the bytes on disk: a drained queue holds none, an oversized record is dropped, not thrown', async (t) => {
  const dir = tempDir(t);
  let onDropCalls = 0;
  const q = await open(dir, { maxBytes: 3000, segmentBytes: 1000, onDrop: () => onDropCalls++ });
  for (let i = 0; i < 10; i++) {
    await q.append(makeBody(i, 1000 - HEADER), 1);
    assert.ok(diskBytes(dir) <= 3000, `${diskBytes(dir)} bytes on disk over the 3000 bound`);
  }
  assert.equal(q.records, 3);
  assert.equal(q.droppedRecords, 7);
  assert.equal(q.fileBytes, 3000);

  // peeked, then dropped by an append: the ack must not remove the next record
  const rec = await q.peek();
  assert.equal(checkBody(rec!.body), 7);
  await q.append(makeBody(10, 1000 - HEADER), 1);
  await q.ack();

  // record 7 was in flight when the bound dropped it, and its send succeeded: delivered, not dropped
  assert.equal(q.droppedRecords, 7);
  // larger than the bound: counted as dropped, the queue is untouched
  await q.append(makeBody(99, 5000), 42);
  assert.equal(q.droppedRecords, 8);
  assert.equal(q.droppedSamples, 7 + 42);
  assert.equal(onDropCalls, 8);
  assert.deepEqual(seqsOf(await drain(q)), [8, 9, 10]);
  assert.equal(q.fileBytes, 0, 'drained: no bytes held');

  // in flight, dropped by the bound, and its send failed (peeked again): counted as dropped then
  for (let i = 20; i < 23; i++) await q.append(makeBody(i, 1000 - HEADER), 1);
  assert.equal(checkBody((await q.peek())!.body), 20);
  await q.append(makeBody(23, 1000 - HEADER), 1); // drops 20, in flight
  assert.equal(q.droppedRecords, 8, 'not yet: the send may still succeed');
  assert.equal(checkBody((await q.peek())!.body), 21);
  assert.equal(q.droppedRecords, 9, 'peeked again without an ack: record 20 was lost');
  assert.deepEqual(seqsOf(await drain(q)), [21, 22, 23]);
  assert.equal(diskBytes(dir), 0, 'drained: the segment files are empty or gone');
  await q.close();
});

test('a segment read to its end is reclaimed at once, and after a restart', async (t) => {
  const dir = tempDir(t);
  let q = await open(dir, { segmentBytes: 1 << 20 });
  for (let i = 0; i < 20; i++) await q.append(makeBody(i, 500), 1);
  assert.ok(diskBytes(dir) > 10_000);
  assert.equal(seqsOf(await drain(q)).length, 20);
  assert.equal(diskBytes(dir), 0);
  for (let i = 20; i < 25; i++) await q.append(makeBody(i, 500), 1);
  await q.close();
  // a previous run that read everything and died before it reclaimed the space: the open does
  const [seg] = segFiles(dir);
  const seq = Number(path.basename(seg, '.seg'));
  fs.writeFileSync(
    path.join(dir, 'reader.json'),
    JSON.stringify({ segment: seq, offset: fs.statSync(seg).size }),
  );
  q = await open(dir);
  assert.equal(q.records, 0);
  assert.equal(diskBytes(dir), 0);
  await q.append(makeBody(30, 100), 1);
  await q.close();
  q = await open(dir);
  assert.deepEqual(seqsOf(await drain(q)), [30], 'the reclaimed queue takes new records at offset 0');
  await q.close();
});

test('a budget shared by several queues: one queue may use all of it, the oldest segment of any queue goes first', async (t) => {
  const dirA = tempDir(t);
  const dirB = tempDir(t);
  const budget = new DiskBudget(10_000);
  const a = await DiskQueue.open({ dir: dirA, budget, segmentBytes: 2000 });
  const b = await DiskQueue.open({ dir: dirB, budget, segmentBytes: 2000 });
  // one busy queue takes (nearly) the whole budget
  for (let i = 0; i < 9; i++) await a.append(makeBody(i, 1000 - HEADER), 1);
  assert.equal(a.records, 9, 'nothing dropped below the shared bound');
  assert.equal(a.droppedRecords, 0);
  // the other queue's appends push out a's oldest segments, not its own newer data
  for (let i = 100; i < 104; i++) {
    await b.append(makeBody(i, 1000 - HEADER), 1);
    assert.ok(diskBytes(dirA) + diskBytes(dirB) <= 10_000, 'the bound holds for both folders together');
  }
  assert.equal(b.droppedRecords, 0, "b's records are the newest");
  assert.equal(a.droppedRecords, 4, "a's two oldest segments went");
  assert.deepEqual(seqsOf(await drain(a)), [4, 5, 6, 7, 8]);
  assert.deepEqual(seqsOf(await drain(b)), [100, 101, 102, 103]);
  await a.close();
  await b.close();
});

test('a full file system (ENOSPC from outside the bound): the oldest records go first, the new one is kept', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('mounting a small tmpfs needs root');
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegraf-tmpfs-'));
  const { execFileSync } = await import('node:child_process');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
  } catch (e) {
    fs.rmSync(mnt, { recursive: true, force: true });
    return t.skip(`cannot mount a tmpfs here: ${String(e)}`);
  }
  t.after(() => {
    execFileSync('umount', ['-l', mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  });
  // the bound (1 GiB) is far above the 256 KiB file system: only ENOSPC can stop the appends
  const q = await open(mnt, { maxBytes: 1 << 30, segmentBytes: 32 * 1024 });
  for (let i = 0; i < 40; i++) await q.append(makeBody(i, 16 * 1024), 1); // 640 KiB into 256 KiB
  assert.ok(q.droppedRecords > 0, 'old records were dropped to make room');
  const got = seqsOf(await drain(q));
  assert.equal(got[got.length - 1], 39, 'the newest record is kept');
  assert.deepEqual(got, range(got[0], 40), 'what is kept is the newest, in order');
  assert.equal(q.droppedRecords + got.length, 40, 'every record either kept or counted as dropped');
  await q.close();
});

/** Five records over two segments, closed; returns the files and the last record's length. */
async function fiveRecords(dir: string): Promise<{ last: string; lastLen: number }> {
  const q = await open(dir, { segmentBytes: 2000 });
  for (let i = 0; i < 5; i++) await q.append(makeBody(i, 600 + i), 1);
  await q.close();
  const files = segFiles(dir);
  assert.equal(files.length, 2);
  return { last: files[files.length - 1], lastLen: 604 };
}

async function expectRecoveredTail(dir: string, survivors: number[]): Promise<void> {
  let q = await open(dir, { segmentBytes: 2000 });
  assert.equal(q.corruptRecords, 1);
  assert.equal(q.records, survivors.length);
  await q.append(makeBody(5, 50), 1);
  await q.append(makeBody(6, 50), 1);
  await q.close();
  q = await open(dir, { segmentBytes: 2000 });
  assert.equal(q.corruptRecords, 0, 'the tail was truncated away');
  assert.deepEqual(seqsOf(await drain(q)), [...survivors, 5, 6]);
  await q.close();
}

test('torn tail: last file cut mid-payload', async (t) => {
  const dir = tempDir(t);
  const { last } = await fiveRecords(dir);
  fs.truncateSync(last, fs.statSync(last).size - 10);
  await expectRecoveredTail(dir, [0, 1, 2, 3]);
});

test('torn tail: last file cut mid-header', async (t) => {
  const dir = tempDir(t);
  const { last, lastLen } = await fiveRecords(dir);
  fs.truncateSync(last, fs.statSync(last).size - lastLen - HEADER + 5);
  await expectRecoveredTail(dir, [0, 1, 2, 3]);
});

test('torn tail: garbage appended to the last file', async (t) => {
  const dir = tempDir(t);
  const { last } = await fiveRecords(dir);
  const r = rng(3);
  fs.appendFileSync(last, Buffer.from(range(0, 37).map(() => Math.floor(r() * 256))));
  await expectRecoveredTail(dir, [0, 1, 2, 3, 4]);
});

test('torn tail: a plausible header whose record runs past the end', async (t) => {
  const dir = tempDir(t);
  const { last } = await fiveRecords(dir);
  const magic = fs.readFileSync(last)[0];
  const fake = Buffer.alloc(HEADER + 20);
  fake[0] = magic;
  fake.writeUInt32LE(5000, 1);
  fs.appendFileSync(last, fake);
  await expectRecoveredTail(dir, [0, 1, 2, 3, 4]);
});

test('torn tail: a complete record with a bad CRC at the end', async (t) => {
  const dir = tempDir(t);
  const { last } = await fiveRecords(dir);
  const fd = fs.openSync(last, 'r+');
  const size = fs.fstatSync(fd).size;
  fs.writeSync(fd, Buffer.from([0x55]), 0, 1, size - 1);
  fs.closeSync(fd);
  await expectRecoveredTail(dir, [0, 1, 2, 3]);
});

test('corruption in the middle skips to the next segment and continues', async (t) => {
  const dir = tempDir(t);
  const opts = { segmentBytes: 4096 };
  let q = await open(dir, opts);
  // 1013 bytes a record: 4 per segment, 24 records in 6 segments
  for (let i = 0; i < 24; i++) await q.append(makeBody(i, 1000), 1);
  await q.close();
  const files = segFiles(dir);
  assert.equal(files.length, 6);
  const poke = (file: string, at: number): void => {
    const fd = fs.openSync(file, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0xff;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
  };
  poke(files[1], 1013 + HEADER + 100); // payload of record 5
  poke(files[2], 1013); // header (magic) of record 9
  poke(files[5], 1013 + HEADER + 500); // payload of record 21, in the newest segment

  q = await open(dir, opts);
  await q.append(makeBody(24, 100), 1);
  const got = seqsOf(await drain(q));
  assert.deepEqual(got, [...range(0, 6 - 1), ...range(8, 9), ...range(12, 21), 24]);
  // lost to corruption: 5-7 (CRC, counted while reading), 9 (bad header, found at open; 10-11
  // behind it are unknown), 21 (the newest segment is truncated there; 22-23 are beyond it)
  assert.equal(q.corruptRecords, 3 + 1 + 1);
  assert.equal(q.records, 0);
  assert.equal(q.bytes, 0);
  assert.equal(await q.peek(), undefined);
  await q.append(makeBody(25, 100), 1);
  assert.deepEqual(seqsOf(await drain(q)), [25]);
  await q.close();
});

test('a corrupt record in the segment being written is skipped without looping', async (t) => {
  const dir = tempDir(t);
  const q = await open(dir, { segmentBytes: 1 << 20 });
  for (let i = 0; i < 4; i++) await q.append(makeBody(i, 200), 1);
  // damaged behind the open queue's back (bit rot)
  const [file] = segFiles(dir);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from([0, 0, 0]), 0, 3, 213 + HEADER + 50);
  fs.closeSync(fd);
  assert.deepEqual(seqsOf(await drain(q)), [0]);
  assert.equal(q.corruptRecords, 3);
  await q.append(makeBody(4, 200), 1);
  assert.deepEqual(seqsOf(await drain(q)), [4]);
  await q.close();
});

test('append failing with ENOSPC: the oldest record makes room, and with nothing left to drop a clear error', async (t) => {
  const dir = tempDir(t);
  let q = await open(dir);
  await q.append(makeBody(0, 100), 1);
  await q.close();
  // the next segment is /dev/full: every write to it fails with ENOSPC
  const files = segFiles(dir);
  const next = path.join(dir, `${String(Number(path.basename(files[0], '.seg')) + 1).padStart(16, '0')}.seg`);
  fs.symlinkSync('/dev/full', next);
  q = await open(dir);
  assert.equal(q.records, 1);
  await q.append(makeBody(1, 100), 1); // record 0 goes, record 1 lands on a fresh segment
  assert.equal(q.droppedRecords, 1);
  assert.deepEqual(seqsOf(await drain(q)), [1]);
  await q.close();

  // nothing to drop: the error names the queue and keeps the code
  const dir2 = tempDir(t);
  q = await open(dir2);
  await q.close();
  const [only] = segFiles(dir2);
  fs.rmSync(only);
  fs.symlinkSync('/dev/full', only);
  q = await open(dir2);
  await assert.rejects(q.append(makeBody(2, 100), 1), (e: NodeJS.ErrnoException) => {
    assert.equal(e.code, 'ENOSPC');
    assert.match(e.message, /diskqueue .*append failed/);
    return true;
  });
  await q.append(makeBody(3, 100), 1); // moves on to a fresh segment
  assert.deepEqual(seqsOf(await drain(q)), [3]);
  await q.close();
});

test('append failing because the folder became unusable (EACCES, or ENOTDIR as root) throws a clear error', async (t) => {
  // Root ignores directory permissions, and CI runs as root: there a file put where the queue
  // folder was makes the next segment's creation fail (ENOTDIR); elsewhere a read-only folder does.
  const root = process.getuid?.() === 0;
  const dir = tempDir(t);
  const q = await open(dir, { segmentBytes: 1000 });
  await q.append(makeBody(0, 900), 1);
  const moved = `${dir}.moved`;
  if (root) {
    fs.renameSync(dir, moved);
    fs.writeFileSync(dir, 'not a folder');
  } else {
    fs.chmodSync(dir, 0o500);
  }
  try {
    await assert.rejects(q.append(makeBody(1, 900), 1), (e: Error & { code?: string }) => {
      assert.equal(e.code, root ? 'ENOTDIR' : 'EACCES');
      assert.match(e.message, /diskqueue .*: starting a new segment failed/);
      return true;
    });
  } finally {
    if (root) {
      fs.rmSync(dir);
      fs.renameSync(moved, dir);
    } else {
      fs.chmodSync(dir, 0o700);
    }
  }
  await q.append(makeBody(2, 900), 1);
  assert.deepEqual(seqsOf(await drain(q)), [0, 2]);
  await q.close();
});

// ---------------------------------------------------------------------------------------------
// child processes

/** The child: `hold` opens the queue and waits; `append <start>` appends (and acks every third
 * record) forever, reporting `a <seq>` after each append and `k <seq>` after each ack. */
function childScript(dir: string): string {
  const file = path.join(dir, 'child.mjs');
  fs.writeFileSync(
    file,
    `import { DiskQueue } from ${JSON.stringify(pathToFileURL(modulePath).href)};
const [dir, mode, start] = process.argv.slice(2);
const q = await DiskQueue.open({ dir, maxBytes: 1 << 30, segmentBytes: 32 * 1024 });
if (mode === 'hold') {
  process.stdout.write('ready\\n');
  setInterval(() => {}, 1 << 30);
} else {
  for (let seq = Number(start); ; seq++) {
    const len = 8 + ((seq * 7919) % 6000);
    const body = Buffer.alloc(len);
    body.writeUInt32LE(seq, 0);
    body.writeUInt32LE(len, 4);
    for (let i = 8; i < len; i++) body[i] = (seq * 31 + i) & 0xff;
    await q.append(body, (seq % 5) + 1);
    process.stdout.write('a ' + seq + '\\n');
    if (seq % 3 === 2) {
      const r = await q.peek();
      await q.ack();
      process.stdout.write('k ' + r.body.readUInt32LE(0) + '\\n');
    }
  }
}
`,
  );
  return file;
}

interface Child {
  pid: number;
  /** Resolves with the child's exit signal once it is gone. */
  exited: Promise<NodeJS.Signals | null>;
  stderr: () => string;
  kill: () => void;
}

/** Starts the child; onLine sees each stdout line. A guard kills it if it hangs. */
function startChild(script: string, args: string[], onLine: (line: string, c: Child) => void): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let carry = '';
  const guard = setTimeout(() => proc.kill('SIGKILL'), 120_000);
  const c: Child = {
    pid: proc.pid!,
    exited: new Promise((resolve) =>
      proc.on('close', (_code, signal) => {
        clearTimeout(guard);
        resolve(signal);
      }),
    ),
    stderr: () => err,
    kill: () => proc.kill('SIGKILL'),
  };
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  proc.stdout.setEncoding('utf8').on('data', (d: string) => {
    const lines = (carry + d).split('\n');
    carry = lines.pop()!;
    for (const l of lines) onLine(l, c);
  });
  return c;
}

test('kill -9 while appending: everything reported is intact, the queue is usable', async (t) => {
  const work = tempDir(t);
  const script = childScript(work);
  const dir = path.join(work, 'q');
  const seed = Number(process.env.NODEGRAF_TEST_SEED ?? Date.now() >>> 0);
  console.log(`# kill -9 rounds: seed ${seed} (rerun with NODEGRAF_TEST_SEED=${seed})`);
  const r = rng(seed);
  let start = 0;
  for (let round = 0; round < 3; round++) {
    const target = 30 + Math.floor(r() * 270);
    let appended = -1;
    let acked = -1;
    let reported = 0;
    const child = startChild(script, [dir, 'append', String(start)], (line, c) => {
      const [kind, n] = line.split(' ');
      if (kind === 'a') {
        appended = Number(n);
        if (++reported === target) c.kill(); // lands at a random point of the following append
      } else if (kind === 'k') {
        acked = Number(n);
      }
    });
    const signal = await child.exited;
    assert.equal(signal, 'SIGKILL', `child did not run as expected: ${child.stderr()}`);
    assert.ok(appended >= start + target - 1, `round ${round}: child reported only up to ${appended}`);

    const q = await open(dir, { segmentBytes: 32 * 1024 });
    assert.ok(q.corruptRecords <= 1, `corrupt ${q.corruptRecords}`);
    const records = q.records;
    const samples = q.samples;
    const got = await drain(q); // checkBody verifies every payload
    const seqs = seqsOf(got);
    assert.equal(records, got.length);
    assert.equal(
      samples,
      got.reduce((s, x) => s + x.samples, 0),
    );
    assert.ok(got.every((x) => x.samples === (x.seq % 5) + 1));
    // strictly increasing without gaps or duplicates, from at most the first unacked record to
    // at least the last reported append; nothing from before this round
    assert.ok(seqs.length > 0);
    assert.deepEqual(seqs, range(seqs[0], seqs[0] + seqs.length), `round ${round}: not contiguous`);
    assert.ok(
      seqs[0] >= start && seqs[0] <= Math.max(acked + 1, start),
      `round ${round}: starts at ${seqs[0]}`,
    );
    assert.ok(seqs[seqs.length - 1] >= appended, `round ${round}: lost appended records`);

    // still usable
    const after = seqs[seqs.length - 1] + 1;
    await q.append(makeBody(after, 1234), 1);
    assert.deepEqual(seqsOf(await drain(q)), [after]);
    await q.close();
    start = after + 1;
  }
});

test('lock: a live owner makes open fail; a dead one is taken over', async (t) => {
  const work = tempDir(t);
  const script = childScript(work);
  const dir = path.join(work, 'q');
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const child = startChild(script, [dir, 'hold'], (line) => line === 'ready' && ready());
  try {
    await Promise.race([isReady, child.exited.then(() => assert.fail(`child exited: ${child.stderr()}`))]);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).pid, child.pid);
    await assert.rejects(open(dir), new RegExp(`locked by another running nodegraf \\(pid ${child.pid} `));
  } finally {
    child.kill();
  }
  await child.exited;

  const q = await open(dir); // the LOCK of the killed child is stale
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).pid, process.pid);
  await assert.rejects(open(dir), /already open in this process/);
  await q.close();
  assert.equal(fs.existsSync(path.join(dir, 'LOCK')), false, 'close releases the lock');

  // a LOCK of the older format with our own pid is from a previous run that had the same pid
  fs.writeFileSync(path.join(dir, 'LOCK'), `${process.pid}\n`);
  const q2 = await open(dir);
  await q2.close();
});

test('concurrent opens of one directory in one process: exactly one wins', async (t) => {
  const dir = tempDir(t);
  const results = await Promise.allSettled([open(dir), open(dir)]);
  const ok = results.filter((r) => r.status === 'fulfilled');
  assert.equal(ok.length, 1);
  await (ok[0] as PromiseFulfilledResult<DiskQueue>).value.close();
});
