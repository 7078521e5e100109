import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Chunk } from '../prompb/chunk.js';
import { PendingChunks } from './pending.js';

const chunk = (samples: number, tag: number): Chunk => ({ samples, body: Buffer.from([tag]) });

test('chunks pushed before the queues open are handed over in order, with their shard keys', () => {
  const p = new PendingChunks(100);
  assert.ok(p.push(chunk(40, 1), 7));
  assert.ok(p.push(chunk(40, 2), 3));
  const got: Array<[number, number]> = [];
  p.drain((c, key) => got.push([c.body[0]!, key]));
  assert.deepEqual(got, [
    [1, 7],
    [2, 3],
  ]);
  p.drain(() => assert.fail('drained twice'));
});

test('the bound is chan_size: a chunk that would pass it is refused (the writer counts it), smaller ones still fit', () => {
  const p = new PendingChunks(100);
  assert.ok(p.push(chunk(60, 1), 0));
  assert.equal(p.push(chunk(50, 2), 0), false);
  assert.ok(p.push(chunk(40, 3), 0));
  p.setMaxSamples(200);
  assert.ok(p.push(chunk(100, 4), 0));
  assert.equal(p.discard(), 200);
  assert.equal(p.discard(), 0);
});
