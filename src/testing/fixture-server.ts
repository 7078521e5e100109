// A loopback server that plays a target: serves fixed payloads over HTTP or HTTPS, optionally behind
// bearer-token auth, with knobs for the faults scrape tests need (slow, hung, gzip, status codes).
import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { TestCert } from './net.js';

export type Payload = string | Buffer | ((req: IncomingMessage) => string | Buffer);

export interface FixtureServerOptions {
  routes: Record<string, Payload>;
  tls?: TestCert;
  /** When set, requests need `Authorization: Bearer <one of these>` (401 otherwise). */
  tokens?: string[];
  /** Tokens that authenticate but are not allowed (403, like the kubelet's webhook authz). */
  forbiddenTokens?: string[];
  contentType?: string;
  /** Delay before answering (ms). */
  delayMs?: number;
  /** Never answer. */
  hang?: boolean;
  /**
   * Send the headers and the route's body, then keep the response open without finishing it (a
   * target that hangs half-way); a function decides per request (0-based index).
   */
  stall?: boolean | ((requestIndex: number) => boolean);
  /** While stalled, send one more comment line every this many ms (a target that trickles). */
  trickleMs?: number;
  /** Gzip the body when the client accepts it. */
  gzip?: boolean;
  status?: number;
}

export interface FixtureServer {
  url: string;
  port: number;
  requests: IncomingMessage[];
  options: FixtureServerOptions;
  close(): Promise<void>;
}

/** Replace the millisecond timestamps at the end of sample lines by `now`, as a live cAdvisor would. */
export function withCurrentTimestamps(text: string, now = Date.now()): string {
  return text.replace(
    /^([^#\n][^\n]*?[ \t][^ \t\n]+)[ \t]+(\d{12,14})[ \t]*$/gm,
    (_m, head: string) => `${head} ${now}`,
  );
}

export async function startFixtureServer(options: FixtureServerOptions): Promise<FixtureServer> {
  const requests: IncomingMessage[] = [];
  const sockets = new Set<Socket>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const index = requests.push(req) - 1;
    const o = options;
    if (o.hang) return;
    const answer = () => {
      if (o.tokens || o.forbiddenTokens) {
        const auth = req.headers.authorization ?? '';
        const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
        if (o.forbiddenTokens?.includes(token)) {
          res.writeHead(403, { 'content-type': 'text/plain' });
          res.end(
            `Forbidden (user=system:serviceaccount:nodegraf:nodegraf, verb=get, resource=nodes, subresource=metrics)`,
          );
          return;
        }
        if (!o.tokens?.includes(token)) {
          res.writeHead(401, { 'content-type': 'text/plain' });
          res.end('Unauthorized');
          return;
        }
      }
      if (o.status && o.status !== 200) {
        res.writeHead(o.status, { 'content-type': 'text/plain' });
        res.end(`status ${o.status}`);
        return;
      }
      const route = o.routes[(req.url ?? '/').split('?')[0]];
      if (route === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('404 page not found\n');
        return;
      }
      let body = typeof route === 'function' ? route(req) : route;
      const headers: Record<string, string> = {
        'content-type': o.contentType ?? 'text/plain; version=0.0.4; charset=utf-8',
      };
      if (o.gzip && /gzip/.test(String(req.headers['accept-encoding']))) {
        body = gzipSync(body);
        headers['content-encoding'] = 'gzip';
      }
      res.writeHead(200, headers);
      const stall = typeof o.stall === 'function' ? o.stall(index) : o.stall;
      if (!stall) {
        res.end(body);
        return;
      }
      res.write(body);
      if (o.trickleMs) {
        const t = setInterval(() => res.write('# still here\n'), o.trickleMs);
        res.on('close', () => clearInterval(t));
      }
    };
    if (o.delayMs) setTimeout(answer, o.delayMs);
    else answer();
  };
  const server: Server = options.tls
    ? createHttps({ cert: options.tls.cert, key: options.tls.key }, handler)
    : createHttp(handler);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    options,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
