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
//   endGood(onStale)           the scrape was delivered: every series the previous good scrape
//                              delivered and this one did not gets onStale (once), and is forgotten
//   endFailed(onStale)         the scrape failed and nothing of it was sent: every series the last
//                              good scrape delivered gets onStale; series first met in the failed
//                              scrape get none (they were never sent) and are forgotten
//   evictGroups(groups, ...)   forget the entries of the enricher's groups that changed (see
//                              plugins.ts); delivered ones get onStale, and the next scrape rebuilds
//                              them as new series
// The plug-ins of plugins.ts each own one column, set on the miss: `group` (enricher) and `slot` (tap).
// Entries own their encoded labels (a one-byte string, see prompb/encode.ts) for as long as they
// are cached; onStale receives them synchronously and must not keep them past the call.
//
// Memory (issue 19). The entries are columns of typed arrays and the index an open-addressing table
// of two Int32Arrays, not an object per series in a Map: per series the JS heap keeps only its
// encoded labels (one string) and one entry of the label-set map. Measured with `npm run
// bench:memory` on Node 24 (40,000 generated series): 781 B of heap per series with a CacheEntry
// object per series (its two timestamps boxed as heap numbers), a Map by hash and a holder record
// per label set; see docs/performance.md for the figures after. Typed arrays live outside the JS
// heap, so they cost no GC marking and no heap headroom.
import type { EncodedLabels } from '../prompb/encode.js';

/** What a cache miss built (series-labels.ts), before it becomes an entry. */
export interface BuiltSeries {
  /** Encoded final labels, or null when the series is dropped by filters/relabeling or invalid. */
  labels: EncodedLabels | null;
  /** Parse error of the series text, counted on every scrape that contains it. */
  error?: string;
  /** A label limit this series breaks: fails every scrape that contains it. */
  limit?: string;
  /** The enricher's group of this series (interned; the pod `namespace/name`): see evictGroups. */
  group?: string;
  /** Slot of the pipeline's tap for this series, -1 when the tap does not want it. */
  slot: number;
}

export type OnStale = (labels: EncodedLabels) => void;

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

