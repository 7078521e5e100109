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

function field(v: unknown, key: string): unknown {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
}
