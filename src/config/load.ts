// Loads Categraf's configuration layout (DIR/config.toml + DIR/input.<name>/*.toml) into the
// effective Config: defaults, `$VAR` expansion, validation with file:line:key in every message.
import { DEFAULTS as D } from './keys.js';
import { secret, SecretUrl } from './secret.js';
import { parseWebConfig } from './web.js';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TomlError, parse } from 'smol-toml';
import { KeyLines } from './lines.js';
import { parseInput, SUPPORTED_INPUTS } from './inputs.js';
import { Table, type FileContext } from './reader.js';
import {
  checkHttpUrl,
  defaultWriterName,
  parseHeaders,
  parseTls,
  SA_CA_FILE,
  SA_TOKEN_FILE,
  stripUndefined,
  checkLabelNames,
  LABEL_NAME,
} from './common.js';
import {
  ConfigError,
  type Config,
  type ConfigWarning,
  type GlobalConfig,
  type HttpConfig,
  type InputConfig,
  type LogConfig,
  type DeriveConfig,
  type PodMetadataConfig,
  type QueueConfig,
  type WriterConfig,
  type WriterOptions,
} from './types.js';
import { Expander, UnsetVariableError } from './values.js';

export interface LoadOptions {
  /** Environment for `$VAR` expansion; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** OS hostname for `$hostname` and `hostname = ""` (tests); os.hostname() by default. */
  hostname?: string;
  /** Address for `$ip`; else $HOSTIP, else the first non-loopback IPv4. */
  ip?: string;
  /** Only these inputs (`--inputs prometheus:kubelet`). */
  inputs?: string[];
  /** Collects the keys the loader knows, by section (the test that holds it to src/config/keys.ts). */
  readKeys?: Map<string, Set<string>>;
}

/**
 * Default `[writer_opt] shutdown_grace`: with the abort and the persist after it, a shutdown ends
 * within about 6 s, far inside Kubernetes' default 30 s terminationGracePeriodSeconds.
 */
export const DEFAULT_SHUTDOWN_GRACE_MS = D.writer_opt.shutdown_grace;

const categrafOnly = (what: string) => `${what} is a Categraf setting nodegraf does not support; ignored`;

// Categraf sections and keys that have no meaning here: warned about, never an error.
const IGNORED_SECTIONS: Record<string, string> = {
  heartbeat: categrafOnly('[heartbeat] (Nightingale heartbeat)'),
  ibex: categrafOnly('[ibex] (Nightingale remote scripts)'),
  prometheus: categrafOnly("[prometheus] (Categraf's embedded Prometheus agent)"),
  logs: categrafOnly('[logs] (log collection)'),
  traces: categrafOnly('[traces] (trace collection)'),
  http_provider: categrafOnly('[http_provider] (remote input configuration)'),
};
const IGNORED_LOG_KEYS = ['file_name', 'max_size', 'max_age', 'max_backups', 'local_time', 'compress'];
const IGNORED_HTTP_KEYS = [
  'print_access',
  'run_mode',
  'ignore_hostname',
  'ignore_global_labels',
  'read_timeout',
  'write_timeout',
  'idle_timeout',
];

function ignoredKeys(keys: string[], section: string): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, categrafOnly(`[${section}] ${k}`)]));
}

export function loadConfig(
  dir: string,
  opts: LoadOptions = {},
): { config: Config; warnings: ConfigWarning[] } {
  if (!isDir(dir))
    throw new ConfigError(dir, 0, 'configs', 'configuration directory not found (use --configs DIR)');
  const warnings: ConfigWarning[] = [];
  const expander = new Expander({ env: opts.env ?? process.env, hostname: opts.hostname, ip: opts.ip });

  const mainFile = join(dir, 'config.toml');
  // No config.toml: every default applies (handy for `--test` against input files only).
  const root = openToml(mainFile, warnings, expander, dir, opts.readKeys, isFile(mainFile) ? undefined : '');

  const global = parseGlobal(root);
  const config: Config = {
    dir,
    global,
    writerOpt: parseWriterOpt(root),
    writers: parseWriters(root),
    queue: parseQueue(root),
    log: parseLog(root),
    http: parseHttp(root),
    podMetadata: parsePodMetadata(root),
    derive: parseDerive(root),
    inputs: [],
  };
  root.finish(IGNORED_SECTIONS);
  config.inputs = loadInputs(dir, global, opts.inputs, warnings, expander, opts.readKeys);
  return { config, warnings };
}

/**
 * Parses one TOML file (`text` given: that text instead of the file's, e.g. '' for a missing
 * config.toml); syntax errors become ConfigErrors with smol-toml's line.
 */
