// The disk budget of one writer: every shard's on-disk queue (./diskqueue.ts) draws on one bound, so
// a node whose load is mostly one target (one shard) may use all of `[queue] max_bytes`, and the
// bound holds for the bytes on disk, the read part of a segment not yet reclaimed included.
//
// When an append needs room, the oldest segment of the whole writer goes first, whichever shard it
// belongs to (a segment is the unit that frees disk space: a file is deleted, never cut at the
// front). Segments are at most 1/16 of the budget, so a drop costs at most that much and the open
// segments of four shards hold at most a quarter of it.
//
// All queues of a budget run their file operations on one lane (one promise chain), so an append
// in one shard may delete another shard's segment without racing that shard's own reads.

/** What a queue exposes to its budget (implemented by DiskQueue). */
export interface BudgetMember {
  /** Bytes of its segment files on disk (read and unread). */
  readonly fileBytes: number;
  /** When its oldest segment got its first record (ms since the epoch), or undefined when empty. */
  readonly oldestBorn: number | undefined;
  /** Deletes its oldest segment (sealing the one being written if it is the only one), counting
   * the unread records as dropped. Resolves to the bytes freed. Runs on the lane. */
  dropOldestSegment(): Promise<number>;
}

/** One promise chain shared by the queues of a budget: their file operations never interleave. */
export class Lane {
  chain: Promise<unknown> = Promise.resolve();
}

export const MAX_SEGMENT_BYTES = 32 * 1024 * 1024;
const MIN_SEGMENT_BYTES = 4 * 1024;

export class DiskBudget {
  readonly lane = new Lane();
  private readonly members = new Set<BudgetMember>();

  constructor(private max: number) {
    if (!(Number.isFinite(max) && max > 0))
      throw new Error(`diskqueue: maxBytes must be a positive number, got ${max}`);
  }

  get maxBytes(): number {
    return this.max;
  }

  /** Change the bound (reload); it applies from the next append on. */
  setMaxBytes(bytes: number): void {
    if (Number.isFinite(bytes) && bytes > 0) this.max = bytes;
  }

  /** The roll size of a segment: 1/16 of the budget, within [4 KiB, 32 MiB]. */
  get segmentBytes(): number {
    return Math.min(MAX_SEGMENT_BYTES, Math.max(MIN_SEGMENT_BYTES, Math.floor(this.max / 16)));
  }

  /** A member stays for the budget's life: a closed queue's files are still on disk and count. */
  add(m: BudgetMember): void {
    this.members.add(m);
  }

  /** Bytes on disk of every member. */
  get usedBytes(): number {
    let n = 0;
    for (const m of this.members) n += m.fileBytes;
    return n;
  }

  /**
   * Drops the oldest segment of all members: the bytes freed, or -1 when no member holds anything.
   * Must run on the lane (from inside a member's operation).
   */
  async dropOldest(): Promise<number> {
    let victim: BudgetMember | undefined;
    let born = Infinity;
    for (const m of this.members) {
      const b = m.oldestBorn;
      if (b !== undefined && b < born) {
        born = b;
        victim = m;
      }
    }
    if (victim === undefined) return -1;
    return victim.dropOldestSegment();
  }

  /**
   * Frees room for `need` more bytes, oldest segments first. Must run on the lane. Empty segments
   * free nothing: a run of them (a file system that lets files be made but not cut) ends the loop.
   */
  async makeRoom(need: number): Promise<void> {
    let idle = 0;
    while (this.usedBytes + need > this.max) {
      const freed = await this.dropOldest();
      if (freed < 0 || (freed === 0 && ++idle > 16)) return;
    }
  }
}
