// The series cache of one target, after Prometheus's scrapeCache (scrape/scrape.go): what each raw
// series text of the target turned into, so that a series seen before costs a hash and a table
// lookup instead of label parsing, filtering, relabeling, sorting and encoding; and which series the
// last good scrape delivered, so that the ones that go away get one staleness marker.
//
// Contract (one scrape at a time, all calls from the target's own scrape). An entry is an id (a
// small integer); its fields are columns of the cache, read and written by id:
//   begin()                    a scrape starts; returns its sequence number
//   get(lo, hi, length)        the id of a raw series text, by the 64-bit hash and length the
//                              parser computed, or -1 (hot path: no allocation, no string)
//   getCollided(text)          the id of a text whose low hash bits another series holds, or -1
//   add(lo, hi, length, ...)   cache what a miss built (series-labels.ts); returns the new id
//   lastSeen[id] === seq       the scrape already met this series (a duplicate line); the caller
//                              sets lastSeen[id] = seq when it uses an entry
//   claim(id, seq)             for an entry whose final labels another raw series shares
//                              (`isShared(id)`, e.g. after ignore_label_keys): true for the first of
//                              them met in this scrape, which alone is sent
//   labelLen[id] < 0           the entry sends nothing (dropped or invalid); else appendTo writes
//                              its sample with its labelLen[id] bytes of encoded labels
//   endGood(onStale)           the scrape was delivered: every series the previous good scrape
//                              delivered and this one did not gets onStale (once), and is forgotten
//   endFailed(onStale)         the scrape failed and nothing of it was sent: every series the last
//                              good scrape delivered gets onStale; series first met in the failed
//                              scrape get none (they were never sent) and are forgotten
//   evictGroups(groups, ...)   forget the entries of the enricher's groups that changed (see
//                              plugins.ts); delivered ones get onStale, and the next scrape rebuilds
//                              them as new series
// The plug-ins of plugins.ts each own one column, set on the miss: `group` (enricher) and `slot` (tap).
// Entries own their encoded labels for as long as they are cached; onStale receives the id of an
// entry that is about to be forgotten, synchronously: its labels are valid during the call only.
//
// Memory (issue 19). The entries are columns of typed arrays, the indexes open-addressing tables of
// ids (id-table.ts) and the labels two interned runs of bytes (label-arena.ts): no object or string per
// series on the JS heap. Measured with `npm run bench:memory` on Node 24 (40,000 generated series):
// 781 B of heap per series with a CacheEntry object per series (its two timestamps boxed as heap
// numbers), a Map by hash and a holder record per label set; 549 with the columns but the labels as
// strings in a Map; the figures after are in docs/performance.md. Typed arrays and Buffers live
// outside the JS heap: no GC marking, no heap headroom.
import type { EncodedLabels, WriteRequestBuilder } from '../prompb/encode.js';
import { IdTable } from './id-table.js';
import { firstLabelEnd, RunPool } from './label-arena.js';

/** What a cache miss built (series-labels.ts), before it becomes an entry. */
export interface BuiltSeries {
  /**
   * Encoded final labels (encodeLabelBytes: may be a scratch view, copied by `add`), or null when
   * the series is dropped by filters/relabeling or invalid.
   */
  labels: Uint8Array | null;
  /** Parse error of the series text, counted on every scrape that contains it. */
  error?: string;
  /** A label limit this series breaks: fails every scrape that contains it. */
  limit?: string;
  /** The enricher's group of this series (interned; the pod `namespace/name`): see evictGroups. */
  group?: string;
  /** Slot of the pipeline's tap for this series, -1 when the tap does not want it. */
  slot: number;
}

/** An entry that went away and gets a staleness marker; its labels are valid during the call only. */
export type OnStale = (id: number) => void;

// flags
const USED = 1;
/** The last good scrape delivered it (it gets a staleness marker when it goes away). */
const DELIVERED = 2;
/** Another raw series of the target has the same final labels: see claim. */
const SHARED = 4;
/** Cached by its text in `collided`, not in the hash table. */
const COLLIDED = 8;
/** It breaks a label limit (`limits`). */
const LIMIT = 16;

const INITIAL = 64;

