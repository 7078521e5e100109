// The whole agent against the node simulator on a simulated clock: minutes or hours of a node's
// life scraped in seconds, each scrape stamped with its simulated instant, written to the given
// stores in order (a backfill). The dashboard/rule proof and the derive equivalence test run on it.
// Only 127.0.0.1 is involved: the simulator and the agent's own server listen on loopback.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { startSimulator, type Simulator } from '../sim/simulator.js';
import { demoToken } from '../cli/demo-token.js';
import { articleInputToml, demoPodMetadataToml, kubeletEndpointsToml } from '../cli/demo.js';
import { Runtime } from '../cli/runtime.js';

export interface BackfillOptions {
  /** Remote-write URLs of the stores. */
  writeUrls: string[];
  /** Those of writeUrls whose writer sends native histograms (`native_histograms = true`). */
  nativeWriteUrls?: string[];
  /** Simulated time of the first scrape, ms. */
  startMs: number;
  stepMs: number;
  steps: number;
  /**
   * Extra config.toml text (sections such as [derive]), and extra [[instances]] for
   * input.prometheus (a function gets the simulated kubelet's URL and the token file).
   */
  config?: string;
  instances?: string | ((kubeletUrl: string, tokenFile: string) => string);
  /** `[global] labels`, e.g. { cluster = "proof" }. */
  labels?: Record<string, string>;
  /** More `[global]` keys, e.g. `series_limit = 5000`. */
  global?: string;
  /** The agent's own server address ("" or absent: off). */
  http?: string;
  /** cAdvisor housekeeping interval of the simulator (default: its own, 10 s). */
  housekeepingMs?: number;
  /** Seconds the simulator's dead cgroups linger in cAdvisor (default 0). */
  deadCgroupLingerS?: number;
  /** Extra keys of the `[pod_metadata]` section, e.g. `drop_stale_containers = false`. */
  podMetadata?: string;
}

export interface Backfill {
  rt: Runtime;
  sim: Simulator;
  /** The simulated clock, ms; during `run` the instant being scraped. */
  readonly now: number;
  /** The step being scraped (0-based) during `run`. */
  readonly step: number;
  /** Scrape every target at every step; `after` runs after each step's scrapes. */
  run(after?: (step: number, now: number) => void | Promise<void>): Promise<void>;
  /** Wait until every writer has sent what it holds in memory. */
  drained(): boolean;
  stop(): Promise<void>;
}

export async function startBackfill(o: BackfillOptions): Promise<Backfill> {
  let clock = o.startMs;
  let step = 0;
  const endMs = o.startMs + (o.steps - 1) * o.stepMs;
  const token = demoToken(Math.floor(endMs / 1000) + 3600);
  const sim = await startSimulator({
    tokens: [token],
    kubeProxyPort: 0,
    kubeProxyHealthPort: 0,
    kubeletPort: 0,
    now: () => clock,
    ...(o.housekeepingMs !== undefined ? { housekeepingIntervalMs: o.housekeepingMs } : {}),
    ...(o.deadCgroupLingerS !== undefined ? { deadCgroupLingerS: o.deadCgroupLingerS } : {}),
  });
  const dir = mkdtempSync(join(tmpdir(), 'nodegraf-backfill-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, token + '\n');
  const conf = join(dir, 'conf');
  mkdirSync(join(conf, 'input.prometheus'), { recursive: true });
  const labels = Object.entries(o.labels ?? {})
    .map(([k, v]) => `${k} = "${v}"`)
    .join(', ');
  writeFileSync(
    join(conf, 'config.toml'),
    [
      '[global]',
      'hostname = "node-1"',
      `interval = ${Math.round(o.stepMs / 1000)}`,
      labels ? `labels = { ${labels} }` : '',
      o.global ?? '',
      ...o.writeUrls.map(
        (u) =>
          `[[writers]]\nurl = "${u}"${o.nativeWriteUrls?.includes(u) ? '\nnative_histograms = true' : ''}`,
      ),
      // the on-disk queue in the run's own folder, not ./data/queue of whoever runs it
      `[queue]\ndir = "${join(dir, 'queue')}"`,
      '[http]',
      o.http ? `address = "${o.http}"` : 'enable = false',
      o.config ?? '',
      demoPodMetadataToml(sim.kubeletUrl, tokenFile) + (o.podMetadata ?? ''),
    ].join('\n'),
  );
  writeFileSync(
    join(conf, 'input.prometheus', 'prometheus.toml'),
    articleInputToml(sim.kubeProxyUrl, sim.kubeletUrl, tokenFile) +
      kubeletEndpointsToml(sim.kubeletUrl, tokenFile) +
      (typeof o.instances === 'function' ? o.instances(sim.kubeletUrl, tokenFile) : (o.instances ?? '')),
  );
  // no schedule: every scrape is driven here, at its simulated instant
  const rt = new Runtime({ configDir: conf, env: {}, schedule: false }, createLogger('error', 'text'));
  try {
    const { config } = loadConfig(conf, { env: {} });
    await rt.start(config);
  } catch (err) {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    rt,
    sim,
    get now() {
      return clock;
    },
    get step() {
      return step;
    },
    async run(after) {
      for (step = 0; step < o.steps; step++) {
        clock = o.startMs + step * o.stepMs;
        // the pod view follows the simulated clock too
        await rt.pods?.refresh();
        for (const r of await rt.manager.scrapeAll(clock))
          if (!r.up)
            throw new Error(`${r.target} at ${new Date(clock).toISOString()}: ${r.error?.describe()}`);
        await after?.(step, clock);
      }
      step = o.steps - 1;
    },
    drained: () => rt.writers.every((w) => w.memorySamples === 0),
    async stop() {
      await rt.stop();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
