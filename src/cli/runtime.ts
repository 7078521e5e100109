// The running agent: scrape manager -> fan-out -> writers, plus the own server. Reload swaps the
// scrape side and keeps every writer whose configuration did not change, with its queued data.
import { loadConfig } from '../config/load.js';
import type { Config, WriterConfig } from '../config/types.js';
import { ScrapeManager } from '../scrape/manager.js';
import type { SampleSink, ScrapeReport } from '../scrape/target.js';
import { AgentServer } from '../server/server.js';
import { Fanout } from '../write/fanout.js';
import { RemoteWriter } from '../write/writer.js';
import type { Logger } from './log.js';

export interface RuntimeOptions {
  configDir: string;
  inputs?: string[];
  /** Seconds SIGTERM gives the writers to flush before persisting the rest. */
  graceMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Extra consumers of every scraped chunk (the demo's summary). */
  observers?: SampleSink[];
  /** Scrape every target right away instead of waiting for its first slot (demo). */
  scrapeAtStart?: boolean;
}

export class Runtime {
  config!: Config;
  writers: RemoteWriter[] = [];
  manager!: ScrapeManager;
  fanout!: Fanout;
  server: AgentServer | undefined;
  scrapedSamples = 0;
  scrapes = 0;
  ready = false;
  stopping = false;
  reloads = 0;
  reloadFailures = 0;
  lastReloadOk = true;

  constructor(
    private readonly opts: RuntimeOptions,
    readonly log: Logger,
  ) {}

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
    if (this.config.http.enable) this.server = new AgentServer(this, this.log);
    await this.startWriters(this.config.writers, []);
    this.startScraping();
    if (this.server) {
      await this.server.listen(this.config.http.address);
      this.log.info({ address: this.server.address }, 'status page and /metrics listening');
    }
    if (this.config.writers.length === 0 && !this.opts.observers?.length) {
      this.log.warn('no [[writers]] configured: scraped samples are dropped (use --test to print them)');
    }
    this.ready = true;
  }

  private async startWriters(wanted: WriterConfig[], keep: RemoteWriter[]): Promise<void> {
    const c = this.config;
    const next: RemoteWriter[] = [];
    for (const wc of wanted) {
      const same = keep.find((w) => JSON.stringify(w.config) === JSON.stringify(wc));
      if (same) {
        next.push(same);
        continue;
      }
      const w = new RemoteWriter(wc, c.writerOpt, c.queue, this.log, this.server?.observeWriteLatency);
      await w.start();
      next.push(w);
    }
    this.writers = next;
  }

  private startScraping(): void {
    this.fanout = new Fanout(this.writers, this.opts.observers);
    this.manager = new ScrapeManager(this.config, this.fanout, this.log);
    const count = (r: ScrapeReport) => {
      this.scrapes++;
      if (r.stats) this.scrapedSamples += r.stats.scraped;
    };
    if (this.opts.scrapeAtStart) void this.manager.scrapeAll().then((rs) => rs.forEach(count));
    this.manager.start(count);
    this.log.info({ targets: this.manager.targets.length, writers: this.writers.length }, 'scraping started');
  }

  /** Re-read the configuration; on error keep running with the old one. */
  async reload(): Promise<void> {
    let config: Config;
    try {
      config = this.load();
    } catch (err) {
      this.reloadFailures++;
      this.lastReloadOk = false;
      this.log.error({ error: (err as Error).message }, 'reload failed; keeping the running configuration');
      throw err;
    }
    await this.manager.stop();
    const old = this.writers;
    this.config = config;
    await this.startWriters(config.writers, old);
    const dropped = old.filter((w) => !this.writers.includes(w));
    await Promise.all(dropped.map((w) => w.close(this.opts.graceMs ?? 10_000)));
    this.startScraping();
    this.reloads++;
    this.lastReloadOk = true;
    this.log.info('configuration reloaded');
  }

  /** SIGTERM: stop scraping, flush within the grace period, persist the rest. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.ready = false;
    await this.manager?.stop();
    await Promise.all(this.writers.map((w) => w.close(this.opts.graceMs ?? 10_000)));
    await this.server?.close();
  }
}
