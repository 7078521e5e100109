// The running agent: scrape manager -> fan-out -> writers, plus the own server. A reload keeps every
// target and writer whose settings did not change, with their state and queued data; a shutdown is
// bounded by `[writer_opt] shutdown_grace`.
import { CONFIG_KEYS } from '../config/keys.js';
import { loadConfig } from '../config/load.js';
import type { Config, WriterConfig } from '../config/types.js';
import { errorMessage } from '../errno.js';
import type { Logger } from '../log.js';
import { MemoryTrim } from './memory-trim.js';
import type { SampleSink } from '../prompb/chunk.js';
import { ScrapeManager, type ManagerExtras } from '../scrape/manager.js';
import type { ScrapeReport, ScrapeTarget } from '../scrape/target.js';
import type { UpdatePlan } from '../scrape/manager.js';
import { AgentServer, type AgentView } from '../server/server.js';
import { Fanout } from '../write/fanout.js';
import { RemoteWriter, type CloseResult } from '../write/writer.js';
import type { PodMetadata } from '../kube/pod-metadata.js';
import { startPodMetadata } from './pods.js';
import { DeriveHub } from '../derive/hub.js';
import { deriveTarget } from '../derive/target.js';

export interface RuntimeOptions {
  configDir: string;
  inputs?: string[];
  /** Overrides `[writer_opt] shutdown_grace` (ms): how long a shutdown flushes before persisting. */
  graceMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Extra consumers of every scraped chunk (the demo's summary). */
  observers?: SampleSink[];
  /** Scrape every target right away instead of waiting for its first slot (demo). */
  scrapeAtStart?: boolean;
  /**
   * false: no scrape schedule; the caller drives `manager.scrapeAll(time)` (backfill with a
   * simulated clock, as the dashboard and rule proof does). Default true.
   */
  schedule?: boolean;
}

export class Runtime implements AgentView {
  config!: Config;
  writers: RemoteWriter[] = [];
  manager!: ScrapeManager;
  fanout!: Fanout;
  server: AgentServer | undefined;
  /** The pod view, its source and the pod health target (`[pod_metadata] enable`). */
  pods: PodMetadata | undefined;
  /** The edge-derived container values (status page; series with `[derive] enable`). */
  readonly derive = new DeriveHub();
  scrapedSamples = 0;
  scrapes = 0;
  ready = false;
  stopping = false;
  reloads = 0;
  reloadFailures = 0;
  lastReloadOk = true;

  /** Returns V8's pooled heap pages after the scrapes built many new series (memory-trim.ts). */
  private readonly trim: MemoryTrim;

  constructor(
    private readonly opts: RuntimeOptions,
    readonly log: Logger,
  ) {
    this.trim = new MemoryTrim(log);
  }

  get targets(): readonly ScrapeTarget[] {
    return this.manager?.targets ?? [];
  }

  get budget(): ScrapeManager['budget'] | undefined {
    return this.manager?.budget;
  }

  private get graceMs(): number {
    return this.opts.graceMs ?? this.config.writerOpt.shutdownGraceMs;
  }

  private load(): Config {
    const { config, warnings } = loadConfig(this.opts.configDir, {
      env: this.opts.env,
      inputs: this.opts.inputs,
    });
    for (const w of warnings) this.log.warn({ file: w.file, line: w.line, key: w.key }, w.message);
    return config;
  }

  async start(initial?: Config): Promise<void> {
    this.config = initial ?? this.load();
    if (this.config.http.enable) this.server = new AgentServer(this, this.log, this.config.http);
    this.writers = await this.startWriters(this.config.writers);
    this.fanout = new Fanout(this.writers, this.opts.observers);
    const { pods, extras } = await startPodMetadata(this.config, this.log, { withHealth: true });
    this.pods = pods;
    this.manager = new ScrapeManager(this.config, this.fanout, this.log, this.withDerive(extras));
    const count = (r: ScrapeReport) => {
      this.scrapes++;
      if (r.stats) {
        this.scrapedSamples += r.stats.scraped;
        this.trim.noteAdded(r.stats.added);
      }
    };
    if (this.opts.scrapeAtStart) void this.manager.scrapeAll().then((rs) => rs.forEach(count));
    if (this.opts.schedule !== false) this.manager.start(count);
    this.log.info({ targets: this.manager.targets.length, writers: this.writers.length }, 'scraping started');
    if (this.server) {
      await this.server.listen(this.config.http.address);
      this.log.info({ address: this.server.address }, 'status page and /metrics listening');
    }
    if (this.config.writers.length === 0 && !this.opts.observers?.length) {
      this.log.warn('no [[writers]] configured: scraped samples are dropped (use --test to print them)');
    }
    this.ready = true;
  }

  private withDerive(extras: ManagerExtras): ManagerExtras {
    const internal = [...(extras.internal ?? [])];
    if (this.config.derive.enable) internal.push(deriveTarget(this.derive, this.config.global));
    return { ...extras, internal, taps: this.derive.factory };
  }