export class SeriesCache {
  // --- the entries' columns, by id (the hot loop reads them directly); `add` sets every one ---
  /** Sequence number of the last scrape that met the series (0: never). */
  lastSeen = new Int32Array(INITIAL);
  /**
   * Last explicit timestamp delivered (ms), to skip samples whose timestamp did not advance, and
   * the one of the scrape in progress, which counts only once that scrape is delivered.
   */
  lastTs = new Float64Array(INITIAL);
  scrapeTs = new Float64Array(INITIAL);
  /** Tap slot, -1 for none. */
  slot = new Int32Array(INITIAL);
  /** Bytes of the encoded final labels (see appendTo); -1 for a series dropped or invalid. */
  labelLen = new Int32Array(INITIAL);
  /** The runs of the pool (label-arena.ts) that hold the first label and the rest. */
  private nameRun = new Int32Array(INITIAL);
  private restRun = new Int32Array(INITIAL);
  private flags = new Uint8Array(INITIAL);
  /** The scrape in which a shared entry won the claim on its labels (a store refuses two values of one series at once). */
  private wonSeq = new Int32Array(INITIAL);
  /** The low and high 32 bits of the series text's hash, and its length: confirm a hit. */
  private hashLo = new Int32Array(INITIAL);
  private hashHi = new Int32Array(INITIAL);
  private textLength = new Int32Array(INITIAL);
  private group: Array<string | undefined> = [];
  /** Parse errors and broken limits, by id (rare). */
  private readonly errors = new Map<number, string>();
  private readonly limits = new Map<number, string>();
  /** Ids below this have been used; freed ones wait in `free`. */
  private top = 0;
  private free: number[] = [];

  /** The series texts' low hash bits -> id (unique keys: a second text with the same bits goes to `collided`). */
  private readonly index = new IdTable(2 * INITIAL);
  /**
   * Series whose low hash bits were already taken by another series (about one in 20k at 10k series
   * per target), by their full text, and the text of each such id (to forget it).
   */
  private readonly collided = new Map<string, number>();
  private readonly collidedText = new Map<number, string>();

  /**
   * Final label sets -> the ids that hold them (setKey of their two runs; a multimap, confirmed by
   * comparing the run ids: equal bytes are one run). Usually one holder; a set two raw series share (rare: ignore_label_keys, labeldrop, a
   * container restart under a dropped `id`) is SHARED in each holder's flags: then each scrape sends
   * the first of them it meets, and the set goes stale only when all are gone.
   */
  private readonly sets = new IdTable(2 * INITIAL);
  private readonly runs = new RunPool();
  private seq = 0;
  private count = 0;
  private deliveredCount = 0;

  /** Series cached (delivered or not, dropped ones included: their entry says why). */
  get entries(): number {
    return this.count;
  }

  /** Bytes of the distinct runs of encoded labels the cache holds (label-arena.ts: outside the JS heap). */
  get labelBytes(): number {
    return this.runs.live;
  }

  /** Bytes the label runs have reserved (live runs, freed ones not yet repacked, room to grow). */
  get labelCapacity(): number {
    return this.runs.capacity;
  }

  /** The entry's encoded labels as a string, null when it sends nothing (tests, rare paths). */
  labelsOf(id: number): EncodedLabels | null {
    if (this.labelLen[id] < 0) return null;
    const { buf, off, len } = this.runs;
    const a = this.nameRun[id];
    const b = this.restRun[id];
    return buf.latin1Slice(off[a], off[a] + len[a]) + buf.latin1Slice(off[b], off[b] + len[b]);
  }

  /** The entry's name run (its first label: `__name__` unless a label name sorts before it). */
  nameRunOf(id: number): number {
    return this.nameRun[id];
  }

  /** The entry's other run. */
  restRunOf(id: number): number {
    return this.restRun[id];
  }

  /** The bytes of an interned run (a view, valid until the cache changes). */
  runBytes(r: number): Buffer {
    const { buf, off, len } = this.runs;
    return buf.subarray(off[r], off[r] + len[r]);
  }

  /**
   * Every entry the last good scrape delivered, with the bytes of its encoded labels: for the
   * series contract and the cardinality report (series-census.ts), never on the hot path.
   */
  forEachDelivered(visit: (id: number, labelBytes: number) => void): void {
    const { flags, labelLen } = this;
    for (let id = 0; id < this.top; id++) if ((flags[id] & DELIVERED) !== 0) visit(id, labelLen[id]);
  }

