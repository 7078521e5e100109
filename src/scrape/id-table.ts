// An open-addressing hash table of (32-bit key, id) pairs in two Int32Arrays, with linear probing
// and backward-shift deletion (no tombstones): the series cache's indexes (series-cache.ts). Keys
// may repeat (a multimap); the caller probes and confirms a match itself:
//   for (let i = key & t.mask; t.ids[i] !== 0; i = (i + 1) & t.mask) if (t.keys[i] === key) ... t.ids[i] - 1
// Typed arrays live outside the JS heap: no object per entry, nothing for the GC to mark (issue 19).

export class IdTable {
  keys: Int32Array;
  /** id + 1; 0 is an empty slot. */
  ids: Int32Array;
  mask: number;
  private count = 0;

  constructor(private readonly minSize = 128) {
    this.keys = new Int32Array(minSize);
    this.ids = new Int32Array(minSize);
    this.mask = minSize - 1;
  }

  get size(): number {
    return this.count;
  }

  insert(key: number, id: number): void {
    if (2 * (this.count + 1) > this.ids.length) this.rehash(this.ids.length * 2);
    const mask = this.mask;
    let i = key & mask;
    while (this.ids[i] !== 0) i = (i + 1) & mask;
    this.keys[i] = key;
    this.ids[i] = id + 1;
    this.count++;
  }

  /** Remove the pair (key, id), shifting later members of its probe run back. */
  remove(key: number, id: number): void {
    const { keys, ids, mask } = this;
    let i = key & mask;
    while (keys[i] !== key || ids[i] !== id + 1) {
      if (ids[i] === 0) return;
      i = (i + 1) & mask;
    }
    ids[i] = 0;
    this.count--;
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

  /**
   * Rebuild at the size `count` entries need (at most half full); with `to`, id moves to `to[id]`
   * (the cache renumbers its entries when it compacts).
   */
  rebuild(count: number, to?: Int32Array): void {
    let size = this.minSize;
    while (size < 2 * count) size *= 2;
    if (to !== undefined)
      for (let i = 0; i < this.ids.length; i++) if (this.ids[i] !== 0) this.ids[i] = to[this.ids[i] - 1] + 1;
    this.rehash(size);
  }

  private rehash(size: number): void {
    const { keys, ids } = this;
    this.keys = new Int32Array(size);
    this.ids = new Int32Array(size);
    this.mask = size - 1;
    this.count = 0;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== 0) this.insert(keys[i], ids[i] - 1);
  }
}
