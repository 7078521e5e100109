// The agent's own HTTP server (SPEC §7): /metrics, /healthz, /readyz, POST /-/reload, /targets and a
// status page. Binds to 127.0.0.1 by default; the DaemonSet uses hostNetwork, so this server is on
// every node and is treated as an attack surface:
// - a request whose Host is not an IP literal, localhost, the configured address's host or one of
//   `[http] allowed_hosts` is refused (a DNS-rebinding page carries its own domain as Host);
// - POST /-/reload is off unless `[http] enable_lifecycle` (as Prometheus's --web.enable-lifecycle),
//   and a browser POST from another origin, or from `Origin: null`, is refused;
// - optional TLS and basic auth (bcrypt) from a Prometheus-style web config (config/web.ts);
// - at most MAX_CONCURRENT requests are handled at once (the rest get 503), slow headers time out,
//   and the rendered /metrics and /api/* answers are cached for CACHE_MS, so no request load can
//   hold the event loop that scrapes run on (measured: 2,000 concurrent /metrics + /api/status
//   requests held it ~5 s per wave without the cap and the cache).
import { cardinalityReport } from '../scrape/cardinality.js';
import type { CardinalityJson } from './api-types.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import bcrypt from 'bcryptjs';
import type { HttpConfig } from '../config/types.js';
import { errnoCode, errorMessage } from '../errno.js';
import type { Logger } from '../log.js';
import { http } from '../lean-imports.js';
import { OwnMetrics } from './metrics.js';
import { renderStatusPage } from './status-page.js';
import { containersJson, statusJson } from './api.js';
import { podsJson, targetsJson, writersJson, type AgentView } from './status.js';

export type { AgentView } from './status.js';

/** How long `listen` retries a port another process still holds (a previous nodegraf shutting down). */
export const LISTEN_RETRY_MS = 15_000;
/** Requests handled at once; more get 503 with Retry-After (a flood cannot starve the scrapes). */
export const MAX_CONCURRENT = 16;
/** How long a rendered /metrics or /api/* answer is reused (the status page polls every 2 s). */
export const CACHE_MS = 1000;

/** The settings of the server (`[http]`); tests may leave out what they do not use. */
export type ServerConfig = Pick<HttpConfig, 'address'> & Partial<HttpConfig>;

/** Compared against for unknown users (the hash of a random string, cost 10). */
const DUMMY_HASH = '$2b$10$sQ7x6GtnJiMDDFI/FnCdXuMoC8WtkUYj9qgVejRVNgYm3hZKJARsG';

interface Cached {
  at: number;
  body: string | Promise<string>;
}

export class AgentServer {
  private readonly server: Server;
  readonly metrics: OwnMetrics;
  /** The page is the same for every request (the data comes from the JSON APIs). */
  private readonly page = renderStatusPage();
  private active = 0;
  private readonly cache = new Map<string, Cached>();
  /** Host names accepted besides IP literals (lower case). */
  private readonly hosts: Set<string>;
  /** Credentials that passed bcrypt, by a hash of `user:password` (bcrypt costs ~70 ms a check). */
  private readonly goodAuth = new Set<string>();
  private bcrypting = 0;

