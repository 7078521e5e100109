// Inputs: Categraf's `input.prometheus` ([[instances]]) and nodegraf's presets `input.kube_proxy`
// and `input.kubelet`, which are thin layers that produce the same ScrapeInstances.
import { DEFAULTS, MAX_DURATION_MS } from './keys.js';
import { secret, SecretUrl } from './secret.js';
import { existsSync } from 'node:fs';
import { compileRule, RelabelConfigError, relabeler, type CompiledRule } from '../relabel/relabel.js';
import {
  checkHttpUrl,
  checkLabelNames,
  LABEL_NAME,
  parseHeaders,
  parseTls,
  SA_CA_FILE,
  SA_TOKEN_FILE,
  stripUndefined,
} from './common.js';
import { isTable, Table } from './reader.js';
import {
  SCRAPE_PROTOCOLS,
  type GlobalConfig,
  type RelabelAction,
  type RelabelConfig,
  type ScrapeInstance,
} from './types.js';

/** The defaults of an instance and of a relabel rule (config/keys.ts). */
const I = DEFAULTS.instances;
const RL = DEFAULTS['instances.relabel_configs'];

export const SUPPORTED_INPUTS = ['prometheus', 'kube_proxy', 'kubelet'];

const URL_FIELDS = ['Scheme', 'Host', 'Hostname', 'Port', 'Path', 'Query'];

const categrafOnly = (key: string) => `${key} is a Categraf setting nodegraf does not support; ignored`;
const IGNORED_INSTANCE_KEYS: Record<string, string> = Object.fromEntries(
  [
    'consul',
    'name_prefix',
    'metrics_name_prefix',
    'processor_enum',
    'debug_mod',
    'tls_key_pwd',
    'tls_min_version',
    'tls_max_version',
    'tls_cipher_suites',
  ].map((k) => [k, categrafOnly(k)]),
);

/** Input-file level settings every instance of the file inherits. */
interface InstanceBase {
  name: string;
  intervalMs: number;
  labels: Record<string, string>;
  metricsPass: string[];
  metricsDrop: string[];
}

export function parseInput(name: string, t: Table, rel: string, global: GlobalConfig): ScrapeInstance[] {
  if (name === 'kube_proxy') return kubeProxyPreset(t, rel, global);
  if (name === 'kubelet') return kubeletPreset(t, rel, global);
  return prometheusFile(t, rel, global);
}

function prometheusFile(t: Table, rel: string, global: GlobalConfig): ScrapeInstance[] {
  // Categraf allows labels and metric filters at the input level too; instances inherit them.
  const base = {
    intervalMs: t.duration('interval', global.intervalMs, 1000),
    labels: checkLabelNames(t, 'labels', t.expandedMap('labels')),
    metricsPass: t.strArray('metrics_pass'),
    metricsDrop: t.strArray('metrics_drop'),
  };
  const out: ScrapeInstance[] = [];
  t.tables('instances').forEach((it, i) => {
    const inst = parseInstance(it, { ...base, name: `${rel}#${i + 1}` });
    if (inst) out.push(inst);
  });
  if (!t.has('instances')) t.warn('instances', 'no [[instances]] in this file: nothing to scrape');
  t.finish(IGNORED_INSTANCE_KEYS);
  return out;
}

