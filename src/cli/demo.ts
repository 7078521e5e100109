// `nodegraf demo`: the whole job on a machine without Kubernetes. Starts the node simulator, writes a
// token file and the article's configuration (SPEC §3.4) pointed at it, runs the agent with its
// status page, and shows what it collects (and writes, with --remote-write).
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Chunk } from '../prompb/chunk.js';
import type { SampleSink } from '../prompb/chunk.js';
import { startSimulator, type Simulator } from '../sim/simulator.js';
import { decodeChunk } from '../prompb/decode.js';
import { demoToken } from './demo-token.js';
import { createLogger } from '../log.js';
import { errnoCode } from '../errno.js';
import { Runtime } from './runtime.js';
import { dashboardFiles, recipeReport, startLocalStore, type LocalStore } from './demo-store.js';

export interface DemoOptions {
  remoteWrite?: string;
  http: string;
  interval: string;
  duration?: string;
  /** Start a local VictoriaMetrics, write into it, print the recipes it evaluates. */
  store?: boolean;
}

const LONG_LABELS = new Set(['id', 'image', 'name']);

/** Counts samples per job and keeps one example series of each, for the summary lines. */
class DemoSummary implements SampleSink {
  samples = new Map<string, number>();
  examples = new Map<string, string>();
  push(chunk: Chunk): void {
    for (const s of decodeChunk(chunk.body)) {
      const l = Object.fromEntries(s.labels);
      const job = l.job ?? '-';
      this.samples.set(job, (this.samples.get(job) ?? 0) + 1);
      const name = l.__name__ ?? '';
      const preferred = name === 'container_cpu_usage_seconds_total' && Boolean(l.container);
      if (
        name !== 'up' &&
        !name.startsWith('scrape_') &&
        (preferred || (!this.examples.has(job) && job !== 'cadvisor'))
      ) {
        const { __name__, ...rest } = l;
        this.examples.set(
          job,
          `${__name__}{${Object.entries(rest)
            // cAdvisor's long id/image/name values would push the workload labels off the line
            .map(([k, v]) => `${k}="${LONG_LABELS.has(k) ? '…' : v}"`)
            .join(',')}} ${s.value}`,
        );
      }
    }
  }
}

/** SPEC §3.4's `config.toml`, with the writer URL (none: no `[[writers]]`) and the interval given. */
export function articleConfigToml(writerUrl: string | undefined, interval = 15): string {
  const writer = writerUrl
    ? `[[writers]]
url = "${writerUrl}"
timeout = 5000
dial_timeout = 2500
max_idle_conns_per_host = 100
`
    : '';
  return `[global]
hostname = "$HOSTNAME"
interval = ${interval}
providers = ["local"]
[writer_opt]
batch = 2000
chan_size = 10000
${writer}`;
}

/** One [[instances]] table of the kubelet's port, as the article writes them (token, TLS unverified). */
/** One kubelet endpoint as an [[instances]] table (token, TLS without verification, job label). */
export function kubeletInstanceToml(url: string, tokenFile: string, job: string, extra = ''): string {
  return `[[instances]]
urls = ["${url}"]
bearer_token_file = "${tokenFile}"
use_tls = true
insecure_skip_verify = true
labels = { job="${job}" }
${extra}`;
}

/** The article's input.prometheus/prometheus.toml (SPEC §3.4) with local URLs and token file. */
export function articleInputToml(
  kubeProxyMetricsUrl: string,
  kubeletBaseUrl: string,
  tokenFile: string,
): string {
  return `[[instances]]
urls = ["${kubeProxyMetricsUrl}"]
labels = { job="kube-proxy" }
${kubeletInstanceToml(`${kubeletBaseUrl}/metrics`, tokenFile, 'kubelet')}${kubeletInstanceToml(`${kubeletBaseUrl}/metrics/cadvisor`, tokenFile, 'cadvisor')}`;
}

/**
 * Beyond the article: the kubelet's two smaller endpoints (Kubernetes 1.18+), as the input.kubelet
 * preset scrapes them (jobs kubelet-resource, without its container families that have cAdvisor's
 * names, and kubelet-probes). The demo and the kit proof add them to the article's three.
 */
export function kubeletEndpointsToml(kubeletBaseUrl: string, tokenFile: string): string {
  return (
    kubeletInstanceToml(
      `${kubeletBaseUrl}/metrics/resource`,
      tokenFile,
      'kubelet-resource',
      'metrics_drop = ["container_*"]\n',
    ) + kubeletInstanceToml(`${kubeletBaseUrl}/metrics/probes`, tokenFile, 'kubelet-probes')
  );
}

/**
 * Pod metadata from the simulated kubelet's /pods (the kubelet source: there is no API server
 * here), so container series carry workload and pod labels and the pod health series appear.
 */
export function demoPodMetadataToml(kubeletBaseUrl: string, tokenFile: string): string {
  return `[pod_metadata]
enable = true
source = "kubelet"
kubelet_url = "${kubeletBaseUrl}"
bearer_token_file = "${tokenFile}"
insecure_skip_verify = true
pod_labels = ["app", "region", "dept"]
health_metrics = true
`;
}

async function startSimulatorOnFreePorts(token: string): Promise<Simulator> {
  try {
    return await startSimulator({ tokens: [token] });
  } catch (err) {
    if (errnoCode(err) !== 'EADDRINUSE') throw err;
    // A real kubelet or kube-proxy (or another demo) holds the standard ports: use free ones.
    return startSimulator({ tokens: [token], kubeProxyPort: 0, kubeProxyHealthPort: 0, kubeletPort: 0 });
  }
}

