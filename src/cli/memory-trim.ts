// Give V8's pooled heap pages back to the system after the heap's peaks (issue 19).
//
// From Node.js 24 (V8 13.x) the pages a major GC frees go to a page pool and stay committed, to be
// reused; the pool is emptied only by a memory-reducing GC. V8's memory reducer would run one when
// the mutator is idle, but it judges idleness by the allocation rate of recent GCs, and an agent
// that scrapes every few seconds never looks idle to it (`--trace-memory-reducer`: "high alloc" at
// every check). So the pages of the heap's highest point stay resident for good: the first scrape
// of a busy node, when every series is a cache miss, leaves ~43 MB pooled (`--trace-gc`: "pooled:
// 43 MB") under a 22 MB heap, and the agent held 150-155 MiB steady on 1 x 40k series against
// 100 on Node.js 22 (whose V8 decommitted pooled pages at once) and 89 on Node.js 20.
//
// A memory-reducing GC (the `last-resort` flavour of V8's gc extension) empties the pool. It is
// needed only after a peak, and peaks come from cache misses: so it runs a few seconds after the
// scrapes built `minSeries` new series (a start, a config reload, heavy churn), at most once per
// `minIntervalMs`. Measured on Node.js 24, 1 x 40k: one trim 25 s after start, ~50 ms of CPU, took
// the pool from 43 to 3-4 MB for the rest of the run and the steady RSS from 150-165 to 117 MiB;
// a trim after every scrape held ~105 MiB but cost ~35 ms each time (+15 % CPU): not taken. Three
// interleaved A/B rounds with and without the trim (1 x 40k): 150-166 -> 111-115 MiB steady, CPU
// 7.00 -> 7.63 s per M samples (median): the pages each scrape's heap growth now takes fresh from
// the system instead of the pool.
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import type { Logger } from '../log.js';

type Gc = (options?: { type?: string; execution?: string; flavor?: string }) => void;

export interface MemoryTrimOptions {
  /** New series built since the last trim that call for one. */
  minSeries: number;
  /** Wait after the threshold is passed (the rest of the scrape round builds its series too). */
  delayMs: number;
  /** At most one trim per this period. */
  minIntervalMs: number;
  /** The GC to call (tests); default V8's gc extension. */
  gc?: Gc;
}

export const TRIM_DEFAULTS: MemoryTrimOptions = { minSeries: 5000, delayMs: 5000, minIntervalMs: 60_000 };

export class MemoryTrim {
  private added = 0;
  private timer: NodeJS.Timeout | undefined;
  private last = -Infinity;
  private gc: Gc | null | undefined;
  /** Trims run, and their total duration (ms). */
  count = 0;
  totalMs = 0;

  constructor(
    private readonly log: Logger,
    private readonly opts: MemoryTrimOptions = TRIM_DEFAULTS,
  ) {
    this.gc = opts.gc;
  }

  /** A scrape built `n` new series (its cache misses). */
  noteAdded(n: number): void {
    if (!(n > 0)) return;
    this.added += n;
    if (this.added < this.opts.minSeries || this.timer !== undefined) return;
    const wait = Math.max(this.opts.delayMs, this.last + this.opts.minIntervalMs - performance.now());
    this.timer = setTimeout(() => this.run(), wait);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(): void {
    this.timer = undefined;
    const gc = this.gcFunction();
    if (gc === null) return;
    const t0 = performance.now();
    const series = this.added;
    this.added = 0;
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    const ms = performance.now() - t0;
    this.last = performance.now();
    this.count++;
    this.totalMs += ms;
    this.log.debug(
      { newSeries: series, ms: Math.round(ms) },
      'returned pooled heap pages (memory-reducing GC)',
    );
  }

  /** V8's gc extension, exposed once for this process (`--expose-gc` at run time), or null. */
  private gcFunction(): Gc | null {
    if (this.gc !== undefined) return this.gc;
    try {
      v8.setFlagsFromString('--expose-gc');
      this.gc = runInNewContext('gc') as Gc;
    } catch (err) {
      this.gc = null;
      this.log.debug({ error: String(err) }, 'no memory-reducing GC available: pooled heap pages stay');
    }
    return this.gc;
  }
}