export function openToml(
  file: string,
  warnings: ConfigWarning[],
  expander: Expander,
  configDir: string,
  readKeys?: Map<string, Set<string>>,
  text?: string,
): Table {
  if (text === undefined) {
    try {
      text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
    } catch (err) {
      throw new ConfigError(file, 0, 'file', `cannot read: ${(err as Error).message}`);
    }
  }
  let raw: Record<string, unknown>;
  try {
    raw = parse(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new ConfigError(file, err.line, 'TOML syntax', `${reason} (column ${err.column})`);
    }
    throw err;
  }
  const ctx: FileContext = { file, lines: new KeyLines(text), warnings, expander, configDir, readKeys };
  return new Table(ctx, raw, []);
}

/** The sub-table `key` of `t`, or an empty one so defaults flow through the same code. */
function section(t: Table, key: string): Table {
  return t.table(key) ?? new Table(t.ctx, {}, [...t.path, key]);
}

function parseGlobal(root: Table): GlobalConfig {
  const g = section(root, 'global');
  // `""` (and a variable that expands to nothing) means the OS hostname, as in Categraf. So does an
  // unset variable here, and only here, with a warning: bash sets HOSTNAME but does not export it,
  // so the article's `hostname = "$HOSTNAME"` would fail on a laptop.
  let hostname: string;
  try {
    hostname = g.ctx.expander.expand(g.str('hostname', D.global.hostname)) || g.ctx.expander.osHostname();
  } catch (err) {
    if (!(err instanceof UnsetVariableError)) throw err;
    hostname = g.ctx.expander.osHostname();
    g.warn(
      'hostname',
      `${err.message}; using the OS hostname ${JSON.stringify(hostname)} (bash sets HOSTNAME without exporting it: \`export HOSTNAME\` to use it)`,
    );
  }
  const hostnameLabel = g.str('hostname_label', D.global.hostname_label);
  if (!LABEL_NAME.test(hostnameLabel))
    throw g.error('hostname_label', `${JSON.stringify(hostnameLabel)} is not a valid label name`);
  const providers = g.strArray('providers', ['local']);
  const other = providers.filter((p) => p !== 'local');
  if (other.length) {
    throw g.error(
      'providers',
      `only the "local" provider is supported (configuration from this directory); ${other.map((p) => JSON.stringify(p)).join(', ')} is not`,
    );
  }
  const global: GlobalConfig = {
    hostname,
    omitHostname: g.bool('omit_hostname', D.global.omit_hostname),
    hostnameLabel,
    labels: checkLabelNames(g, 'labels', g.expandedMap('labels')),
    intervalMs: g.duration('interval', D.global.interval, 1000),
    providers: providers.length ? providers : ['local'],
    precision: g.str('precision', D.global.precision),
    concurrency: g.int('concurrency', D.global.concurrency),
    printConfigs: g.bool('print_configs', D.global.print_configs),
    seriesLimit: g.int('series_limit', D.global.series_limit),
  };
  g.finish();
  return global;
}

function parseWriterOpt(root: Table): WriterOptions {
  const w = section(root, 'writer_opt');
  // Categraf treats 0 or less as "use the default".
  const batch = w.int('batch', D.writer_opt.batch);
  const chanSize = w.int('chan_size', D.writer_opt.chan_size);
  const shutdownGraceMs = w.duration('shutdown_grace', D.writer_opt.shutdown_grace, 1000);
  w.finish();
  return {
    batch: batch > 0 ? batch : D.writer_opt.batch,
    chanSize: chanSize > 0 ? chanSize : D.writer_opt.chan_size,
    shutdownGraceMs,
  };
}

/** Keys users put under [[writers]] that belong elsewhere: a pointer instead of "unknown key". */
const MISPLACED_WRITER_KEYS: Record<string, string> = {
  batch: 'batch is a [writer_opt] setting (samples per request, for every writer); ignored here',
  chan_size: 'chan_size is a [writer_opt] setting (the in-memory queue of every writer); ignored here',
  shutdown_grace: 'shutdown_grace is a [writer_opt] setting; ignored here',
};

function parseWriters(root: Table): WriterConfig[] {
  const tables = root.tables('writers');
  const writers = tables.map(parseWriter);
  // Names are the `writer` label of the own metrics and the log key: they must be unique.
  const seen = new Map<string, number>();
  for (const [i, w] of writers.entries()) {
    const n = (seen.get(w.name) ?? 0) + 1;
    seen.set(w.name, n);
    if (n === 1) continue;
    if (w.nameSet) {
      const other = JSON.stringify(w.name);
      throw tables[i].error('name', `${other} names another [[writers]] too`);
    }
    w.name = `${w.name}#${n}`;
  }
  return writers.map(({ nameSet: _set, ...w }) => w);
}