  /**
   * The writers for `wanted`: those of `keep` with the same `[[writers]]` entry (reconfigured with
   * the new `[writer_opt]` and `[queue]`), new ones, not started yet, for the rest. A new writer
   * already takes chunks (in memory) before `start`.
   */
  private planWriters(c: Config, keep: RemoteWriter[]): RemoteWriter[] {
    const wanted = c.writers;
    const pool = [...keep];
    return wanted.map((wc) => {
      const i = pool.findIndex((w) => sameWriter(w.config, wc));
      if (i < 0) {
        return new RemoteWriter(wc, c.writerOpt, c.queue, this.log, this.server?.metrics.observeWriteLatency);
      }
      const w = pool.splice(i, 1)[0];
      const later = w.reconfigure(c.writerOpt, c.queue);
      if (later.length)
        this.log.warn(
          { writer: w.name, settings: later.join(', ') },
          'changed settings take effect after a restart; the writer keeps its current ones',
        );
      return w;
    });
  }

  private async startWriters(wanted: WriterConfig[]): Promise<RemoteWriter[]> {
    const next = this.planWriters({ ...this.config, writers: wanted }, []);
    await Promise.all(next.map((w) => w.start()));
    return next;
  }

  /** The reload in progress: reloads run one after the other, and a shutdown waits for one. */
  private reloading: Promise<void> = Promise.resolve();

  /** Re-read the configuration; on error keep running with the old one. */
  reload(): Promise<void> {
    const next = this.reloading.then(() => {
      if (this.stopping) throw new Error('the agent is stopping');
      return this.reloadNow().finally(() => this.server?.invalidate());
    });
    this.reloading = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(): Promise<void> {
    // Everything that can fail is done before anything changes: the files are parsed and checked
    // (config/), then the new targets and writers are built (their TLS files read). A failure keeps the
    // running configuration whole, is counted and logged with file, instance and key.
    let config: Config;
    let plan: UpdatePlan | undefined;
    let next: RemoteWriter[];
    const old = this.writers;
    try {
      config = this.load();
      // sections a running agent cannot change: named, and kept as they are
      for (const [section, key, keeps] of RESTART_ONLY) {
        if (JSON.stringify(config[key]) === JSON.stringify(this.config[key])) continue;
        this.log.warn(`${section} changed: it takes effect after a restart; ${keeps}`);
        Object.assign(config, { [key]: this.config[key] });
      }
      plan = this.manager.prepare(config);
      next = this.planWriters(config, old);
    } catch (err) {
      if (plan) this.manager.discard(plan);
      this.reloadFailures++;
      this.lastReloadOk = false;
      this.log.error({ error: errorMessage(err) }, 'reload failed; keeping the running configuration');
      throw err;
    }
    this.config = config;
    const added = next.filter((w) => !old.includes(w));
    const dropped = old.filter((w) => !next.includes(w));
    // New writers take chunks in memory right away; the dropped ones close (persisting their
    // backlog) before the new ones open their folders, since a changed entry for the same URL
    // reuses the folder of the old one.
    this.writers = next;
    this.fanout.writers = next;
    await this.closeWriters(dropped);
    for (const w of dropped) this.server?.metrics.forgetWriter(w.name);
    await Promise.all(added.map((w) => w.start()));
    const t = await this.manager.apply(plan);
    this.reloads++;
    this.lastReloadOk = true;
    this.log.info(
      {
        targetsKept: t.kept,
        targetsAdded: t.added,
        targetsRemoved: t.removed,
        writersKept: next.length - added.length,
        writersAdded: added.length,
        writersRemoved: dropped.length,
      },
      'configuration reloaded',
    );
  }

  /** Close writers within the grace period; one log line for what waits on disk, one for what was lost. */
  private async closeWriters(writers: RemoteWriter[]): Promise<void> {
    if (writers.length === 0) return;
    const results = await Promise.all(writers.map((w) => w.close(this.graceMs)));
    const sum = (f: (r: CloseResult) => number) => results.reduce((a, r) => a + f(r), 0);
    const onDisk = sum((r) => r.onDisk);
    const lost = sum((r) => r.lost);
    if (onDisk > 0) {
      const per = Object.fromEntries(writers.map((w, i) => [w.name, results[i].onDisk]));
      this.log.info(
        { samples: onDisk, persistedNow: sum((r) => r.persisted), writers: per },
        `${onDisk} unsent samples are in the on-disk queue for the next start`,
      );
    }
    if (lost > 0) {
      const per = Object.fromEntries(writers.map((w, i) => [w.name, results[i].lost]));
      this.log.warn({ samples: lost, writers: per }, `${lost} unsent samples lost (no on-disk queue)`);
    }
  }

  /**
   * SIGTERM: stop scraping (scrapes in flight are cut short), let the writers flush for at most the
   * grace period (not at all while their store is failing), persist the rest, close the server.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.ready = false;
    await this.reloading;
    await this.manager?.stop(true);
    this.trim.stop();
    await this.pods?.stop();
    await this.closeWriters(this.writers);
    await this.server?.close();
  }
}

/**
 * Sections a reload cannot apply to a running agent, from the key declarations (config/keys.ts:
 * every key of the section is reload 'restart'): [section, key of Config, what is kept].
 */
const RESTART_ONLY: Array<[string, 'podMetadata' | 'http' | 'log' | 'derive', string]> = (
  [
    ['pod_metadata', 'podMetadata', 'the pod view keeps its settings'],
    ['http', 'http', 'the server keeps its address, hosts, lifecycle switch, TLS and users'],
    ['log', 'log', 'the log keeps its level and format'],
    ['derive', 'derive', 'the derived series stay as they are'],
  ] as const
)
  .filter(([section]) => CONFIG_KEYS[section].every((k) => k.reload === 'restart'))
  .map(([section, key, keeps]) => [`[${section}]`, key, keeps]);

function sameWriter(a: WriterConfig, b: WriterConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
