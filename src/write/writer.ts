// One remote-write destination: shards sending in parallel, retries with backoff, and the send
// itself. Where chunks wait (memory or disk, spills, replay order, the shutdown persist) is the
// queue layer's concern (queue/shard-queue.ts), so a slow or dead store never stalls scrapes or
// other writers and loses nothing while the disk budget lasts.
//
// Ordering: a target's samples always go to the same shard (SampleSink's `shard`), and a shard sends
// one request at a time, retrying it until it is delivered or refused, so per-series order holds with
// several requests in flight (as Prometheus's queue_manager shards).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { QueueConfig, WriterConfig, WriterOptions } from '../config/types.js';
import { errnoCode, errorMessage, errorName, isAbort } from '../errno.js';
import type { Logger } from '../log.js';
import type { Chunk } from '../prompb/chunk.js';
import { decodeChunk } from '../prompb/decode.js';
import type { DiskBudget } from '../queue/budget.js';
import { openShardQueues } from '../queue/open.js';
import { PendingChunks } from '../queue/pending.js';
import type { QueueDropReason, ShardQueue } from '../queue/shard-queue.js';
import { networkHint, RemoteWriteClient, retryableStatus, statusHint } from './client.js';

export type DropReason = 'rejected' | QueueDropReason;

export interface WriterStats {
  sentSamples: number;
  sentBytes: number;
  sentRequests: number;
  retriedSamples: number;
  failedRequests: number;
  droppedSamples: Record<DropReason, number>;
  /**
   * Requests the store answered with a non-2xx status, by status code: refusals, whatever became
   * of their data (401/403/429/5xx are retried and keep it; other 4xx drop it as `rejected`).
   */
  refusedRequests: Record<string, number>;
  lastError: string;
  /** The fix for lastError, when one is known (a 401 names the credentials to check). */
  lastHint: string;
  lastSuccessMs: number;
  /** When the last request failed or was refused (0: none since the start). */
  lastFailureMs: number;
}

/** The state of a writer: see RemoteWriter.state. */
export type WriterState = 'ok' | 'retrying' | 'down';

/**
 * A writer with data waiting and no 2xx for this long is 'down', whatever its last answer was (a
 * store that refuses everything with 400, or one that hangs until each request times out).
 */
export const STALL_MS = 60_000;

/** What one send did, and for a retry how long the store asked us to wait (Retry-After). */
export type SendOutcome =
  { kind: 'ok' } | { kind: 'dropped' } | { kind: 'retry'; retryAfterMs: number } | { kind: 'aborted' };

/**
 * As Prometheus's remote write (max_backoff 5s): a store that comes back is used within 5 s. With
 * 30 s (before), the soak showed a recovered store left idle for up to 30 s after an outage while
 * the backlog on disk kept growing; a retry every 5 s per shard costs a down store nothing.
 */
const MAX_BACKOFF_MS = 5_000;
const MIN_BACKOFF_MS = 500;
/** How long a restart waits for the previous process to release the queue folders. */
export const QUEUE_LOCK_WAIT_MS = 15_000; // > STALE_MS (queue/lock.ts): a killed owner's lock frees in time

class Shard {
  backoffMs = 0;
  loop: Promise<void> | undefined;
  constructor(
    readonly index: number,
    readonly queue: ShardQueue,
  ) {}
}

export interface CloseResult {
  /** Samples written to disk by the shutdown itself. */
  persisted: number;
  /** Samples on disk after the shutdown (the backlog of the next start), persisted ones included. */
  onDisk: number;
  /** Samples lost (no on-disk queue). */
  lost: number;
}

export class RemoteWriter {
  readonly stats: WriterStats = {
    sentSamples: 0,
    sentBytes: 0,
    sentRequests: 0,
    retriedSamples: 0,
    failedRequests: 0,
    droppedSamples: { rejected: 0, queue_full: 0, disk_full: 0, disk_error: 0, shutdown: 0 },
    refusedRequests: {},
    lastError: '',
    lastHint: '',
    lastSuccessMs: 0,
    lastFailureMs: 0,
  };
  /** The last request failed and is being retried (network error, timeout, 401/403/429/5xx). */
  private retrying = false;
  /** When this writer started (a writer that never delivered is judged from here). */
  private readonly startedMs = Date.now();
  /** Stable, non-secret name: the `writer` label of the own metrics and the log key. */
  readonly name: string;
  /** The URL with credentials redacted, for the status page and logs. */
  readonly displayUrl: string;
  private shards: Shard[] = [];
  /** The bound on the bytes on disk, shared by the shards. */
  private budget: DiskBudget | undefined;
  private readonly client: RemoteWriteClient;
  private closing = false;
  private stopped = false;
  /** Aborts backoff waits at the end of the shutdown grace. */
  private readonly stop = new AbortController();
  /**
   * One controller per request in flight, aborted by its timeout or by the shutdown. Not
   * AbortSignal.any([timeout, stop]): on Node 20 every such combined signal stays referenced by the
   * long-lived `stop` signal, about 60 bytes a request that are never freed (nodejs/node#55351).
   */
  private readonly inFlight = new Set<AbortController>();
  private readonly loggedStatus = new Set<number>();
  private readonly queueDir: string;

