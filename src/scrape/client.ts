// HTTP(S) client of one target: keep-alive connection, TLS per target, credentials re-read on every
// scrape, gzip, a whole-scrape deadline and a body-size limit.
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';
import { Agent, interceptors, type Dispatcher } from 'undici';
import type { TlsOptions } from '../config/types.js';
import { classifyNetworkError, classifyStatus, ScrapeError } from './errors.js';
import { connectOptions } from '../config/tls.js';
import { kMaxLength } from 'node:buffer';

const gunzip = promisify(gunzipCb);

export const ACCEPT_HEADER =
  'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1';

export interface ClientOptions {
  timeoutMs: number;
  bodySizeLimit: number;
  tls: TlsOptions;
  bearerTokenFile?: string;
  bearerTokenString?: string;
  username?: string;
  password?: string;
  headers: Record<string, string>;
  userAgent: string;
}

export interface FetchResult {
  status: number;
  body: Buffer;
  openMetrics: boolean;
  /** Bytes received on the wire (compressed). */
  wireBytes: number;
}

/** Seconds since the epoch at which a JWT expires (its `exp` claim), or undefined. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}

export class TargetClient {
  private readonly dispatcher: Dispatcher;
  private readonly agent: Agent;
  /** Expiry (s since epoch) of the last token read from the file; NaN when unknown. */
  tokenExpiry = NaN;
  private lastToken = '';

  constructor(
    readonly url: URL,
    private readonly opts: ClientOptions,
  ) {
    this.agent = new Agent({
      // A scrape interval is longer than undici's 4 s default: keep the connection (and its TLS session).
      keepAliveTimeout: 5 * 60_000,
      keepAliveMaxTimeout: 10 * 60_000,
      connections: 4,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connect: connectOptions(opts.tls, opts.timeoutMs),
    });
    this.dispatcher = this.agent.compose(interceptors.redirect({ maxRedirections: 3 }));
  }

  private async token(): Promise<string | undefined> {
    if (this.opts.bearerTokenString) return this.opts.bearerTokenString;
    const file = this.opts.bearerTokenFile;
    if (!file) return undefined;
    let token: string;
    try {
      token = (await readFile(file, 'utf8')).trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ScrapeError(
        'token-file',
        `cannot read bearer_token_file ${file}: ${code ?? String(err)}`,
        'in a pod, the ServiceAccount token is mounted at /var/run/secrets/kubernetes.io/serviceaccount/token unless automountServiceAccountToken is false',
      );
    }
    if (token !== this.lastToken) {
      this.lastToken = token;
      this.tokenExpiry = jwtExpiry(token) ?? NaN;
    }
    if (!token) {
      throw new ScrapeError(
        'token-file',
        `bearer_token_file ${file} is empty`,
        'the token was not written; check the volume mount',
      );
    }
    return token;
  }

  private tokenNote(): string {
    if (!this.opts.bearerTokenFile && !this.opts.bearerTokenString) return 'no bearer token configured';
    if (Number.isFinite(this.tokenExpiry)) {
      const exp = new Date(this.tokenExpiry * 1000).toISOString();
      return this.tokenExpiry * 1000 < Date.now() ? `token expired at ${exp}` : `token valid until ${exp}`;
    }
    return '';
  }

  async fetch(): Promise<FetchResult> {
    // A projected token may have rotated between our read and the request: on 401, re-read, retry once.
    const first = await this.fetchOnce(Boolean(this.opts.bearerTokenFile));
    return first.status === 401 ? this.fetchOnce(false) : first;
  }

  private async fetchOnce(retryOn401: boolean): Promise<FetchResult> {
    const { url, opts } = this;
    const headers: Record<string, string> = {
      accept: ACCEPT_HEADER,
      'accept-encoding': 'gzip',
      'user-agent': opts.userAgent,
      'x-prometheus-scrape-timeout-seconds': String(opts.timeoutMs / 1000),
    };
    for (const [k, v] of Object.entries(opts.headers)) headers[k.toLowerCase()] = v;
    const token = await this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    else if (opts.username !== undefined) {
      headers.authorization =
        'Basic ' + Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64');
    }
    let res: Dispatcher.ResponseData;
    const signal = AbortSignal.timeout(opts.timeoutMs);
    try {
      res = await this.dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headers,
        signal,
      });
    } catch (err) {
      throw classifyNetworkError(err, url, opts.timeoutMs);
    }
    try {
      if (res.statusCode === 401 && retryOn401) {
        return { status: 401, body: Buffer.alloc(0), openMetrics: false, wireBytes: 0 };
      }
      if (res.statusCode !== 200) {
        const text = await readLimited(res.body, 4096, true);
        throw classifyStatus(res.statusCode, text.toString('utf8'), url, this.tokenNote());
      }
      const encoding = String(res.headers['content-encoding'] ?? '');
      const contentType = String(res.headers['content-type'] ?? '');
      // 0 = no limit (as Prometheus's body_size_limit), up to what a Buffer can hold
      const limit = opts.bodySizeLimit > 0 ? opts.bodySizeLimit : kMaxLength;
      let body = await readLimited(res.body, limit, false);
      const wireBytes = body.length;
      if (encoding === 'gzip') {
        try {
          body = await gunzip(body, { maxOutputLength: limit });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
            throw tooLarge(limit);
          }
          throw new ScrapeError('other', `invalid gzip body: ${(err as Error).message}`);
        }
      }
      return {
        status: 200,
        body,
        openMetrics: contentType.startsWith('application/openmetrics-text'),
        wireBytes,
      };
    } catch (err) {
      if (err instanceof ScrapeError) throw err;
      throw classifyNetworkError(err, url, opts.timeoutMs);
    } finally {
      // An unread body would pin the connection (undici trap): drain what is small, drop the rest.
      if (!res.body.readableEnded) await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
}

function tooLarge(limit: number): ScrapeError {
  return new ScrapeError(
    'body-too-large',
    `body larger than body_size_limit (${limit} bytes)`,
    'raise body_size_limit for this instance, or drop series at the source',
  );
}

async function readLimited(body: AsyncIterable<Buffer>, limit: number, truncate: boolean): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      if (truncate) {
        chunks.push(chunk.subarray(0, chunk.length - (size - limit)));
        break;
      }
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, Math.min(size, limit));
}