/** One `[[instances]]` table; undefined (with a warning) when it has no urls, as Categraf skips it. */
function parseInstance(t: Table, base: InstanceBase, reportUnknown = true): ScrapeInstance | undefined {
  const urls = t.strArray('urls').map((u) => withMetricsPath(checkHttpUrl(t, 'urls', t.expand('urls', u))));
  const urlLabelKeyRaw = t.str('url_label_key', I.url_label_key);
  const urlLabelKey = urlLabelKeyRaw === '-' ? '' : urlLabelKeyRaw;
  if (urlLabelKey && !LABEL_NAME.test(urlLabelKey)) {
    throw t.error('url_label_key', `${JSON.stringify(urlLabelKey)} is not a valid label name ("-" for none)`);
  }
  const urlLabelValue = t.str('url_label_value', I.url_label_value);
  checkUrlTemplate(t, urlLabelValue);
  const intervalTimes = t.int('interval_times', I.interval_times);
  if (base.intervalMs * Math.max(1, intervalTimes) > MAX_DURATION_MS)
    throw t.error('interval_times', `the interval times interval_times is over 24h`);
  const inst: ScrapeInstance = {
    name: base.name,
    origin: { file: t.ctx.file, line: t.ctx.lines.header(t.path) ?? t.line() },
    urls: urls.map((u) => new SecretUrl(u)),
    labels: { ...base.labels, ...checkLabelNames(t, 'labels', t.expandedMap('labels')) },
    urlLabelKey,
    urlLabelValue,
    honorLabels: t.bool('honor_labels', I.honor_labels),
    honorTimestamps: t.bool('honor_timestamps', I.honor_timestamps),
    scrapeProtocols: scrapeProtocols(t),
    bearerTokenFile: optPath(t, 'bearer_token_file'),
    bearerTokenString: secret(t.optStr('bearer_token_string')),
    username: t.optStr('username') || undefined,
    password: secret(t.optStr('password')),
    headers: parseHeaders(t),
    timeoutMs: t.duration('timeout', I.timeout, 1000),
    intervalMs: base.intervalMs * (intervalTimes > 0 ? intervalTimes : 1),
    tls: parseTls(t),
    ignoreMetrics: t.strArray('ignore_metrics'),
    ignoreLabelKeys: t.strArray('ignore_label_keys'),
    metricsPass: [...base.metricsPass, ...t.strArray('metrics_pass')],
    metricsDrop: [...base.metricsDrop, ...t.strArray('metrics_drop')],
    relabelConfigs: [],
    duplicationAllowed: t.bool('duplication_allowed', I.duplication_allowed),
    sampleLimit: t.int('sample_limit', I.sample_limit),
    labelLimit: t.int('label_limit', I.label_limit),
    labelValueLengthLimit: t.int('label_value_length_limit', I.label_value_length_limit),
    bodySizeLimit: t.size('body_size_limit', I.body_size_limit),
    lineSizeLimit: t.size('line_size_limit', I.line_size_limit),
  };
  // Each rule is validated and compiled here, once, errors naming their own key and line; the
  // target uses the compiled rules.
  const rules = t.tables('relabel_configs').map((r) => parseRelabel(r, reportUnknown));
  inst.relabelConfigs = rules.map((r) => r.config);
  if (rules.length) inst.relabel = relabeler(rules.map((r) => r.rule));
  if (reportUnknown) t.finish(IGNORED_INSTANCE_KEYS);
  if (urls.length === 0) {
    if (reportUnknown) t.warn('urls', 'instance has no urls; skipped');
    return undefined;
  }
  if (inst.timeoutMs > inst.intervalMs && reportUnknown) {
    t.warn(
      'timeout',
      `timeout ${inst.timeoutMs}ms is longer than the interval ${inst.intervalMs}ms; a scrape never outlives its interval`,
    );
  }
  return stripUndefined(inst);
}

function scrapeProtocols(t: Table): string[] {
  if (!t.has('scrape_protocols')) return [...I.scrape_protocols];
  const list = t.strArray('scrape_protocols');
  if (list.length === 0) throw t.error('scrape_protocols', 'is empty: name at least one exposition');
  for (const p of list) {
    if (!Object.hasOwn(SCRAPE_PROTOCOLS, p))
      throw t.error(
        'scrape_protocols',
        `unknown protocol ${JSON.stringify(p)}; one of ${Object.keys(SCRAPE_PROTOCOLS).join(', ')}`,
      );
  }
  if (new Set(list).size !== list.length) throw t.error('scrape_protocols', 'names a protocol twice');
  return list;
}

function optPath(t: Table, key: string): string | undefined {
  const v = t.optStr(key);
  return v ? t.filePath(key, v) : undefined;
}

// Categraf scrapes /metrics when a URL has no path at all ("http://host:9100").
function withMetricsPath(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)(?=[?#]|$)/i, '$1/metrics');
}

function checkUrlTemplate(t: Table, template: string): void {
  const stripped = template.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (m, field: string) => {
    if (!URL_FIELDS.includes(field)) {
      throw t.error(
        'url_label_value',
        `unknown field ${m}; available: ${URL_FIELDS.map((f) => `{{.${f}}}`).join(' ')}`,
      );
    }
    return '';
  });
  if (stripped.includes('{{')) {
    throw t.error(
      'url_label_value',
      `unsupported template ${JSON.stringify(template)}: only {{.Field}} placeholders are supported`,
    );
  }
}