  constructor(
    readonly config: WriterConfig,
    private opts: WriterOptions,
    private queueConfig: QueueConfig,
    private readonly log: Logger,
    private readonly onLatency?: (writer: string, seconds: number) => void,
  ) {
    this.name = config.name;
    this.pending = new PendingChunks(opts.chanSize);
    this.client = new RemoteWriteClient(config);
    this.displayUrl = this.client.displayUrl;
    this.queueDir = queueConfig.dir ? join(queueConfig.dir, writerDirName(config.url.reveal())) : '';
  }

  private get shardCount(): number {
    return Math.max(1, this.config.maxInFlight);
  }

  private memoryPerShard(): number {
    const shards = Math.max(this.shards.length, this.shardCount);
    return Math.max(this.opts.batch, Math.floor(this.opts.chanSize / shards));
  }

  /** Open the queues (replaying what a previous run left on disk) and start the senders. */
  async start(): Promise<void> {
    const { queues, budget } = await openShardQueues({
      dir: this.queueDir,
      shards: this.shardCount,
      maxBytes: this.queueConfig.maxBytes,
      memorySamples: this.memoryPerShard(),
      lockWaitMs: QUEUE_LOCK_WAIT_MS,
      onDrop: (reason, samples, detail) => this.drop(reason, samples, detail),
      onSpill: (samples, why) =>
        this.log.warn(
          { writer: this.name, samples, reason: why },
          'moving queued samples to the on-disk queue',
        ),
      onLockWait: (dir, owner) =>
        this.log.warn(
          { writer: this.name, dir, owner, waitSeconds: QUEUE_LOCK_WAIT_MS / 1000 },
          'on-disk queue is locked by another nodegraf (a previous one still shutting down, or killed less than 10 s ago?); waiting',
        ),
      onLockLost: (dir, owner) =>
        this.log.error(
          { writer: this.name, dir, owner },
          'another nodegraf took over this on-disk queue while this one used it: two agents share the folder; give each its own [queue] dir',
        ),
      onOpenError: (dir, message) =>
        this.log.error(
          { writer: this.name, dir, error: message },
          'cannot open the on-disk queue; this shard keeps data in memory only (lost on restart)',
        ),
    });
    this.shards = queues.map((q, i) => new Shard(i, q));
    this.budget = budget;
    // a previous run with more shards leaves more folders: chan_size is shared by all of them
    for (const s of this.shards) s.queue.setMemorySamples(this.memoryPerShard());
    this.pending.drain((chunk, key) => this.push(chunk, key));
    const backlog = this.diskSamples;
    if (backlog > 0) this.log.info({ writer: this.name, samples: backlog }, 'replaying the on-disk backlog');
    for (const s of this.shards) s.loop = this.run(s);
  }

  /**
   * Apply changed `[writer_opt]` / `[queue]` settings of a reload to this running writer. Returns
   * the settings that need a restart (the queue folder), for the log.
   */
  reconfigure(opts: WriterOptions, queue: QueueConfig): string[] {
    this.opts = opts;
    this.pending.setMaxSamples(opts.chanSize);
    for (const s of this.shards) s.queue.setMemorySamples(this.memoryPerShard());
    const later: string[] = [];
    if (queue.maxBytes !== this.queueConfig.maxBytes) this.budget?.setMaxBytes(queue.maxBytes);
    if (queue.dir !== this.queueConfig.dir) later.push('[queue] dir');
    this.queueConfig = { ...queue, dir: this.queueConfig.dir };
    return later;
  }

  /**
   * 'ok' only while the store takes what is sent: 'retrying' after a failed request while the last
   * 2xx is under STALL_MS old, 'down' beyond that; and 'down' whenever data has waited STALL_MS
   * without a 2xx, whatever the last answer (every batch refused with 400, a store that hangs).
   */
  get state(): WriterState {
    const now = Date.now();
    const sinceOk = now - (this.stats.lastSuccessMs || this.startedMs);
    if (this.retrying) return this.stats.lastSuccessMs && sinceOk < STALL_MS ? 'retrying' : 'down';
    const waiting = this.shards.some((s) => s.queue.headAgeMs >= STALL_MS);
    if (waiting && sinceOk >= STALL_MS) return 'down';
    if (this.stats.lastFailureMs > this.stats.lastSuccessMs && sinceOk >= STALL_MS) return 'down';
    return 'ok';
  }

