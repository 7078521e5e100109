import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeLabels } from '../prompb/encode.js';
import { firstLabelEnd } from './label-arena.js';
import { SeriesCache, type BuiltSeries } from './series-cache.js';

/** A valid encoded label set (the cache splits it at its first label) told apart by `s`. */
const L = (s: string) =>
  encodeLabels([
    ['__name__', 'm'],
    ['set', s],
  ]);
const bytes = (labels: string) => Buffer.from(labels, 'latin1');
const NAME_RUN = firstLabelEnd(bytes(L('')));

const built = (labels: string | null, o: Partial<BuiltSeries> = {}): BuiltSeries => ({
  labels: labels === null ? null : bytes(labels),
  slot: -1,
  ...o,
});

test('evictGroups forgets the entries whose labels changed inputs: a marker for the delivered ones, rebuilt next time', () => {
  const c = new SeriesCache();
  const seq = c.begin();
  const a = c.add(1, 11, 5, undefined, built(L('labels-of-pod-a'), { group: 'ns/a' }));
  const b = c.add(2, 22, 5, undefined, built(L('labels-of-pod-b'), { group: 'ns/b' }));
  c.lastSeen[a] = c.lastSeen[b] = seq;
  c.endGood(() => assert.fail('nothing went away'));
  assert.equal(c.series, 2);
  const stale: string[] = [];
  assert.equal(
    c.evictGroups(new Set(['ns/a']), (id) => stale.push(c.labelsOf(id)!)),
    1,
  );
  assert.deepEqual(stale, [L('labels-of-pod-a')]);
  assert.equal(c.series, 1);
  assert.equal(c.get(1, 11, 5), -1, 'rebuilt on the next scrape');
  assert.equal(c.get(2, 22, 5), b);
});

test('a label set shared by raw series stays shared while any holds it, and goes stale once when the last goes', () => {
  const c = new SeriesCache();
  const stale: string[] = [];
  const onStale = (id: number) => stale.push(c.labelsOf(id)!);
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
  const a = c.add(1, 1, 1, undefined, built(L('same')));
  assert.deepEqual(scrape([a]), [a]);
  const b = c.add(2, 2, 1, undefined, built(L('same')));
  assert.ok(c.isShared(a) && c.isShared(b));
  assert.deepEqual(scrape([a, b]), [a], 'one value per scrape');
  assert.deepEqual(scrape([b]), [b], 'a went away: b is sent in its place');
  assert.deepEqual(stale, [], 'no marker while another holder sends the set');
  // a third holder after the first one was released must still share with b
  const d = c.add(3, 3, 1, undefined, built(L('same')));
  assert.ok(c.isShared(d), 'the set is still known as shared');
  assert.deepEqual(scrape([b, d]), [b]);
  assert.deepEqual(scrape([d]), [d]);
  assert.deepEqual(stale, []);
  assert.deepEqual(scrape([]), []);
  assert.deepEqual(stale, [L('same')], 'one marker when the last holder goes');
  // the set is free again: a new holder is plain
  const e = c.add(4, 4, 1, undefined, built(L('same')));
  assert.equal(c.isShared(e), false);
});

test('a second holder met after the first in the same scrape is not sent twice', () => {
  const c = new SeriesCache();
  const seq = c.begin();
  const a = c.add(1, 1, 1, undefined, built(L('same')));
  c.lastSeen[a] = seq; // met and sent (it was not shared yet)
  const b = c.add(2, 2, 1, undefined, built(L('same')));
  c.lastSeen[b] = seq;
  assert.equal(c.claim(b, seq), false, 'the set was already sent in this scrape');
  const stale: string[] = [];
  c.endGood((id) => stale.push(c.labelsOf(id)!));
  assert.equal(c.series, 1, 'one series delivered');
  assert.deepEqual(stale, []);
});

test('errors and limits stay with their entry; a freed id is reused clean', () => {
  const c = new SeriesCache();
  const seq = c.begin();
  const bad = c.add(1, 1, 1, undefined, built(null, { error: 'bad line' }));
  const big = c.add(2, 2, 1, undefined, built(L('big'), { limit: 'label_limit exceeded' }));
  const ok = c.add(3, 3, 1, undefined, built(L('ok'), { slot: 7 }));
  assert.equal(c.errorOf(bad), 'bad line');
  assert.equal(c.limitOf(big), 'label_limit exceeded');
  assert.equal(c.limitOf(ok), undefined);
  assert.equal(c.slot[ok], 7);
  c.lastSeen[ok] = seq;
  c.endGood(() => undefined); // bad and big were not met: forgotten
  assert.equal(c.entries, 1);
  const again = c.add(4, 4, 1, undefined, built(L('new')));
  assert.ok(again === bad || again === big, 'a freed id is reused');
  assert.equal(c.errorOf(again), undefined);
  assert.equal(c.limitOf(again), undefined);
  assert.equal(c.slot[again], -1);
  assert.equal(c.lastSeen[again], 0);
  assert.equal(c.lastTs[again], -Infinity);
});

