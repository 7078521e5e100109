// HTTP(S) client of one target: keep-alive connection, TLS per target, credentials re-read on every
// scrape, gzip, a whole-scrape deadline and a body-size limit.
import { revealHeaders, type HeaderValue, type Secret } from '../config/secret.js';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { Agent, redirectInterceptor } from '../lean-imports.js';
import { SCRAPE_PROTOCOLS, type TlsOptions } from '../config/types.js';
import { DEFAULTS } from '../config/keys.js';
import { formatOf, type ExpositionFormat } from '../parse/format.js';
import { classifyNetworkError, classifyStatus, ScrapeError } from './errors.js';
import { connectOptions } from '../config/tls.js';
import { kMaxLength } from 'node:buffer';
import { errnoCode, errorMessage, isAbort } from '../errno.js';

/**
 * The Accept header for `scrape_protocols`, as Prometheus builds it (scrape.go acceptHeader):
 * weights falling by 0.1 from 0.6 in the configured order, then anything at the next weight.
 */
export function acceptHeader(protocols: readonly string[]): string {
  let weight = Object.keys(SCRAPE_PROTOCOLS).length + 1;
  const parts: string[] = [];
  for (const p of protocols) parts.push(`${SCRAPE_PROTOCOLS[p]};q=0.${weight--}`);
  parts.push(`*/*;q=0.${weight}`);
  return parts.join(',');
}

/** What a target is asked for unless its instance says otherwise (text first). */
export const ACCEPT_HEADER = acceptHeader(DEFAULTS.instances.scrape_protocols);

export interface ClientOptions {
  timeoutMs: number;
  bodySizeLimit: number;
  tls: TlsOptions;
  bearerTokenFile?: string;
  bearerTokenString?: Secret;
  username?: string;
  password?: Secret;
  /** Credentials as Secret, revealed only into the request's headers. */
  headers: Record<string, HeaderValue>;
  userAgent: string;
  /** The Accept header (acceptHeader of the instance's scrape_protocols); default ACCEPT_HEADER. */
  accept?: string;
}

export interface FetchResult {
  status: number;
  body: Buffer;
  format: ExpositionFormat;
}