function parseRelabel(t: Table, reportUnknown: boolean): { config: RelabelConfig; rule: CompiledRule } {
  const action = t.str('action', RL.action) as RelabelAction; // one of keys.ts's
  const config: RelabelConfig = {
    sourceLabels: t.strArray('source_labels'),
    separator: t.str('separator', RL.separator),
    regex: t.str('regex', RL.regex),
    modulus: t.int('modulus', RL.modulus),
    targetLabel: t.str('target_label', ''),
    replacement: t.str('replacement', RL.replacement),
    action,
  };
  let rule: CompiledRule;
  try {
    rule = compileRule(config); // the agent's own compiler, so `check` refuses what `run` would
  } catch (err) {
    if (err instanceof RelabelConfigError) throw t.error(err.key, err.message);
    throw err;
  }
  if (reportUnknown) t.finish();
  return { config, rule };
}

// Presets: the user's file holds any instance key plus a few of the preset's own; we layer
// the preset's defaults under it and parse the result as an ordinary instance.

const PRESET_KEYS = ['interval', 'url', 'host'];
/** The kubelet preset's own keys (beside PRESET_KEYS and every instance key). */
const KUBELET_KEYS = ['cadvisor', 'resource', 'probes', 'drop_pod_cgroup_rows'];

function presetTable(
  t: Table,
  defaults: Record<string, unknown>,
  labels: Record<string, string>,
  urls: string[],
  own: string[] = [],
): Table {
  const raw: Record<string, unknown> = { ...defaults, ...t.raw };
  raw.urls ??= urls; // the user's own `urls`, if any, win
  for (const k of [...PRESET_KEYS, ...own]) delete raw[k];
  // Preset labels (job) sit under the user's; a non-table `labels` is left for the type check.
  if (t.raw.labels === undefined || isTable(t.raw.labels))
    raw.labels = { ...labels, ...(t.raw.labels as object | undefined) };
  const table = new Table(t.ctx, raw, t.path);
  table.accept(...PRESET_KEYS, ...own);
  return table;
}

function presetBase(t: Table, name: string, global: GlobalConfig): InstanceBase {
  return {
    name,
    intervalMs: t.duration('interval', global.intervalMs, 1000),
    labels: {},
    metricsPass: [],
    metricsDrop: [],
  };
}

/** Base URL from `url`, else from `host` (a name or host:port), else `fallbackHost`. */
function presetUrl(t: Table, scheme: string, port: number, fallbackHost: string): string {
  const url = t.optStr('url');
  if (url) return checkHttpUrl(t, 'url', t.expand('url', url)).replace(/\/+$/, '');
  const host = t.expand('host', t.optStr('host') || fallbackHost);
  const hasPort = /^\[.*\]:\d+$|^[^:]+:\d+$/.test(host);
  return checkHttpUrl(t, 'host', `${scheme}://${hasPort ? host : `${host}:${port}`}`);
}

function kubeProxyPreset(t: Table, rel: string, global: GlobalConfig): ScrapeInstance[] {
  const base = presetBase(t, `${rel}#kube-proxy`, global);
  let url = presetUrl(t, 'http', 10249, '127.0.0.1');
  if (!t.optStr('url')) url += '/metrics';
  const inst = parseInstance(presetTable(t, {}, { job: 'kube-proxy' }, [url]), base);
  return inst ? [inst] : [];
}

/**
 * `drop_pod_cgroup_rows = true`: cAdvisor's rows of a pod's own cgroup (container="", the pod's
 * total, also the containerd sandbox) and of Docker's pause container (container="POD") are
 * dropped, except the network families, which cAdvisor reports only there. Then `sum by (pod)`
 * without a container filter counts each container once (docs/kubernetes.md). The node's rows
 * (pod="") stay. Three relabel rules, compiled like a user's; their result is cached per series.
 */
const DROP_POD_CGROUP_ROWS: RelabelConfig[] = [
  {
    sourceLabels: ['__name__'],
    separator: ';',
    regex: 'container_network_.+',
    modulus: 0,
    targetLabel: '__nodegraf_keep',
    replacement: '1',
    action: 'replace',
  },
  {
    sourceLabels: ['__nodegraf_keep', 'pod', 'container'],
    separator: ';',
    regex: ';.+;(|POD)',
    modulus: 0,
    targetLabel: '',
    replacement: '$1',
    action: 'drop',
  },
  {
    sourceLabels: [],
    separator: ';',
    regex: '__nodegraf_keep',
    modulus: 0,
    targetLabel: '',
    replacement: '$1',
    action: 'labeldrop',
  },
];

