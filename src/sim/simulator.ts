// The node simulator (SPEC §9): what a Kubernetes worker node serves on
// 127.0.0.1, for the demo, tests and benchmarks.
//
//   kube-proxy  http://HOST:10249/metrics   (also /healthz -> ok, /proxyMode)
//               http://HOST:10256/healthz   ({"lastUpdated": ...,"currentTime": ..., "nodeEligible": true}; also /livez)
//   kubelet     https://HOST:10250          self-signed certificate, bearer tokens
//               /metrics  /metrics/cadvisor  /metrics/resource  /metrics/probes  /pods  /healthz
//
// Kubelet authentication and authorization behave like a kubelet with webhook
// authn/authz: no or unknown token -> 401 "Unauthorized"; a token that
// authenticates but is not allowed -> 403 "Forbidden (user=..., verb=get,
// resource=nodes, subresource=metrics)". A plain-HTTP request to the TLS port is
// answered as Go's net/http does: "HTTP/1.0 400 Bad Request" with the body
// "Client sent an HTTP request to an HTTPS server.\n".
//
// All values are deterministic functions of the (injectable) clock: counters
// never go down, histograms are cumulative and consistent, cAdvisor samples carry
// the millisecond timestamp of each cgroup's last housekeeping.

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { gzip } from 'node:zlib';

import { CadvisorRenderer } from './cadvisor.js';
import { generateServingCert, loadServingCert, type ServingCert } from './cert.js';
import { KubeletMetrics } from './kubelet.js';
import { KubeProxyMetrics } from './kube-proxy.js';
import { buildModel, churnPods, recreatePod, type NodeModel } from './model.js';
import { podListJson } from './pods-json.js';
import { renderProbes, renderResource } from './kubelet-endpoints.js';
import { rngFor } from './util.js';
import { PROTOBUF_CT, wantsProtobuf } from './protobuf.js';
import { goTimeString } from './util.js';

/** Failure modes to exercise an agent's error handling. Mutable at run time with setFaults(). */
export interface SimulatorFaults {
  /** The kubelet port speaks plain HTTP instead of TLS (a misconfigured or very old kubelet). */
  kubeletPlainHttp?: boolean;
  /** Answer every kubelet request with this status (before authentication), e.g. 500 or 503. */
  kubeletStatus?: number;
  /** Answer every kube-proxy :10249 request with this status. */
  kubeProxyStatus?: number;
  /** Delay every kubelet response by this many milliseconds (timeouts, slow targets). */
  kubeletDelayMs?: number;
  /** Delay every kube-proxy response (both ports) by this many milliseconds. */
  kubeProxyDelayMs?: number;
  /** Append one malformed sample line to /metrics/cadvisor. */
  cadvisorMalformedLine?: boolean;
  /**
   * The kubelet's protobuf /metrics leaves out the classic buckets of its native histograms (a
   * client library configured for native histograms only), so only a conversion gives them back.
   */
  kubeletNativeOnly?: boolean;
}

