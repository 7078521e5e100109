// The remote-write request itself, over a real loopback socket: headers, auth, body, and per-shard
// order under retries.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createLogger } from '../log.js';
import { testWriter } from '../testing/config.js';
import { waitFor } from '../testing/net.js';
import { decodeChunk } from '../prompb/decode.js';
import { encodeLabels, WriteRequestBuilder } from '../prompb/encode.js';
import { parseRetryAfter, RemoteWriter } from './writer.js';

const log = createLogger('silent', 'text');

async function receiver(answer: (n: number) => number) {
  const seen: Array<{ headers: IncomingHttpHeaders; body: Buffer; status: number }> = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const status = answer(seen.length);
      seen.push({ headers: req.headers, body: Buffer.concat(parts), status });
      res.writeHead(status);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function chunk(seq: number) {
  const b = new WriteRequestBuilder();
  b.append(
    encodeLabels([
      ['__name__', 'seq_test'],
      ['target', 'a'],
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

test('Retry-After: seconds or an HTTP date, bounded', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter('100000'), 300_000);
  const inTwo = new Date(Date.now() + 2000).toUTCString();
  assert.ok(parseRetryAfter(inTwo) > 0 && parseRetryAfter(inTwo) <= 2000);
  assert.equal(parseRetryAfter('soon'), 0);
});
