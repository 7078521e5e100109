// The remote-write client (as Prometheus's storage/remote/client.go beside queue_manager.go): one
// POST of one snappy-compressed WriteRequest, with the protocol's headers, the writer's own
// headers and basic auth, over a keep-alive agent with the writer's TLS settings. The writer's
// shards (./writer.ts) and `nodegraf doctor` both send through it, and both explain a refusal with
// the one hint table below.
import { Agent } from '../lean-imports.js';
import { connectOptions } from '../config/tls.js';
import { revealHeaders } from '../config/secret.js';
import type { WriterConfig } from '../config/types.js';
import { networkFailure } from '../errno.js';
import { VERSION } from '../version.js';

/** What the store answered: status, the start of its body (non-2xx only) and Retry-After in ms. */
export interface WriteResponse {
  status: number;
  text: string;
  retryAfterMs: number;
}

export class RemoteWriteClient {
  readonly url: URL;
  /** The URL with any credentials redacted, for logs and pages. */
  readonly displayUrl: string;
  private readonly agent: Agent;
  private readonly headers: Record<string, string>;

  constructor(
    readonly config: WriterConfig,
    userAgentNote = '',
  ) {
    this.url = new URL(config.url.reveal());
    this.displayUrl = config.url.shown;
    this.agent = new Agent({
      // a connection per shard at least, so shards do not queue behind each other
      connections: Math.max(
        config.maxInFlight,
        config.maxIdleConnsPerHost > 0 ? Math.min(config.maxIdleConnsPerHost, 64) : 1,
      ),
      keepAliveTimeout: 60_000,
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
      connect: connectOptions(config.tls, config.dialTimeoutMs),
    });
    this.headers = remoteWriteHeaders(config, userAgentNote);
  }

  /** One request. Throws on a network error or when `signal` aborts; any HTTP answer returns. */
  async post(body: Buffer, signal: AbortSignal): Promise<WriteResponse> {
    const res = await this.agent.request({
      origin: this.url.origin,
      path: this.url.pathname + this.url.search,
      method: 'POST',
      headers: this.headers,
      body,
      signal,
    });
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      await res.body.dump();
      return { status, text: '', retryAfterMs: 0 };
    }
    const text = (await res.body.text()).slice(0, 300).trim();
    const ra = res.headers['retry-after'];
    return { status, text, retryAfterMs: ra === undefined ? 0 : parseRetryAfter(String(ra)) };
  }

  close(): Promise<void> {
    return this.agent.close().catch(() => undefined);
  }
}

/** Remote write 1.0 headers, the writer's own headers and its basic auth. */
function remoteWriteHeaders(config: WriterConfig, userAgentNote: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-encoding': 'snappy',
    'content-type': 'application/x-protobuf',
    'x-prometheus-remote-write-version': '0.1.0',
    'user-agent': `nodegraf/${VERSION}${userAgentNote}`,
  };
  for (const [k, v] of Object.entries(revealHeaders(config.headers))) headers[k.toLowerCase()] = v;
  if (config.basicAuthUser !== undefined) {
    headers.authorization =
      'Basic ' +
      Buffer.from(`${config.basicAuthUser}:${config.basicAuthPass?.reveal() ?? ''}`).toString('base64');
  }
  return headers;
}

/** Retry-After as seconds or an HTTP date, in ms, capped at 5 minutes. */
export function parseRetryAfter(v: string): number {
  const s = Number(v);
  if (Number.isFinite(s)) return Math.min(Math.max(0, s * 1000), 5 * 60_000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.min(Math.max(0, t - Date.now()), 5 * 60_000) : 0;
}

/** Answers whose data is kept and retried, as vmagent does (it drops only on 400 and 409). */
export function retryableStatus(status: number): boolean {
  return status === 401 || status === 403 || status === 408 || status === 429 || status >= 500;
}

const KEPT = 'nodegraf keeps the data queued (on disk) and retries';

/** The likely fix for a store's answer: the writer's log, the status page and `doctor` say this. */
export function statusHint(status: number): string {
  if (status === 404)
    return 'wrong write URL path: VictoriaMetrics and Prometheus use /api/v1/write (Prometheus needs --web.enable-remote-write-receiver), Nightingale /prometheus/v1/write';
  if (status === 405) return 'method not allowed: this URL is not a remote-write endpoint';
  if (status === 400)
    return 'the store refused the data: out-of-order or malformed samples, or this URL is not a remote-write endpoint (VictoriaMetrics answers 400 for unknown paths)';
  if (status === 413) return 'request too large: lower [writer_opt] batch, or raise the store limit';
  if (status === 401 || status === 403)
    return `the store refused the credentials: check basic_auth_user/basic_auth_pass or the Authorization header in [[writers]] (and any proxy in front of the store); ${KEPT} until they are accepted`;
  if (status === 429)
    return `the store rate-limits this sender (an ingestion or tenant limit): raise the limit or send fewer series; ${KEPT}`;
  if (status === 502 || status === 503 || status === 504)
    return `the store is down or not ready behind its proxy (${status} comes from a load balancer or ingress when the store does not answer): check the store (VictoriaMetrics /health, Prometheus /-/ready) and its pods; ${KEPT}`;
  if (status >= 500)
    return `the store failed on its side: its log says why (disk full, out of memory, a storage error); ${KEPT}`;
  return '';
}

/** The likely fix for a request that got no answer (errno.ts recognises what happened). */
export function networkHint(err: unknown): string {
  switch (networkFailure(err)) {
    case 'timeout':
      return `the store did not answer in time: it is overloaded or a firewall drops the packets; raise [[writers]] timeout if it is only slow; ${KEPT}`;
    case 'refused':
      return `nothing listens there: check the host and port of the write URL, and that the store runs; ${KEPT}`;
    case 'dns':
      return `the store's host name does not resolve: check the write URL and DNS; ${KEPT}`;
    case 'reset':
      return `the connection was cut: a proxy or the store closed it (TLS expected? use https://); ${KEPT}`;
    case 'tls-name':
    case 'tls-trust':
      return `the store's certificate is not trusted: set tls_ca in [[writers]] to its CA (or insecure_skip_verify = true to test); ${KEPT}`;
    case 'tls-handshake':
      return `the store does not speak TLS there: use http:// in the write URL; ${KEPT}`;
    default:
      return '';
  }
}
