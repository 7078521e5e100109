// The hand-off between scraping and writing. Neither stage owns it: the scrape side produces
// chunks, the write side (and `--test`'s printer) consumes them.

/**
 * One remote-write request body: a snappy-compressed WriteRequest (see ./encode.ts) and the number
 * of samples in it. "Chunk" is the one name of this unit everywhere above the on-disk queue (which
 * frames each chunk as a "record" in its files).
 *
 * Ownership and lifetime: a target's pipeline builds the chunk (a fresh Buffer, never reused) and
 * hands it to a SampleSink at the end of a good scrape. From then on it is immutable: the fan-out
 * gives the same object to every writer without copying, a writer keeps it in memory or copies its
 * bytes to the on-disk queue, and it is garbage once the last writer has sent, persisted or dropped
 * it. Nobody may write into `body` after `push`.
 */
export interface Chunk {
  readonly body: Buffer;
  readonly samples: number;
  /**
   * Native histograms (scrape/native.ts): the same data with the histograms in remote write's
   * `histograms` field, for writers that send them (`native_histograms = true`); `body` then holds
   * what the other writers get instead — classic series converted from them, possibly none
   * (`samples` 0, empty body). A consumer picks one of the two, never both.
   */
  readonly native?: Chunk;
}

/** Where scraped chunks go: the writers' fan-out, or the `--test` printer. */
export interface SampleSink {
  /**
   * Takes the chunk (see Chunk for ownership); never blocks, never throws. `shard` is stable per
   * target, so a consumer that keeps one queue per shard keeps each target's samples in order.
   */
  push(chunk: Chunk, shard: number): void;
}