export interface SimulatorOptions {
  /** Address every server binds to. Default '127.0.0.1' (as a real node's kube-proxy metrics and the article's setup). */
  host?: string;
  /** kube-proxy metrics port (metricsBindAddress). Default 10249; 0 = ephemeral. */
  kubeProxyPort?: number;
  /** kube-proxy health port (healthzBindAddress). Default 10256; 0 = ephemeral. */
  kubeProxyHealthPort?: number;
  /** kubelet HTTPS port. Default 10250; 0 = ephemeral. */
  kubeletPort?: number;
  /** Pods on the node. Default 12 (the scenario pods below); more adds Deployment replicas, up to e.g. 110 (the kubelet's default maximum) for benchmarks; fewer keeps the first ones. */
  pods?: number;
  /** Approximate extra cAdvisor series, added as small sidecar containers (~55 series each) in ordinary pods; they appear in /pods too. Default 0. */
  extraSeries?: number;
  /** Bearer tokens the kubelet accepts. Default ['nodegraf-sim-token']. */
  tokens?: string[];
  /** Bearer tokens that authenticate but are not authorized (403). Default []. */
  forbiddenTokens?: string[];
  /** User name in 403 messages. Default 'system:serviceaccount:nodegraf:nodegraf'. */
  user?: string;
  /** PEM serving certificate and key for the kubelet; when absent a self-signed one is generated with openssl. */
  certFile?: string;
  keyFile?: string;
  /** Seed of every name, UID and profile. Default 1. */
  seed?: number;
  /** Default 'sim-node-1'. */
  nodeName?: string;
  /** status.hostIP of the pods. Default '10.0.12.34'. */
  hostIP?: string;
  /** Layout of cgroup ids in cAdvisor: '/kubepods/burstable/pod<uid>/<id>' (cgroupfs, default) or systemd slices. */
  cgroupDriver?: 'cgroupfs' | 'systemd';
  /** cAdvisor housekeeping interval: samples are stamped with each cgroup's last housekeeping time. Default 10000. */
  housekeepingIntervalMs?: number;
  /** machine_cpu_cores. Default 8. */
  cpuCores?: number;
  /** machine_memory_bytes. Default 33280753664 (31 GiB usable). */
  memoryBytes?: number;
  /** Clock in epoch milliseconds. Default Date.now. Inject to make two scrapes minutes apart without waiting. */
  now?: () => number;
  faults?: SimulatorFaults;
  /**
   * Pod churn: the share of the (eligible) pods replaced per minute, in steps every 10 s (new
   * names, UIDs and container ids, see model.ts churnPods). Default 0. Needs the real clock.
   */
  churnPerMinute?: number;
  /**
   * Seconds cAdvisor goes on reporting a dead container's or a deleted pod's cgroup, frozen at its
   * last values and timestamps (as cAdvisor does until its housekeeping notices). Default 0.
   */
  deadCgroupLingerS?: number;
}

export interface Simulator {
  /** http://HOST:PORT/metrics of kube-proxy */
  kubeProxyUrl: string;
  /** http://HOST:PORT/healthz of kube-proxy */
  kubeProxyHealthUrl: string;
  /** https://HOST:PORT of the kubelet (append /metrics, /metrics/cadvisor, /metrics/resource, /metrics/probes, /pods, /healthz) */
  kubeletUrl: string;
  ports: { kubeProxy: number; kubeProxyHealth: number; kubelet: number };
  /** The kubelet's serving certificate (self-signed: usable as tls_ca). */
  caCertPem: string;
  certFile: string;
  keyFile: string;
  /** Current allowed and forbidden tokens. */
  readonly tokens: string[];
  readonly forbiddenTokens: string[];
  /** The simulated node (pods, containers, life cycles). */
  readonly model: NodeModel;
  /** Replaces the active faults. */
  setFaults(faults: SimulatorFaults): void;
  /** Replaces the accepted (and optionally the forbidden) tokens, e.g. to simulate token rotation. */
  setTokens(allowed: string[], forbidden?: string[]): void;
  /** Replaces `count` running pods now (see SimulatorOptions.churnPerMinute); their old names. */
  churn(count: number): string[];
  /** Pods replaced so far by churn. */
  readonly churned: number;
  /**
   * Deletes pod `namespace/name` now and starts its replacement (same name for a StatefulSet's),
   * with a new UID and container ids; returns the new name (undefined: no such pod).
   */
  recreate(key: string): string | undefined;
  /** The response bodies, without HTTP (for benchmarks). nowMs defaults to the simulator's clock. */
  render: {
    kubeProxyMetrics(nowMs?: number): string;
    kubeletMetrics(nowMs?: number): string;
    /**
     * /metrics in protobuf (asked for with Accept), native histograms included (sim/protobuf.ts);
     * `nativeOnly`, or the fault kubeletNativeOnly, leaves their classic buckets out.
     */
    kubeletMetricsProtobuf(nowMs?: number, nativeOnly?: boolean): Buffer;
    cadvisor(nowMs?: number): string;
    /** /metrics/resource and /metrics/probes (kubelet-endpoints.ts). */
    resource(nowMs?: number): string;
    probes(nowMs?: number): string;
    pods(nowMs?: number): string;
  };
  /** Stops every server, drops open connections, removes a generated certificate. */
  close(): Promise<void>;
}

