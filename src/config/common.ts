// Pieces shared by writers, scrape instances and presets: URLs, headers, TLS.
import { headerValue, type HeaderValue } from './secret.js';
import { accessSync, constants } from 'node:fs';
import { errnoCode, errorMessage } from '../errno.js';
import type { Table } from './reader.js';
import type { ScrapeInstance, TlsOptions } from './types.js';
import { DEFAULTS } from './keys.js';

export const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const SA_TOKEN_FILE = `${SA_DIR}/token`;
export const SA_CA_FILE = `${SA_DIR}/ca.crt`;

/** A writer's default name: host and path of its URL, never credentials or the query (a token may be there). */
export function defaultWriterName(url: string): string {
  const u = new URL(url);
  return `${u.host}${u.pathname}`;
}

/** Validates an http(s) URL (already expanded); the error points at `key`. */
export function checkHttpUrl(t: Table, key: string, raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw t.error(key, `invalid URL ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw t.error(key, `${JSON.stringify(raw)}: only http:// and https:// URLs are supported`);
  }
  if (!u.hostname) throw t.error(key, `${JSON.stringify(raw)} has no host`);
  return raw;
}

/** Categraf's flat `headers = ["Name", "value", ...]`; values are `$VAR`-expanded. */
export function parseHeaders(t: Table): Record<string, HeaderValue> {
  const flat = t.strArray('headers');
  if (flat.length % 2 !== 0) {
    throw t.error(
      'headers',
      `expects name, value pairs ["Name", "value", ...]; got ${flat.length} items (the last name has no value)`,
    );
  }
  const headers: Record<string, HeaderValue> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      throw t.error('headers', `${JSON.stringify(name)} is not a valid header name`);
    const value = t.expand('headers', flat[i + 1]!);
    // a line break in a value would split the request (every request would fail)
    if (/[\r\n\0]/.test(value))
      throw t.error('headers', `the value of ${name} contains a line break or NUL: every request would fail`);
    headers[name] = headerValue(name, value);
  }
  return headers;
}

export function parseTls(t: Table, defaults: Partial<TlsOptions> = {}): TlsOptions {
  const path = (key: string, def?: string): string | undefined => {
    const v = t.optStr(key) ?? def;
    if (!v) return undefined;
    const file = t.filePath(key, v);
    // read when the client is built (start, reload): a missing file is this key's error, here,
    // not a bare ENOENT from deep inside a reload that has already half happened
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      throw t.error(key, `cannot read ${file}: ${errnoCode(err) ?? errorMessage(err)}`);
    }
    return file;
  };
  const tls: TlsOptions = {
    useTls: t.bool('use_tls', defaults.useTls ?? false),
    caFile: path('tls_ca', defaults.caFile),
    certFile: path('tls_cert', defaults.certFile),
    keyFile: path('tls_key', defaults.keyFile),
    serverName: t.optStr('tls_server_name') || defaults.serverName || undefined,
    insecureSkipVerify: t.bool('insecure_skip_verify', defaults.insecureSkipVerify ?? false),
  };
  if (tls.certFile && !tls.keyFile)
    throw t.error('tls_cert', "tls_cert needs tls_key (the client certificate's private key)");
  if (tls.keyFile && !tls.certFile)
    throw t.error('tls_key', 'tls_key needs tls_cert (the client certificate)');
  return stripUndefined(tls);
}

/** Prometheus's label-name rule. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label names as Categraf writes them: `-`, `.`, `/` and space become `_`. */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[-./ ]/g, '_');
}

/**
 * Label names of `labels` tables (global, input, instance): Categraf's sanitising (`-`, `.`, `/`,
 * space become `_`), then Prometheus's rule; "" and "1abc" and "a:b" are errors here rather than
 * series a store refuses.
 */
export function checkLabelNames(
  t: Table,
  key: string,
  labels: Record<string, string>,
): Record<string, string> {
  for (const name of Object.keys(labels)) {
    if (!LABEL_NAME.test(sanitizeLabelName(name)))
      throw t.error(
        key,
        `${JSON.stringify(name)} is not a valid label name (letters, digits and _, not starting with a digit)`,
      );
  }
  return labels;
}

/** Drops undefined fields so configs compare equal with JSON.stringify and print cleanly. */
export function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/**
 * A ScrapeInstance built in code (internal targets, tests), with the defaults of an
 * `[[instances]]` table that sets nothing but its urls.
 */
export function scrapeInstance(
  o: Pick<ScrapeInstance, 'name' | 'origin' | 'urls'> & Partial<ScrapeInstance>,
): ScrapeInstance {
  return {
    labels: {},
    urlLabelKey: 'instance',
    urlLabelValue: '{{.Host}}',
    honorLabels: false,
    honorTimestamps: true,
    scrapeProtocols: [...DEFAULTS.instances.scrape_protocols],
    headers: {},
    timeoutMs: 3000,
    intervalMs: 15_000,
    tls: { useTls: false, insecureSkipVerify: false },
    ignoreMetrics: [],
    ignoreLabelKeys: [],
    metricsPass: [],
    metricsDrop: [],
    relabelConfigs: [],
    duplicationAllowed: false,
    sampleLimit: 0,
    labelLimit: 0,
    labelValueLengthLimit: 0,
    bodySizeLimit: 64 * 1024 * 1024,
    lineSizeLimit: 1024 * 1024,
    ...o,
  };
}
