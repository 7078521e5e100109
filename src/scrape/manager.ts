// All targets of a configuration: built from the inputs, scheduled independently, reported on.
import type { Config } from '../config/types.js';
import type { Logger } from '../cli/log.js';
import { ScrapeTarget, type SampleSink, type ScrapeReport } from './target.js';

export class ScrapeManager {
  readonly targets: ScrapeTarget[] = [];

  constructor(
    config: Config,
    private readonly sink: SampleSink,
    private readonly log: Logger,
  ) {
    for (const input of config.inputs) {
      for (const inst of input.instances) {
        for (const url of inst.urls)
          this.targets.push(new ScrapeTarget(inst, url, config.global, config.writerOpt));
      }
    }
  }

  start(onReport?: (r: ScrapeReport) => void): void {
    for (const t of this.targets) {
      t.start(this.sink, (r) => {
        this.logReport(t, r);
        onReport?.(r);
      });
    }
  }

  /** Scrape every target once, concurrently (`--test --once`, `doctor`, first scrape of `demo`). */
  scrapeAll(now = Date.now()): Promise<ScrapeReport[]> {
    return Promise.all(this.targets.map((t) => t.scrape(this.sink, now)));
  }

  /** Log state changes, not every scrape: one line when a target goes down, one when it recovers. */
  private logReport(t: ScrapeTarget, r: ScrapeReport): void {
    if (!r.up) {
      if (t.lastError !== this.lastLogged.get(t)) {
        this.log.warn(
          { target: r.target, job: r.job, error: r.error?.message, hint: r.error?.hint },
          'scrape failed',
        );
        this.lastLogged.set(t, t.lastError);
      }
    } else {
      if (this.lastLogged.get(t)) this.log.info({ target: r.target, job: r.job }, 'target is up again');
      this.lastLogged.set(t, '');
      if (r.warning && r.warning !== this.lastWarning.get(t)) {
        this.log.warn({ target: r.target, job: r.job }, r.warning);
      }
      this.lastWarning.set(t, r.warning ?? '');
    }
  }

  private readonly lastLogged = new Map<ScrapeTarget, string>();
  private readonly lastWarning = new Map<ScrapeTarget, string>();

  async stop(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.stop()));
  }
}