/**
 * /metrics/resource's container families have cAdvisor's names (container_cpu_usage_seconds_total,
 * container_memory_working_set_bytes, container_start_time_seconds) with fewer labels: kept, every
 * `sum(rate(container_cpu_usage_seconds_total[5m]))` without a job filter (the article's recipes,
 * most users' own queries) would count each container twice. So the preset keeps the node_* and
 * pod_* summary and drops those unless the file sets its own metrics_drop (docs/kubernetes.md).
 */
const RESOURCE_DEFAULTS = { metrics_drop: ['container_*'] };

function kubeletPreset(t: Table, rel: string, global: GlobalConfig): ScrapeInstance[] {
  // NODE_IP for kubelets that don't listen on 127.0.0.1; set `host = "$HOSTIP"` to use the pod's host IP.
  const root = presetUrl(t, 'https', 10250, t.ctx.expander.env('NODE_IP') || '127.0.0.1');
  const withCadvisor = t.bool('cadvisor', DEFAULTS['input.kubelet'].cadvisor);
  const withResource = t.bool('resource', DEFAULTS['input.kubelet'].resource);
  const withProbes = t.bool('probes', DEFAULTS['input.kubelet'].probes);
  const dropPodRows = t.bool('drop_pod_cgroup_rows', DEFAULTS['input.kubelet'].drop_pod_cgroup_rows);
  // The kubelet's serving certificate is usually self-signed and not issued for 127.0.0.1, so
  // verification is off by default (as in the article); set insecure_skip_verify = false to verify with tls_ca.
  if (t.has('urls')) t.warn('urls', 'the kubelet preset builds its urls from url/host; urls is ignored');
  const defaults: Record<string, unknown> = {
    bearer_token_file: SA_TOKEN_FILE,
    // the ServiceAccount CA exists only in a pod; outside one, the system CAs (if verifying at all)
    tls_ca: existsSync(SA_CA_FILE) ? SA_CA_FILE : undefined,
    use_tls: true,
    insecure_skip_verify: true,
  };
  const out: ScrapeInstance[] = [];
  const { urls: _ignored, ...userKeys } = t.raw;
  const user = new Table(t.ctx, userKeys, t.path);
  const kubelet = parseInstance(
    presetTable(user, defaults, { job: 'kubelet' }, [`${root}/metrics`], KUBELET_KEYS),
    presetBase(t, `${rel}#kubelet`, global),
  );
  if (kubelet) out.push(kubelet);
  if (withCadvisor) {
    // Same keys again: unknown-key warnings were already given for the kubelet instance.
    const cadvisor = parseInstance(
      presetTable(user, defaults, { job: 'cadvisor' }, [`${root}/metrics/cadvisor`], KUBELET_KEYS),
      presetBase(t, `${rel}#cadvisor`, global),
      false,
    );
    if (cadvisor && dropPodRows) {
      // before the user's own rules, so theirs see what is kept
      cadvisor.relabelConfigs = [...DROP_POD_CGROUP_ROWS, ...cadvisor.relabelConfigs];
      cadvisor.relabel = relabeler(cadvisor.relabelConfigs.map((c) => compileRule(c)));
    }
    if (cadvisor) out.push(cadvisor);
  }
  // scrape_protocols is for the kubelet's own /metrics (its native histograms); the other endpoints
  // have none, and a protobuf page costs ~2.3 x the CPU of the same series as text (bench:parse)
  // /metrics/resource and /metrics/probes: the same client and keys, a job each
  for (const [on, job, path, own] of [
    [withResource, 'kubelet-resource', 'resource', RESOURCE_DEFAULTS],
    [withProbes, 'kubelet-probes', 'probes', {}],
  ] as const) {
    if (!on) continue;
    const inst = parseInstance(
      presetTable(user, { ...defaults, ...own }, { job }, [`${root}/metrics/${path}`], KUBELET_KEYS),
      presetBase(t, `${rel}#${job}`, global),
      false,
    );
    if (inst) out.push(inst);
  }
  for (const inst of out.slice(1)) inst.scrapeProtocols = [...I.scrape_protocols];
  return out;
}