test('the hash index and the label arena agree with a Map under random adds, removals, low-bit collisions and compaction', () => {
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
  let peakBytes = 0;
  // label sets of 20-400 bytes, so that freed ones pass the arena's slack and it repacks
  const labelsFor = (key: string) =>
    L(`L${key}`.padEnd(20 + (Math.abs(Number(key.split(':')[1])) % 380), '.'));
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
      const id = c.add(lo, hi, 8, c.slotFree(lo) ? undefined : key, built(labelsFor(key)));
      c.lastSeen[id] = seq;
      model.set(key, labelsFor(key));
    }
    for (const key of model.keys()) if (rnd(keepOneIn) !== 0) c.lastSeen[idOf(key)] = seq;
    for (const key of [...model.keys()]) if (c.lastSeen[idOf(key)] !== seq) model.delete(key);
    c.endGood(() => undefined);
    peak = Math.max(peak, c.capacity);
    peakBytes = Math.max(peakBytes, c.labelCapacity);
    assert.equal(c.entries, model.size, `round ${round}: entries`);
    // the distinct runs: every rest differs, the first label (__name__ m) is one run
    let bytes = model.size > 0 ? NAME_RUN : 0;
    for (const labels of model.values()) bytes += labels.length - NAME_RUN;
    assert.equal(c.labelBytes, bytes, `round ${round}: label bytes`);
    for (const [key, labels] of model) {
      const id = idOf(key);
      assert.ok(id >= 0, `round ${round}: ${key} found`);
      assert.equal(c.labelsOf(id), labels, `round ${round}: ${key} labels`);
    }
    if (round === 199) {
      assert.ok(model.size < 64, `${model.size} series left`);
      assert.ok(c.capacity < peak / 4, `columns shrank from ${peak} to ${c.capacity}`);
      assert.ok(
        c.labelCapacity < peakBytes / 4,
        `label arena shrank from ${peakBytes} to ${c.labelCapacity}`,
      );
    }
  }
});

test('holds finds a label set by its bytes, also after the arena is repacked', () => {
  const c = new SeriesCache();
  const big = (i: number) => L(`set-${i}-`.padEnd(300, 'x'));
  let seq = c.begin();
  const ids: number[] = [];
  for (let i = 0; i < 1000; i++) {
    ids.push(c.add(i + 1, i, 1, undefined, built(big(i))));
    c.lastSeen[ids[i]] = seq;
  }
  c.endGood(() => assert.fail('nothing went away'));
  const before = c.labelCapacity;
  // keep every tenth: 270 KB freed against 30 KB live, past the slack: the arena is repacked
  seq = c.begin();
  for (let i = 0; i < 1000; i += 10) c.lastSeen[ids[i]] = seq;
  c.endGood(() => undefined);
  assert.ok(c.labelCapacity < before / 4, `repacked: ${before} -> ${c.labelCapacity} bytes`);
  assert.equal(c.labelBytes, NAME_RUN + 100 * (big(0).length - NAME_RUN), 'one name run, 100 rests');
  for (let i = 0; i < 1000; i++) {
    assert.equal(c.holds(big(i)), i % 10 === 0, `set ${i}`);
    if (i % 10 === 0) assert.equal(c.labelsOf(c.get(i + 1, i, 1)), big(i));
  }
  assert.equal(c.holds(L('set-0-')), false, 'a prefix is not the set');
});

test('label sets share their runs: a rest of labels is held once for every family that carries it', () => {
  const c = new SeriesCache();
  const rest: Array<[string, string]> = [
    ['container', 'app'],
    ['id', '/kubepods/burstable/pod-0123/0123456789abcdef'],
    ['pod', 'app-0'],
  ];
  const set = (name: string) => encodeLabels([['__name__', name], ...rest]);
  let seq = c.begin();
  const cpu = c.add(1, 1, 1, undefined, built(set('container_cpu_usage_seconds_total')));
  const mem = c.add(2, 2, 1, undefined, built(set('container_memory_working_set_bytes')));
  c.lastSeen[cpu] = c.lastSeen[mem] = seq;
  c.endGood(() => assert.fail('nothing went away'));
  const restBytes = set('x').length - firstLabelEnd(bytes(set('x')));
  assert.equal(
    c.labelBytes,
    set('container_cpu_usage_seconds_total').length +
      firstLabelEnd(bytes(set('container_memory_working_set_bytes'))),
    'the rest once',
  );
  assert.ok(restBytes > 0);
  assert.equal(c.isShared(cpu), false, 'a shared rest is not a shared label set');
  seq = c.begin();
  c.lastSeen[mem] = seq;
  const stale: string[] = [];
  c.endGood((id) => stale.push(c.labelsOf(id)!));
  assert.deepEqual(stale, [set('container_cpu_usage_seconds_total')]);
  assert.equal(
    c.labelsOf(mem),
    set('container_memory_working_set_bytes'),
    'the rest stays with its other holder',
  );
  c.begin();
  c.endGood(() => undefined);
  assert.equal(c.labelBytes, 0);
});
