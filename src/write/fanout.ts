// Every scraped chunk goes to every writer; each writer queues independently, so one slow or dead
// store never holds back another. Chunks are immutable and shared, not copied.
import type { Chunk } from '../scrape/pipeline.js';
import type { SampleSink } from '../scrape/target.js';
import type { RemoteWriter } from './writer.js';

export class Fanout implements SampleSink {
  scrapedSamples = 0;
  constructor(readonly writers: RemoteWriter[]) {}

  push(chunk: Chunk, shard: number): void {
    this.scrapedSamples += chunk.samples;
    for (const w of this.writers) w.push(chunk, shard);
  }
}
