// Reading thrown values without trusting their shape. Node's system errors carry a string `code`
// (ENOENT, ECONNREFUSED, Z_DATA_ERROR), undici's errors a string `code` too (UND_ERR_SOCKET), but
// a DOMException (AbortSignal.timeout, abort) has a *numeric* `code` and a `name`, and anything at
// all can be thrown. These helpers check instead of casting.

/** The string `code` of an error (or of its `cause`), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  const own = field(err, 'code');
  if (typeof own === 'string') return own;
  const cause = field(field(err, 'cause'), 'code');
  return typeof cause === 'string' ? cause : undefined;
}

/** The error's `name` (TimeoutError, AbortError, ...), or ''. */
export function errorName(err: unknown): string {
  const n = field(err, 'name');
  return typeof n === 'string' ? n : '';
}

/** The error's message, or the thrown value as text. */
export function errorMessage(err: unknown): string {
  const m = field(err, 'message');
  return typeof m === 'string' ? m : String(err);
}

/** Whether the error is an abort or a timeout of an AbortSignal. */
export function isAbort(err: unknown): boolean {
  const n = errorName(err);
  return n === 'TimeoutError' || n === 'AbortError' || errnoCode(err) === 'ABORT_ERR';
}

const CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** What went wrong on the way to a server (scrape target or store), from a request's thrown error. */
export type NetworkFailure =
  'timeout' | 'refused' | 'dns' | 'tls-name' | 'redirect-loop' | 'tls-trust' | 'tls-handshake' | 'reset';

/**
 * The kind of a request's failure, or undefined when it is none of these. The scrape client
 * (scrape/errors.ts) and the remote-write client (write/client.ts) each explain the kind their way.
 */
export function networkFailure(err: unknown): NetworkFailure | undefined {
  const code = errnoCode(err) ?? '';
  const msg = errorMessage(err);
  if (
    isAbort(err) ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  )
    return 'timeout';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  if (
    code === 'ERR_TLS_CERT_ALTNAME_INVALID' ||
    /Hostname\/IP does not match certificate's altnames/i.test(msg)
  )
    return 'tls-name';
  if (code === 'UND_ERR_INVALID_ARG' && /redirect/i.test(msg)) return 'redirect-loop';
  if (CERT_CODES.has(code) || /certificate/i.test(msg)) return 'tls-trust';
  if (code === 'EPROTO' || /wrong version number|packet length too long|ssl/i.test(msg))
    return 'tls-handshake';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || /other side closed|socket hang up/i.test(msg))
    return 'reset';
  return undefined;
}

function field(v: unknown, key: string): unknown {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
}