export async function runDemo(o: DemoOptions): Promise<void> {
  let store: LocalStore | undefined;
  if (o.store) {
    store = await startLocalStore();
    o = { ...o, remoteWrite: o.remoteWrite ?? store.writeUrl };
  }
  const dir = mkdtempSync(join(tmpdir(), 'nodegraf-demo-'));
  const token = demoToken();
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  const sim = await startSimulatorOnFreePorts(token);
  const conf = join(dir, 'conf');
  mkdirSync(join(conf, 'input.prometheus'), { recursive: true });
  // The article's files, verbatim but for the local URLs, the token path and the writer, and
  // the kubelet's resource and probes endpoints beside its three targets (kubeletEndpointsToml).
  writeFileSync(
    join(conf, 'config.toml'),
    articleConfigToml(o.remoteWrite, Number(o.interval)) +
      `[queue]
dir = "${join(dir, 'queue')}"
[http]
address = "${o.http}"
${demoPodMetadataToml(sim.kubeletUrl, tokenFile)}`,
  );
  writeFileSync(
    join(conf, 'input.prometheus', 'prometheus.toml'),
    articleInputToml(sim.kubeProxyUrl, sim.kubeletUrl, tokenFile) +
      kubeletEndpointsToml(sim.kubeletUrl, tokenFile),
  );
  const env = { ...process.env, HOSTNAME: process.env.HOSTNAME || hostname() };
  const { config, warnings } = loadConfig(conf, { env });
  const log = createLogger('warn', 'text');
  for (const w of warnings) log.warn({ file: w.file, line: w.line }, w.message);
  const summary = new DemoSummary();
  const rt = new Runtime(
    { configDir: conf, env, observers: [summary], scrapeAtStart: true, graceMs: 3000 },
    log,
  );
  try {
    await rt.start(config);
  } catch (err) {
    await sim.close();
    await store?.stop();
    rmSync(dir, { recursive: true, force: true });
    if (errnoCode(err) === 'EADDRINUSE') {
      throw new Error(`${o.http} is in use: pass --http 127.0.0.1:<port> for the status page`);
    }
    throw err;
  }
  const out = process.stdout;
  out.write(
    [
      `nodegraf demo: status page http://${rt.server?.address}/  (node top, targets, writers)`,
      'the agent scraping a simulated worker node:',
      `  kube-proxy  ${sim.kubeProxyUrl}`,
      `  kubelet     ${sim.kubeletUrl}/metrics        (HTTPS, bearer token ${tokenFile})`,
      `  cadvisor    ${sim.kubeletUrl}/metrics/cadvisor`,
      `  config      ${conf}   (the article's files; try: nodegraf check --configs ${conf})`,
      `  own server  metrics: http://${rt.server?.address}/metrics   targets: http://${rt.server?.address}/targets   API: /api/status, /api/containers`,
      ...(store
        ? [
            `  store       VictoriaMetrics ${store.url} (query it: ${store.url}/vmui/); the recipes follow after a minute`,
          ]
        : []),
      o.remoteWrite
        ? `  writing to  ${o.remoteWrite}`
        : '  no --remote-write given: showing what would be written',
      '  Ctrl-C to stop',
      '',
    ].join('\n'),
  );
  let printed = 0;
  const report = () => {
    const targets = rt.manager.targets;
    if (!targets.some((t) => t.scrapes > 0)) return;
    const time = new Date().toISOString().slice(11, 19);
    for (const t of targets) {
      const n = summary.samples.get(t.job) ?? 0;
      const state = t.health === 'up' ? 'up  ' : t.health === 'down' ? 'DOWN' : '... ';
      out.write(
        `${time} ${state} ${t.job.padEnd(10)} ${String(t.lastSamples).padStart(6)} samples/scrape, ${t.seriesCount} series, ${n} samples ${o.remoteWrite ? 'sent' : 'collected'} so far${t.lastError ? `  error: ${t.lastError}` : ''}\n`,
      );
    }
    for (const w of rt.writers) {
      out.write(
        `${time} writer ${w.name}: ${w.state}, ${w.stats.sentSamples} samples delivered, ${w.memorySamples + w.diskSamples} queued${w.stats.lastError ? `, last error: ${w.stats.lastError}` : ''}\n`,
      );
    }
    if (printed++ === 0) {
      for (const [job, ex] of summary.examples)
        out.write(`  e.g. ${job}: ${ex.length > 320 ? ex.slice(0, 320) + '…' : ex}\n`);
    }
  };
  const timer = setInterval(report, Math.max(1000, Number(o.interval) * 1000));
  setTimeout(report, 2000).unref();
  // With --store: after a minute of data, the article's recipes as the store computes them.
  const recipes = store
    ? setTimeout(() => {
        void recipeReport(store.url).then(
          (text) =>
            out.write(
              `\nThe article's container recipes, evaluated by VictoriaMetrics (top 5 each):\n${text}\n` +
                `Dashboards to import (Grafana: Dashboards > New > Import; Nightingale: Dashboards > Import):\n${dashboardFiles()
                  .map((f) => `  ${f}`)
                  .join('\n')}\n\n`,
            ),
          (err: unknown) => out.write(`recipes: ${String(err)}\n`),
        );
      }, 65_000)
    : undefined;
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (o.duration) setTimeout(resolve, Number(o.duration) * 1000).unref();
  });
  clearInterval(timer);
  if (recipes) clearTimeout(recipes);
  report();
  out.write('stopping…\n');
  await rt.stop();
  await sim.close();
  await store?.stop();
  rmSync(dir, { recursive: true, force: true });
  out.write('stopped\n');
}
