// The encoded label sets of one target's cached series, outside the JS heap: each set is two runs
// of bytes, its first label (`__name__` for all but label names that sort before it) and the rest,
// each run interned once in a pool (RunPool) whose bytes are back to back in one growing Buffer
// (LabelArena). The series cache keeps each entry's two run ids.
//
// Why (issue 19). As one-byte strings on the heap, the label sets were 85 % of a target's heap (465
// of 549 bytes per series on the generated cAdvisor-like payload, 537 with pod metadata), and V8
// keeps headroom above its live heap and marks it on every major GC. Moved off the heap as they
// were, the heap fell to ~20 bytes per series but resident memory hardly moved (the same 93 MB of
// label bytes at 20 x 10k series, now as array buffers). Split into name and rest, the sets share
// their bytes: a container's ~50 families carry the same rest of labels (the generated 40k series
// have 47 names and 7,429 distinct rests). A sample copies its two runs into the request with two
// Buffer#copy calls (~40 ns each on Node.js 24 for ~500 bytes, against ~28 for one latin1Write from
// a string). A dictionary of single label pairs would be smaller still but costs a copy per pair
// (18 per cAdvisor series: ~700 ns a sample, +11 % of a busy node's CPU).
import { IdTable } from './id-table.js';

const EMPTY = Buffer.alloc(0);
/** Garbage (freed runs) tolerated beside the live bytes before a sweep repacks the arena. */
const SLACK = 64 * 1024;

export class LabelArena {
  /** The bytes; replaced when it grows or is repacked (read it again after `add` or `compactIfSparse`). */
  buf: Buffer = EMPTY;
  /** Bytes written so far (live runs and the holes freed ones left). */
  private used = 0;
  private liveBytes = 0;

  /** Bytes of the live runs. */
  get live(): number {
    return this.liveBytes;
  }

  /** Bytes reserved (untouched pages of a large Buffer are not resident). */
  get capacity(): number {
    return this.buf.length;
  }

  /** Copy bytes `start..end` of `labels` in; returns their offset. */
  add(labels: Uint8Array, start: number, end: number): number {
    const n = end - start;
    if (this.used + n > this.buf.length)
      this.resize(Math.max(4096, Math.ceil(1.5 * (this.used + n))), this.used);
    const off = this.used;
    this.buf.set(labels.subarray(start, end), off);
    this.used += n;
    this.liveBytes += n;
    return off;
  }

  /** A run of `n` bytes is no longer used (its bytes stay until `compactIfSparse`). */
  free(n: number): void {
    this.liveBytes -= n;
  }

  /** Whether the `n` bytes at `off` equal bytes `start..start+n` of `labels`. */
  equals(off: number, n: number, labels: Uint8Array, start: number): boolean {
    const buf = this.buf;
    for (let k = 0; k < n; k++) if (buf[off + k] !== labels[start + k]) return false;
    return true;
  }

  /**
   * After a sweep: when the freed bytes exceed the live ones (and SLACK), copy the live runs
   * `0..top-1` (`len` -1: none) into a Buffer their size, rewriting `off`.
   */
  compactIfSparse(off: Int32Array, len: Int32Array, top: number): void {
    if (this.used - this.liveBytes <= Math.max(SLACK, this.liveBytes)) return;
    const from = this.buf;
    this.buf = this.liveBytes === 0 ? EMPTY : Buffer.allocUnsafeSlow(Math.ceil(1.25 * this.liveBytes));
    let p = 0;
    for (let id = 0; id < top; id++) {
      const n = len[id];
      if (n < 0) continue;
      from.copy(this.buf, p, off[id], off[id] + n);
      off[id] = p;
      p += n;
    }
    this.used = p;
  }

  private resize(size: number, keep: number): void {
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, keep);
    this.buf = next;
  }
}

/**
 * Interned runs of label bytes with reference counts: a run id for each distinct byte string, found
 * by its FNV-1a hash (an IdTable, confirmed by comparing the bytes). Ids are reused once free and
 * never renumbered, so the cache's references stay valid when the bytes are repacked.
 */