  /** Append a sample of the entry (labelLen[id] >= 0) to a request. */
  appendTo(
    builder: WriteRequestBuilder,
    id: number,
    value: number,
    timestampMs: number,
    stale = false,
  ): void {
    const { buf, off, len } = this.runs;
    const a = this.nameRun[id];
    const b = this.restRun[id];
    builder.appendRuns(buf, off[a], len[a], off[b], len[b], value, timestampMs, stale);
  }

  /** Entries the columns have room for (they shrink when a quarter or less is used). */
  get capacity(): number {
    return this.lastSeen.length;
  }

  /** Series the last good scrape delivered (0 after a failed scrape). */
  get series(): number {
    return this.deliveredCount;
  }

  begin(): number {
    return ++this.seq;
  }

  get(lo: number, hi: number, length: number): number {
    const { keys, ids, mask } = this.index;
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      const v = ids[i];
      if (v === 0) return -1;
      if (keys[i] === lo) {
        const id = v - 1;
        return this.hashHi[id] === hi && this.textLength[id] === length ? id : -1;
      }
    }
  }

  /** Only needed when `get` missed although the low bits are taken, or after a collision. */
  getCollided(text: string): number {
    return this.collided.size > 0 ? (this.collided.get(text) ?? -1) : -1;
  }

  /** Whether a collided entry may exist (the caller then makes the text to look it up). */
  get hasCollisions(): boolean {
    return this.collided.size > 0;
  }

  /** Whether the low hash bits are free (a new series goes to the hash table). */
  slotFree(lo: number): boolean {
    const { keys, ids, mask } = this.index;
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      if (ids[i] === 0) return true;
      if (keys[i] === lo) return false;
    }
  }

  /** Whether the entry's final labels are shared with another raw series (see claim). */
  isShared(id: number): boolean {
    return (this.flags[id] & SHARED) !== 0;
  }

  /** The parse error of a dropped entry, if that is why it is dropped. */
  errorOf(id: number): string | undefined {
    return this.labelLen[id] < 0 ? this.errors.get(id) : undefined;
  }

  /** The label limit the entry breaks, if any. */
  limitOf(id: number): string | undefined {
    return (this.flags[id] & LIMIT) !== 0 ? this.limits.get(id) : undefined;
  }

  /** Cache a new entry; `text` is needed only when the low hash bits are taken (see slotFree). */
  add(lo: number, hi: number, length: number, text: string | undefined, b: BuiltSeries): number {
    const id = this.free.length > 0 ? this.free.pop()! : this.grow();
    this.count++;
    this.lastSeen[id] = 0;
    this.lastTs[id] = -Infinity;
    this.scrapeTs[id] = -Infinity;
    this.slot[id] = b.slot;
    this.group[id] = b.group;
    this.wonSeq[id] = 0;
    this.hashLo[id] = lo;
    this.hashHi[id] = hi;
    this.textLength[id] = length;
    let flags = USED;
    if (b.error !== undefined) this.errors.set(id, b.error);
    if (b.limit !== undefined) {
      this.limits.set(id, b.limit);
      flags |= LIMIT;
    }
    const labels = b.labels;
    if (labels !== null) {
      const split = firstLabelEnd(labels);
      const a = this.runs.acquire(labels, 0, split);
      const r = this.runs.acquire(labels, split, labels.length);
      const other = this.holder(a, r, id);
      if (other >= 0) {
        // another raw series has these labels: the set is shared. Becoming shared, the first
        // holder's claim is its last scrape (met in this very scrape, it was sent, and this one is not)
        if ((this.flags[other] & SHARED) === 0) {
          this.flags[other] |= SHARED;
          this.wonSeq[other] = this.lastSeen[other];
        }
        flags |= SHARED;
      }
      this.nameRun[id] = a;
      this.restRun[id] = r;
      this.labelLen[id] = labels.length;
      this.sets.insert(setKey(a, r), id);
    } else this.labelLen[id] = -1;
    if (text === undefined) this.index.insert(lo, id);
    else {
      this.collided.set(text, id);
      this.collidedText.set(id, text);
      flags |= COLLIDED;
    }
    this.flags[id] = flags;
    return id;
  }

  /** A shared entry met in scrape `seq`: true if it is the first with its labels (it is sent). */
  claim(id: number, seq: number): boolean {
    if (this.holder(this.nameRun[id], this.restRun[id], id, seq) >= 0) return false;
    this.wonSeq[id] = seq;
    return true;
  }

  endGood(onStale: OnStale): void {
    const seq = this.seq;
    const { lastSeen, flags, labelLen } = this;
    let delivered = 0;
    for (let id = 0; id < this.top; id++) {
      const f = flags[id];
      if ((f & USED) === 0) continue;
      if (lastSeen[id] === seq) {
        if (labelLen[id] >= 0 && ((f & SHARED) === 0 || this.wonSeq[id] === seq)) {
          flags[id] = f | DELIVERED;
          this.lastTs[id] = this.scrapeTs[id];
          delivered++;
        } else flags[id] = f & ~DELIVERED;
        continue;
      }
      // gone: a marker, unless another series with the same labels was sent in its place
      if (
        (f & DELIVERED) !== 0 &&
        this.marked(id) &&
        !((f & SHARED) !== 0 && this.holder(this.nameRun[id], this.restRun[id], id, seq) >= 0)
      )
        onStale(id);
      this.remove(id);
    }
    this.deliveredCount = delivered;
    this.compactIfSparse();
  }

  endFailed(onStale: OnStale): void {
    const flags = this.flags;
    for (let id = 0; id < this.top; id++) {
      const f = flags[id];
      if ((f & USED) === 0) continue;
      if ((f & DELIVERED) === 0) {
        this.remove(id);
        continue;
      }
      if (this.marked(id)) onStale(id);
      // Kept (labels already encoded) for a quick recovery; forgotten if the next scrape fails too.
      flags[id] = f & ~DELIVERED;
      this.scrapeTs[id] = this.lastTs[id]; // nothing of the failed scrape was sent
    }
    this.deliveredCount = 0;
    this.compactIfSparse();
  }

  /** Forget the entries of these enricher groups; returns how many. */
  evictGroups(groups: ReadonlySet<string>, onStale: OnStale): number {
    let n = 0;
    const { flags, group } = this;
    for (let id = 0; id < this.top; id++) {
      const f = flags[id];
      if ((f & USED) === 0) continue;
      const g = group[id];
      if (g === undefined || !groups.has(g)) continue;
      if ((f & DELIVERED) !== 0) {
        // marked even with explicit timestamps: the series' labels change (pod metadata), so the
        // old ones end here, and the new ones are other series
        onStale(id);
        this.deliveredCount--;
      }
      this.remove(id);
      n++;
    }
    this.compactIfSparse();
    return n;
  }

  /**
   * Forget the sent entries `which` picks (the series budget's families, budget.ts); delivered
   * ones get onStale. Their next miss builds them again.
   */
  evictWhere(which: (id: number) => boolean, onStale: OnStale): number {
    let n = 0;
    const { flags, labelLen } = this;
    for (let id = 0; id < this.top; id++) {
      const f = flags[id];
      if ((f & USED) === 0 || labelLen[id] < 0 || !which(id)) continue;
      if ((f & DELIVERED) !== 0) {
        onStale(id);
        this.deliveredCount--;
      }
      this.remove(id);
      n++;
    }
    this.compactIfSparse();
    return n;
  }

  /** Whether some cached series has these final labels (it will be sent, so no marker for them). */
  holds(text: EncodedLabels): boolean {
    const labels = Buffer.from(text, 'latin1');
    const split = firstLabelEnd(labels);
    const a = this.runs.find(labels, 0, split);
    const r = a < 0 ? -1 : this.runs.find(labels, split, labels.length);
    return r >= 0 && this.holder(a, r, -1) >= 0;
  }

  /**
   * An entry other than `except` whose labels are the runs `a` and `r`, or -1; with `wonIn`, only
   * one that won the claim on them in that scrape (it was sent, see claim).
   */
  private holder(a: number, r: number, except: number, wonIn = -1): number {
    const h = setKey(a, r);
    const { keys, ids, mask } = this.sets;
    for (let i = h & mask; ids[i] !== 0; i = (i + 1) & mask) {
      const o = ids[i] - 1;
      if (keys[i] !== h || o === except || this.nameRun[o] !== a || this.restRun[o] !== r) continue;
      if (wonIn < 0 || this.wonSeq[o] === wonIn) return o;
    }
    return -1;
  }

  /**
   * Whether a series that went away gets a staleness marker: only if its samples carried no
   * timestamp of their own. A marker is stamped with the scrape time, which is later than an
   * explicit timestamp (cAdvisor's, the derived series'): a sample of the series that comes back with
   * its own, earlier, time would then be out of order, and a store refuses the whole request.
   * Prometheus does the same (its scrape cache tracks staleness only for series without explicit
   * timestamps).
   */
  private marked(id: number): boolean {
    return this.lastTs[id] === -Infinity;
  }

  private remove(id: number): void {
    const f = this.flags[id];
    const n = this.labelLen[id];
    if (n >= 0) {
      const a = this.nameRun[id];
      const r = this.restRun[id];
      this.sets.remove(setKey(a, r), id);
      this.runs.release(a);
      this.runs.release(r);
      this.labelLen[id] = -1;
    }
    if ((f & COLLIDED) !== 0) {
      this.collided.delete(this.collidedText.get(id)!);
      this.collidedText.delete(id);
    } else this.index.remove(this.hashLo[id], id);
    if (this.errors.size > 0) this.errors.delete(id);
    if ((f & LIMIT) !== 0) this.limits.delete(id);
    this.flags[id] = 0;
    this.group[id] = undefined;
    this.free.push(id);
    this.count--;
  }

  /**
   * After a sweep: when a quarter or less of the ids up to `top` is in use (a target that shrank, a
   * one-off spike of series), renumber the entries densely and rebuild the columns and the index at
   * the size they need, so that memory and the sweeps follow the series the target has now. Ids are
   * only held within a scrape, and sweeps run outside the parse loop, so renumbering is safe here.
   */
  private compactIfSparse(): void {
    this.compactIds();
    this.runs.sweep();
  }

  private compactIds(): void {
    const top = this.top;
    if (top <= 4 * INITIAL || this.count * 4 > top) return;
    const to = new Int32Array(top).fill(-1);
    let n = 0;
    for (let id = 0; id < top; id++) if ((this.flags[id] & USED) !== 0) to[id] = n++;
    let size = INITIAL;
    while (size < 2 * n) size *= 2;
    this.resizeColumns(size, to);
    const group: Array<string | undefined> = [];
    for (let id = 0; id < top; id++) if (to[id] >= 0) group.push(this.group[id]);
    this.group = group;
    const moveKeys = <V>(m: Map<number, V>) => {
      const entries = [...m];
      m.clear();
      for (const [id, v] of entries) m.set(to[id], v);
    };
    moveKeys(this.errors);
    moveKeys(this.limits);
    moveKeys(this.collidedText);
    for (const [text, id] of this.collided) this.collided.set(text, to[id]);
    this.top = n;
    this.free = [];
    this.index.rebuild(n, to);
    this.sets.rebuild(n, to);
  }

  /** A fresh id at the top, the columns doubled when full. */
  private grow(): number {
    const id = this.top++;
    if (id >= this.lastSeen.length) this.resizeColumns(this.lastSeen.length * 2);
    return id;
  }

  /** Every column at `size` entries; with `to`, entry `id` moves to `to[id]` (-1: it goes). */
  private resizeColumns(size: number, to?: Int32Array): void {
    const top = this.top;
    const move = <T extends Int32Array | Float64Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      if (to === undefined) b.set(a);
      else for (let id = 0; id < top; id++) if (to[id] >= 0) b[to[id]] = a[id];
      return b;
    };
    this.lastSeen = move(this.lastSeen);
    this.lastTs = move(this.lastTs);
    this.scrapeTs = move(this.scrapeTs);
    this.slot = move(this.slot);
    this.flags = move(this.flags);
    this.wonSeq = move(this.wonSeq);
    this.hashLo = move(this.hashLo);
    this.hashHi = move(this.hashHi);
    this.textLength = move(this.textLength);
    this.labelLen = move(this.labelLen);
    this.nameRun = move(this.nameRun);
    this.restRun = move(this.restRun);
  }
}

/** The key of a label set in the cache's `sets` index: its two run ids, mixed. */
function setKey(a: number, r: number): number {
  return Math.imul(a, 0x9e3779b1) ^ r;
}
