// The agent's own HTTP server (SPEC §7): /metrics, /healthz, /readyz, POST /-/reload, /targets and a
// status page. Binds to 127.0.0.1 by default; the DaemonSet uses hostNetwork.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../cli/log.js';
import type { Runtime } from '../cli/runtime.js';
import { renderStatusPage } from './status-page.js';

export interface TargetJson {
  name: string;
  url: string;
  job: string;
  labels: Record<string, string>;
  health: string;
  lastError: string;
  lastWarning: string;
  lastScrape: string | null;
  lastScrapeDurationSeconds: number;
  samples: number;
  series: number;
  scrapes: number;
  failures: number;
  intervalSeconds: number;
  tokenExpiry: string | null;
}

export interface WriterJson {
  url: string;
  state: string;
  lastError: string;
  sentSamples: number;
  sentBytes: number;
  retriedSamples: number;
  droppedSamples: Record<string, number>;
  queuedSamples: number;
  diskQueueBytes: number;
  diskQueueSamples: number;
}

export function targetsJson(rt: Runtime): TargetJson[] {
  return (rt.manager?.targets ?? []).map((t) => ({
    name: t.instance.name,
    url: redactUrl(t.url),
    job: t.job,
    labels: Object.fromEntries(t.labels),
    health: t.health,
    lastError: t.lastError,
    lastWarning: t.lastWarning,
    lastScrape: t.lastScrapeMs ? new Date(t.lastScrapeMs).toISOString() : null,
    lastScrapeDurationSeconds: t.lastDurationMs / 1000,
    samples: t.lastSamples,
    series: t.seriesCount,
    scrapes: t.scrapes,
    failures: t.failures,
    intervalSeconds: t.instance.intervalMs / 1000,
    tokenExpiry: Number.isFinite(t.tokenExpiry) ? new Date(t.tokenExpiry * 1000).toISOString() : null,
  }));
}

export function writersJson(rt: Runtime): WriterJson[] {
  return rt.writers.map((w) => ({
    url: w.name,
    state: w.state,
    lastError: w.stats.lastError,
    sentSamples: w.stats.sentSamples,
    sentBytes: w.stats.sentBytes,
    retriedSamples: w.stats.retriedSamples,
    droppedSamples: { ...w.stats.droppedSamples },
    queuedSamples: w.memorySamples,
    diskQueueBytes: w.diskBytes,
    diskQueueSamples: w.diskSamples,
  }));
}

function redactUrl(u: URL): string {
  if (!u.password) return u.href;
  const c = new URL(u.href);
  c.password = '<redacted>';
  return c.href;
}

export class AgentServer {
  private readonly server: Server;
  private readonly registry = new Registry();
  readonly observeWriteLatency: (seconds: number) => void;

