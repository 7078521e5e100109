// All targets of a configuration: built from the inputs, scheduled independently, reported on.
// A reload (`update`) keeps every target whose settings did not change (its schedule, cache and
// counters go on untouched), starts the new ones, and stops the removed ones with staleness markers
// for everything they delivered.
import { SeriesBudget } from './budget.js';
import { SecretUrl } from '../config/secret.js';
import { scrapeInstance } from '../config/common.js';
import { redactUrl } from '../config/secret.js';
import { errorMessage } from '../errno.js';
import type { Config, GlobalConfig, ScrapeInstance, WriterOptions } from '../config/types.js';
import type { Logger } from '../log.js';
import type { SampleSink } from '../prompb/chunk.js';
import type { TapFactory } from './sample-tap.js';
import type { PodLabelSource } from './pod-labels.js';
import { ScrapeTarget, type BodySource, type ScrapeReport } from './target.js';

interface Wanted {
  key: string;
  instance: ScrapeInstance;
  url: string;
  source?: BodySource;
}

/** A target whose payload the agent makes itself (the pod health series, the derived series). */
export interface InternalTarget {
  instance: ScrapeInstance;
  url: string;
  source: BodySource;
}

/**
 * An internal target as the agent runs them: scraped at the global interval, its payload's own
 * labels honoured, `job` its only label.
 */
export function internalTarget(
  name: string,
  url: string,
  job: string,
  global: GlobalConfig,
  source: BodySource,
): InternalTarget {
  const instance = scrapeInstance({
    name,
    origin: { file: 'config.toml', line: 0 },
    urls: [new SecretUrl(url)],
    labels: { job },
    urlLabelKey: '',
    urlLabelValue: '',
    honorLabels: true,
    timeoutMs: 5000,
    intervalMs: global.intervalMs,
  });
  return { instance, url, source };
}

export interface ManagerExtras {
  /** Pod metadata for every target's series with namespace and pod (SPEC §5). */
  pods?: PodLabelSource;
  internal?: InternalTarget[];
  /** Taps on every target's samples (the edge-derived container series, src/derive/). */
  taps?: TapFactory;
}

/** What makes two targets the same across a reload: every setting that shapes what it sends. */
export function targetKey(inst: ScrapeInstance, url: string, global: GlobalConfig, w: WriterOptions): string {
  // `origin` (file line) may move when other instances are edited; the rest is the target's behaviour.
  // The series budget is the manager's: a new limit keeps every target (and its cache).
  const { origin: _origin, ...settings } = inst;
  const { seriesLimit: _limit, ...g } = global;
  return JSON.stringify({ settings, url, global: g, batch: w.batch });
}

function wantedTargets(config: Config, internal: InternalTarget[] = []): Wanted[] {
  const out: Wanted[] = [];
  for (const t of internal) {
    out.push({ ...t, key: 'internal ' + targetKey(t.instance, t.url, config.global, config.writerOpt) });
  }
  for (const input of config.inputs) {
    for (const inst of input.instances) {
      for (const u of inst.urls) {
        const url = u.reveal(); // the target builds its requests from it; it shows u.shown
        out.push({ key: targetKey(inst, url, config.global, config.writerOpt), instance: inst, url });
      }
    }
  }
  return out;
}

/** A configuration prepared by `prepare`, made current by `apply`. */
export interface UpdatePlan {
  next: ScrapeTarget[];
  fresh: ScrapeTarget[];
  removed: ScrapeTarget[];
  /** The new `[global] series_limit`, applied with the plan. */
  seriesLimit?: number;
}

export interface UpdateResult {
  kept: number;
  added: number;
  removed: number;
}

export class ScrapeManager {
  targets: ScrapeTarget[] = [];
  private readonly keys = new Map<ScrapeTarget, string>();
  private onReport: ((r: ScrapeReport) => void) | undefined;
  private started = false;

  constructor(
    config: Config,
    private readonly sink: SampleSink,
    private readonly log: Logger,
    private readonly extras: ManagerExtras = {},
  ) {
    this.budget = new SeriesBudget(config.global.seriesLimit);
    for (const w of wantedTargets(config, extras.internal)) this.targets.push(this.create(w, config));
  }

  /** The node's series budget (`[global] series_limit`). */
  readonly budget: SeriesBudget;
  private budgetPlannedMs = 0;
  private readonly lastFamilies = new WeakMap<ScrapeTarget, Map<string, number>>();

