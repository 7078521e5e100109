// Every scraped chunk goes to every writer; each writer queues independently, so one slow or dead
// store never holds back another. Chunks are immutable and shared, not copied.
import type { Chunk } from '../prompb/chunk.js';
import type { SampleSink } from '../prompb/chunk.js';
import type { RemoteWriter } from './writer.js';

export class Fanout implements SampleSink {
  constructor(
    /** Replaced on reload. */
    public writers: RemoteWriter[],
    /** Other consumers (the demo's summary, tests). */
    readonly observers: SampleSink[] = [],
  ) {}

  push(chunk: Chunk, shard: number): void {
    for (const w of this.writers) w.push(chunk, shard);
    for (const o of this.observers) o.push(chunk, shard);
  }
}