/** The raw series that share one set of final labels (rare: ignore_label_keys, labeldrop). */
interface Holders {
  count: number;
  /** The scrape in which one of them was sent (a store refuses two values of one series at once). */
  claimed: number;
}

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
  /** Encoded final labels; null for a series that is dropped or invalid. */
  labels: Array<EncodedLabels | null> = [];
  private flags = new Uint8Array(INITIAL);
  /** The scrape in which a shared entry won the claim on its labels. */
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

  // --- the index: low hash bits -> id + 1 (0: empty), open addressing with linear probing ---
  private keys = new Int32Array(2 * INITIAL);
  private ids = new Int32Array(2 * INITIAL);
  private mask = 2 * INITIAL - 1;
  private indexed = 0;
  /**
   * Series whose low hash bits were already taken by another series (about one in 20k at 10k series
   * per target), by their full text, and the text of each such id (to forget it).
   */
  private readonly collided = new Map<string, number>();
  private readonly collidedText = new Map<number, string>();

  /**
   * Final label sets in use: the id of their only holder, or for a set two raw series share (rare:
   * ignore_label_keys, labeldrop, a container restart under a dropped `id`) its holders in `shared`.
   * Then each scrape sends the first of them it meets, and the set goes stale only when all are gone.
   */
  private readonly single = new Map<EncodedLabels, number>();
  private readonly shared = new Map<EncodedLabels, Holders>();
  private seq = 0;
  private count = 0;
  private deliveredCount = 0;
  private labelBytesCount = 0;

  /** Series cached (delivered or not, dropped ones included: their entry says why). */
  get entries(): number {
    return this.count;
  }

  /** Bytes of the encoded labels the cache holds (one string per distinct label set). */
  get labelBytes(): number {
    return this.labelBytesCount;
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
    const keys = this.keys;
    const ids = this.ids;
    const mask = this.mask;
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
    const mask = this.mask;
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      if (this.ids[i] === 0) return true;
      if (this.keys[i] === lo) return false;
    }
  }

  /** Whether the entry's final labels are shared with another raw series (see claim). */
  isShared(id: number): boolean {
    return (this.flags[id] & SHARED) !== 0;
  }

  /** The parse error of a dropped entry, if that is why it is dropped. */
  errorOf(id: number): string | undefined {
    return this.labels[id] === null ? this.errors.get(id) : undefined;
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
    this.labels[id] = b.labels;
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
      const h = this.shared.get(labels);
      const first = h === undefined ? this.single.get(labels) : undefined;
      if (h !== undefined) {
        h.count++;
        flags |= SHARED;
      } else if (first !== undefined) {
        // a second holder: the set becomes shared; the first holder's claim is its last scrape
        // (met in this very scrape, it was sent, and this one is not)
        this.single.delete(labels);
        this.shared.set(labels, { count: 2, claimed: this.lastSeen[first] });
        this.flags[first] |= SHARED;
        this.wonSeq[first] = this.lastSeen[first];
        flags |= SHARED;
      } else {
        // the entry is met (and sent) in this very scrape
        this.single.set(labels, id);
        this.labelBytesCount += labels.length;
      }
    }
    if (text === undefined) this.index(lo, id);
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
    const h = this.shared.get(this.labels[id]!)!;
    if (h.claimed === seq) return false;
    h.claimed = seq;
    this.wonSeq[id] = seq;
    return true;
  }

  endGood(onStale: OnStale): void {
    const seq = this.seq;
    const { lastSeen, flags, labels } = this;
    let delivered = 0;
    for (let id = 0; id < this.top; id++) {
      const f = flags[id];
      if ((f & USED) === 0) continue;
      if (lastSeen[id] === seq) {
        if (labels[id] !== null && ((f & SHARED) === 0 || this.wonSeq[id] === seq)) {
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
        !((f & SHARED) !== 0 && this.shared.get(labels[id]!)!.claimed === seq)
      )
        onStale(labels[id]!);
      this.remove(id);
    }
    this.deliveredCount = delivered;
    this.compactIfSparse();
  }

  endFailed(onStale: OnStale): void {
    const { flags, labels } = this;
    for (let id = 0; id < this.top; id++) {
      const f = flags[id];
      if ((f & USED) === 0) continue;
      if ((f & DELIVERED) === 0) {
        this.remove(id);
        continue;
      }
      if (this.marked(id)) onStale(labels[id]!);
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
        onStale(this.labels[id]!);
        this.deliveredCount--;
      }
      this.remove(id);
      n++;
    }
    this.compactIfSparse();
    return n;
  }

  /** Whether some cached series has these final labels (it will be sent, so no marker for them). */
  holds(labels: EncodedLabels): boolean {
    return this.single.has(labels) || this.shared.has(labels);
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
    const labels = this.labels[id];
    if (labels !== null) {
      if ((f & SHARED) !== 0) {
        const h = this.shared.get(labels)!;
        if (--h.count === 0) {
          this.shared.delete(labels);
          this.labelBytesCount -= labels.length;
        }
      } else {
        this.single.delete(labels);
        this.labelBytesCount -= labels.length;
      }
    }
    if ((f & COLLIDED) !== 0) {
      this.collided.delete(this.collidedText.get(id)!);
      this.collidedText.delete(id);
    } else this.unindex(this.hashLo[id]);
    if (this.errors.size > 0) this.errors.delete(id);
    if ((f & LIMIT) !== 0) this.limits.delete(id);
    this.flags[id] = 0;
    this.labels[id] = null;
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
    const top = this.top;
    if (top <= 4 * INITIAL || this.count * 4 > top) return;
    const to = new Int32Array(top).fill(-1);
    let n = 0;
    for (let id = 0; id < top; id++) if ((this.flags[id] & USED) !== 0) to[id] = n++;
    let size = INITIAL;
    while (size < 2 * n) size *= 2;
    this.resizeColumns(size, to);
    const moveArray = <T>(a: T[]): T[] => {
      const b: T[] = [];
      for (let id = 0; id < top; id++) if (to[id] >= 0) b.push(a[id]!);
      return b;
    };
    const moveKeys = <V>(m: Map<number, V>) => {
      const entries = [...m];
      m.clear();
      for (const [id, v] of entries) m.set(to[id], v);
    };
    this.labels = moveArray(this.labels);
    this.group = moveArray(this.group);
    moveKeys(this.errors);
    moveKeys(this.limits);
    moveKeys(this.collidedText);
    for (const [text, id] of this.collided) this.collided.set(text, to[id]);
    for (const [labels, id] of this.single) this.single.set(labels, to[id]);
    this.top = n;
    this.free = [];
    const ids = this.ids;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== 0) ids[i] = to[ids[i] - 1] + 1;
    let slots = 2 * INITIAL;
    while (slots < 2 * n) slots *= 2;
    this.rehash(slots);
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
  }

  private index(lo: number, id: number): void {
    if (2 * (this.indexed + 1) > this.ids.length) this.rehash(this.ids.length * 2);
    const mask = this.mask;
    let i = lo & mask;
    while (this.ids[i] !== 0) i = (i + 1) & mask;
    this.keys[i] = lo;
    this.ids[i] = id + 1;
    this.indexed++;
  }

  /** Remove a key, shifting later members of its probe run back (no tombstones). */
  private unindex(lo: number): void {
    const { keys, ids, mask } = this;
    let i = lo & mask;
    while (keys[i] !== lo || ids[i] === 0) {
      if (ids[i] === 0) return;
      i = (i + 1) & mask;
    }
    ids[i] = 0;
    this.indexed--;
    for (let j = (i + 1) & mask; ids[j] !== 0; j = (j + 1) & mask) {
      const home = keys[j] & mask;
      // move j back to the hole at i unless its home lies cyclically in (i, j]
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        keys[i] = keys[j];
        ids[i] = ids[j];
        ids[j] = 0;
        i = j;
      }
    }
  }

  private rehash(size: number): void {
    const { keys, ids } = this;
    this.keys = new Int32Array(size);
    this.ids = new Int32Array(size);
    this.mask = size - 1;
    this.indexed = 0;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== 0) this.index(keys[i], ids[i] - 1);
  }
}
