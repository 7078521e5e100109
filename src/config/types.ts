// The effective configuration, after parsing, defaults and `$VAR` expansion.
// Every stage reads these types; only config/ knows about TOML and Categraf's key names.
import type { Relabeler } from '../relabel/relabel.js';
import type { RelabelConfig } from '../relabel/types.js';

import type { HeaderValue, Secret, SecretUrl } from './secret.js';

export type { RelabelAction, RelabelConfig } from '../relabel/types.js';

export interface TlsOptions {
  /** `use_tls`: Categraf's switch; an https:// URL implies TLS anyway. */
  useTls: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  insecureSkipVerify: boolean;
}

export interface GlobalConfig {
  hostname: string; // after expansion; OS hostname when `""`
  omitHostname: boolean;
  /** Label that carries the host identity; `ident` unless `hostname_label` says otherwise. */
  hostnameLabel: string;
  labels: Record<string, string>;
  intervalMs: number;
  providers: string[];
  precision: string;
  concurrency: number;
  printConfigs: boolean;
  /** Series budget of the node (0 = none): scrape/budget.ts. nodegraf extension. */
  seriesLimit: number;
}

export interface WriterOptions {
  /** Samples per remote-write request. */
  batch: number;
  /** In-memory queue capacity, in samples, per writer. */
  chanSize: number;
  /** How long a shutdown lets the writers flush memory before persisting the rest (nodegraf extension). */
  shutdownGraceMs: number;
}

export interface WriterConfig {
  /** May carry credentials: renders redacted; `url.reveal()` where the request is built. */
  url: SecretUrl;
  /**
   * Stable, non-secret, unique name (the `writer` label of the own metrics, the log key). Default:
   * host and path of the URL (config/common.ts defaultWriterName), `#2`... when two share them.
   */
  name: string;
  basicAuthUser?: string;
  basicAuthPass?: Secret;
  /** Flattened pairs from Categraf's `headers = ["Name", "value", ...]`; credentials as Secret. */
  headers: Record<string, HeaderValue>;
  timeoutMs: number;
  dialTimeoutMs: number;
  maxIdleConnsPerHost: number;
  tls: TlsOptions;
  /** Concurrent requests in flight (one per shard). nodegraf extension, default 4. */
  maxInFlight: number;
  /** Send native histograms as such (Chunk.native); false: as classic series. nodegraf extension. */
  nativeHistograms: boolean;
}

export interface QueueConfig {
  /** Directory of the on-disk queue; empty string disables spilling to disk. */
  dir: string;
  maxBytes: number;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export interface LogConfig {
  level: (typeof LOG_LEVELS)[number];
  format: 'text' | 'json';
}

export interface HttpConfig {
  enable: boolean;
  address: string; // host:port
  /** POST /-/reload is served (as Prometheus's --web.enable-lifecycle); SIGHUP always reloads. */
  enableLifecycle: boolean;
  /** Host header values accepted besides IP literals, localhost and the address's own host. */
  allowedHosts: string[];
  /** Serve HTTPS with this certificate (web config file, or Categraf's cert_file/key_file). */
  tls?: { certFile: string; keyFile: string };
  /** Basic auth: user name to bcrypt hash (web config file); /healthz and /readyz stay open. */
  basicAuthUsers?: Record<string, string>;
}

export interface PodMetadataConfig {
  enable: boolean;
  source: 'apiserver' | 'kubelet';
  nodeName: string;
  /** The API server for source = "apiserver": `apiserver_url`, else from KUBERNETES_SERVICE_HOST/_PORT. */
  apiserverUrl: string;
  kubeletUrl: string;
  /** How often the kubelet source polls /pods. */
  pollIntervalMs: number;
  bearerTokenFile: string;
  tlsCa: string;
  insecureSkipVerify: boolean;
  podLabels: string[];
  podAnnotations: string[];
  healthMetrics: boolean;
  /** Drop the series of dead containers and deleted pods at the edge (issue 21). */
  dropStaleContainers: boolean;
}

/** Where a value came from, for error messages: file and 1-based line. */
export interface Origin {
  file: string;
  line: number;
}

/**
 * Prometheus's `scrape_protocols` names and the media types they ask for, in the Accept header in
 * the configured order (scrape/client.ts acceptHeader).
 */
export const SCRAPE_PROTOCOLS: Readonly<Record<string, string>> = {
  PrometheusProto:
    'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited',
  'OpenMetricsText1.0.0': 'application/openmetrics-text;version=1.0.0',
  'OpenMetricsText0.0.1': 'application/openmetrics-text;version=0.0.1',
  'PrometheusText0.0.4': 'text/plain;version=0.0.4',
  'PrometheusText1.0.0': 'text/plain;version=1.0.0',
};

export interface ScrapeInstance {
  /** Stable name for logs and metrics: `input.prometheus/prometheus.toml#2`. */
  name: string;
  origin: Origin;
  /** May carry credentials: render redacted; `reveal()` where the request is built. */
  urls: SecretUrl[];
  labels: Record<string, string>; // value "-" deletes the label
  urlLabelKey: string; // "" when `-`
  urlLabelValue: string; // template
  honorLabels: boolean;
  honorTimestamps: boolean;
  /**
   * Expositions to ask for, preferred first (names of SCRAPE_PROTOCOLS). Default text first (what
   * Categraf and vmagent ask for); `PrometheusProto` first reads native histograms.
   */
  scrapeProtocols: string[];
  bearerTokenFile?: string;
  bearerTokenString?: Secret;
  username?: string;
  password?: Secret;
  headers: Record<string, HeaderValue>;
  timeoutMs: number;
  intervalMs: number; // instance interval * interval_times, else input/global interval
  tls: TlsOptions;
  ignoreMetrics: string[];
  ignoreLabelKeys: string[];
  metricsPass: string[];
  metricsDrop: string[];
  relabelConfigs: RelabelConfig[];
  /** The rules, compiled once by the loader (absent when there are none; see scrape/target.ts). */
  relabel?: Relabeler;
  duplicationAllowed: boolean;
  sampleLimit: number; // 0 = none
  labelLimit: number;
  labelValueLengthLimit: number;
  bodySizeLimit: number; // bytes
  /** Longest line of a payload, in bytes (0 = none): the scrape fails past it. */
  lineSizeLimit: number;
}

export interface InputConfig {
  /** e.g. "prometheus" for conf/input.prometheus/ */
  name: string;
  instances: ScrapeInstance[];
}

export interface Config {
  dir: string;
  global: GlobalConfig;
  writerOpt: WriterOptions;
  writers: WriterConfig[];
  queue: QueueConfig;
  log: LogConfig;
  http: HttpConfig;
  podMetadata: PodMetadataConfig;
  derive: DeriveConfig;
  inputs: InputConfig[];
}

/** `[derive]`: the edge-derived container series (SPEC §10), always computed for the status page. */
export interface DeriveConfig {
  /** Also write them as ordinary series (job "nodegraf-derive"). */
  enable: boolean;
}

export interface ConfigWarning {
  file: string;
  line: number;
  key: string;
  message: string;
}

/** A configuration error: always names file, line and key. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly key: string,
    message: string,
  ) {
    super(`${file}:${line}: ${key}: ${message}`);
    this.name = 'ConfigError';
  }
}
