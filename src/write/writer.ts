// One remote-write destination: its own queue, shards sending in parallel, retries, and an on-disk
// spill queue, so a slow or dead store never stalls scrapes or other writers and loses nothing
// while the disk budget lasts.
//
// Ordering: a target's samples always go to the same shard (SampleSink's `shard`), and a shard sends
// one request at a time, retrying it until it is delivered or refused, so per-series order holds with
// several requests in flight. Within a shard, memory holds the oldest data and disk the newest: when
// memory overflows, the in-flight request and everything in memory move to disk first, and the shard
// then reads only from disk until it is empty.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { connectOptions } from '../config/tls.js';
import { join } from 'node:path';
import { Agent } from 'undici';
import type { QueueConfig, WriterConfig, WriterOptions } from '../config/types.js';
import type { Logger } from '../cli/log.js';
import type { Chunk } from '../scrape/pipeline.js';
import { VERSION } from '../scrape/target.js';
import { DiskQueue } from './diskqueue.js';
import { decodeChunk } from './encode.js';

export interface WriterStats {
  sentSamples: number;
  sentBytes: number;
  sentRequests: number;
  retriedSamples: number;
  failedRequests: number;
  droppedSamples: Record<'rejected' | 'queue_full' | 'disk_full' | 'disk_error' | 'shutdown', number>;
  lastError: string;
  lastSuccessMs: number;
}

interface Batch {
  /** snappy-compressed WriteRequest */
  body: Buffer;
  samples: number;
  fromDisk: boolean;
}

const MAX_BACKOFF_MS = 30_000;
const MIN_BACKOFF_MS = 500;

class Shard {
  mem: Chunk[] = [];
  memSamples = 0;
  current: Batch | undefined;
  disk: DiskQueue | undefined;
  /** Appends handed to the disk queue but not finished yet (they keep the shard in disk mode). */
  diskPending = 0;
  diskChain: Promise<unknown> = Promise.resolve();
  wake: (() => void) | undefined;
  /** Bumped when `current` is moved to disk: the sender drops what it was retrying. */
  generation = 0;
  backoffMs = 0;
  loop: Promise<void> | undefined;

  constructor(readonly index: number) {}

  get onDisk(): boolean {
    return this.diskPending > 0 || (this.disk?.records ?? 0) > 0;
  }

  signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

export class RemoteWriter {
  readonly stats: WriterStats = {
    sentSamples: 0,
    sentBytes: 0,
    sentRequests: 0,
    retriedSamples: 0,
    failedRequests: 0,
    droppedSamples: { rejected: 0, queue_full: 0, disk_full: 0, disk_error: 0, shutdown: 0 },
    lastError: '',
    lastSuccessMs: 0,
  };
  state: 'ok' | 'retrying' | 'down' = 'ok';
  private shards: Shard[] = [];
  private readonly agent: Agent;
  private readonly url: URL;
  private readonly headers: Record<string, string>;
  private closing = false;
  private stopped = false;
  private readonly perShardCap: number;
  private readonly loggedStatus = new Set<number>();
  private readonly queueDir: string;

  constructor(
    readonly config: WriterConfig,
    private readonly opts: WriterOptions,
    private readonly queue: QueueConfig,
    private readonly log: Logger,
    private readonly onLatency?: (seconds: number) => void,
  ) {
    this.url = new URL(config.url);
    this.agent = remoteWriteAgent(config);
    this.headers = remoteWriteHeaders(config);
    const n = Math.max(1, config.maxInFlight);
    this.perShardCap = Math.max(opts.batch, Math.floor(opts.chanSize / n));
    this.queueDir = queue.dir ? join(queue.dir, writerDirName(config.url)) : '';
    for (let i = 0; i < n; i++) this.shards.push(new Shard(i));
  }

  /** A log-safe name: the URL without credentials. */
  get name(): string {
    const u = new URL(this.url.href);
    u.username = '';
    u.password = '';
    return u.href;
  }

