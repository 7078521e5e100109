// The apiserver pod source: list, then watch, the pods bound to this node
// (`/api/v1/pods?fieldSelector=spec.nodeName=<node>`), as client-go's reflector does: the list's
// resourceVersion starts the watch, bookmarks move it on, `410 Gone` (on the request or as an ERROR
// event) means the version is too old and the list is redone, and a dropped watch resumes from
// the last version seen after a backoff with jitter. The ServiceAccount token is re-read for every
// request (projected tokens rotate); a 401 retries once at once with the re-read token.
//
// Hand-rolled over undici (../shared/LIBRARIES.md: @kubernetes/client-node 2 does not load on
// Node 20; 1.x pulls 72 packages). Memory: only the fields of pod.ts are kept of each object.
import { StringDecoder } from 'node:string_decoder';
import { Agent } from '../lean-imports.js';
import { connectOptions } from '../config/tls.js';
import { errnoCode, errorMessage, isAbort } from '../errno.js';
import type { Logger } from '../log.js';
import { readBearerToken } from '../scrape/client.js';
import { ScrapeError } from '../scrape/errors.js';
import { parsePod } from './pod.js';
import type { PodView } from './view.js';

export interface ApiserverOptions {
  /** https://host:port of the API server (in a pod: KUBERNETES_SERVICE_HOST / _PORT). */
  url: string;
  nodeName: string;
  bearerTokenFile: string;
  caFile: string;
  insecureSkipVerify: boolean;
  /** Server-side watch timeout, seconds (randomised in [t, 2t) as client-go does). Default 300. */
  watchTimeoutS?: number;
  /** Backoff bounds, ms. Default 1 s to 30 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  userAgent: string;
}

export class ApiserverPodSource {
  private readonly agent: Agent;
  private stopped = false;
  private current: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private resourceVersion = '';
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private backoffMs: number;

  constructor(
    private readonly opts: ApiserverOptions,
    private readonly view: PodView,
    private readonly log: Logger,
  ) {
    this.agent = new Agent({
      keepAliveTimeout: 60_000,
      connect: connectOptions(
        { useTls: true, caFile: opts.caFile || undefined, insecureSkipVerify: opts.insecureSkipVerify },
        10_000,
      ),
      // a watch is one long response: no body timeout beyond the server-side timeoutSeconds
      bodyTimeout: 0,
      headersTimeout: 30_000,
    });
    this.minBackoffMs = opts.minBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.backoffMs = this.minBackoffMs;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    await this.loop;
    await this.agent.close().catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let listed = false;
      try {
        if (!this.resourceVersion) {
          await this.list();
          listed = true;
        }
        await this.watch();
        this.backoffMs = this.minBackoffMs; // a watch that ended normally
      } catch (err) {
        if (this.stopped) break;
        const e = err instanceof ScrapeError ? err : new ScrapeError('other', errorMessage(err));
        if (e.status === 410) this.setVersion('');
        if (e.status === 410 && !listed) {
          // too old a resourceVersion: relist at once (but not in a loop: a 410 right after a
          // fresh list backs off like any error)
          this.log.debug('pod watch: resourceVersion expired (410), relisting');
          continue;
        }
        this.view.fail(e.message, e.hint);
        this.log.warn({ error: e.message, hint: e.hint || undefined }, 'pod view: API server request failed');
        await this.sleep(this.jittered());
        this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs);
      }
    }
  }

  /** Backoff with ±25 % jitter, so that a thousand agents do not come back in step. */
  private jittered(): number {
    return Math.round(this.backoffMs * (0.75 + Math.random() * 0.5));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }

  private path(extra: Record<string, string>): string {
    const q = new URLSearchParams({ fieldSelector: `spec.nodeName=${this.opts.nodeName}`, ...extra });
    return `/api/v1/pods?${q.toString()}`;
  }

  /** A full list, paged with `continue` (500 a page); pods not in it leave the view. */
  private async list(): Promise<void> {
    const pods = [];
    let cont = '';
    let rv = '';
    do {
      const body = await this.request(this.path({ limit: '500', ...(cont ? { continue: cont } : {}) }));
      const text = await readAll(body, MAX_PAGE_BYTES);
      let list: { metadata?: { resourceVersion?: string; continue?: string }; items?: unknown[] };
      try {
        list = JSON.parse(text) as typeof list;
      } catch {
        throw new ScrapeError('parse', `pod list is not JSON (${text.length} bytes)`);
      }
      for (const item of list.items ?? []) {
        const p = parsePod(item);
        if (p) pods.push(p);
      }
      rv = list.metadata?.resourceVersion ?? '';
      cont = list.metadata?.continue ?? '';
    } while (cont);
    this.view.replace(pods);
    this.setVersion(rv);
  }

