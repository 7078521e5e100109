// The agent's own HTTP server (SPEC §7): /metrics, /healthz, /readyz, POST /-/reload, /targets and a
// status page. Binds to 127.0.0.1 by default; the DaemonSet uses hostNetwork.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errnoCode, errorMessage } from '../errno.js';
import type { Logger } from '../log.js';
import { OwnMetrics } from './metrics.js';
import { renderStatusPage } from './status-page.js';
import { containersJson, statusJson } from './api.js';
import { podsJson, targetsJson, writersJson, type AgentView } from './status.js';

export type { AgentView } from './status.js';

/** How long `listen` retries a port another process still holds (a previous nodegraf shutting down). */
export const LISTEN_RETRY_MS = 15_000;

export class AgentServer {
  private readonly server: Server;
  readonly metrics: OwnMetrics;
  /** The page is the same for every request (the data comes from the JSON APIs). */
  private readonly page = renderStatusPage();

  constructor(
    private readonly rt: AgentView,
    private readonly log: Logger,
  ) {
    this.metrics = new OwnMetrics(rt);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.error({ path: req.url, error: errorMessage(err) }, 'own server request failed');
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

  /**
   * Listen on `host:port`. A port still held by another process (EADDRINUSE: the previous agent is
   * finishing its shutdown) is retried for up to `retryMs`, with one log line.
   */
  async listen(address: string, retryMs = LISTEN_RETRY_MS): Promise<void> {
    const i = address.lastIndexOf(':');
    const host = i > 0 ? address.slice(0, i).replace(/^\[|\]$/g, '') : '127.0.0.1';
    const port = Number(i >= 0 ? address.slice(i + 1) : address);
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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const rt = this.rt;
    if (path === '/metrics') {
      const body = await this.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
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
      // a browser sends Origin with a cross-site POST: no other page may make the agent reload
      const origin = req.headers.origin;
      if (
        origin !== undefined &&
        origin !== 'null' &&
        URL.canParse(origin) &&
        new URL(origin).host !== req.headers.host
      ) {
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
      res.end(JSON.stringify(statusJson(rt)));
    } else if (path === '/api/containers') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(containersJson(rt, { history: !/[?&]history=0\b/.test(req.url ?? '') })));
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
