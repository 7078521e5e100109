// A small local Kubernetes API server for the pod view's tests: HTTPS, bearer tokens, and the real
// list/watch protocol of /api/v1/pods (fieldSelector, limit/continue paging, resourceVersion,
// newline-delimited watch events, bookmarks, 410 Gone, Status bodies). Tests drive it: add, change
// and delete pods (each bumps the resourceVersion and goes to open watches), split events across
// writes, drop a watch mid-event, expire versions, rotate the accepted token, forbid.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { selfSignedCert, type TestCert } from './net.js';

export interface FakeRequest {
  path: string;
  query: Record<string, string>;
  token: string;
}

type Pod = {
  metadata: Record<string, unknown> & { namespace: string; name: string };
  spec: { nodeName: string };
};

export class FakeApiServer {
  readonly cert: TestCert = selfSignedCert();
  private server!: Server;
  url = '';
  rv = 100;
  /** Versions older than this answer 410 Gone. */
  oldestRv = 0;
  tokens = new Set<string>(['token-1']);
  /** 403 for list and watch, with a Status body, while set. */
  forbidden = false;
  pageSize = 2;
  /**
   * RBAC for SelfSubjectAccessReview, per token: `verb resource[/subresource]` it may, and the
   * binding that allows it (the reason text the RBAC authorizer gives). Absent: allowed nothing.
   */
  readonly access = new Map<string, Map<string, string>>();
  readonly requests: FakeRequest[] = [];
  private readonly pods = new Map<string, Pod>();
  private readonly watches = new Set<{ res: ServerResponse; node: string; tail: Promise<void> }>();

  async start(): Promise<void> {
    this.server = createServer({ cert: this.cert.cert, key: this.cert.key }, (req, res) =>
      this.handle(req, res),
    );
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** Add or change a pod; open watches get ADDED or MODIFIED (in `pieces` writes). */
  put(pod: Pod, pieces = 1): void {
    const key = pod.metadata.namespace + '/' + pod.metadata.name;
    const type = this.pods.has(key) ? 'MODIFIED' : 'ADDED';
    pod.metadata.resourceVersion = String(++this.rv);
    this.pods.set(key, pod);
    this.send({ type, object: pod }, pod.spec.nodeName, pieces);
  }

  delete(namespace: string, name: string): void {
    const pod = this.pods.get(namespace + '/' + name);
    if (!pod) return;
    this.pods.delete(namespace + '/' + name);
    pod.metadata.resourceVersion = String(++this.rv);
    this.send({ type: 'DELETED', object: pod }, pod.spec.nodeName);
  }

  /** Delete without telling the watches (as if it happened while they were away). */
  deleteQuietly(namespace: string, name: string): void {
    this.pods.delete(namespace + '/' + name);
    this.rv++;
  }

  bookmark(): void {
    this.rv++;
    const line =
      JSON.stringify({
        type: 'BOOKMARK',
        object: { kind: 'Pod', metadata: { resourceVersion: String(this.rv) } },
      }) + '\n';
    for (const w of this.watches) w.tail = w.tail.then(() => void w.res.write(line));
  }

  /** Cut every open watch in the middle of an event. */
  dropWatches(): void {
    for (const w of this.watches) {
      w.res.write('{"type":"MODIFIED","object":{"metadata":{"name":"half');
      w.res.socket?.destroy();
    }
    this.watches.clear();
  }

  /** The watches' versions are now too old: an ERROR event with a 410 Status, then the end. */
  expire(): void {
    this.oldestRv = ++this.rv;
    for (const w of this.watches) {
      w.res.end(
        JSON.stringify({
          type: 'ERROR',
          object: {
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            reason: 'Expired',
            code: 410,
            message: 'too old resource version',
          },
        }) + '\n',
      );
    }
    this.watches.clear();
  }

  private send(ev: object, node: string, pieces = 1): void {
    const line = Buffer.from(JSON.stringify(ev) + '\n');
    // Split by bytes, and (when split at all) also inside the first multi-byte UTF-8 character,
    // as a TCP read may.
    const cuts = new Set<number>();
    if (pieces > 1) {
      const size = Math.ceil(line.length / pieces);
      for (let i = size; i < line.length; i += size) cuts.add(i);
      const wide = line.findIndex((b) => b >= 0xc0);
      if (wide >= 0) cuts.add(wide + 1);
    }
    const at = [0, ...[...cuts].sort((a, b) => a - b), line.length];
    // The pieces go out a few ms apart so that they reach the reader as separate reads (written
    // in one tick they would share a TLS record); the order of events is kept by the chain.
    for (const w of this.watches) {
      if (w.node !== node) continue;
      for (let i = 1; i < at.length; i++) {
        const piece = line.subarray(at[i - 1], at[i]);
        w.tail = w.tail.then(async () => {
          if (i > 1) await new Promise((r) => setTimeout(r, 5));
          if (!w.res.destroyed) w.res.write(piece);
        });
      }
    }
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason,
        code,
      }),
    );
  }

  /** A SelfSubjectAccessReview, answered from `access` as the RBAC authorizer would. */
  private review(req: IncomingMessage, res: ServerResponse, token: string): void {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      const review = JSON.parse(body) as {
        spec: { resourceAttributes: { verb: string; resource: string; subresource?: string } };
      };
      const a = review.spec.resourceAttributes;
      const key = `${a.verb} ${a.resource}${a.subresource ? '/' + a.subresource : ''}`;
      const reason = this.access.get(token)?.get(key);
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          ...review,
          status: reason !== undefined ? { allowed: true, reason } : { allowed: false },
        }),
      );
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'https://x');
    const query = Object.fromEntries(u.searchParams);
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    this.requests.push({ path: u.pathname, query, token });
    if (!this.tokens.has(token)) return this.status(res, 401, 'Unauthorized', 'Unauthorized');
    if (u.pathname === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews' && req.method === 'POST')
      return this.review(req, res, token);
    if (u.pathname !== '/api/v1/pods')
      return this.status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const node = /^spec\.nodeName=(.*)$/.exec(query.fieldSelector ?? '')?.[1] ?? '';
    if (this.forbidden)
      return this.status(
        res,
        403,
        'Forbidden',
        'pods is forbidden: User "system:serviceaccount:nodegraf:nodegraf" cannot list resource "pods" in API group "" at the cluster scope',
      );
    const mine = [...this.pods.values()].filter((p) => !node || p.spec.nodeName === node);
    if (query.watch === '1') {
      const from = Number(query.resourceVersion ?? 0);
      if (from < this.oldestRv) return this.status(res, 410, 'Expired', 'too old resource version');
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      const w = { res, node, tail: Promise.resolve() };
      this.watches.add(w);
      res.on('close', () => this.watches.delete(w));
      return;
    }
    const start = Number(query.continue ?? 0);
    const limit = Number(query.limit ?? 0) || mine.length;
    const page = mine.slice(start, start + Math.min(limit, this.pageSize));
    const next = start + page.length;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: {
          resourceVersion: String(this.rv),
          ...(next < mine.length ? { continue: String(next) } : {}),
        },
        items: page,
      }),
    );
  }
}

/** A pod object as the API server returns it, the fields nodegraf reads. */
export function apiPod(
  namespace: string,
  name: string,
  node: string,
  labels: Record<string, string> = {},
): Pod {
  return {
    metadata: {
      namespace,
      name,
      uid: `uid-${name}`,
      labels,
      ownerReferences: [{ kind: 'ReplicaSet', name: `${name.split('-')[0]}-5d4f8c7b9`, controller: true }],
    },
    spec: { nodeName: node },
  };
}