export const DEFAULT_TOKEN = 'nodegraf-sim-token';
const METRICS_CT = 'text/plain; version=0.0.4; charset=utf-8';
/** A request header that asks the kubelet for its protobuf page with native-only histograms. */
export const NATIVE_ONLY_HEADER = 'x-sim-native-only';
const TEXT_CT = 'text/plain; charset=utf-8';
const KEEP_ALIVE_MS = 120_000;
const GO_HTTPS_400 = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

function send(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  body: string | Buffer,
  contentType: string,
  gzipOk = true,
): void {
  res.setHeader('Content-Type', contentType);
  if (status === 404 || contentType === TEXT_CT) res.setHeader('X-Content-Type-Options', 'nosniff');
  const ae = req.headers['accept-encoding'];
  if (gzipOk && body.length > 0 && typeof ae === 'string' && /\bgzip\b/i.test(ae)) {
    gzip(body, (err, buf) => {
      if (res.destroyed) return;
      if (err) {
        res.statusCode = 500;
        res.end(String(err));
        return;
      }
      res.statusCode = status;
      res.setHeader('Content-Encoding', 'gzip');
      res.setHeader('Vary', 'Accept-Encoding');
      res.setHeader('Content-Length', buf.length);
      res.end(buf);
    });
    return;
  }
  res.statusCode = status;
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function later(ms: number | undefined, fn: () => void): void {
  if (ms && ms > 0) setTimeout(fn, ms).unref();
  else fn();
}

function looksLikeHttp(b: Buffer): boolean {
  const s = b.subarray(0, 5).toString('latin1');
  return ['GET /', 'HEAD ', 'POST ', 'PUT /', 'OPTIO', 'DELET', 'PATCH', 'CONNE', 'TRACE'].some((p) =>
    s.startsWith(p.slice(0, Math.min(5, s.length))),
  );
}

function subresourceOf(path: string): string {
  if (path === '/metrics' || path.startsWith('/metrics/')) return 'metrics';
  if (path === '/stats' || path.startsWith('/stats/')) return 'stats';
  if (path === '/pods' || path === '/pods/') return 'pods';
  if (path === '/healthz' || path.startsWith('/healthz/')) return 'healthz';
  if (path === '/logs' || path.startsWith('/logs/')) return 'log';
  return 'proxy';
}

function verbOf(method: string | undefined): string {
  switch (method) {
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return 'get';
  }
}

/** What the servers read on every request: faults and tokens can change while they run. */
interface LiveState {
  faults: SimulatorFaults;
  allowed: Set<string>;
  forbidden: Set<string>;
  user: string;
}

type Render = Simulator['render'];

const pathOf = (req: http.IncomingMessage) => {
  const u = req.url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
};

const errorBody = (status: number) => `${http.STATUS_CODES[status] ?? 'error'}`;

/** kube-proxy's metrics (:10249) and health (:10256) servers. */
function kubeProxyServers(live: LiveState, render: Render, nowMs: () => number): [http.Server, http.Server] {
  const metrics = http.createServer((req, res) => {
    later(live.faults.kubeProxyDelayMs, () => {
      const path = pathOf(req);
      const status = live.faults.kubeProxyStatus;
      if (status) return send(req, res, status, `${errorBody(status)}\n`, TEXT_CT);
      if (path === '/metrics') return send(req, res, 200, render.kubeProxyMetrics(), METRICS_CT);
      if (path === '/healthz') return send(req, res, 200, 'ok', TEXT_CT, false);
      if (path === '/proxyMode') return send(req, res, 200, 'iptables', TEXT_CT, false);
      send(req, res, 404, '404 page not found\n', TEXT_CT, false);
    });
  });
  const startMono = performance.now();
  const health = http.createServer((req, res) => {
    later(live.faults.kubeProxyDelayMs, () => {
      const path = pathOf(req);
      const ts = goTimeString(nowMs(), (performance.now() - startMono) / 1000 + 12.5);
      const json = (body: string) => send(req, res, 200, body, 'application/json', false);
      if (path === '/healthz')
        return json(`{"lastUpdated": "${ts}","currentTime": "${ts}", "nodeEligible": true}`);
      if (path === '/livez') return json(`{"lastUpdated": "${ts}","currentTime": "${ts}"}`);
      send(req, res, 404, '404 page not found\n', TEXT_CT, false);
    });
  });
  return [metrics, health];
}

/** The kubelet's label for a path (kubelet_http_requests_total), 'other' for anything else. */
function kubeletPathLabel(path: string): string {
  if (path === '/metrics') return 'metrics';
  if (path === '/metrics/cadvisor') return 'metrics/cadvisor';
  if (path === '/metrics/resource') return 'metrics/resource';
  if (path === '/metrics/probes') return 'metrics/probes';
  if (path === '/pods' || path === '/pods/') return 'pods';
  if (path === '/healthz') return 'healthz';
  return 'other';
}

/** The kubelet's :10250 requests: faults, bearer token (401/403 as a kubelet answers), the endpoints. */
function kubeletHandler(live: LiveState, kubelet: KubeletMetrics, render: Render) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    later(live.faults.kubeletDelayMs, () => {
      const path = pathOf(req);
      const status = live.faults.kubeletStatus;
      if (status) return send(req, res, status, errorBody(status), TEXT_CT, false);
      const auth = req.headers.authorization;
      const m = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
      const token = m ? m[1]! : '';
      if (token && live.forbidden.has(token)) {
        const what = `user=${live.user}, verb=${verbOf(req.method)}, resource=nodes, subresource=${subresourceOf(path)}`;
        return send(req, res, 403, `Forbidden (${what})`, TEXT_CT, false);
      }
      if (!token || !live.allowed.has(token)) return send(req, res, 401, 'Unauthorized', TEXT_CT, false);
      const label = kubeletPathLabel(path);
      kubelet.countRequest(label);
      switch (label) {
        case 'metrics':
          if (wantsProtobuf(req.headers.accept)) {
            // a test knob per request: one simulator serves both kinds of page at once
            const nativeOnly = req.headers[NATIVE_ONLY_HEADER] === '1';
            return send(req, res, 200, render.kubeletMetricsProtobuf(undefined, nativeOnly), PROTOBUF_CT);
          }
          return send(req, res, 200, render.kubeletMetrics(), METRICS_CT);
        case 'metrics/cadvisor':
          return send(req, res, 200, render.cadvisor(), METRICS_CT);
        case 'metrics/resource':
          return send(req, res, 200, render.resource(), METRICS_CT);
        case 'metrics/probes':
          return send(req, res, 200, render.probes(), METRICS_CT);
        case 'pods':
          return send(req, res, 200, render.pods(), 'application/json');
        case 'healthz':
          return send(req, res, 200, 'ok', TEXT_CT, false);
        default:
          return send(req, res, 404, '404 page not found\n', TEXT_CT, false);
      }
    });
  };
}