  /** Open the on-disk queues (replaying what a previous run left) and start the senders. */
  async start(): Promise<void> {
    if (this.queueDir) {
      // Data left by a run with more shards is replayed too: one extra shard per leftover directory.
      let existing: string[] = [];
      try {
        existing = readdirSync(this.queueDir).filter((d) => /^shard-\d+$/.test(d));
      } catch {
        existing = [];
      }
      const count = Math.max(this.shards.length, ...existing.map((d) => Number(d.slice(6)) + 1));
      while (this.shards.length < count) this.shards.push(new Shard(this.shards.length));
      const perShardBytes = Math.max(1 << 20, Math.floor(this.queue.maxBytes / this.shards.length));
      for (const s of this.shards) {
        try {
          s.disk = await DiskQueue.open({
            dir: join(this.queueDir, `shard-${s.index}`),
            maxBytes: perShardBytes,
            onDrop: (_records, samples) => {
              this.stats.droppedSamples.disk_full += samples;
              this.log.warn({ writer: this.name, samples }, 'on-disk queue full: dropped the oldest samples');
            },
          });
        } catch (err) {
          this.log.error(
            { writer: this.name, dir: this.queueDir, error: String((err as Error).message) },
            'cannot open the on-disk queue; this writer keeps data in memory only',
          );
          s.disk = undefined;
        }
      }
      const backlog = this.shards.reduce((a, s) => a + (s.disk?.samples ?? 0), 0);
      if (backlog > 0)
        this.log.info({ writer: this.name, samples: backlog }, 'replaying the on-disk backlog');
    }
    for (const s of this.shards) s.loop = this.run(s);
  }

  /** Samples queued in memory (all shards). */
  get memorySamples(): number {
    return this.shards.reduce((a, s) => a + s.memSamples, 0);
  }

  get diskBytes(): number {
    return this.shards.reduce((a, s) => a + (s.disk?.bytes ?? 0), 0);
  }

  get diskSamples(): number {
    return this.shards.reduce((a, s) => a + (s.disk?.samples ?? 0), 0);
  }

  /** Never blocks: queue in memory, spill to disk, or drop with a counter. */
  push(chunk: Chunk, shardKey: number): void {
    if (this.stopped) {
      this.stats.droppedSamples.shutdown += chunk.samples;
      return;
    }
    const s = this.shards[shardKey % this.shards.length];
    if (s.disk && s.onDisk) {
      this.toDisk(s, chunk.body, chunk.samples);
    } else if (s.memSamples + chunk.samples <= this.perShardCap) {
      s.mem.push(chunk);
      s.memSamples += chunk.samples;
    } else if (s.disk) {
      this.spill(s);
      this.toDisk(s, chunk.body, chunk.samples);
    } else {
      this.stats.droppedSamples.queue_full += chunk.samples;
      this.warnOnce(
        'queue_full',
        `in-memory queue full (chan_size ${this.opts.chanSize} samples) and no on-disk queue: dropping samples`,
      );
    }
    s.signal();
  }

  /** Move the retrying batch and everything in memory to disk, oldest first. */
  private spill(s: Shard): void {
    if (!s.disk) return;
    this.log.warn(
      { writer: this.name, shard: s.index, samples: s.memSamples + (s.current?.samples ?? 0) },
      'remote write is behind: spilling to the on-disk queue',
    );
    if (s.current && !s.current.fromDisk) {
      this.toDisk(s, s.current.body, s.current.samples);
      s.current = undefined;
      s.generation++;
    }
    for (const c of s.mem) this.toDisk(s, c.body, c.samples);
    s.mem = [];
    s.memSamples = 0;
  }

  private toDisk(s: Shard, body: Buffer, samples: number): void {
    const disk = s.disk!;
    s.diskPending++;
    s.diskChain = s.diskChain
      .then(() => disk.append(body, samples))
      .catch((err: Error) => {
        this.stats.droppedSamples.disk_error += samples;
        this.warnOnce('disk_error', `cannot write to the on-disk queue: ${err.message}; dropping samples`);
      })
      .finally(() => {
        s.diskPending--;
        s.signal();
      });
  }

  /** Next batch of a shard: memory first (oldest), else disk. */
  private async next(s: Shard): Promise<Batch | undefined> {
    if (s.mem.length > 0) {
      const c = s.mem.shift()!;
      s.memSamples -= c.samples;
      return { body: c.body, samples: c.samples, fromDisk: false };
    }
    if (s.disk && s.onDisk) {
      await s.diskChain;
      const rec = await s.disk.peek();
      if (rec) return { body: rec.body, samples: rec.samples, fromDisk: true };
    }
    return undefined;
  }

