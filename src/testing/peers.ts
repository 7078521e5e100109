// Real remote-write receivers for end-to-end tests: VictoriaMetrics single-node and Prometheus with
// --web.enable-remote-write-receiver, from Debian's packages (scripts/install-peers.sh). Each test
// starts its own on a free loopback port with a temporary data directory, and stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PEERS } from './shared.js';
import { freePort, waitFor } from './net.js';

export const VM_BIN = process.env.VM_BIN ?? join(PEERS, 'victoria-metrics', 'usr', 'bin', 'victoria-metrics');
export const PROMETHEUS_BIN =
  process.env.PROMETHEUS_BIN ?? join(PEERS, 'prometheus', 'usr', 'bin', 'prometheus');
export const PROMTOOL_BIN = process.env.PROMTOOL_BIN ?? join(PEERS, 'prometheus', 'usr', 'bin', 'promtool');
/** The OCI distribution registry (Debian's docker-registry), for the image push test. */
export const REGISTRY_BIN =
  process.env.REGISTRY_BIN ?? join(PEERS, 'docker-registry', 'usr', 'bin', 'docker-registry');

export function peerMissing(bin: string): string | undefined {
  if (existsSync(bin)) return undefined;
  const msg = `${bin} not found: run scripts/install-peers.sh`;
  if (process.env.CI === 'true') throw new Error(msg); // CI must run the end-to-end tests
  return msg;
}

export interface Receiver {
  kind: 'victoria-metrics' | 'prometheus';
  port: number;
  writeUrl: string;
  baseUrl: string;
  /** Instant query; returns the `result` array. */
  query(
    q: string,
    time?: number,
  ): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Stop the process (SIGTERM, then SIGKILL); keep or remove the data directory. */
  stop(keepData?: boolean): Promise<void>;
  /** Start again on the same port and data directory (after stop(true)). */
  restart(): Promise<void>;
  dataDir: string;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function startReceiver(kind: Receiver['kind'], flags: string[] = []): Promise<Receiver> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), `nodegraf-${kind}-`));
  const baseUrl = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  const launch = async () => {
    if (kind === 'victoria-metrics') {
      child = spawn(
        VM_BIN,
        [
          `-storageDataPath=${join(dataDir, 'data')}`,
          `-httpListenAddr=127.0.0.1:${port}`,
          '-retentionPeriod=100y',
          '-search.latencyOffset=0s',
          '-search.disableCache',
          '-dedup.minScrapeInterval=0',
          '-loggerLevel=ERROR',
          ...flags,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } else {
      const cfg = join(dataDir, 'prometheus.yml');
      writeFileSync(cfg, 'global:\n  scrape_interval: 1h\n');
      child = spawn(
        PROMETHEUS_BIN,
        [
          `--config.file=${cfg}`,
          `--storage.tsdb.path=${join(dataDir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--web.enable-remote-write-receiver',
          '--log.level=error',
          '--storage.tsdb.retention.time=1d',
          ...flags,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    }
    child.stderr?.resume();
    const health = kind === 'victoria-metrics' ? `${baseUrl}/health` : `${baseUrl}/-/ready`;
    await waitFor(`${kind} on port ${port}`, async () => (await fetch(health)).ok, 60_000);
  };
  await launch();
  return {
    kind,
    port,
    dataDir,
    baseUrl,
    writeUrl: `${baseUrl}/api/v1/write`,
    async query(q, time) {
      const params = new URLSearchParams({ query: q });
      if (time !== undefined) params.set('time', String(time));
      const res = await fetch(`${baseUrl}/api/v1/query?${params}`);
      const body = (await res.json()) as { status: string; data: { result: never[] }; error?: string };
      if (body.status !== 'success') throw new Error(`${kind} query ${q} failed: ${body.error}`);
      return body.data.result;
    },
    async stop(keepData = false) {
      await stopChild(child);
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
    async restart() {
      await launch();
    },
  };
}

export const startVictoriaMetrics = () => startReceiver('victoria-metrics');
export const startPrometheus = () => startReceiver('prometheus');
/** Prometheus that stores native histograms (remote write's `histograms` field); 2.42 needs the flag. */
export const startPrometheusNative = () =>
  startReceiver('prometheus', ['--enable-feature=native-histograms']);

/** VictoriaMetrics makes new samples searchable after a short delay: force it. */
export async function flushVm(r: Receiver): Promise<void> {
  if (r.kind === 'victoria-metrics') await fetch(`${r.baseUrl}/internal/force_flush`);
}

/** Wait until `query` at `time` (s) answers in every store: what was written is searchable. */
export async function waitQueryable(stores: Receiver[], query: string, time: number): Promise<void> {
  for (const r of stores)
    await waitFor(
      `${r.kind}: ${query}`,
      async () => {
        await flushVm(r);
        return (await r.query(query, time)).length > 0;
      },
      60_000,
    );
}