/** The kubelet's port: peeks at the first byte (0x16 is a TLS handshake) as Go's HTTPS server does. */
function kubeletFront(
  live: LiveState,
  tls: https.Server,
  plain: http.Server,
  sockets: Set<net.Socket>,
): net.Server {
  return net.createServer((sock) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.once('data', (first: Buffer) => {
      sock.pause();
      sock.unshift(first);
      if (live.faults.kubeletPlainHttp) {
        plain.emit('connection', sock);
        sock.resume();
      } else if (first[0] === 0x16) {
        tls.emit('connection', sock);
      } else if (looksLikeHttp(first)) {
        sock.end(GO_HTTPS_400);
      } else {
        sock.destroy();
      }
    });
  });
}

function modelOptions(opts: SimulatorOptions, startMs: number): Parameters<typeof buildModel>[0] {
  const pick = <K extends keyof SimulatorOptions>(k: K) => (opts[k] !== undefined ? { [k]: opts[k] } : {});
  return {
    startMs,
    ...pick('seed'),
    ...pick('pods'),
    ...pick('extraSeries'),
    ...pick('nodeName'),
    ...pick('hostIP'),
    ...pick('cgroupDriver'),
    ...(opts.housekeepingIntervalMs !== undefined ? { housekeepingMs: opts.housekeepingIntervalMs } : {}),
    ...pick('cpuCores'),
    ...pick('memoryBytes'),
    ...pick('deadCgroupLingerS'),
  };
}