  constructor(
    private readonly rt: Runtime,
    private readonly log: Logger,
  ) {
    const reg = this.registry;
    collectDefaultMetrics({ register: reg });
    const tl = ['target', 'job'] as const;
    const targetGauge = (name: string, help: string, get: (t: TargetJson) => number) =>
      new Gauge({
        name,
        help,
        labelNames: tl,
        registers: [reg],
        collect() {
          this.reset();
          for (const t of targetsJson(rt)) this.set({ target: t.url, job: t.job }, get(t));
        },
      });
    targetGauge('nodegraf_target_up', 'Whether the last scrape of the target succeeded.', (t) =>
      t.health === 'up' ? 1 : 0,
    );
    targetGauge(
      'nodegraf_target_scrape_duration_seconds',
      'Duration of the last scrape.',
      (t) => t.lastScrapeDurationSeconds,
    );
    targetGauge('nodegraf_target_samples', 'Samples in the last scrape.', (t) => t.samples);
    targetGauge('nodegraf_target_series', 'Series currently tracked for the target.', (t) => t.series);
    targetGauge(
      'nodegraf_target_scrapes_total',
      'Scrapes of the target since start (counter).',
      (t) => t.scrapes,
    );
    targetGauge(
      'nodegraf_target_scrape_errors_total',
      'Failed scrapes of the target since start (counter).',
      (t) => t.failures,
    );
    new Gauge({
      name: 'nodegraf_target_token_expiry_timestamp_seconds',
      help: 'Expiry (JWT exp) of the bearer token the target was last scraped with.',
      labelNames: tl,
      registers: [reg],
      collect() {
        this.reset();
        for (const t of rt.manager?.targets ?? []) {
          if (Number.isFinite(t.tokenExpiry)) this.set({ target: t.url.href, job: t.job }, t.tokenExpiry);
        }
      },
    });
    new Counter({
      name: 'nodegraf_scraped_samples_total',
      help: 'Samples read from target payloads (synthetic up/scrape_* series not included).',
      registers: [reg],
      collect() {
        this.reset();
        this.inc(rt.scrapedSamples);
      },
    });
    const wl = ['writer'] as const;
    const writerMetric = (name: string, help: string, get: (w: WriterJson) => number, counter = false) =>
      counter
        ? new Counter({
            name,
            help,
            labelNames: wl,
            registers: [reg],
            collect() {
              this.reset();
              for (const w of writersJson(rt)) this.inc({ writer: w.url }, get(w));
            },
          })
        : new Gauge({
            name,
            help,
            labelNames: wl,
            registers: [reg],
            collect() {
              this.reset();
              for (const w of writersJson(rt)) this.set({ writer: w.url }, get(w));
            },
          });
    writerMetric(
      'nodegraf_writer_sent_samples_total',
      'Samples delivered to the store.',
      (w) => w.sentSamples,
      true,
    );
    writerMetric(
      'nodegraf_writer_sent_bytes_total',
      'Request bytes (snappy) delivered to the store.',
      (w) => w.sentBytes,
      true,
    );
    writerMetric(
      'nodegraf_writer_retried_samples_total',
      'Samples in requests that were retried.',
      (w) => w.retriedSamples,
      true,
    );
    writerMetric('nodegraf_writer_queue_samples', 'Samples queued in memory.', (w) => w.queuedSamples);
    writerMetric('nodegraf_writer_disk_queue_bytes', 'Bytes in the on-disk queue.', (w) => w.diskQueueBytes);
    writerMetric(
      'nodegraf_writer_disk_queue_samples',
      'Samples in the on-disk queue.',
      (w) => w.diskQueueSamples,
    );
    writerMetric('nodegraf_writer_up', '1 when the last request succeeded.', (w) =>
      w.state === 'ok' ? 1 : 0,
    );
    new Counter({
      name: 'nodegraf_writer_dropped_samples_total',
      help: 'Samples dropped, by reason: rejected (4xx), queue_full, disk_full (oldest dropped), disk_error, shutdown.',
      labelNames: ['writer', 'reason'],
      registers: [reg],
      collect() {
        this.reset();
        for (const w of writersJson(rt)) {
          for (const [reason, n] of Object.entries(w.droppedSamples)) this.inc({ writer: w.url, reason }, n);
        }
      },
    });
    const latency = new Histogram({
      name: 'nodegraf_writer_request_duration_seconds',
      help: 'Remote-write request latency.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [reg],
    });
    this.observeWriteLatency = (s) => latency.observe(s);
    new Gauge({
      name: 'nodegraf_config_reloads_total',
      help: 'Successful configuration reloads.',
      registers: [reg],
      collect() {
        this.set(rt.reloads);
      },
    });
    new Gauge({
      name: 'nodegraf_config_last_reload_successful',
      help: '0 after a failed reload, until the next successful one.',
      registers: [reg],
      collect() {
        this.set(rt.lastReloadOk ? 1 : 0);
      },
    });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        this.log.error({ path: req.url, error: err.message }, 'own server request failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.server.keepAliveTimeout = 65_000;
  }

  get address(): string {
    const a = this.server.address() as AddressInfo | null;
    return a ? `${a.address}:${a.port}` : '';
  }

  listen(address: string): Promise<void> {
    const i = address.lastIndexOf(':');
    const host = i > 0 ? address.slice(0, i).replace(/^\[|\]$/g, '') : '127.0.0.1';
    const port = Number(i >= 0 ? address.slice(i + 1) : address);
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const rt = this.rt;
    if (path === '/metrics') {
      const body = await this.registry.metrics();
      res.writeHead(200, { 'content-type': this.registry.contentType });
      res.end(body);
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
    } else if (path === '/readyz') {
      res.writeHead(rt.ready ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(rt.ready ? 'ready\n' : 'not ready\n');
    } else if (path === '/-/reload') {
      if (req.method !== 'POST' && req.method !== 'PUT') {
        res.writeHead(405, { allow: 'POST' });
        res.end('use POST\n');
        return;
      }
      try {
        await rt.reload();
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('reloaded\n');
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`reload failed: ${(err as Error).message}\n`);
      }
    } else if (path === '/targets') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ targets: targetsJson(rt), writers: writersJson(rt) }, null, 2));
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(renderStatusPage(targetsJson(rt), writersJson(rt)));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