  /** How many samples the memory part of the queues may hold (all shards; `chan_size`). */
  get memoryBoundSamples(): number {
    return this.shards.reduce((a, s) => a + s.queue.memoryBound, 0);
  }

  /** Samples queued in memory (all shards). */
  get memorySamples(): number {
    return this.shards.reduce((a, s) => a + s.queue.memorySamples, 0);
  }

  /** Bytes queued in memory (all shards; the compressed requests). */
  get memoryBytes(): number {
    return this.shards.reduce((a, s) => a + s.queue.memoryBytes, 0);
  }

  get diskBytes(): number {
    return this.shards.reduce((a, s) => a + s.queue.diskBytes, 0);
  }

  get diskSamples(): number {
    return this.shards.reduce((a, s) => a + s.queue.diskSamples, 0);
  }

  /** Never blocks: the shard's queue keeps it in memory or on disk, or drops it with a counter. */
  push(given: Chunk, shardKey: number): void {
    // a scrape's native histograms come in two forms: this writer's (prompb/chunk.ts)
    const chunk = given.native !== undefined && this.config.nativeHistograms ? given.native : given;
    if (chunk.samples === 0) return;
    if (this.stopped) {
      this.drop('shutdown', chunk.samples, 'pushed after shutdown');
    } else if (this.shards.length > 0) {
      this.shards[shardKey % this.shards.length].queue.push(chunk);
    } else if (!this.pending.push(chunk, shardKey)) {
      // not started yet (a reload opens the queue folders after the old writer let go of them)
      this.drop(
        'queue_full',
        chunk.samples,
        `in-memory queue full (chan_size ${this.opts.chanSize} samples)`,
      );
    }
  }

  /** What is pushed before the queues are open (queue/pending.ts). */
  private readonly pending: PendingChunks;

  private drop(reason: DropReason, samples: number, detail: string): void {
    this.stats.droppedSamples[reason] += samples;
    if (reason !== 'shutdown') this.warnOnce(reason, `${detail}: dropping samples`);
  }

  private async run(s: Shard): Promise<void> {
    while (!this.stopped) {
      try {
        if ((await this.step(s)) === 'done') return;
      } catch (err) {
        // the queue's disk failed a read or an ack (EIO, EMFILE): say so, wait, try again
        this.warnOnce('queue_error', `the on-disk queue failed: ${errorMessage(err)}; retrying`);
        await this.backoff(s, 0);
      }
    }
  }

  /** One chunk: peek, send, then ack it or back off. 'done' when the shard has nothing left to do. */
  private async step(s: Shard): Promise<'done' | 'more'> {
    const q = s.queue;
    const chunk = await q.peek();
    if (chunk === undefined) {
      if (this.closing) return 'done';
      await q.waitForData();
      return 'more';
    }
    const outcome = await this.send(chunk);
    if (outcome.kind === 'aborted') return 'done'; // shutdown: the chunk stays queued and is persisted
    if (outcome.kind === 'retry') {
      this.stats.retriedSamples += chunk.samples;
      q.failing(); // from now on new chunks go to disk until the backlog is delivered
      await this.backoff(s, outcome.retryAfterMs);
      return 'more';
    }
    s.backoffMs = 0;
    await q.ack();
    return 'more';
  }

