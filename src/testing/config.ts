// Config objects for tests that build targets and writers directly, without TOML.
import { Secret, SecretUrl } from '../config/secret.js';
import { scrapeInstance } from '../config/common.js';
import type { GlobalConfig, ScrapeInstance, WriterConfig, WriterOptions } from '../config/types.js';

export function testGlobal(o: Partial<GlobalConfig> = {}): GlobalConfig {
  return {
    hostname: 'node-1',
    omitHostname: false,
    hostnameLabel: 'ident',
    labels: {},
    intervalMs: 15_000,
    providers: ['local'],
    precision: 'ms',
    concurrency: -1,
    printConfigs: false,
    seriesLimit: 0,
    ...o,
  };
}

/** Tests write URLs and credentials as plain strings; the config holds them as SecretUrl/Secret. */
export type TestInstance = Partial<Omit<ScrapeInstance, 'urls' | 'password' | 'bearerTokenString'>> & {
  urls?: (string | SecretUrl)[];
  password?: string | Secret;
  bearerTokenString?: string | Secret;
};

const wrap = (v: string | Secret | undefined) => (typeof v === 'string' ? new Secret(v) : v);

export function testInstance(o: TestInstance = {}): ScrapeInstance {
  const { urls, password, bearerTokenString, ...rest } = o;
  return scrapeInstance({
    name: 'input.prometheus/test.toml#1',
    origin: { file: 'test.toml', line: 1 },
    ...rest,
    urls: (urls ?? []).map((u) => (typeof u === 'string' ? new SecretUrl(u) : u)),
    password: wrap(password),
    bearerTokenString: wrap(bearerTokenString),
  });
}

export const testWriterOpt: WriterOptions = { batch: 1000, chanSize: 1_000_000, shutdownGraceMs: 5000 };

export function testWriter(
  url: string,
  o: Partial<Omit<WriterConfig, 'basicAuthPass'>> & { basicAuthPass?: string } = {},
): WriterConfig {
  const u = new URL(url);
  const { basicAuthPass, ...rest } = o;
  return {
    basicAuthPass: wrap(basicAuthPass),
    url: new SecretUrl(url),
    name: `${u.host}${u.pathname}`,
    headers: {},
    timeoutMs: 5000,
    dialTimeoutMs: 2500,
    maxIdleConnsPerHost: 100,
    tls: { useTls: false, insecureSkipVerify: false },
    maxInFlight: 4,
    nativeHistograms: false,
    ...rest,
  };
}

/** A copy with every Secret and SecretUrl replaced by its value: for deep comparisons in tests. */
export function revealAll<T>(v: T): unknown {
  if (v instanceof Secret || v instanceof SecretUrl) return v.reveal();
  if (Array.isArray(v)) return v.map(revealAll);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revealAll(x)]));
  return v;
}
