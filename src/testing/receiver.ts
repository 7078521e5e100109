// A remote-write receiver on loopback that records every request (headers, body, arrival time) and
// answers what the test says: a status, optionally with headers (Retry-After).
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeChunk, type DecodedSample } from '../prompb/decode.js';

export interface SeenRequest {
  headers: IncomingHttpHeaders;
  body: Buffer;
  status: number;
  /** performance.now() when the request arrived. */
  at: number;
}

export type Answer = number | { status: number; headers?: Record<string, string> };

export interface WriteReceiver {
  url: string;
  seen: SeenRequest[];
  /** Every sample of the requests answered 2xx, decoded. */
  samples(): DecodedSample[];
  close(): Promise<void>;
}

export async function startWriteReceiver(
  answer: (n: number, body: Buffer) => Answer = () => 204,
  path = '/api/v1/write',
): Promise<WriteReceiver> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const a = answer(seen.length, body);
      const { status, headers } = typeof a === 'number' ? { status: a, headers: {} } : a;
      seen.push({ headers: req.headers, body, status, at: performance.now() });
      res.writeHead(status, headers);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return {
    url,
    seen,
    samples: () => seen.filter((s) => s.status < 300).flatMap((s) => decodeChunk(s.body)),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
