import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeriesCache, type BuiltSeries } from './series-cache.js';

const built = (labels: string | null, o: Partial<BuiltSeries> = {}): BuiltSeries => ({
  labels,
  slot: -1,
  ...o,
});

test('evictGroups forgets the entries whose labels changed inputs: a marker for the delivered ones, rebuilt next time', () => {
  const c = new SeriesCache();
  const seq = c.begin();
  const a = c.add(1, 11, 5, undefined, built('labels-of-pod-a', { group: 'ns/a' }));
  const b = c.add(2, 22, 5, undefined, built('labels-of-pod-b', { group: 'ns/b' }));
  c.lastSeen[a] = c.lastSeen[b] = seq;
  c.endGood(() => assert.fail('nothing went away'));
  assert.equal(c.series, 2);
  const stale: string[] = [];
  assert.equal(
    c.evictGroups(new Set(['ns/a']), (l) => stale.push(l)),
    1,
  );
  assert.deepEqual(stale, ['labels-of-pod-a']);
  assert.equal(c.series, 1);
  assert.equal(c.get(1, 11, 5), -1, 'rebuilt on the next scrape');
  assert.equal(c.get(2, 22, 5), b);
});

test('a label set shared by raw series stays shared while any holds it, and goes stale once when the last goes', () => {
  const c = new SeriesCache();
  const stale: string[] = [];
  const onStale = (l: string) => stale.push(l);
  // one scrape: the entries met (in order) and which of them were sent
  const scrape = (met: number[]): number[] => {
    const seq = c.begin();
    const sent: number[] = [];
    for (const id of met) {
      c.lastSeen[id] = seq;
      if (!c.isShared(id) || c.claim(id, seq)) sent.push(id);
    }
    c.endGood(onStale);
    return sent;
  };
  c.begin();
  const a = c.add(1, 1, 1, undefined, built('same'));
  assert.deepEqual(scrape([a]), [a]);
  const b = c.add(2, 2, 1, undefined, built('same'));
  assert.ok(c.isShared(a) && c.isShared(b));
  assert.deepEqual(scrape([a, b]), [a], 'one value per scrape');
  assert.deepEqual(scrape([b]), [b], 'a went away: b is sent in its place');
  assert.deepEqual(stale, [], 'no marker while another holder sends the set');
  // a third holder after the first one was released must still share with b
  const d = c.add(3, 3, 1, undefined, built('same'));
  assert.ok(c.isShared(d), 'the set is still known as shared');
  assert.deepEqual(scrape([b, d]), [b]);
  assert.deepEqual(scrape([d]), [d]);
  assert.deepEqual(stale, []);
  assert.deepEqual(scrape([]), []);
  assert.deepEqual(stale, ['same'], 'one marker when the last holder goes');
  // the set is free again: a new holder is plain
  const e = c.add(4, 4, 1, undefined, built('same'));
  assert.equal(c.isShared(e), false);
});

test('a second holder met after the first in the same scrape is not sent twice', () => {
  const c = new SeriesCache();
  const seq = c.begin();
  const a = c.add(1, 1, 1, undefined, built('same'));
  c.lastSeen[a] = seq; // met and sent (it was not shared yet)
  const b = c.add(2, 2, 1, undefined, built('same'));
  c.lastSeen[b] = seq;
  assert.equal(c.claim(b, seq), false, 'the set was already sent in this scrape');
  const stale: string[] = [];
  c.endGood((l) => stale.push(l));
  assert.equal(c.series, 1, 'one series delivered');
  assert.deepEqual(stale, []);
});

test('errors and limits stay with their entry; a freed id is reused clean', () => {
  const c = new SeriesCache();
  const seq = c.begin();
  const bad = c.add(1, 1, 1, undefined, built(null, { error: 'bad line' }));
  const big = c.add(2, 2, 1, undefined, built('big', { limit: 'label_limit exceeded' }));
  const ok = c.add(3, 3, 1, undefined, built('ok', { slot: 7 }));
  assert.equal(c.errorOf(bad), 'bad line');
  assert.equal(c.limitOf(big), 'label_limit exceeded');
  assert.equal(c.limitOf(ok), undefined);
  assert.equal(c.slot[ok], 7);
  c.lastSeen[ok] = seq;
  c.endGood(() => undefined); // bad and big were not met: forgotten
  assert.equal(c.entries, 1);
  const again = c.add(4, 4, 1, undefined, built('new'));
  assert.ok(again === bad || again === big, 'a freed id is reused');
  assert.equal(c.errorOf(again), undefined);
  assert.equal(c.limitOf(again), undefined);
  assert.equal(c.slot[again], -1);
  assert.equal(c.lastSeen[again], 0);
  assert.equal(c.lastTs[again], -Infinity);
});

test('the hash index agrees with a Map under random adds, removals, low-bit collisions and compaction', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1e9);
  console.log(`# seed ${seed} (SEED=${seed} repeats it)`);
  let x = seed >>> 0 || 1;
  const rnd = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const c = new SeriesCache();
  // the model: series key "lo:hi" -> its labels, for the series present
  const model = new Map<string, string>();
  const idOf = (key: string) => {
    const [lo, hi] = key.split(':').map(Number);
    const id = c.get(lo, hi, 8);
    return id >= 0 ? id : c.getCollided(key);
  };
  let peak = 0;
  for (let round = 0; round < 300; round++) {
    const seq = c.begin();
    // rounds 0-99 grow the target, 100-199 shrink it to a few series, then it grows again
    const adds = round < 100 ? rnd(200) : round < 200 ? rnd(3) : rnd(50);
    // drop one in 20 while growing, half while shrinking, a quarter after
    const keepOneIn = round < 100 ? 20 : round < 200 ? 2 : 4;
    for (let i = adds; i > 0; i--) {
      // lo from a small range, so that low bits collide and probe runs wrap
      const lo = rnd(4096) - 2048;
      const hi = rnd(1 << 30);
      const key = `${lo}:${hi}`;
      if (model.has(key)) continue;
      assert.equal(idOf(key), -1, `${key} is not cached yet`);
      const id = c.add(lo, hi, 8, c.slotFree(lo) ? undefined : key, built(`L${key}`));
      c.lastSeen[id] = seq;
      model.set(key, `L${key}`);
    }
    for (const key of model.keys()) if (rnd(keepOneIn) !== 0) c.lastSeen[idOf(key)] = seq;
    for (const key of [...model.keys()]) if (c.lastSeen[idOf(key)] !== seq) model.delete(key);
    c.endGood(() => undefined);
    peak = Math.max(peak, c.capacity);
    assert.equal(c.entries, model.size, `round ${round}: entries`);
    for (const [key, labels] of model) {
      const id = idOf(key);
      assert.ok(id >= 0, `round ${round}: ${key} found`);
      assert.equal(c.labels[id], labels, `round ${round}: ${key} labels`);
    }
    if (round === 199) {
      assert.ok(model.size < 64, `${model.size} series left`);
      assert.ok(c.capacity < peak / 4, `columns shrank from ${peak} to ${c.capacity}`);
    }
  }
});