  private async run(s: Shard): Promise<void> {
    while (!this.stopped) {
      if (!s.current) {
        s.current = await this.next(s);
        if (!s.current) {
          if (this.closing) return;
          await new Promise<void>((resolve) => (s.wake = resolve));
          continue;
        }
      }
      const batch = s.current;
      const gen = s.generation;
      const outcome = await this.send(batch);
      if (s.generation !== gen || s.current !== batch) continue; // moved to disk meanwhile
      if (outcome === 'retry') {
        this.stats.retriedSamples += batch.samples;
        await this.backoff(s);
        continue;
      }
      s.backoffMs = 0;
      if (batch.fromDisk) await s.disk!.ack();
      s.current = undefined;
    }
  }

  private retryAfterMs = 0;

  private async backoff(s: Shard): Promise<void> {
    s.backoffMs = s.backoffMs ? Math.min(MAX_BACKOFF_MS, s.backoffMs * 2) : MIN_BACKOFF_MS;
    let wait = Math.max(s.backoffMs, this.retryAfterMs);
    this.retryAfterMs = 0;
    wait = wait * (0.8 + Math.random() * 0.4); // jitter: shards and agents don't retry in lockstep
    if (this.closing) wait = Math.min(wait, 200);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, wait);
      const prev = s.wake;
      s.wake = () => {
        // a push must not cut the backoff short, but close() must
        if (this.stopped) {
          clearTimeout(t);
          resolve();
        } else if (prev) prev();
      };
    });
    s.wake = undefined;
  }

  private async send(batch: Batch): Promise<'ok' | 'retry' | 'dropped'> {
    const t0 = performance.now();
    let status = 0;
    let text = '';
    try {
      const res = await this.agent.request({
        origin: this.url.origin,
        path: this.url.pathname + this.url.search,
        method: 'POST',
        headers: this.headers,
        body: batch.body,
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      status = res.statusCode;
      if (status >= 200 && status < 300) {
        await res.body.dump();
      } else {
        text = (await res.body.text()).slice(0, 300);
        const ra = res.headers['retry-after'];
        if (ra !== undefined) this.retryAfterMs = parseRetryAfter(String(ra));
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.stats.failedRequests++;
      this.setError(`${e.code ?? e.name ?? 'error'}: ${e.message}`);
      return 'retry';
    }
    this.recordLatency((performance.now() - t0) / 1000);
    if (status >= 200 && status < 300) {
      this.stats.sentSamples += batch.samples;
      this.stats.sentBytes += batch.body.length;
      this.stats.sentRequests++;
      this.stats.lastSuccessMs = Date.now();
      if (this.state !== 'ok') this.log.info({ writer: this.name }, 'remote write recovered');
      this.state = 'ok';
      this.stats.lastError = '';
      return 'ok';
    }
    this.stats.failedRequests++;
    if (status === 429 || status >= 500) {
      this.setError(`HTTP ${status}: ${text.trim()}`);
      return 'retry';
    }
    // Other 4xx: the store will never accept this batch. Drop it, count it, say why once per status.
    this.stats.droppedSamples.rejected += batch.samples;
    this.stats.lastError = `HTTP ${status}: ${text.trim()}`;
    if (!this.loggedStatus.has(status)) {
      this.loggedStatus.add(status);
      this.log.error(
        {
          writer: this.name,
          status,
          response: text.trim(),
          samples: batch.samples,
          example: exampleSeries(batch.body),
          hint: writerHint(status),
        },
        'remote write rejected a batch; dropped',
      );
    }
    return 'dropped';
  }

  private setError(msg: string): void {
    if (this.state === 'ok')
      this.log.warn({ writer: this.name, error: msg }, 'remote write failed; retrying with backoff');
    this.state =
      this.stats.lastSuccessMs && Date.now() - this.stats.lastSuccessMs < 60_000 ? 'retrying' : 'down';
    this.stats.lastError = msg;
  }

  private recordLatency(s: number): void {
    this.onLatency?.(s);
  }

  private readonly warned = new Set<string>();
  private warnOnce(key: string, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn({ writer: this.name }, msg);
  }

  /** Everything queued (memory, in flight, disk) has been delivered. */
  get idle(): boolean {
    return this.shards.every((s) => !s.current && s.mem.length === 0 && !s.onDisk);
  }

  /**
   * Flush within `graceMs`, then persist what is left to disk (or count it as dropped without one),
   * and stop. Call after scraping stopped.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    for (const s of this.shards) s.signal();
    const deadline = Date.now() + graceMs;
    while (!this.idle && Date.now() < deadline) {
      // Delivering from disk during shutdown is pointless: it stays there for the next start.
      if (this.shards.every((s) => !s.current && s.mem.length === 0)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    this.stopped = true;
    let persisted = 0;
    let lost = 0;
    for (const s of this.shards) {
      s.signal();
      const left = (s.current && !s.current.fromDisk ? s.current.samples : 0) + s.memSamples;
      if (s.disk) {
        this.spill(s);
        persisted += left;
      } else {
        lost += left;
      }
    }
    this.stats.droppedSamples.shutdown += lost;
    await Promise.all(this.shards.map((s) => s.diskChain));
    await Promise.all(this.shards.map((s) => s.loop?.catch(() => undefined)));
    await Promise.all(this.shards.map((s) => s.disk?.close()));
    if (persisted)
      this.log.info(
        { writer: this.name, samples: persisted },
        'persisted unsent samples to the on-disk queue',
      );
    if (lost)
      this.log.warn(
        { writer: this.name, samples: lost },
        'unsent samples lost at shutdown (no on-disk queue)',
      );
    await this.agent.close().catch(() => undefined);
  }
}

/** The HTTP client of a writer: keep-alive, its TLS settings, a connection per shard at least. */
export function remoteWriteAgent(config: WriterConfig): Agent {
  return new Agent({
    connections: Math.max(
      config.maxInFlight,
      config.maxIdleConnsPerHost > 0 ? Math.min(config.maxIdleConnsPerHost, 64) : 1,
    ),
    keepAliveTimeout: 60_000,
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
    connect: connectOptions(config.tls, config.dialTimeoutMs),
  });
}

/** Remote write 1.0 headers, the writer's own headers and its basic auth. */
export function remoteWriteHeaders(config: WriterConfig, userAgentNote = ''): Record<string, string> {
  const headers: Record<string, string> = {
    'content-encoding': 'snappy',
    'content-type': 'application/x-protobuf',
    'x-prometheus-remote-write-version': '0.1.0',
    'user-agent': `nodegraf/${VERSION}${userAgentNote}`,
  };
  for (const [k, v] of Object.entries(config.headers)) headers[k.toLowerCase()] = v;
  if (config.basicAuthUser !== undefined) {
    headers.authorization =
      'Basic ' + Buffer.from(`${config.basicAuthUser}:${config.basicAuthPass ?? ''}`).toString('base64');
  }
  return headers;
}

function writerDirName(url: string): string {
  const u = new URL(url);
  const h = createHash('sha256').update(url).digest('hex').slice(0, 8);
  return `${u.hostname}_${u.port || (u.protocol === 'https:' ? 443 : 80)}_${h}`;
}

export function parseRetryAfter(v: string): number {
  const s = Number(v);
  if (Number.isFinite(s)) return Math.min(Math.max(0, s * 1000), 5 * 60_000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.min(Math.max(0, t - Date.now()), 5 * 60_000) : 0;
}

function exampleSeries(snappyBody: Buffer): string {
  try {
    const first = decodeChunk(snappyBody)[0];
    return first ? first.labels.map(([k, v]) => `${k}="${v}"`).join(',') : '';
  } catch {
    return '';
  }
}

function writerHint(status: number): string {
  if (status === 404)
    return 'wrong write URL path (VictoriaMetrics: /api/v1/write; Prometheus: /api/v1/write with --web.enable-remote-write-receiver; Nightingale: /prometheus/v1/write)';
  if (status === 413) return 'request too large: lower [writer_opt] batch or raise the store limit';
  if (status === 401 || status === 403)
    return 'check basic_auth_user/basic_auth_pass or the Authorization header';
  if (status === 400)
    return 'the store refused the data (out-of-order or malformed samples, or not a remote-write endpoint)';
  return '';
}
