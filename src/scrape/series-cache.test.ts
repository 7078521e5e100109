import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CacheEntry, SeriesCache } from './series-cache.js';

test('evict forgets the entries whose labels changed inputs: a marker for the delivered ones, rebuilt next time', () => {
  const c = new SeriesCache();
  const seq = c.begin();
  const a = new CacheEntry('labels-of-pod-a');
  const b = new CacheEntry('labels-of-pod-b');
  c.add(1, 11, 5, undefined, a);
  c.add(2, 22, 5, undefined, b);
  a.lastSeen = b.lastSeen = seq;
  c.endGood(() => assert.fail('nothing went away'));
  assert.equal(c.series, 2);
  const stale: string[] = [];
  assert.equal(
    c.evict(
      (l) => l.includes('pod-a'),
      (l) => stale.push(l),
    ),
    1,
  );
  assert.deepEqual(stale, ['labels-of-pod-a']);
  assert.equal(c.series, 1);
  assert.equal(c.get(1, 11, 5), undefined, 'rebuilt on the next scrape');
  assert.equal(c.get(2, 22, 5), b);
});
