// The effective configuration as TOML (Categraf's key names, every default filled in) for
// `nodegraf check`. Secrets render themselves as <secret> (./secret.ts): nothing here redacts, so
// nothing here can forget to. File paths (token, CA) are not secrets.
import { redactUrl, type HeaderValue, type Secret, type SecretUrl } from './secret.js';
import type { Config, RelabelConfig, ScrapeInstance, TlsOptions, WriterConfig } from './types.js';
import { formatDuration } from './values.js';

type Value = string | number | boolean | string[] | Record<string, string> | undefined;

function str(v: string): string {
  return JSON.stringify(v); // a JSON string is a valid TOML basic string
}

function key(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : str(k);
}

function value(v: Exclude<Value, undefined>): string {
  if (typeof v === 'string') return str(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(str).join(', ')}]`;
  const entries = Object.entries(v);
  return entries.length ? `{ ${entries.map(([k, x]) => `${key(k)} = ${str(x)}`).join(', ')} }` : '{}';
}

function lines(fields: Record<string, Value>): string[] {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${key(k)} = ${value(v!)}`);
}

const shown = (v: Secret | SecretUrl | undefined) => (v === undefined ? undefined : String(v));

function tlsFields(t: TlsOptions): Record<string, Value> {
  return {
    use_tls: t.useTls,
    tls_ca: t.caFile,
    tls_cert: t.certFile,
    tls_key: t.keyFile,
    tls_server_name: t.serverName,
    insecure_skip_verify: t.insecureSkipVerify,
  };
}

function flatHeaders(h: Record<string, HeaderValue>): string[] {
  return Object.entries(h).flatMap(([k, v]) => [k, String(v)]);
}

function writer(w: WriterConfig): string[] {
  return lines({
    url: shown(w.url),
    name: w.name,
    basic_auth_user: w.basicAuthUser,
    basic_auth_pass: shown(w.basicAuthPass),
    headers: flatHeaders(w.headers),
    timeout: w.timeoutMs,
    dial_timeout: w.dialTimeoutMs,
    max_idle_conns_per_host: w.maxIdleConnsPerHost,
    max_in_flight: w.maxInFlight,
    native_histograms: w.nativeHistograms,
    ...tlsFields(w.tls),
  });
}

function relabel(r: RelabelConfig): string[] {
  return lines({
    source_labels: r.sourceLabels,
    separator: r.separator,
    regex: r.regex,
    modulus: r.modulus || undefined,
    target_label: r.targetLabel || undefined,
    replacement: r.replacement,
    action: r.action,
  });
}

function instance(i: ScrapeInstance): string[] {
  const out = [
    `# ${i.name} (${i.origin.file}:${i.origin.line})`,
    '[[instances]]',
    ...lines({
      urls: i.urls.map(String),
      labels: i.labels,
      url_label_key: i.urlLabelKey || '-',
      url_label_value: i.urlLabelValue,
      honor_labels: i.honorLabels,
      honor_timestamps: i.honorTimestamps,
      scrape_protocols: i.scrapeProtocols,
      bearer_token_file: i.bearerTokenFile,
      bearer_token_string: shown(i.bearerTokenString),
      username: i.username,
      password: shown(i.password),
      headers: flatHeaders(i.headers),
      interval: formatDuration(i.intervalMs),
      timeout: formatDuration(i.timeoutMs),
      ...tlsFields(i.tls),
      ignore_metrics: i.ignoreMetrics,
      ignore_label_keys: i.ignoreLabelKeys,
      metrics_pass: i.metricsPass,
      metrics_drop: i.metricsDrop,
      duplication_allowed: i.duplicationAllowed,
      sample_limit: i.sampleLimit,
      label_limit: i.labelLimit,
      label_value_length_limit: i.labelValueLengthLimit,
      body_size_limit: i.bodySizeLimit,
      line_size_limit: i.lineSizeLimit,
    }),
  ];
  for (const r of i.relabelConfigs) out.push('[[instances.relabel_configs]]', ...relabel(r));
  return out;
}

/** TOML-like dump of the effective configuration, secrets redacted. */
export function renderEffectiveConfig(config: Config): string {
  const g = config.global;
  const pm = config.podMetadata;
  const out: string[] = [
    `# effective configuration of ${config.dir} (defaults filled in, secrets shown as <secret>)`,
    '',
    '[global]',
  ];
  out.push(
    ...lines({
      hostname: g.hostname,
      omit_hostname: g.omitHostname,
      hostname_label: g.hostnameLabel,
      labels: g.labels,
      interval: formatDuration(g.intervalMs),
      providers: g.providers,
      precision: g.precision,
      concurrency: g.concurrency,
      print_configs: g.printConfigs,
      series_limit: g.seriesLimit,
    }),
  );
  out.push(
    '',
    '[writer_opt]',
    ...lines({
      batch: config.writerOpt.batch,
      chan_size: config.writerOpt.chanSize,
      shutdown_grace: formatDuration(config.writerOpt.shutdownGraceMs),
    }),
  );
  for (const w of config.writers) out.push('', '[[writers]]', ...writer(w));
  out.push('', '[queue]', ...lines({ dir: config.queue.dir, max_bytes: config.queue.maxBytes }));
  out.push('', '[log]', ...lines({ level: config.log.level, format: config.log.format }));
  const h = config.http;
  out.push(
    '',
    '[http]',
    ...lines({
      enable: h.enable,
      address: h.address,
      enable_lifecycle: h.enableLifecycle,
      allowed_hosts: h.allowedHosts,
      cert_file: h.tls?.certFile,
      key_file: h.tls?.keyFile,
    }),
    // from web_config_file: the users, never their hashes (a comment: not a key of [http])
    ...(h.basicAuthUsers
      ? [`# basic auth users (web_config_file): ${Object.keys(h.basicAuthUsers).join(', ')}`]
      : []),
  );
  out.push(
    '',
    '[pod_metadata]',
    ...lines({
      enable: pm.enable,
      source: pm.source,
      node_name: pm.nodeName,
      apiserver_url: redactUrl(pm.apiserverUrl),
      kubelet_url: redactUrl(pm.kubeletUrl),
      poll_interval: formatDuration(pm.pollIntervalMs),
      bearer_token_file: pm.bearerTokenFile,
      tls_ca: pm.tlsCa,
      insecure_skip_verify: pm.insecureSkipVerify,
      pod_labels: pm.podLabels,
      pod_annotations: pm.podAnnotations,
      health_metrics: pm.healthMetrics,
      drop_stale_containers: pm.dropStaleContainers,
    }),
  );
  out.push('', '[derive]', ...lines({ enable: config.derive.enable }));
  for (const input of config.inputs) {
    out.push('', `# ---- input.${input.name}: ${input.instances.length} instance(s)`);
    for (const i of input.instances) out.push('', ...instance(i));
  }
  return out.join('\n') + '\n';
}
