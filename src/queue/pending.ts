// Chunks pushed to a writer before its shard queues are open. Opening them is asynchronous (the
// folders are read, and on a reload the lock of the previous writer is awaited, up to 15 s), while
// scraping goes on. Held in memory, bounded by the same `chan_size` as the queues' memory part
// (the samples wait here instead of there, never in both), and handed over in order once they are
// open. Each chunk keeps its shard key: the number of shards is known only then (a previous run
// may have left more shard folders, and those are replayed too), and a target must map to the same
// shard as its earlier chunks to keep per-series order.
import type { Chunk } from '../prompb/chunk.js';

export class PendingChunks {
  private chunks: Array<[Chunk, number]> = [];
  private samples = 0;

  constructor(private maxSamples: number) {}

  /** Keep a chunk; false (not kept) when it would pass the bound. */
  push(chunk: Chunk, shardKey: number): boolean {
    if (this.samples + chunk.samples > this.maxSamples) return false;
    this.chunks.push([chunk, shardKey]);
    this.samples += chunk.samples;
    return true;
  }

  /** A reload changed chan_size before the queues opened. */
  setMaxSamples(n: number): void {
    this.maxSamples = n;
  }

  /** Hand every chunk over in push order, and forget them. */
  drain(into: (chunk: Chunk, shardKey: number) => void): void {
    const chunks = this.chunks;
    this.chunks = [];
    this.samples = 0;
    for (const [chunk, key] of chunks) into(chunk, key);
  }

  /** Forget everything (the writer closes before it opened); returns the samples dropped. */
  discard(): number {
    const n = this.samples;
    this.chunks = [];
    this.samples = 0;
    return n;
  }
}