  /** One watch request: apply events until the server ends it (timeoutSeconds) or it drops. */
  private async watch(): Promise<void> {
    const t = this.opts.watchTimeoutS ?? 300;
    const timeout = String(Math.floor(t + Math.random() * t));
    const body = await this.request(
      this.path({
        watch: '1',
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: 'true',
        timeoutSeconds: timeout,
      }),
    );
    this.view.recovered();
    // Events are newline-delimited JSON; one may be split across reads, several may share one.
    // The decoder keeps a UTF-8 character split across two reads whole.
    const utf8 = new StringDecoder('utf8');
    let rest = '';
    for await (const piece of body) {
      rest += utf8.write(piece as Buffer);
      if (rest.length > MAX_EVENT_BYTES && rest.indexOf('\n') < 0) {
        this.setVersion(''); // resuming would meet the same event again
        throw new ScrapeError(
          'parse',
          `watch event larger than ${MAX_EVENT_BYTES >> 20} MiB without a line end; relisting`,
        );
      }
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, nl).trim();
        rest = rest.slice(nl + 1);
        if (line) this.event(line);
      }
    }
    if (rest.trim()) this.event(rest.trim());
  }

  private event(line: string): void {
    let ev: { type?: string; object?: Record<string, unknown> };
    try {
      ev = JSON.parse(line) as typeof ev;
    } catch {
      // a watch cut mid-event: resume from the last complete one
      throw new ScrapeError('parse', `malformed watch event (${line.length} bytes); resuming`);
    }
    const md = (ev.object?.metadata ?? {}) as { resourceVersion?: string; namespace?: string; name?: string };
    switch (ev.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const p = parsePod(ev.object);
        if (p) this.view.upsert(p);
        break;
      }
      case 'DELETED':
        if (md.namespace && md.name) this.view.remove(md.namespace, md.name);
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const st = (ev.object ?? {}) as { code?: number; message?: string };
        throw new ScrapeError(
          'http-status',
          `watch error: ${st.message ?? line.slice(0, 200)}`,
          '',
          st.code ?? 0,
        );
      }
      default:
        return;
    }
    if (md.resourceVersion) this.setVersion(md.resourceVersion);
  }

  /** The version the next watch resumes from ('' = list first), also shown on /pods. */
  private setVersion(rv: string): void {
    this.resourceVersion = rv;
    this.view.status.resourceVersion = rv;
  }

  /** GET a path; the body of a 200, else a ScrapeError (a 401 is retried once with a re-read token). */
  private async request(path: string, retried = false): Promise<AsyncIterable<Buffer>> {
    const ac = new AbortController();
    this.current = ac;
    const token = await readBearerToken(this.opts.bearerTokenFile);
    let res;
    try {
      res = await this.agent.request({
        origin: this.opts.url,
        path,
        method: 'GET',
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          'user-agent': this.opts.userAgent,
        },
        signal: ac.signal,
      });
    } catch (err) {
      if (isAbort(err) && this.stopped) throw new ScrapeError('other', 'stopped');
      throw new ScrapeError('other', `${this.opts.url}: ${errnoCode(err) ?? errorMessage(err)}`);
    }
    if (res.statusCode === 200) return res.body;
    const text = await readAll(res.body).catch(() => '');
    if (res.statusCode === 401 && !retried) return this.request(path, true);
    throw statusError(res.statusCode, text, this.opts.nodeName);
  }
}

// Bounds on what one answer may hold in memory. A pod object is at most ~1.5 MiB (etcd's request
// limit), typically 5-20 KiB: a page of 500 pods is a few MiB, one watch event a few KiB.
const MAX_PAGE_BYTES = 256 << 20;
const MAX_EVENT_BYTES = 16 << 20;

async function readAll(body: AsyncIterable<Buffer>, max = 1 << 20): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > max) throw new ScrapeError('parse', `answer larger than ${max >> 20} MiB; not read`);
    parts.push(c);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** The API server's answer, with the Status message it carries and the fix. */
export function statusError(status: number, body: string, node: string): ScrapeError {
  let message = body.trim().slice(0, 300);
  try {
    const s = JSON.parse(body) as { message?: string };
    if (s.message) message = s.message;
  } catch {
    // not a Status object
  }
  if (status === 401)
    return new ScrapeError(
      'unauthorized',
      `401 Unauthorized listing pods: ${message}`,
      'the ServiceAccount token is missing, invalid or expired (it is re-read on every request)',
      401,
    );
  if (status === 403)
    return new ScrapeError(
      'forbidden',
      `403 Forbidden listing pods of node ${node}: ${message}`,
      'RBAC: the ClusterRole needs {apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"]}, or use source = "kubelet"',
      403,
    );
  return new ScrapeError('http-status', `HTTP ${status} from the API server: ${message}`, '', status);
}
