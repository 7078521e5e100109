import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../log.js';
import { MemoryTrim } from './memory-trim.js';

const log = createLogger('error', 'text');

test('a memory-reducing GC runs once, a delay after the scrapes built enough new series, and not again within the interval', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const calls: unknown[] = [];
  const trim = new MemoryTrim(log, {
    minSeries: 1000,
    delayMs: 5000,
    minIntervalMs: 60_000,
    gc: (o) => calls.push(o),
  });
  trim.noteAdded(600);
  t.mock.timers.tick(10_000);
  assert.equal(calls.length, 0, 'below the threshold: nothing');
  trim.noteAdded(600); // 1,200 since the last trim: one is scheduled
  trim.noteAdded(5000); // the same round: still one
  t.mock.timers.tick(4999);
  assert.equal(calls.length, 0, 'not before the delay');
  t.mock.timers.tick(1);
  assert.deepEqual(calls, [{ type: 'major', execution: 'sync', flavor: 'last-resort' }]);
  assert.equal(trim.count, 1);
  trim.stop();
});

test('repeated peaks (churn) are trimmed at most once per interval, and repeated scrapes of known series never', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let calls = 0;
  let now = 0;
  t.mock.method(performance, 'now', () => now);
  const trim = new MemoryTrim(log, {
    minSeries: 100,
    delayMs: 1000,
    minIntervalMs: 60_000,
    gc: () => calls++,
  });
  const advance = (ms: number) => {
    now += ms;
    t.mock.timers.tick(ms);
  };
  trim.noteAdded(500);
  advance(1000);
  assert.equal(calls, 1);
  for (let i = 0; i < 10; i++) {
    trim.noteAdded(0); // a repeated scrape: every series known
    advance(5000);
  }
  assert.equal(calls, 1, 'no new series, no trim');
  trim.noteAdded(500); // 51 s after the first trim
  advance(1000);
  assert.equal(calls, 1, 'within the interval: waits');
  advance(9000);
  assert.equal(calls, 2, 'the interval after the first one');
  trim.stop();
});

test('without an injected GC it uses V8 gc extension, exposed at run time', () => {
  const trim = new MemoryTrim(log, { minSeries: 1, delayMs: 0, minIntervalMs: 0 });
  // the private run, as the timer would call it: must not throw, and counts the trim
  (trim as unknown as { run(): void }).run();
  assert.equal(trim.count, 1);
  assert.ok(trim.totalMs >= 0);
});