function parseWriter(w: Table): WriterConfig & { nameSet: boolean } {
  if (!w.has('url')) throw w.error('url', 'every [[writers]] needs a url');
  const url = checkHttpUrl(w, 'url', w.expand('url', w.str('url', '')));
  const name = w.optStr('name');
  if (name !== undefined && !/^[\x21-\x7e]+$/.test(name))
    throw w.error('name', `${JSON.stringify(name)}: use printable characters without spaces`);
  for (const key of ['timeout', 'dial_timeout']) {
    const v = w.raw[key];
    if (typeof v === 'number' && v > 0 && v < 100) {
      w.warn(
        key,
        `${key} = ${v} means ${v} milliseconds (writer timeouts are in ms, as in Categraf); for ${v} seconds write ${v * 1000} or "${v}s"`,
      );
    }
  }
  const writer: WriterConfig & { nameSet: boolean } = {
    url: new SecretUrl(url),
    name: name ?? defaultWriterName(url),
    nameSet: name !== undefined,
    basicAuthUser: w.optStr('basic_auth_user') || undefined,
    basicAuthPass: secret(w.optStr('basic_auth_pass')),
    headers: parseHeaders(w),
    // Categraf's writer timeouts are integers in milliseconds.
    timeoutMs: w.duration('timeout', D.writers.timeout, 1),
    dialTimeoutMs: w.duration('dial_timeout', D.writers.dial_timeout, 1),
    maxIdleConnsPerHost: w.int('max_idle_conns_per_host', D.writers.max_idle_conns_per_host),
    tls: parseTls(w),
    maxInFlight: w.int('max_in_flight', D.writers.max_in_flight),
    nativeHistograms: w.bool('native_histograms', D.writers.native_histograms),
  };
  w.finish({
    ...ignoredKeys(['tls_key_pwd', 'tls_min_version', 'tls_max_version', 'tls_cipher_suites'], 'writers'),
    ...MISPLACED_WRITER_KEYS,
  });
  return stripUndefined(writer);
}

function parseQueue(root: Table): QueueConfig {
  const q = section(root, 'queue');
  const queue = {
    dir: q.expand('dir', q.str('dir', D.queue.dir)),
    maxBytes: q.size('max_bytes', D.queue.max_bytes),
  };
  q.finish();
  return queue;
}

function parseLog(root: Table): LogConfig {
  const l = section(root, 'log');
  // the values are checked against the ones src/config/keys.ts declares
  const level = l.str('level', D.log.level) as LogConfig['level'];
  const format = l.str('format', D.log.format) as LogConfig['format'];
  l.finish(ignoredKeys(IGNORED_LOG_KEYS, 'log'));
  return { level, format };
}

function parseHttp(root: Table): HttpConfig {
  const h = section(root, 'http');
  const address = h.str('address', D.http.address);
  const m = /^(\[[^\]]*\]|[^:\s[\]]*):(\d{1,5})$/.exec(address);
  if (!m || Number(m[2]) > 65535)
    throw h.error('address', `expected host:port (e.g. "127.0.0.1:9101"), got ${JSON.stringify(address)}`);
  const http: HttpConfig = {
    enable: h.bool('enable', D.http.enable),
    address,
    enableLifecycle: h.bool('enable_lifecycle', D.http.enable_lifecycle),
    allowedHosts: h.strArray('allowed_hosts').map((v) => v.toLowerCase()),
  };
  const webFile = h.optStr('web_config_file');
  if (webFile)
    Object.assign(http, parseWebConfig(h, 'web_config_file', h.filePath('web_config_file', webFile)));
  const certFile = h.optStr('cert_file');
  const keyFile = h.optStr('key_file');
  if (certFile || keyFile) {
    if (!certFile || !keyFile)
      throw h.error(certFile ? 'key_file' : 'cert_file', 'cert_file and key_file go together');
    if (http.tls) throw h.error('cert_file', 'TLS is set in web_config_file already: set it in one place');
    http.tls = { certFile: h.filePath('cert_file', certFile), keyFile: h.filePath('key_file', keyFile) };
  }
  h.finish(ignoredKeys(IGNORED_HTTP_KEYS, 'http'));
  return http;
}

function parseDerive(root: Table): DeriveConfig {
  const d = section(root, 'derive');
  const derive = { enable: d.bool('enable', D.derive.enable) };
  d.finish();
  return derive;
}

