// The remote-write request itself, over a real loopback socket: headers, auth, body, and per-shard
// order under retries.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../log.js';
import { testWriter } from '../testing/config.js';
import { waitFor } from '../testing/net.js';
import { startWriteReceiver, type Answer } from '../testing/receiver.js';
import { decodeChunk } from '../prompb/decode.js';
import { encodeLabels, WriteRequestBuilder } from '../prompb/encode.js';
import { parseRetryAfter } from './client.js';
import { RemoteWriter } from './writer.js';

const log = createLogger('silent', 'text');

const receiver = (answer: (n: number, body: Buffer) => number | Answer) => startWriteReceiver(answer);

function chunk(seq: number, target = 'a') {
  const b = new WriteRequestBuilder();
  b.append(
    encodeLabels([
      ['__name__', 'seq_test'],
      ['target', target],
    ]),
    seq,
    1_000 + seq,
  );
  return { samples: 1, body: b.takeCompressed() };
}

test('remote write 1.0 request: snappy protobuf, the three headers, User-Agent, basic auth, custom headers', async () => {
  const r = await receiver(() => 204);
  const w = new RemoteWriter(
    testWriter(r.url, {
      basicAuthUser: 'user',
      basicAuthPass: 'pass',
      headers: { 'X-Scope-OrgID': 'tenant-1' },
    }),
    { batch: 1000, chanSize: 10_000, shutdownGraceMs: 5000 },
    { dir: '', maxBytes: 0 },
    log,
  );
  await w.start();
  w.push(chunk(7), 0);
  await waitFor('request', () => r.seen.length === 1 && w.idle);
  const { headers, body } = r.seen[0];
  assert.equal(headers['content-encoding'], 'snappy');
  assert.equal(headers['content-type'], 'application/x-protobuf');
  assert.equal(headers['x-prometheus-remote-write-version'], '0.1.0');
  assert.match(String(headers['user-agent']), /^nodegraf\/\d+\.\d+\.\d+/);
  assert.equal(headers.authorization, 'Basic ' + Buffer.from('user:pass').toString('base64'));
  assert.equal(headers['x-scope-orgid'], 'tenant-1');
  const [s] = decodeChunk(body);
  assert.deepEqual(s.labels, [
    ['__name__', 'seq_test'],
    ['target', 'a'],
  ]);
  assert.equal(s.value, 7);
  assert.equal(w.stats.sentSamples, 1);
  await w.close(100);
  await r.close();
});

test('one shard keeps order through retries: samples arrive in the order they were scraped', async () => {
  // every third request fails with 503 the first time
  const r = await receiver((n) => (n % 3 === 1 ? 503 : 204));
  const w = new RemoteWriter(
    testWriter(r.url, { maxInFlight: 4 }),
    { batch: 1000, chanSize: 10_000, shutdownGraceMs: 5000 },
    { dir: '', maxBytes: 0 },
    log,
  );
  await w.start();
  for (let i = 0; i < 30; i++) w.push(chunk(i), 12345); // one target -> one shard
  await waitFor('delivery', () => w.idle, 60_000);
  const delivered = r.seen.filter((x) => x.status === 204).map((x) => decodeChunk(x.body)[0].value);
  assert.deepEqual(
    delivered,
    Array.from({ length: 30 }, (_, i) => i),
  );
  assert.ok(w.stats.retriedSamples > 0);
  await w.close(100);
  await r.close();
});

test('a send returns the Retry-After it was answered with, so it delays only its own shard', async () => {
  const r = await receiver((n) => (n === 0 ? { status: 429, headers: { 'retry-after': '3' } } : 503));
  const w = new RemoteWriter(
    testWriter(r.url),
    { batch: 1000, chanSize: 10_000, shutdownGraceMs: 5000 },
    { dir: '', maxBytes: 0 },
    log,
  );
  assert.deepEqual(await w.send(chunk(1)), { kind: 'retry', retryAfterMs: 3000 });
  assert.deepEqual(await w.send(chunk(2)), { kind: 'retry', retryAfterMs: 0 }, 'a 503 without one');
  await w.close(0);
  await r.close();
});

test("a shard does not take another shard's Retry-After", async () => {
  // Shard "a"'s first chunk is refused for good (400) with a Retry-After of 5 s; shard "b"'s first
  // request then fails with a plain 503 and must retry after its own short backoff (~0.5 s).
  const r = await receiver((_n, body) => {
    const [s] = decodeChunk(body);
    const target = s.labels.find(([k]) => k === 'target')![1];
    const tries = r.seen.filter((x) =>
      decodeChunk(x.body)[0].labels.some(([k, v]) => k === 'target' && v === target),
    ).length;
    if (target === 'a' && tries === 0) return { status: 400, headers: { 'retry-after': '5' } };
    if (target === 'b' && tries === 0) return 503;
    return 204;
  });
  const w = new RemoteWriter(
    testWriter(r.url, { maxInFlight: 2 }),
    { batch: 1000, chanSize: 10_000, shutdownGraceMs: 5000 },
    { dir: '', maxBytes: 0 },
    log,
  );
  await w.start();
  w.push(chunk(1, 'a'), 0);
  await waitFor('the 400', () => r.seen.length === 1);
  w.push(chunk(2, 'b'), 1);
  await waitFor('delivery', () => w.idle && r.seen.length === 3, 20_000);
  const [, firstB, retryB] = r.seen;
  const waited = (retryB.at - firstB.at) / 1000;
  assert.ok(waited < 2.5, `shard b waited ${waited.toFixed(2)} s: it took shard a's Retry-After`);
  await w.close(0);
  await r.close();
});

test('Retry-After: seconds or an HTTP date, bounded', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter('100000'), 300_000);
  const inTwo = new Date(Date.now() + 2000).toUTCString();
  assert.ok(parseRetryAfter(inTwo) > 0 && parseRetryAfter(inTwo) <= 2000);
  assert.equal(parseRetryAfter('soon'), 0);
});

test('SIGTERM while a writer still sends its on-disk backlog after an outage: shutdown_grace delivers it, the last scrape included', async () => {
  let failing = true;
  const accepted: Buffer[] = [];
  const r = await receiver((_n, body) => {
    if (failing) return 503;
    accepted.push(body);
    return 204;
  });
  const dir = mkdtempSync(join(tmpdir(), 'nodegraf-writer-grace-'));
  const w = new RemoteWriter(
    testWriter(r.url, { maxInFlight: 1 }),
    { batch: 1000, chanSize: 10_000, shutdownGraceMs: 5000 },
    { dir, maxBytes: 64 * 1024 * 1024 },
    log,
  );
  await w.start();
  try {
    const backlog = 300;
    for (let i = 1; i <= backlog; i++) w.push(chunk(i), 0);
    await waitFor('the outage moved the backlog to disk', () => w.diskSamples >= backlog - 1);
    failing = false;
    await waitFor('the store answers again', () => w.stats.sentSamples >= 1);
    // the shard sends from disk, so memory is empty while the backlog and the last scrape wait there
    w.push(chunk(backlog + 1), 0);
    assert.ok(w.memorySamples === 0 && w.diskSamples > 1, 'the last chunk waits on disk, memory is empty');
    const res = await w.close(5000);
    assert.deepEqual(res, { persisted: 0, onDisk: 0, lost: 0 });
    const got = new Set(accepted.flatMap((b) => decodeChunk(b).map((x) => x.value)));
    assert.equal(got.size, backlog + 1, 'every chunk reached the store before the exit');
  } finally {
    await w.close(0);
    await r.close();
  }
});
