// Config objects for tests that build targets and writers directly, without TOML.
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
    ...o,
  };
}

export function testInstance(o: Partial<ScrapeInstance> = {}): ScrapeInstance {
  return scrapeInstance({
    name: 'input.prometheus/test.toml#1',
    origin: { file: 'test.toml', line: 1 },
    urls: [],
    ...o,
  });
}

export const testWriterOpt: WriterOptions = { batch: 1000, chanSize: 1_000_000, shutdownGraceMs: 5000 };

export function testWriter(url: string, o: Partial<WriterConfig> = {}): WriterConfig {
  const u = new URL(url);
  return {
    url,
    name: `${u.host}${u.pathname}`,
    headers: {},
    timeoutMs: 5000,
    dialTimeoutMs: 2500,
    maxIdleConnsPerHost: 100,
    tls: { useTls: false, insecureSkipVerify: false },
    maxInFlight: 4,
    ...o,
  };
}