  constructor(
    private readonly rt: AgentView,
    private readonly log: Logger,
    private readonly config: ServerConfig = { address: '127.0.0.1:0' },
  ) {
    this.metrics = new OwnMetrics(rt);
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      // the kubelet's probes first: no cap, no auth, nothing rendered, so a flood (or a client that
      // holds every slot) cannot get the agent restarted
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz' || path === '/readyz') {
        const ok = path === '/healthz' || rt.ready;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(path === '/healthz' ? 'ok\n' : ok ? 'ready\n' : 'not ready\n');
        return;
      }
      if (this.active >= MAX_CONCURRENT) {
        res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain' });
        res.end('busy\n');
        return;
      }
      this.active++;
      res.once('close', () => this.active--);
      this.handle(req, res).catch((err: unknown) => {
        this.log.error({ path: req.url, error: errorMessage(err) }, 'own server request failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    };
    const tls = config.tls;
    this.server = tls
      ? createHttpsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, onRequest)
      : http.createServer(onRequest);
    this.server.keepAliveTimeout = 55_000;
    // slowloris: a client gets 10 s for its headers and 30 s for a whole request; a socket idle for
    // 60 s (a client that stopped reading its answer) is closed, which frees its slot
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    this.server.timeout = 60_000;
    this.server.maxConnections = 256;
    const own = splitAddress(config.address).host.toLowerCase();
    this.hosts = new Set(['localhost', own, ...(config.allowedHosts ?? [])].filter(Boolean));
  }

  get address(): string {
    const a = this.server.address() as AddressInfo | null;
    return a ? `${a.address}:${a.port}` : '';
  }

  /**
   * Listen on `host:port`. A port still held by another process (EADDRINUSE: the previous agent is
   * finishing its shutdown) is retried for up to `retryMs`, with one log line.
   */
  async listen(address: string, retryMs = LISTEN_RETRY_MS): Promise<void> {
    const a = splitAddress(address);
    const host = a.host || '127.0.0.1';
    const port = a.port;
    const deadline = Date.now() + retryMs;
    let logged = false;
    for (;;) {
      try {
        await new Promise<void>((resolve, reject) => {
          this.server.once('error', reject);
          this.server.listen(port, host, () => {
            this.server.off('error', reject);
            resolve();
          });
        });
        return;
      } catch (err) {
        if (errnoCode(err) !== 'EADDRINUSE' || Date.now() >= deadline) throw err;
        if (!logged) {
          logged = true;
          this.log.warn(
            { address, waitSeconds: retryMs / 1000 },
            'address in use (a previous nodegraf still shutting down?); retrying',
          );
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** The Host header names an allowed host (an IP literal, localhost, the address, allowed_hosts). */
  private hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return true; // HTTP/1.0 without Host: not a browser
    const name = host
      .replace(/:\d+$/, '')
      .replace(/^\[|\]$/g, '')
      .toLowerCase();
    return isIP(name) !== 0 || this.hosts.has(name);
  }

  private async authorized(req: IncomingMessage): Promise<boolean> {
    const users = this.config.basicAuthUsers;
    if (!users) return true;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const key = createHash('sha256').update(decoded).digest('hex');
    if (this.goodAuth.has(key)) return true;
    // an unknown user costs a bcrypt check too (no telling users apart by time); at most two
    // checks run at once (~70 ms each at cost 10): a burst of bad passwords gets 401 at once
    if (this.bcrypting >= 2) return false;
    const hash = Object.hasOwn(users, user) ? users[user] : DUMMY_HASH;
    this.bcrypting++;
    let ok: boolean;
    try {
      ok = (await bcrypt.compare(decoded.slice(colon + 1), hash)) && hash !== DUMMY_HASH;
    } finally {
      this.bcrypting--;
    }
    if (!ok) return false;
    if (this.goodAuth.size > 64) this.goodAuth.clear();
    this.goodAuth.add(key);
    return true;
  }

  /** Forget the rendered answers (a reload happened: what is read next shows it). */
  invalidate(): void {
    this.cache.clear();
  }

  /** A rendered answer, reused for CACHE_MS (concurrent requests share one rendering). */
  private cached(key: string, render: () => string | Promise<string>): string | Promise<string> {
    const now = performance.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < CACHE_MS) return hit.body;
    const body = render();
    this.cache.set(key, { at: now, body });
    if (typeof body !== 'string') body.catch(() => this.cache.delete(key));
    return body;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const rt = this.rt;
    if (!this.hostAllowed(req.headers.host)) {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end(
        `Host ${JSON.stringify(req.headers.host)} not allowed: use an IP address or localhost, or list the name in [http] allowed_hosts\n`,
      );
      return;
    }
    if (!(await this.authorized(req))) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="nodegraf"', 'content-type': 'text/plain' });
      res.end('unauthorized\n');
      return;
    }
    if (path === '/metrics') {
      const body = await this.cached('metrics', () => this.metrics.registry.metrics());
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
      res.end(body);
    } else if (path === '/-/reload') {
      if (req.method !== 'POST' && req.method !== 'PUT') {
        res.writeHead(405, { allow: 'POST' });
        res.end('use POST\n');
        return;
      }
      if (!this.config.enableLifecycle) {
        res.writeHead(403, { 'content-type': 'text/plain' });
        res.end('the lifecycle endpoint is off: set [http] enable_lifecycle = true, or send SIGHUP\n');
        return;
      }
      // a browser sends Origin with a cross-site POST (`null` from sandboxed frames and files):
      // no other page may make the agent reload
      const origin = req.headers.origin;
      if (origin !== undefined && (!URL.canParse(origin) || new URL(origin).host !== req.headers.host)) {
        res.writeHead(403, { 'content-type': 'text/plain' });
        res.end('cross-origin reload refused\n');
        return;
      }
      try {
        await rt.reload();
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('reloaded\n');
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`reload failed: ${errorMessage(err)}\n`);
      }
    } else if (path === '/targets') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ targets: targetsJson(rt), writers: writersJson(rt) }, null, 2));
    } else if (path === '/pods') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(podsJson(rt), null, 2));
    } else if (path === '/api/status') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(await this.cached('status', () => JSON.stringify(statusJson(rt))));
    } else if (path === '/api/cardinality') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(
        await this.cached('cardinality', () => {
          const report: CardinalityJson = cardinalityReport(rt.targets);
          return JSON.stringify(report);
        }),
      );
    } else if (path === '/api/containers') {
      const history = !/[?&]history=0\b/.test(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(
        await this.cached(`containers ${history}`, () => JSON.stringify(containersJson(rt, { history }))),
      );
    } else if (path === '/') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        // the page's script and style are inline; nothing else may load or connect elsewhere
        'content-security-policy':
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'",
      });
      res.end(this.page);
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

/** `host:port` of `[http] address` (IPv6 in brackets); host '' when only a port is given. */
function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return {
    host: i > 0 ? address.slice(0, i).replace(/^\[|\]$/g, '') : '',
    port: Number(i >= 0 ? address.slice(i + 1) : address),
  };
}