  /**
   * After scrapes, at most every 30 s: compare what the targets deliver with the budget and tell
   * them which families to stop (or start again) sending.
   */
  private planBudget(now = Date.now()): void {
    const b = this.budget;
    if (b.limit <= 0 && b.dropped.size === 0) return;
    if (now - this.budgetPlannedMs < 30_000) return;
    this.budgetPlannedMs = now;
    const delivered = new Map<string, number>();
    for (const t of this.targets) {
      // a target that is down delivers nothing now: its last good families count (or one
      // target's outage would re-admit what the budget dropped, and its return drop it again)
      let fams = this.lastFamilies.get(t);
      if (t.health === 'up' || !fams) {
        fams = new Map([...t.families()].map(([f, c]) => [f, c.series]));
        this.lastFamilies.set(t, fams);
      }
      for (const [f, n] of fams) delivered.set(f, (delivered.get(f) ?? 0) + n);
    }
    const plan = b.plan(delivered);
    if (plan.drop.length === 0 && plan.admit.length === 0) return;
    const drop = plan.drop.map(([f]) => f);
    for (const t of this.targets) t.budgetChanged(drop, plan.admit);
    if (drop.length)
      this.log.warn(
        { limit: b.limit, families: drop, series: plan.drop.reduce((n, [, s]) => n + s, 0) },
        'over [global] series_limit: not sending these families (read by no shipped dashboard or alert)',
      );
    if (plan.admit.length)
      this.log.info(
        { families: plan.admit },
        'under [global] series_limit again: sending these families again',
      );
    if (b.overByKit)
      this.log.warn(
        { limit: b.limit },
        "over [global] series_limit with the kit's own families alone: raise it",
      );
  }

  private create(w: Wanted, config: Config): ScrapeTarget {
    const t = new ScrapeTarget(w.instance, w.url, config.global, config.writerOpt, {
      pods: this.extras.pods,
      source: w.source,
      taps: w.source ? undefined : this.extras.taps,
      budget: w.source ? undefined : this.budget,
    });
    this.keys.set(t, w.key);
    return t;
  }

  start(onReport?: (r: ScrapeReport) => void): void {
    this.onReport = onReport;
    this.started = true;
    for (const t of this.targets) this.schedule(t);
  }

  private schedule(t: ScrapeTarget): void {
    t.start(this.sink, (r) => {
      this.logReport(t, r);
      this.onReport?.(r);
      this.planBudget();
    });
  }

  /** Scrape every target once, concurrently (`--test --once`, `doctor`, first scrape of `demo`). */
  async scrapeAll(now = Date.now()): Promise<ScrapeReport[]> {
    const reports = await Promise.all(this.targets.map((t) => t.scrape(this.sink, now)));
    this.planBudget(now);
    return reports;
  }

  /**
   * The first half of a new configuration: the targets it wants, new ones built (their TLS files
   * read) but not started. Throws, changing nothing, when one cannot be built; the error names the
   * instance and URL. `apply` then makes it current.
   */
  prepare(config: Config): UpdatePlan {
    const pool = new Map<string, ScrapeTarget[]>();
    for (const t of this.targets) {
      const k = this.keys.get(t)!;
      pool.set(k, [...(pool.get(k) ?? []), t]);
    }
    const next: ScrapeTarget[] = [];
    const fresh: ScrapeTarget[] = [];
    for (const w of wantedTargets(config, this.extras.internal)) {
      const same = pool.get(w.key)?.shift();
      if (same) {
        next.push(same);
        continue;
      }
      let t: ScrapeTarget;
      try {
        t = this.create(w, config);
      } catch (err) {
        this.discard({ next, fresh, removed: [] });
        throw new Error(`instance ${w.instance.name}, target ${redactUrl(w.url)}: ${errorMessage(err)}`, {
          cause: err,
        });
      }
      next.push(t);
      fresh.push(t);
    }
    return { next, fresh, removed: [...pool.values()].flat(), seriesLimit: config.global.seriesLimit };
  }

  /**
   * Apply a prepared configuration: unchanged targets are kept as they are, new ones start, removed
   * ones stop and stale-mark their series (a store then stops returning them at once).
   */
  async apply(plan: UpdatePlan): Promise<UpdateResult> {
    const { next, fresh, removed } = plan;
    if (plan.seriesLimit !== undefined && plan.seriesLimit !== this.budget.limit) {
      this.budget.limit = plan.seriesLimit;
      this.budgetPlannedMs = 0; // plan again at the next report
    }
    await Promise.all(
      removed.map(async (t) => {
        await t.stop();
        t.retire(this.sink);
        this.keys.delete(t);
        this.lastLogged.delete(t);
        this.lastWarning.delete(t);
      }),
    );
    this.targets = next;
    if (this.started) for (const t of fresh) this.schedule(t);
    return { kept: next.length - fresh.length, added: fresh.length, removed: removed.length };
  }

  /** Forget a prepared configuration that will not be applied: its new targets go. */
  discard(plan: UpdatePlan): void {
    for (const f of plan.fresh) {
      this.keys.delete(f);
      void f.dispose();
    }
  }

  /** `prepare` and `apply` in one step. */
  async update(config: Config): Promise<UpdateResult> {
    return this.apply(this.prepare(config));
  }

  /** Log state changes, not every scrape: one line when a target goes down, one when it recovers. */
  private logReport(t: ScrapeTarget, r: ScrapeReport): void {
    this.log.debug(
      {
        target: r.target,
        job: r.job,
        up: r.up,
        seconds: Number((r.durationMs / 1000).toFixed(3)),
        samples: r.stats?.scraped ?? 0,
        added: r.stats?.added ?? 0,
        stale: r.stats?.stale ?? 0,
      },
      'scraped',
    );
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

  /** Stop every target. `abort`: cut scrapes in flight short (shutdown) instead of waiting for them. */
  async stop(abort = false): Promise<void> {
    await Promise.all(this.targets.map((t) => t.stop(abort)));
  }
}
