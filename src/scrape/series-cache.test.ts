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
      (e) => e.labels!.includes('pod-a'),
      (l) => stale.push(l),
    ),
    1,
  );
  assert.deepEqual(stale, ['labels-of-pod-a']);
  assert.equal(c.series, 1);
  assert.equal(c.get(1, 11, 5), undefined, 'rebuilt on the next scrape');
  assert.equal(c.get(2, 22, 5), b);
});

test('a label set shared by raw series stays shared while any holds it, and goes stale once when the last goes', () => {
  const c = new SeriesCache();
  const stale: string[] = [];
  const onStale = (l: string) => stale.push(l);
  // one scrape: the entries met (in order) and which of them were sent
  const scrape = (met: CacheEntry[]): CacheEntry[] => {
    const seq = c.begin();
    const sent: CacheEntry[] = [];
    for (const e of met) {
      e.lastSeen = seq;
      if (!e.shared || c.claim(e, seq)) sent.push(e);
    }
    c.endGood(onStale);
    return sent;
  };
  const a = new CacheEntry('same');
  const b = new CacheEntry('same');
  const d = new CacheEntry('same');
  c.add(1, 1, 1, undefined, a);
  assert.deepEqual(scrape([a]), [a]);
  c.add(2, 2, 1, undefined, b);
  assert.ok(a.shared && b.shared);
  assert.deepEqual(scrape([a, b]), [a], 'one value per scrape');
  assert.deepEqual(scrape([b]), [b], 'a went away: b is sent in its place');
  assert.deepEqual(stale, [], 'no marker while another holder sends the set');
  // a third holder after the first one was released must still share with b
  c.add(3, 3, 1, undefined, d);
  assert.ok(d.shared, 'the set is still known as shared');
  assert.deepEqual(scrape([b, d]), [b]);
  assert.deepEqual(scrape([d]), [d]);
  assert.deepEqual(stale, []);
  assert.deepEqual(scrape([]), []);
  assert.deepEqual(stale, ['same'], 'one marker when the last holder goes');
  // the set is free again: a new holder is plain
  const e = new CacheEntry('same');
  c.add(4, 4, 1, undefined, e);
  assert.equal(e.shared, false);
});