async function servingCert(opts: SimulatorOptions, host: string, nodeName: string): Promise<ServingCert> {
  if ((opts.certFile === undefined) !== (opts.keyFile === undefined))
    throw new Error('certFile and keyFile must be given together');
  return opts.certFile ? loadServingCert(opts.certFile, opts.keyFile!) : generateServingCert(host, nodeName);
}

/** Pod churn: a share of the pods per minute, in six steps; fractions carry over so small shares still churn. */
function churnTimer(perMinute: number, podCount: () => number, churn: (n: number) => void) {
  if (perMinute <= 0) return undefined;
  let owed = 0;
  const timer = setInterval(() => {
    owed += (podCount() * perMinute) / 6;
    const n = Math.floor(owed);
    owed -= n;
    if (n > 0) churn(n);
  }, 10_000);
  timer.unref();
  return timer;
}

interface Servers {
  proxyMetrics: http.Server;
  proxyHealth: http.Server;
  kubeletTls: https.Server;
  kubeletPlain: http.Server;
  front: net.Server;
  sockets: Set<net.Socket>;
}

function createServers(
  live: LiveState,
  kubelet: KubeletMetrics,
  render: Render,
  nowMs: () => number,
  cert: ServingCert,
): Servers {
  const [proxyMetrics, proxyHealth] = kubeProxyServers(live, render, nowMs);
  const handler = kubeletHandler(live, kubelet, render);
  const kubeletTls = https.createServer({ cert: cert.certPem, key: cert.keyPem }, handler);
  const kubeletPlain = http.createServer(handler);
  const sockets = new Set<net.Socket>();
  for (const s of [proxyMetrics, proxyHealth, kubeletTls, kubeletPlain]) {
    s.keepAliveTimeout = KEEP_ALIVE_MS;
    s.headersTimeout = KEEP_ALIVE_MS + 1000;
  }
  for (const s of [proxyMetrics, proxyHealth]) {
    s.on('connection', (sock: net.Socket) => {
      sockets.add(sock);
      sock.once('close', () => sockets.delete(sock));
    });
  }
  const front = kubeletFront(live, kubeletTls, kubeletPlain, sockets);
  kubeletTls.on('tlsClientError', (_e, s) => s.destroy());
  return { proxyMetrics, proxyHealth, kubeletTls, kubeletPlain, front, sockets };
}

/** Listens on the three ports; on a failure closes what listens and removes a generated certificate. */
async function listenAll(opts: SimulatorOptions, host: string, srv: Servers, cert: ServingCert) {
  const servers: net.Server[] = [];
  const ports = { kubeProxy: 0, kubeProxyHealth: 0, kubelet: 0 };
  try {
    ports.kubeProxy = await listen(srv.proxyMetrics, opts.kubeProxyPort ?? 10249, host);
    servers.push(srv.proxyMetrics);
    ports.kubeProxyHealth = await listen(srv.proxyHealth, opts.kubeProxyHealthPort ?? 10256, host);
    servers.push(srv.proxyHealth);
    ports.kubelet = await listen(srv.front, opts.kubeletPort ?? 10250, host);
    servers.push(srv.front);
  } catch (e) {
    await Promise.all(servers.map(closeServer));
    if (cert.tmpDir) await rm(cert.tmpDir, { recursive: true, force: true });
    throw e;
  }
  return { servers, ports };
}