  /** Exponential backoff with jitter, at least what Retry-After asked for; cut short by shutdown. */
  private async backoff(s: Shard, retryAfterMs: number): Promise<void> {
    s.backoffMs = s.backoffMs ? Math.min(MAX_BACKOFF_MS, s.backoffMs * 2) : MIN_BACKOFF_MS;
    // jitter (shards and agents don't retry in lockstep), never below what the store asked for
    let wait = Math.max(s.backoffMs * (0.8 + Math.random() * 0.4), retryAfterMs);
    if (this.closing) wait = Math.min(wait, 200); // shutdown ends the grace on a failure anyway
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, wait);
      const signal = this.stop.signal;
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }

  /** One request. Retry-After is returned with the outcome, so it delays only this shard. */
  async send(chunk: Chunk): Promise<SendOutcome> {
    const t0 = performance.now();
    let status = 0;
    let text = '';
    let retryAfterMs = 0;
    const ac = new AbortController();
    const timer = setTimeout(
      () => ac.abort(new DOMException('request timeout', 'TimeoutError')),
      this.config.timeoutMs,
    );
    this.inFlight.add(ac);
    try {
      ({ status, text, retryAfterMs } = await this.client.post(chunk.body, ac.signal));
    } catch (err) {
      if (this.stopped) return { kind: 'aborted' };
      this.stats.failedRequests++;
      const what = isAbort(err)
        ? `timeout after ${this.config.timeoutMs / 1000} s`
        : `${errnoCode(err) ?? (errorName(err) || 'error')}: ${errorMessage(err)}`;
      this.setError(what, networkHint(err));
      return { kind: 'retry', retryAfterMs: 0 };
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(ac);
    }
    const seconds = (performance.now() - t0) / 1000;
    this.onLatency?.(this.name, seconds);
    if (status >= 200 && status < 300) {
      this.stats.sentSamples += chunk.samples;
      this.stats.sentBytes += chunk.body.length;
      this.stats.sentRequests++;
      this.stats.lastSuccessMs = Date.now();
      if (this.retrying) this.log.info({ writer: this.name }, 'remote write recovered');
      this.retrying = false;
      this.stats.lastError = '';
      this.stats.lastHint = '';
      this.log.debug(
        { writer: this.name, samples: chunk.samples, bytes: chunk.body.length, seconds },
        'sent',
      );
      return { kind: 'ok' };
    }
    this.stats.failedRequests++;
    this.stats.refusedRequests[status] = (this.stats.refusedRequests[status] ?? 0) + 1;
    if (retryableStatus(status)) {
      // 401/403: credentials rotated at the store or a proxy in front of it. The operator's to fix,
      // not the data's fault: keep it (disk spill as for 5xx) and show the writer failing with the fix.
      this.setError(`HTTP ${status}: ${text}`, statusHint(status));
      return { kind: 'retry', retryAfterMs };
    }
    // Other 4xx: the store will never accept this chunk. Drop it, count it, say why once per status.
    this.stats.droppedSamples.rejected += chunk.samples;
    this.stats.lastError = `HTTP ${status}: ${text}`;
    this.stats.lastHint = statusHint(status);
    this.stats.lastFailureMs = Date.now();
    if (!this.loggedStatus.has(status)) {
      this.loggedStatus.add(status);
      this.log.error(
        {
          writer: this.name,
          status,
          response: text,
          samples: chunk.samples,
          example: exampleSeries(chunk.body),
          hint: statusHint(status),
        },
        'remote write rejected a batch; dropped',
      );
    }
    return { kind: 'dropped' };
  }

  private setError(msg: string, hint: string): void {
    if (!this.retrying || msg.slice(0, 8) !== this.stats.lastError.slice(0, 8))
      this.log.warn(
        { writer: this.name, error: msg, ...(hint ? { hint } : {}) },
        'remote write failed; the data is kept and retried with backoff',
      );
    this.retrying = true;
    this.stats.lastError = msg;
    this.stats.lastHint = hint;
    this.stats.lastFailureMs = Date.now();
  }

  private readonly warned = new Set<string>();
  private warnOnce(key: string, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn({ writer: this.name }, msg);
  }

  /** Everything queued (memory and disk) has been delivered. */
  get idle(): boolean {
    return this.shards.every((s) => s.queue.empty);
  }

  /**
   * Shutdown, after scraping stopped: deliver what is in memory for at most `graceMs` (not at all
   * while the store is failing: it is persisted right away), then abort what is in flight, persist
   * the rest to disk (or count it as dropped without one), and stop.
   */
  async close(graceMs: number): Promise<CloseResult> {
    if (this.shards.length === 0) {
      // never started (a reload that did not get that far): what it buffered is lost, and counted
      this.stopped = true;
      const lost = this.pending.discard();
      this.stats.droppedSamples.shutdown += lost;
      await this.client.close();
      return { persisted: 0, onDisk: 0, lost };
    }
    this.closing = true;
    for (const s of this.shards) s.queue.wake();
    const deadline = Date.now() + graceMs;
    // Everything queued, not only memory: a writer that recovered from an outage sends from its
    // on-disk queue, where new chunks also go until it is drained, so its memory is empty while the
    // last scrapes wait on disk, and they stayed there for the next start (writer.test.ts "SIGTERM
    // while a writer still sends its on-disk backlog"). Bounded by graceMs.
    while (!this.idle && !this.retrying && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.stopped = true;
    this.stop.abort();
    for (const ac of this.inFlight) ac.abort();
    for (const s of this.shards) s.queue.wake();
    await Promise.all(this.shards.map((s) => s.loop?.catch(() => undefined)));
    const results = await Promise.all(this.shards.map((s) => s.queue.close()));
    await this.client.close();
    return {
      persisted: results.reduce((a, r) => a + r.persisted, 0),
      onDisk: this.diskSamples,
      lost: results.reduce((a, r) => a + r.lost, 0),
    };
  }
}

function writerDirName(url: string): string {
  const u = new URL(url);
  const h = createHash('sha256').update(url).digest('hex').slice(0, 8);
  return `${u.hostname}_${u.port || (u.protocol === 'https:' ? 443 : 80)}_${h}`;
}

function exampleSeries(snappyBody: Buffer): string {
  try {
    const first = decodeChunk(snappyBody)[0];
    return first ? first.labels.map(([k, v]) => `${k}="${v}"`).join(',') : '';
  } catch {
    return '';
  }
}
