// Targets that attack the scraper, on loopback, for the memory-limit test and the soak: each
// route streams as fast as the client reads (backpressure bounds the server's own work), forever
// or until the client goes. And a large well-behaved target (N series, one precompressed page).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createGzip, gzipSync } from 'node:zlib';

export const HOSTILE_KINDS = [
  'endless-line', // one line that never ends (no newline)
  'endless-series', // unique series forever (sample_limit must stop it)
  'gzip-bomb', // a small gzip body that inflates to a newline-free GiB
  'trickle-401', // 401 whose body trickles a line every 50 ms
  'hang', // headers, then nothing
] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];

export interface Served {
  url: string;
  close(): Promise<void>;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Served> {
  const sockets = new Set<Socket>();
  const server = createServer(handler);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Writes `piece(i)` for i = 0, 1, … while the client reads, until it goes. */
function pump(
  out: NodeJS.WritableStream & { destroyed?: boolean },
  piece: (i: number) => string | Buffer,
): void {
  let i = 0;
  const go = () => {
    while (!out.destroyed) {
      if (!out.write(piece(i++))) {
        out.once('drain', go);
        return;
      }
    }
  };
  go();
}

/** One server, a route per kind: `${url}/${kind}`. */
export async function startHostileTargets(): Promise<Served & { urls: Record<HostileKind, string> }> {
  const xs = Buffer.alloc(64 * 1024, 'x');
  const s = await serve((req, res) => {
    const kind = (req.url ?? '').slice(1) as HostileKind;
    if (kind === 'endless-line') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      pump(res, () => xs);
    } else if (kind === 'endless-series') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      pump(res, (i) => `hostile_series{i="${i}",pad="${'p'.repeat(40)}"} ${i}\n`);
    } else if (kind === 'gzip-bomb') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-encoding': 'gzip' });
      const gz = createGzip({ level: 9 });
      gz.pipe(res);
      res.on('close', () => gz.destroy());
      let sent = 0;
      const go = () => {
        while (!gz.destroyed && sent < 1 << 30) {
          sent += xs.length;
          if (!gz.write(xs)) {
            gz.once('drain', go);
            return;
          }
        }
        if (!gz.destroyed) gz.end();
      };
      go();
    } else if (kind === 'trickle-401') {
      res.writeHead(401, { 'content-type': 'text/plain' });
      const t = setInterval(() => res.write('Unauthorized\n'), 50);
      res.on('close', () => clearInterval(t));
    } else if (kind === 'hang') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.flushHeaders();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  const urls = Object.fromEntries(HOSTILE_KINDS.map((k) => [k, `${s.url}/${k}`])) as Record<
    HostileKind,
    string
  >;
  return { ...s, urls };
}

/**
 * A well-behaved target with `series` series of cAdvisor's shape, compressed once and served
 * gzip on every request (the page does not change: without explicit timestamps every scrape still
 * sends every sample).
 */
export async function startBigTarget(series: number): Promise<Served & { bytes: number }> {
  const lines: string[] = ['# TYPE big_container_metric gauge'];
  for (let i = 0; i < series; i++) {
    lines.push(
      `big_container_metric{container="c${i % 7}",id="/kubepods/burstable/pod${i >> 6}/${i}",namespace="ns${i % 13}",pod="pod-${i >> 6}",metric="m${i % 50}"} ${i}`,
    );
  }
  const body = gzipSync(lines.join('\n') + '\n');
  const s = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-encoding': 'gzip' });
    res.end(body);
  });
  return { ...s, url: `${s.url}/metrics`, bytes: body.length };
}