/** Starts kube-proxy's two servers and the kubelet's on `host`. Port 0 picks a free port; `ports` reports the actual ones. */
/** The response bodies of every endpoint, at the simulator's clock unless given a time. */
function renderers(model: NodeModel, kubelet: KubeletMetrics, live: LiveState, nowMs: () => number): Render {
  const cadvisor = new CadvisorRenderer(model);
  const kubeProxy = new KubeProxyMetrics(model);
  return {
    kubeProxyMetrics: (ms = nowMs()) => kubeProxy.render(ms),
    kubeletMetrics: (ms = nowMs()) => kubelet.render(ms),
    kubeletMetricsProtobuf: (ms = nowMs(), nativeOnly = false) =>
      kubelet.renderProtobuf(ms, !(nativeOnly || live.faults.kubeletNativeOnly)),
    cadvisor: (ms = nowMs()) => cadvisor.render(ms, { malformedLine: !!live.faults.cadvisorMalformedLine }),
    resource: (ms = nowMs()) => renderResource(cadvisor, ms),
    probes: (ms = nowMs()) => renderProbes(model, ms),
    pods: (ms = nowMs()) => podListJson(model, ms / 1000),
  };
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1';
  const now = opts.now ?? Date.now;
  const live: LiveState = {
    faults: { ...(opts.faults ?? {}) },
    allowed: new Set(opts.tokens ?? [DEFAULT_TOKEN]),
    forbidden: new Set(opts.forbiddenTokens ?? []),
    user: opts.user ?? 'system:serviceaccount:nodegraf:nodegraf',
  };
  const model = buildModel(modelOptions(opts, now()));
  const kubelet = new KubeletMetrics(model);
  const cert = await servingCert(opts, host, model.nodeName);
  try {
    kubelet.certNotAfter = Date.parse(new X509Certificate(cert.certPem).validTo) / 1000;
  } catch {
    // not a parseable certificate: keep +Inf
  }
  const nowMs = () => Math.floor(now());
  const render = renderers(model, kubelet, live, nowMs);
  const srv = createServers(live, kubelet, render, nowMs, cert);
  const { servers, ports } = await listenAll(opts, host, srv, cert);
  const h = host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | undefined;
  const churnRng = rngFor(opts.seed ?? 1, 'churn');
  let churned = 0;
  const churn = (count: number) => {
    const gone = churnPods(model, count, now() / 1000, churnRng);
    churned += gone.length;
    return gone;
  };
  const timer = churnTimer(opts.churnPerMinute ?? 0, () => model.pods.length, churn);
  const recreate = (key: string) => recreatePod(model, key, now() / 1000, churnRng);
  return {
    kubeProxyUrl: `http://${h}:${ports.kubeProxy}/metrics`,
    kubeProxyHealthUrl: `http://${h}:${ports.kubeProxyHealth}/healthz`,
    kubeletUrl: `https://${h}:${ports.kubelet}`,
    ports,
    caCertPem: cert.certPem,
    certFile: cert.certFile,
    keyFile: cert.keyFile,
    get tokens() {
      return [...live.allowed];
    },
    get forbiddenTokens() {
      return [...live.forbidden];
    },
    model,
    setFaults(f) {
      live.faults = { ...f };
    },
    setTokens(a, f) {
      live.allowed = new Set(a);
      if (f) live.forbidden = new Set(f);
    },
    churn,
    recreate,
    get churned() {
      return churned;
    },
    render,
    close() {
      clearInterval(timer);
      closed ??= (async () => {
        const done = Promise.all(servers.map(closeServer));
        for (const s of [srv.proxyMetrics, srv.proxyHealth, srv.kubeletTls, srv.kubeletPlain])
          s.closeAllConnections();
        for (const s of srv.sockets) s.destroy();
        await done;
        if (cert.tmpDir) await rm(cert.tmpDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
