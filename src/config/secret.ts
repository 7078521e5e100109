// Secrets as a type (as Prometheus's config.Secret): a password, a token, a secret header value or a
// URL that may carry credentials is held in an object that renders as `<secret>` (or, for a URL,
// with its credentials replaced by `<secret>`) through String(), template literals, JSON.stringify
// and util.inspect, and gives its value only to `reveal()`. The loader wraps them once; then no
// output path (check, doctor, logs, /targets, the status page) can leak one by forgetting to call
// a redactor: the only way to the value is a visible `reveal()`, used where a request is built.
import { inspect } from 'node:util';

export const SHOWN = '<secret>';

/** A query parameter or header name that carries a credential. */
export const SECRET_NAME = /auth|token|key|secret|passw|pwd|cookie|credential|signature/i;

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The value itself: only where a request is built. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return SHOWN;
  }

  toJSON(): string {
    return SHOWN;
  }

  [inspect.custom](): string {
    return SHOWN;
  }
}

/** The password of `user:pass@` and the values of query parameters with secret-like names, hidden. */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i, `$1${SHOWN}@`)
    .replace(/([?&]([^=&#]*)=)([^&#]*)/g, (m, head: string, name: string) =>
      SECRET_NAME.test(name) ? head + SHOWN : m,
    );
}

/** A URL that may carry credentials (a password, an access token in the query): shown redacted. */
export class SecretUrl {
  readonly #href: string;
  /** The URL as every output shows it. */
  readonly shown: string;

  constructor(href: string) {
    this.#href = href;
    this.shown = redactUrl(href);
  }

  /** The URL itself: only where a request is built (or a stable id derived). */
  reveal(): string {
    return this.#href;
  }

  toString(): string {
    return this.shown;
  }

  toJSON(): string {
    return this.shown;
  }

  [inspect.custom](): string {
    return this.shown;
  }
}

/** A config value that is a credential: a Secret, or undefined when empty or absent. */
export function secret(value: string | undefined): Secret | undefined {
  return value ? new Secret(value) : undefined;
}

/** A header value: a Secret when the header's name says it carries a credential. */
export type HeaderValue = string | Secret;

export function headerValue(name: string, value: string): HeaderValue {
  return SECRET_NAME.test(name) ? new Secret(value) : value;
}

/** Headers as sent: every value revealed. */
export function revealHeaders(headers: Record<string, HeaderValue>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = typeof v === 'string' ? v : v.reveal();
  return out;
}
