// The queue of one writer shard: memory in front of the on-disk queue (./diskqueue.ts), as
// VictoriaMetrics's fastqueue sits over its persistentqueue. This layer decides where each chunk
// lives; the file layer only keeps records durably. No HTTP here: the writer (write/writer.ts)
// peeks the oldest chunk, sends it, and acks it or reports the failure.
//
// Where chunks live:
// - Memory mode (the store keeps up): chunks wait in memory, up to `memorySamples`. Nothing touches
//   the disk.
// - Disk mode: every chunk goes to disk, oldest first, and the writer reads from disk until it is
//   empty; then memory mode again. The queue enters disk mode (a "spill": memory, the chunk in
//   flight included, moves to disk first) when
//     * memory is full (a store that is up but behind),
//     * the writer reports a failed send (a store that is down): from then on new chunks reach the
//       disk within the time one append takes, so a kill -9 or OOM kill during an outage loses
//       nothing that was scraped more than about a second before,
//     * the chunk in flight has been in flight for over IN_FLIGHT_SPILL_MS (a store that hangs
//       until the request times out) when the next chunk arrives.
// - Order: the chunk in flight is always the oldest, memory holds what is older than anything on
//   disk, and a spill appends in order; so each shard (each target, see prompb/chunk.ts) is
//   delivered in the order it was scraped.
// - Shutdown (`close`): what is in memory, the chunk in flight included, is persisted to disk (or
//   counted as dropped without one). The writer stops its sends first.
import { errorMessage } from '../errno.js';
import type { Chunk } from '../prompb/chunk.js';
import { isFileSystemFull, type DiskQueue, type RecordPosition } from './diskqueue.js';

/** Why samples were dropped by the queue (the writer adds `rejected` for 4xx answers). */
export type QueueDropReason = 'queue_full' | 'disk_full' | 'disk_error' | 'shutdown';

/**
 * A chunk in flight longer than this is spilled with everything behind it when the next chunk
 * arrives: a hung store keeps at most this much scraped data in memory only (see the header).
 * 1 s is far above a healthy request (a 1000-sample chunk takes 1–10 ms to a local store).
 */
export const IN_FLIGHT_SPILL_MS = 1000;

export interface ShardQueueOptions {
  /** Samples the memory part may hold (the writer's `chan_size` share). */
  memorySamples: number;
  /** The on-disk part; without it, a full memory drops (queue_full) and nothing is persisted. */
  disk?: DiskQueue;
  onDrop: (reason: QueueDropReason, samples: number, detail: string) => void;
  /** Data moved to disk: how many samples, and why (for the log; never called with 0). */
  onSpill?: (samples: number, why: string) => void;
  /** Overrides IN_FLIGHT_SPILL_MS (tests). */
  inFlightSpillMs?: number;
}

/**
 * The disk append of the chunk that was in flight: the ack after a spill removes exactly that
 * record, if it landed and is still there (the disk bound may have dropped it since).
 */
interface SpilledHead {
  pos?: RecordPosition;
}

export class ShardQueue {
  private mem: Chunk[] = [];
  private memSamples = 0;
  private capSamples: number;
  private readonly disk: DiskQueue | undefined;
  /** Disk mode (see the header). */
  private diskMode = false;
  /** Appends handed to the disk queue and not finished (they keep the queue in disk mode). */
  private pending = 0;
  private chain: Promise<void> = Promise.resolve();
  /** The last peek came from disk (its ack is the disk's). */
  private headFromDisk = false;
  /** The chunk in flight moved to disk while in flight (its ack is the disk's first record). */
  private spilledHead: SpilledHead | undefined;
  /** When the current head was first peeked (0: nothing in flight). */
  private headSince = 0;
  private waiter: (() => void) | undefined;
  private closed = false;

  constructor(private readonly opts: ShardQueueOptions) {
    this.capSamples = opts.memorySamples;
    this.disk = opts.disk;
    // A backlog a previous run left is older than anything pushed now: read it first.
    this.diskMode = (opts.disk?.records ?? 0) > 0;
  }

  /** Samples waiting in memory (the chunk in flight included, when it came from memory). */
  get memorySamples(): number {
    return this.memSamples;
  }

  /** Bytes of the chunks waiting in memory (compressed bodies; summed when asked, for /metrics). */
  get memoryBytes(): number {
    let n = 0;
    for (const c of this.mem) n += c.body.length;
    return n;
  }

  get diskSamples(): number {
    return this.disk?.samples ?? 0;
  }

  /** Bytes of the on-disk part's files (what `[queue] max_bytes` bounds). */
  get diskBytes(): number {
    return this.disk?.fileBytes ?? 0;
  }

  /** Nothing waits anywhere. */
  get empty(): boolean {
    return this.mem.length === 0 && this.pending === 0 && (this.disk?.records ?? 0) === 0;
  }

  /** How long the chunk at the head has been in flight (its first peek), 0 when none is. */
  get headAgeMs(): number {
    return this.headSince === 0 ? 0 : performance.now() - this.headSince;
  }

  /** Samples the memory part may hold. */
  get memoryBound(): number {
    return this.capSamples;
  }

  /** Change the memory bound (reload); chunks already queued stay. */
  setMemorySamples(n: number): void {
    this.capSamples = n;
  }