export class RunPool {
  private readonly arena = new LabelArena();
  /** Where run `r`'s bytes are in `buf`; `len[r]` -1 for a free id. */
  off = new Int32Array(64);
  len = new Int32Array(64);
  private hash = new Int32Array(64);
  private refs = new Int32Array(64);
  private top = 0;
  private free: number[] = [];
  private readonly table = new IdTable(128);

  /** The bytes of every run (replaced when it grows or is repacked: read it after `acquire` or `sweep`). */
  get buf(): Buffer {
    return this.arena.buf;
  }

  /** Bytes of the live runs. */
  get live(): number {
    return this.arena.live;
  }

  /** Bytes reserved: the arena and the run columns. */
  get capacity(): number {
    return this.arena.capacity + 16 * this.off.length;
  }

  /** The run of bytes `start..end` of `labels`, or -1. */
  find(labels: Uint8Array, start: number, end: number): number {
    return this.lookup(hashBytes(labels, start, end), labels, start, end);
  }

  /** The run of bytes `start..end` of `labels`, one more reference to it (made when new). */
  acquire(labels: Uint8Array, start: number, end: number): number {
    const h = hashBytes(labels, start, end);
    let r = this.lookup(h, labels, start, end);
    if (r < 0) {
      r = this.free.length > 0 ? this.free.pop()! : this.grow();
      this.off[r] = this.arena.add(labels, start, end);
      this.len[r] = end - start;
      this.hash[r] = h;
      this.refs[r] = 0;
      this.table.insert(h, r);
    }
    this.refs[r]++;
    return r;
  }

  /** One reference less; the last frees the run (its bytes go at the next `sweep`). */
  release(r: number): void {
    if (--this.refs[r] > 0) return;
    this.table.remove(this.hash[r], r);
    this.arena.free(this.len[r]);
    this.len[r] = -1;
    this.free.push(r);
  }

  /** After the cache's sweep: repack the bytes when freed runs left more garbage than live bytes. */
  sweep(): void {
    this.arena.compactIfSparse(this.off, this.len, this.top);
  }

  private lookup(h: number, labels: Uint8Array, start: number, end: number): number {
    const { keys, ids, mask } = this.table;
    const n = end - start;
    for (let i = h & mask; ids[i] !== 0; i = (i + 1) & mask) {
      const r = ids[i] - 1;
      if (keys[i] === h && this.len[r] === n && this.arena.equals(this.off[r], n, labels, start)) return r;
    }
    return -1;
  }

  private grow(): number {
    const r = this.top++;
    if (r >= this.off.length) {
      const size = 2 * this.off.length;
      const move = (a: Int32Array) => {
        const b = new Int32Array(size);
        b.set(a);
        return b;
      };
      this.off = move(this.off);
      this.len = move(this.len);
      this.hash = move(this.hash);
      this.refs = move(this.refs);
    }
    return r;
  }
}

/** Where the first label of an encoded set ends (each is a `0x0a, varint length, Label` field). */
export function firstLabelEnd(labels: Uint8Array): number {
  let n = 0;
  let shift = 1;
  let p = 1;
  for (;;) {
    const b = labels[p++];
    n += (b & 0x7f) * shift;
    if (b < 0x80) break;
    shift *= 128;
  }
  return p + n;
}

/**
 * A hash of bytes `start..end`: four bytes a step (FNV-1a's multiply on 32-bit words, then the
 * tail bytes). A byte at a time it took a tenth of a first scrape (CPU profile, 40k generated
 * series); the words halve that.
 */
function hashBytes(labels: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  let i = start;
  for (const last = end - 3; i < last; i += 4)
    h = Math.imul(
      h ^ (labels[i] | (labels[i + 1] << 8) | (labels[i + 2] << 16) | (labels[i + 3] << 24)),
      0x01000193,
    );
  for (; i < end; i++) h = Math.imul(h ^ labels[i], 0x01000193);
  return h ^ (h >>> 15);
}
