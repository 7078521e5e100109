// A remote-write receiver with faults: sits in front of a real receiver and, per request, answers with
// an injected status (500, 429 with Retry-After, 400), delays, or forwards the body unchanged.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { decodeChunk } from '../prompb/decode.js';

export type Fault =
  { status: number; retryAfter?: string } | { delayMs: number } | 'forward' | 'drop-connection';

export interface FaultProxy {
  url: string;
  /** Faults consumed one per request, in order; when empty, `fallback` applies. */
  faults: Fault[];
  fallback: Fault;
  /** Status answered to each request, in order. */
  answered: number[];
  /** Bodies forwarded to the real receiver. */
  forwarded: number;
  /** Called with each forwarded body and the receiver's status (the soak tallies what passed). */
  onForwarded?: (body: Buffer, status: number) => void;
  close(): Promise<void>;
}

export async function startFaultProxy(
  targetWriteUrl: string,
  fallback: Fault = 'forward',
): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    url: '',
    faults: [],
    fallback,
    answered: [],
    forwarded: 0,
    close: async () => undefined,
  };
  const forward = async (req: IncomingMessage, body: Buffer, res: ServerResponse) => {
    const headers: Record<string, string> = {};
    for (const h of ['content-encoding', 'content-type', 'x-prometheus-remote-write-version', 'user-agent']) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const r = await fetch(targetWriteUrl, { method: 'POST', headers, body });
    proxy.forwarded++;
    proxy.answered.push(r.status);
    try {
      proxy.onForwarded?.(body, r.status);
    } catch {
      // an observer's failure is not the store's answer
    }
    res.writeHead(r.status);
    res.end(Buffer.from(await r.arrayBuffer()));
  };
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const fault = proxy.faults.length ? proxy.faults.shift()! : proxy.fallback;
      const run = async () => {
        if (fault === 'forward') return forward(req, body, res);
        if (fault === 'drop-connection') {
          proxy.answered.push(0);
          req.socket.destroy();
          return;
        }
        if ('delayMs' in fault) {
          // a delay ends early when the connection goes (proxy closed, client gave up)
          await new Promise<void>((r) => {
            const t = setTimeout(r, fault.delayMs);
            req.socket.once('close', () => {
              clearTimeout(t);
              r();
            });
          });
          if (req.socket.destroyed) return;
          return forward(req, body, res);
        }
        proxy.answered.push(fault.status);
        res.writeHead(fault.status, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
        res.end(`injected ${fault.status}`);
      };
      run().catch(() => {
        proxy.answered.push(502);
        if (!res.headersSent) res.writeHead(502);
        res.end('receiver unreachable');
      });
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return proxy;
}

/** The timestamps of the `up` samples (staleness markers left out) of a remote-write body, by job. */
export function upTimesByJob(body: Buffer): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const s of decodeChunk(body)) {
    if (s.stale || !s.labels.some(([k, v]) => k === '__name__' && v === 'up')) continue;
    const job = s.labels.find(([k]) => k === 'job')?.[1] ?? '';
    const ts = out.get(job);
    if (ts) ts.push(s.timestampMs);
    else out.set(job, [s.timestampMs]);
  }
  return out;
}