/** What a JWT's `exp` means now: `token in FILE expired at|valid until ISO (exp N)`. */
export function tokenExpiryNote(file: string | undefined, exp: number): string {
  const when = new Date(exp * 1000).toISOString();
  const state = exp * 1000 < Date.now() ? 'expired at' : 'valid until';
  return `${file ? `token in ${file}` : 'token'} ${state} ${when} (exp ${exp})`;
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

/**
 * Read a bearer token file (re-read on every request: projected tokens rotate). `seen` gets what
 * was read, even an empty token, before an empty one is refused. Throws a ScrapeError with the fix.
 */
export async function readBearerToken(file: string, seen?: (token: string) => void): Promise<string> {
  let token: string;
  try {
    token = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new ScrapeError(
      'token-file',
      `cannot read bearer_token_file ${file}: ${errnoCode(err) ?? errorMessage(err)}`,
      'in a pod, the ServiceAccount token is mounted at /var/run/secrets/kubernetes.io/serviceaccount/token unless automountServiceAccountToken is false',
    );
  }
  seen?.(token);
  if (!token) {
    throw new ScrapeError(
      'token-file',
      `bearer_token_file ${file} is empty`,
      'the token was not written; check the volume mount',
    );
  }
  return token;
}

export class TargetClient {
  private readonly dispatcher: Dispatcher;
  private readonly agent: Agent;
  /** Expiry (s since epoch) of the last token read from the file; NaN when unknown. */
  tokenExpiry = NaN;
  private lastToken = '';
  /**
   * The scrape in flight: aborted by its deadline or by `abort()`. One controller per scrape, not
   * AbortSignal.any([timeout, stop]), which on Node 20 keeps every combined signal referenced by
   * the long-lived one (nodejs/node#55351).
   */
  private current: AbortController | undefined;
  private stopped = false;

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
    this.dispatcher = this.agent.compose(redirectInterceptor({ maxRedirections: 3 }));
  }

  private async token(): Promise<string | undefined> {
    if (this.opts.bearerTokenString) return this.opts.bearerTokenString.reveal();
    const file = this.opts.bearerTokenFile;
    if (!file) return undefined;
    return readBearerToken(file, (token) => {
      if (token !== this.lastToken) {
        this.lastToken = token;
        this.tokenExpiry = jwtExpiry(token) ?? NaN;
      }
    });
  }

  /** What a 401 says about the token: its file and state (expiry when it is a JWT). */
  private tokenNote(): string {
    const file = this.opts.bearerTokenFile;
    if (!file && !this.opts.bearerTokenString) return 'no bearer token configured';
    if (Number.isFinite(this.tokenExpiry)) return tokenExpiryNote(file, this.tokenExpiry);
    const token = file ? this.lastToken : (this.opts.bearerTokenString?.reveal() ?? '');
    const where = file ? `token in ${file}` : 'bearer_token_string';
    return `${where} (${token.length} characters) is not a JWT, so its expiry is unknown; the server refused it`;
  }

  /** The whole (decompressed) body at once: for `doctor`. */
  async fetch(): Promise<FetchResult> {
    const parts: Buffer[] = [];
    let format: ExpositionFormat = 'text';
    await this.stream((f) => {
      format = f;
      return (piece) => parts.push(piece);
    });
    return { status: 200, body: Buffer.concat(parts), format };
  }

  /**
   * Scrape, handing the decompressed body to the consumer piece by piece as it arrives, so a large
   * page is never held whole. `start` is called once the response is known good, with whether it is
   * OpenMetrics, and returns the consumer. Throws a ScrapeError (nothing was consumed unless the
   * failure came half-way through the body: the caller discards the scrape then).
   */
  async stream(start: (format: ExpositionFormat) => (piece: Buffer) => void): Promise<void> {
    // A projected token may have rotated between our read and the request: on 401, re-read, retry
    // once. Both requests share the scrape's one deadline: a scrape never outlives its timeout.
    const deadline = performance.now() + this.opts.timeoutMs;
    const first = await this.fetchOnce(Boolean(this.opts.bearerTokenFile), start, deadline);
    if (first === 401) await this.fetchOnce(false, start, deadline);
  }

  private async fetchOnce(
    retryOn401: boolean,
    start: (format: ExpositionFormat) => (piece: Buffer) => void,
    deadline: number,
  ): Promise<200 | 401> {
    const { url, opts } = this;
    const headers: Record<string, string> = {
      accept: opts.accept ?? ACCEPT_HEADER,
      'accept-encoding': 'gzip',
      'user-agent': opts.userAgent,
      'x-prometheus-scrape-timeout-seconds': String(opts.timeoutMs / 1000),
    };
    for (const [k, v] of Object.entries(revealHeaders(opts.headers))) headers[k.toLowerCase()] = v;
    const token = await this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    else if (opts.username !== undefined) {
      headers.authorization =
        'Basic ' + Buffer.from(`${opts.username}:${opts.password?.reveal() ?? ''}`).toString('base64');
    }
    let res: Dispatcher.ResponseData;
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        ac.abort(new DOMException('scrape timeout', 'TimeoutError'));
      },
      Math.max(0, deadline - performance.now()),
    );
    if (this.stopped) ac.abort();
    this.current = ac;
    const signal = ac.signal;
    try {
      res = await this.dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headers,
        signal,
      });
    } catch (err) {
      clearTimeout(timer);
      throw classifyNetworkError(err, url, opts.timeoutMs);
    }
    try {
      if (res.statusCode === 401 && retryOn401) {
        // drain it so the connection is reused (a real 401 body comes with its headers), but a body
        // that trickles gets 100 ms at most: the retry needs the rest of the deadline
        const wait = new AbortController();
        const t = setTimeout(
          () => wait.abort(),
          Math.min(100, Math.max(0, (deadline - performance.now()) / 4)),
        );
        await res.body.dump({ limit: 64 * 1024, signal: wait.signal }).catch(() => undefined);
        clearTimeout(t);
        return 401;
      }
      if (res.statusCode !== 200) {
        // the start of the body says why; one that trickles past the deadline says nothing more
        const text = await readLimited(res.body, 4096).catch(() => Buffer.alloc(0));
        throw classifyStatus(res.statusCode, text.toString('utf8'), url, this.tokenNote());
      }
      const encoding = String(res.headers['content-encoding'] ?? '');
      const contentType = String(res.headers['content-type'] ?? '');
      // 0 = no limit (as Prometheus's body_size_limit), up to what a Buffer can hold
      const limit = opts.bodySizeLimit > 0 ? opts.bodySizeLimit : kMaxLength;
      let source: AsyncIterable<Buffer> = res.body;
      if (encoding === 'gzip') {
        // gunzip on libuv's pool as the body streams in; a network error destroys the gunzip stream
        source = pipeline(res.body, createGunzip({ chunkSize: 256 * 1024 }), () => undefined);
      }
      const consume = start(formatOf(contentType));
      let size = 0;
      try {
        for await (const piece of source) {
          size += piece.length;
          if (size > limit) throw tooLarge(limit);
          consume(piece);
        }
      } catch (err) {
        if (err instanceof ScrapeError) throw err;
        if (timedOut || isAbort(err) || errnoCode(err) === 'UND_ERR_BODY_TIMEOUT') {
          throw new ScrapeError(
            'timeout',
            `timeout after ${opts.timeoutMs / 1000} s while reading the body (${size} bytes read)`,
            'the target sends its page too slowly or never finishes it; raise `timeout` in the instance, drop series at the source, or check the target',
          );
        }
        if (errnoCode(err)?.startsWith('Z_'))
          throw new ScrapeError('other', `invalid gzip body: ${errorMessage(err)}`);
        // The answer had started: a protocol mix-up (http:// to an HTTPS port) is ruled out, the
        // target closed the connection half-way
        const code = errnoCode(err) ?? '';
        if (!(
          code === 'ECONNRESET' ||
          code === 'UND_ERR_SOCKET' ||
          /other side closed|socket hang up|aborted/i.test(errorMessage(err))
        ))
          throw err;
        throw new ScrapeError(
          'reset',
          `connection closed by ${url.host} while reading the body (${size} bytes read): ${errorMessage(err)}`,
          'the target closed the connection half-way through its page: it restarted, crashed or hit a limit of its own, or a proxy in between cut it',
        );
      }
      return 200;
    } catch (err) {
      if (err instanceof ScrapeError) throw err;
      throw classifyNetworkError(err, url, opts.timeoutMs);
    } finally {
      // An unread body would pin the connection (undici trap): drain what is small, drop the rest,
      // within the scrape's deadline (the timer is still armed: a trickling body cannot hold us).
      if (!res.body.readableEnded && !res.body.destroyed)
        await res.body.dump({ limit: 64 * 1024, signal: ac.signal }).catch(() => undefined);
      clearTimeout(timer);
      if (this.current === ac) this.current = undefined;
    }
  }

  /** Cut a scrape in flight short, and any later one (shutdown). */
  abort(): void {
    this.stopped = true;
    this.current?.abort();
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

/** At most `limit` bytes of a body (the start of an error response), the rest dropped. */
async function readLimited(body: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let size = 0;
  for await (const piece of body) {
    pieces.push(piece.subarray(0, Math.max(0, limit - size)));
    size += piece.length;
    if (size >= limit) break;
  }
  return Buffer.concat(pieces);
}