function parsePodMetadata(root: Table): PodMetadataConfig {
  const p = section(root, 'pod_metadata');
  const enable = p.bool('enable', D.pod_metadata.enable);
  const source = p.str('source', D.pod_metadata.source) as PodMetadataConfig['source'];
  // An unset variable in a setting the enabled source does not use (HOSTNAME for node_name with
  // the kubelet source, or anything while pod metadata is off) is no error.
  const lenient = (key: string, def: string, used: boolean): string => {
    const raw = p.str(key, def);
    try {
      return p.ctx.expander.expand(raw);
    } catch (err) {
      if (!(err instanceof UnsetVariableError)) throw err;
      if (!enable || !used) return '';
      throw p.error(key, err.message + (p.raw[key] === undefined ? ` (${key} defaults to ${def})` : ''));
    }
  };
  const apiserver = enable && source === 'apiserver';
  const pm: PodMetadataConfig = {
    enable,
    source,
    nodeName: lenient('node_name', D.pod_metadata.node_name, apiserver),
    apiserverUrl: lenient('apiserver_url', inClusterUrl(p.ctx.expander), apiserver),
    kubeletUrl: lenient('kubelet_url', D.pod_metadata.kubelet_url, enable && source === 'kubelet'),
    pollIntervalMs: p.duration('poll_interval', D.pod_metadata.poll_interval, 1000),
    bearerTokenFile: p.resolvePath(lenient('bearer_token_file', SA_TOKEN_FILE, enable)),
    tlsCa: p.resolvePath(lenient('tls_ca', SA_CA_FILE, enable)),
    insecureSkipVerify: p.bool('insecure_skip_verify', D.pod_metadata.insecure_skip_verify),
    podLabels: p.strArray('pod_labels'),
    podAnnotations: p.strArray('pod_annotations'),
    healthMetrics: p.bool('health_metrics', D.pod_metadata.health_metrics),
    dropStaleContainers: p.bool('drop_stale_containers', D.pod_metadata.drop_stale_containers),
  };
  if (enable && source === 'kubelet') checkHttpUrl(p, 'kubelet_url', pm.kubeletUrl);
  if (enable && pm.tlsCa && !existsSync(pm.tlsCa)) {
    // The default CA (the ServiceAccount's) exists only in a pod: without it the system CAs verify.
    if (p.raw['tls_ca'] !== undefined) throw p.error('tls_ca', `file ${pm.tlsCa} not found`);
    pm.tlsCa = '';
  }
  if (apiserver && !pm.nodeName) {
    throw p.error(
      'node_name',
      'is empty: the apiserver source watches the pods of this node and needs its name (in the DaemonSet: HOSTNAME from spec.nodeName)',
    );
  }
  if (apiserver && !pm.apiserverUrl) {
    throw p.error(
      'apiserver_url',
      'is not set and KUBERNETES_SERVICE_HOST is not in the environment (not in a pod?): set apiserver_url, or use source = "kubelet"',
    );
  }
  if (apiserver) checkHttpUrl(p, 'apiserver_url', pm.apiserverUrl);
  p.finish();
  return pm;
}

/** The in-cluster API server URL, as client-go's InClusterConfig builds it; '' outside a pod. */
function inClusterUrl(x: { env(name: string): string | undefined }): string {
  const host = x.env('KUBERNETES_SERVICE_HOST');
  const port = x.env('KUBERNETES_SERVICE_PORT');
  if (!host || !port) return '';
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function loadInputs(
  dir: string,
  global: GlobalConfig,
  only: string[] | undefined,
  warnings: ConfigWarning[],
  expander: Expander,
  readKeys?: Map<string, Set<string>>,
): InputConfig[] {
  // statSync follows symlinks: ConfigMap mounts are made of them.
  const names = readdirSync(dir)
    .filter((n) => n.startsWith('input.') && n.length > 6 && isDir(join(dir, n)))
    .map((n) => n.slice(6))
    .sort();
  for (const want of only ?? []) {
    if (!names.includes(want)) {
      warnings.push({
        file: join(dir, `input.${want}`),
        line: 0,
        key: want,
        message: `--inputs names ${want} but this directory does not exist`,
      });
    }
  }
  const inputs: InputConfig[] = [];
  for (const name of names) {
    if (only && !only.includes(name)) continue;
    const inputDir = join(dir, `input.${name}`);
    const files = readdirSync(inputDir)
      .filter((f) => f.endsWith('.toml') && !f.startsWith('.') && isFile(join(inputDir, f)))
      .sort();
    if (!SUPPORTED_INPUTS.includes(name)) {
      const file = files.length ? join(inputDir, files[0]!) : inputDir;
      warnings.push({
        file,
        line: files.length ? 1 : 0,
        key: `input.${name}`,
        message: `input ${name} is not supported by nodegraf, ignored`,
      });
      continue;
    }
    const instances = files.flatMap((f) => {
      const rel = `input.${name}/${f}`;
      return parseInput(name, openToml(join(dir, rel), warnings, expander, dir, readKeys), rel, global);
    });
    inputs.push({ name, instances });
  }
  return inputs;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