  /** Queue a chunk. Never blocks, never throws: memory, disk, or a counted drop. */
  push(chunk: Chunk): void {
    if (this.closed) {
      this.opts.onDrop('shutdown', chunk.samples, 'pushed after shutdown');
      return;
    }
    if (this.disk !== undefined) {
      if (
        !this.diskMode &&
        this.headSince !== 0 &&
        performance.now() - this.headSince > (this.opts.inFlightSpillMs ?? IN_FLIGHT_SPILL_MS)
      ) {
        this.spill('a request has been in flight for over 1 s');
      }
      if (!this.diskMode && this.memSamples + chunk.samples > this.capSamples) {
        this.spill(`memory full (${this.capSamples} samples)`);
      }
      if (this.diskMode) {
        this.toDisk(chunk, undefined);
        this.wake();
        return;
      }
    } else if (this.memSamples + chunk.samples > this.capSamples) {
      this.opts.onDrop(
        'queue_full',
        chunk.samples,
        `in-memory queue full (${this.capSamples} samples) and no on-disk queue`,
      );
      return;
    }
    this.mem.push(chunk);
    this.memSamples += chunk.samples;
    this.wake();
  }

  /**
   * The writer's send failed and will be retried: move memory to disk and keep new chunks there
   * until the backlog is delivered. Without a disk, chunks stay in memory (bounded).
   */
  failing(): void {
    this.spill('remote write failed');
  }

  /**
   * The oldest chunk, not removed: repeated peeks give the same chunk until `ack`. Undefined when
   * the queue is empty (then `waitForData`).
   */
  async peek(): Promise<Chunk | undefined> {
    for (;;) {
      if (!this.diskMode) {
        const head = this.mem[0];
        if (head !== undefined && this.headSince === 0) this.headSince = performance.now();
        this.headFromDisk = false;
        return head;
      }
      await this.chain;
      const rec = await this.disk!.peek();
      if (rec !== undefined) {
        if (this.headSince === 0) this.headSince = performance.now();
        this.headFromDisk = true;
        return rec;
      }
      this.leaveDiskIfDrained();
    }
  }

  /** The chunk last returned by `peek` was delivered (or refused for good): remove it. */
  async ack(): Promise<void> {
    this.headSince = 0;
    if (!this.diskMode) {
      const c = this.mem.shift();
      if (c !== undefined) this.memSamples -= c.samples;
      return;
    }
    await this.chain;
    const spilled = this.spilledHead;
    this.spilledHead = undefined;
    if (this.headFromDisk) await this.disk!.ack();
    // The chunk moved to disk while in flight: remove that record, unless its append failed or the
    // disk bound dropped it since (then the first record is another chunk, which must stay).
    else if (spilled?.pos) await this.disk!.ackAt(spilled.pos);
    this.headFromDisk = false;
    this.leaveDiskIfDrained();
  }

  private leaveDiskIfDrained(): void {
    if (this.pending === 0 && this.disk!.records === 0) this.diskMode = false;
  }

  /**
   * Resolves on the next push (or `wake`), or at once when something is already queued: a push
   * between the writer's empty `peek` and this call must not be missed.
   */
  waitForData(): Promise<void> {
    if (!this.empty || this.closed) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Let a waiting `waitForData` return (shutdown). */
  wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /**
   * Shutdown, after the writer stopped sending: persist what is in memory (or count it as dropped
   * without a disk), finish the appends and close the disk queue. Returns the samples persisted and
   * lost. Idempotent.
   */
  async close(): Promise<{ persisted: number; lost: number }> {
    if (this.closed) return { persisted: 0, lost: 0 };
    this.closed = true;
    let persisted = 0;
    let lost = 0;
    if (this.disk !== undefined) {
      const errorsBefore = this.diskErrorSamples;
      persisted = this.memSamples;
      this.spill('shutdown', true);
      await this.chain;
      persisted -= this.diskErrorSamples - errorsBefore; // counted as disk_error instead
    } else if (this.memSamples > 0) {
      lost = this.memSamples;
      this.opts.onDrop('shutdown', lost, 'unsent at shutdown and no on-disk queue');
      this.mem = [];
      this.memSamples = 0;
    }
    this.wake();
    await this.chain;
    await this.disk?.close().catch(() => undefined);
    return { persisted, lost };
  }

  private spill(why: string, quiet = false): void {
    if (this.disk === undefined || this.diskMode) return;
    const samples = this.memSamples;
    const inFlight = this.headSince !== 0 && this.mem.length > 0;
    this.diskMode = true;
    const mem = this.mem;
    this.mem = [];
    this.memSamples = 0;
    for (let i = 0; i < mem.length; i++) {
      let mark: SpilledHead | undefined;
      if (i === 0 && inFlight) this.spilledHead = mark = {};
      this.toDisk(mem[i], mark);
    }
    if (samples > 0 && !quiet) this.opts.onSpill?.(samples, why);
  }

  private diskErrorSamples = 0;

  private toDisk(chunk: Chunk, mark: SpilledHead | undefined): void {
    const disk = this.disk!;
    this.pending++;
    this.chain = this.chain
      .then(async () => {
        const pos = await disk.append(chunk.body, chunk.samples);
        if (mark) mark.pos = pos;
      })
      .catch((err: unknown) => {
        this.diskErrorSamples += chunk.samples;
        if (isFileSystemFull(err))
          // the file system is full and nothing older was left to drop (see diskqueue.ts)
          this.opts.onDrop(
            'disk_full',
            chunk.samples,
            `the on-disk queue's file system is full: ${errorMessage(err)}`,
          );
        else
          this.opts.onDrop(
            'disk_error',
            chunk.samples,
            `cannot write to the on-disk queue: ${errorMessage(err)}`,
          );
      })
      .finally(() => {
        this.pending--;
      });
  }
}
