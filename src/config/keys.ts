// Every configuration key, declared once: its type, default, whether it is a credential and
// whether a reload applies it, and the line that documents it. docs/configuration.md's key tables
// are generated from this (`npm run kit`), and a test holds the loader to it: every key the loader
// reads is declared here and every declared key is read (src/config/keys.test.ts).

import { RELABEL_ACTIONS } from '../relabel/relabel.js';
import { LOG_LEVELS } from './types.js';
import { formatDuration } from './values.js';

/** A key (or keys documented together, such as `tls_cert`, `tls_key`) of one section. */
export interface KeyDoc {
  keys: string[];
  /** As the reader writes it: `bool`, `duration (number = s)`, `string, expanded`... */
  type: string;
  /** As the docs show it (markdown). */
  default: string;
  /** A credential: held as a Secret (src/config/secret.ts) and shown as <secret>. */
  secret?: boolean;
  /** 'yes': a reload (SIGHUP, POST /-/reload) applies it; 'restart': only a restart does. */
  reload: 'yes' | 'restart';
  /** The documentation (markdown). */
  doc: string;
  /**
   * Validation, applied by the reader (src/config/reader.ts) to every table of the section and
   * shown in the docs' type column: the smallest value (an int; a duration in ms) ...
   */
  min?: number;
  /** ... the values a string may take ... */
  oneOf?: readonly string[];
  /** ... compared case-insensitively (the value is then lowercased). */
  ignoreCase?: boolean;
}

/**
 * The defaults the loader applies (durations in ms, sizes in bytes), by section and key: one
 * place, which config/load.ts reads and keys.test.ts holds to the documented default of each key.
 */
export const DEFAULTS = {
  global: {
    hostname: '',
    omit_hostname: false,
    hostname_label: 'ident',
    interval: 15_000,
    precision: 'ms',
    concurrency: -1,
    print_configs: false,
    series_limit: 0,
  },
  writer_opt: { batch: 1000, chan_size: 1_000_000, shutdown_grace: 5000 },
  writers: {
    timeout: 5000,
    dial_timeout: 2500,
    max_idle_conns_per_host: 100,
    max_in_flight: 4,
    native_histograms: false,
  },
  queue: { dir: './data/queue', max_bytes: 1024 ** 3 },
  log: { level: 'info', format: 'text' },
  http: { enable: true, address: '127.0.0.1:9101', enable_lifecycle: false },
  pod_metadata: {
    enable: false,
    source: 'apiserver',
    node_name: '$HOSTNAME',
    kubelet_url: 'https://127.0.0.1:10250',
    poll_interval: 5000,
    insecure_skip_verify: false,
    health_metrics: true,
    drop_stale_containers: true,
  },
  derive: { enable: false },
  instances: {
    url_label_key: 'instance',
    url_label_value: '{{.Host}}',
    interval_times: 0,
    honor_labels: false,
    honor_timestamps: true,
    scrape_protocols: ['OpenMetricsText1.0.0', 'PrometheusText0.0.4'],
    timeout: 3000,
    duplication_allowed: false,
    sample_limit: 0,
    label_limit: 0,
    label_value_length_limit: 0,
    body_size_limit: 64 * 1024 * 1024,
    line_size_limit: 1024 * 1024,
  },
  'instances.relabel_configs': {
    action: 'replace',
    separator: ';',
    regex: '(.*)',
    modulus: 0,
    replacement: '$1',
  },
  'input.kubelet': { cadvisor: true, resource: true, probes: true, drop_pod_cgroup_rows: false },
} as const;

/** The shortest scrape interval. */
export const MIN_INTERVAL_MS = 100;
/** The longest duration any setting takes (timers overflow past 2^31-1 ms). */
export const MAX_DURATION_MS = 24 * 3600_000;

export type Section =
  | 'global'
  | 'writer_opt'
  | 'writers'
  | 'queue'
  | 'http'
  | 'log'
  | 'pod_metadata'
  | 'derive'
  | 'input.prometheus'
  | 'instances'
  | 'instances.relabel_configs'
  | 'input.kube_proxy'
  | 'input.kubelet';

export const CONFIG_KEYS: Record<Section, KeyDoc[]> = {
  global: [
    {
      keys: ['hostname'],
      type: 'string, expanded',
      default: '`""`',
      reload: 'yes',
      doc: 'host identity, the value of the `ident` label. `""` (or a value that expands to `""`) = OS hostname. An **unset** variable here (the article\'s `"$HOSTNAME"` in a shell that does not export `HOSTNAME`) also gives the OS hostname, with a warning naming file and line, as Categraf does; everywhere else an unset variable is an error.',
    },
    {
      keys: ['omit_hostname'],
      type: 'bool',
      default: '`false`',
      reload: 'yes',
      doc: '`true`: no `ident` label at all.',
    },
    {
      keys: ['hostname_label'],
      type: 'label name',
      default: '`"ident"`',
      reload: 'yes',
      doc: 'nodegraf: name of the host-identity label, e.g. `"agent_hostname"`. Must match `[a-zA-Z_][a-zA-Z0-9_]*`.',
    },
    {
      keys: ['labels'],
      type: 'table of strings, values expanded',
      default: '`{}`',
      reload: 'yes',
      doc: 'added to every series **that lacks the label** (see [Labels](#labels-precedence-ident-deletion)). Keys are label names: after Categraf\'s sanitising (`-`, `.`, `/`, space → `_`) they must match `[a-zA-Z_][a-zA-Z0-9_]*` (so `""`, `"1abc"`, `"a:b"` are errors, here and in every other `labels` table).',
    },
    {
      keys: ['interval'],
      type: 'duration (number = s)',
      min: MIN_INTERVAL_MS,
      default: '`15`',
      reload: 'yes',
      doc: 'scrape interval, inherited by every input.',
    },
    {
      keys: ['providers'],
      type: 'string[]',
      default: '`["local"]`',
      reload: 'yes',
      doc: 'only `"local"` (this directory); anything else is an error. `[]` = `["local"]`.',
    },
    {
      keys: ['precision'],
      type: 'string',
      default: '`"ms"`',
      reload: 'yes',
      doc: 'accepted, no effect (samples are sent in ms).',
    },
    {
      keys: ['concurrency'],
      type: 'int',
      default: '`-1`',
      reload: 'yes',
      doc: 'accepted, no effect (every target has its own schedule).',
    },
    {
      keys: ['print_configs'],
      type: 'bool',
      default: '`false`',
      reload: 'yes',
      doc: 'accepted, no effect; use `nodegraf check`.',
    },
    {
      keys: ['series_limit'],
      type: 'int',
      min: 0,
      default: '`0` (none)',
      reload: 'yes',
      doc: "nodegraf: a budget of series for the node. Over it, whole metric families are dropped, the largest of those no shipped dashboard or alert reads first (a target's `up` and the kit's families never), with staleness markers; they come back once the node is under 90 % of it with them. Counted (`nodegraf_series_budget_*`), alerted (NodegrafSeriesBudgetExceeded). The trade-off: a family you query yourself may be the one dropped; `nodegraf --test --once --cardinality` shows what would go. See docs/scaling.md.",
    },
  ],
  writer_opt: [
    {
      keys: ['batch'],
      type: 'int',
      default: '`1000`',
      reload: 'yes',
      doc: 'samples per remote-write request. `≤ 0` = default.',
    },
    {
      keys: ['chan_size'],
      type: 'int',
      default: '`1000000`',
      reload: 'yes',
      doc: 'in-memory queue capacity per writer, in samples (split across its `max_in_flight` shards). `≤ 0` = default. When full, or as soon as the store fails a request, data moves to `[queue]` (see [delivery.md](delivery.md)). A reload applies a new value to running writers.',
    },
    {
      keys: ['shutdown_grace'],
      type: 'duration (number = s)',
      default: '`"5s"`',
      reload: 'yes',
      doc: 'nodegraf: how long a shutdown (SIGTERM) lets the writers deliver what is queued (in memory, and on disk after an outage) before persisting the rest to `[queue]`; skipped while the store is failing. The whole shutdown ends within about a second after it.',
    },
  ],
  writers: [
    {
      keys: ['url'],
      type: 'string, expanded',
      default: '**required**',
      reload: 'yes',
      doc: 'remote-write URL (`http://` or `https://`), e.g. VictoriaMetrics `http://vm:8428/api/v1/write`. Wherever it is shown (logs, `/targets`, the status page, `check`) a password and the values of query parameters with secret-like names (`?access_token=`, `?api_key=`) are `<secret>`.',
    },
    {
      keys: ['name'],
      type: 'string',
      default: 'host and path of `url`',
      reload: 'yes',
      doc: "nodegraf: the writer's name: the `writer` label of the own metrics and the key in logs. Never contains the query string. Two writers with the same host and path get `#2`, `#3`; two equal explicit names are an error.",
    },
    { keys: ['basic_auth_user'], type: 'string', default: '—', reload: 'yes', doc: 'HTTP basic auth user.' },
    {
      keys: ['basic_auth_pass'],
      type: 'string',
      default: '—',
      secret: true,
      reload: 'yes',
      doc: 'password (not expanded; redacted in `check` and logs).',
    },
    {
      keys: ['headers'],
      type: 'string[] of name, value pairs',
      default: '`[]`',
      reload: 'yes',
      doc: '`["X-Scope-OrgID", "t1", "X-B", "v"]`; values expanded. An odd count is an error. Basic auth, if set, replaces an `Authorization` header.',
    },
    {
      keys: ['timeout'],
      type: 'duration (number = **ms**)',
      default: '`5000`',
      reload: 'yes',
      doc: 'whole request, connect to end of response. A bare number below 100 (`timeout = 5`) is warned about: it means milliseconds.',
    },
    {
      keys: ['dial_timeout'],
      type: 'duration (number = **ms**)',
      default: '`2500`',
      reload: 'yes',
      doc: 'TCP + TLS connect timeout (same warning).',
    },
    {
      keys: ['max_idle_conns_per_host'],
      type: 'int',
      min: 0,
      default: '`100`',
      reload: 'yes',
      doc: 'connection pool size, capped at 64 and never below `max_in_flight` (0 = 1).',
    },
    {
      keys: ['max_in_flight'],
      type: 'int',
      min: 1,
      default: '`4`',
      reload: 'yes',
      doc: 'nodegraf: parallel requests (shards). A target always uses the same shard, so per-series order is kept.',
    },
    {
      keys: ['native_histograms'],
      type: 'bool',
      default: '`false`',
      reload: 'yes',
      doc: "nodegraf: send native histograms (scraped in protobuf, see `scrape_protocols`) in remote write's `histograms` field — for Prometheus 2.40+ with native histograms enabled, Mimir. `false`: the store gets them as classic `_bucket`/`_sum`/`_count` series (VictoriaMetrics, Nightingale); a histogram that also exposed classic buckets sends those to every writer either way.",
    },
    {
      keys: ['use_tls'],
      type: 'bool',
      default: '`false`',
      reload: 'yes',
      doc: 'accepted; the URL scheme decides (`https://` = TLS).',
    },
    {
      keys: ['tls_ca'],
      type: 'path, expanded',
      default: '—',
      reload: 'yes',
      doc: 'CA bundle to verify the server (a relative path is relative to DIR).',
    },
    {
      keys: ['tls_cert', 'tls_key'],
      type: 'path, expanded',
      default: '—',
      reload: 'yes',
      doc: 'client certificate and key; each requires the other.',
    },
    {
      keys: ['tls_server_name'],
      type: 'string',
      default: '—',
      reload: 'yes',
      doc: 'name to verify the certificate against (SNI).',
    },
    {
      keys: ['insecure_skip_verify'],
      type: 'bool',
      default: '`false`',
      reload: 'yes',
      doc: 'do not verify the server certificate.',
    },
  ],
  queue: [
    {
      keys: ['dir'],
      type: 'path, expanded',
      default: '`"./data/queue"`',
      reload: 'restart',
      doc: 'queue directory, relative to the **working directory** (not to DIR); one subdirectory per writer and shard. `""` = memory only (a full memory queue drops new samples). In Kubernetes, mount a writable volume here.',
    },
    {
      keys: ['max_bytes'],
      type: 'size',
      default: '`"1GiB"` (1073741824)',
      reload: 'yes',
      doc: '**per writer**, shared by its shards (one target may use all of it); the bound holds for the bytes on disk, drained segments are reclaimed; the oldest data is dropped when full or when the file system is full. Disk use ≤ writers × `max_bytes`.',
    },
  ],
  http: [
    { keys: ['enable'], type: 'bool', default: '`true`', reload: 'restart', doc: 'serve it.' },
    {
      keys: ['address'],
      type: '`host:port`',
      default: '`"127.0.0.1:9101"`',
      reload: 'restart',
      doc: 'listen address; IPv6 as `[::1]:9101`; `0.0.0.0:9101` for all interfaces. Not expanded.',
    },
    {
      keys: ['enable_lifecycle'],
      type: 'bool',
      default: '`false`',
      reload: 'restart',
      doc: "serve `POST /-/reload` (as Prometheus's `--web.enable-lifecycle`); off, it answers 403. SIGHUP reloads either way.",
    },
    {
      keys: ['allowed_hosts'],
      type: 'string[]',
      default: '`[]`',
      reload: 'restart',
      doc: "`Host` names accepted besides IP literals, `localhost` and the address's own host; any other name is refused (403), which stops DNS-rebinding pages.",
    },
    {
      keys: ['web_config_file'],
      type: 'path',
      default: 'unset',
      reload: 'restart',
      doc: "a Prometheus-style web configuration (the format of `--web.config.file`): `tls_server_config` (`cert_file`, `key_file`) serves HTTPS; `basic_auth_users` (user: bcrypt hash, e.g. from `htpasswd -nBC 10 \"\" \\| tr -d ':'`) asks for basic auth on everything but `/healthz` and `/readyz` (the kubelet's probes). Read at start (a restart applies changes); errors name the file and the key.",
    },
    {
      keys: ['cert_file', 'key_file'],
      type: 'path',
      default: 'unset',
      reload: 'restart',
      doc: "Categraf's keys: serve HTTPS with this certificate (the same as `tls_server_config` in `web_config_file`, set one or the other).",
    },
  ],
  log: [
    {
      keys: ['level'],
      type: 'string',
      oneOf: LOG_LEVELS,
      ignoreCase: true,
      default: '`"info"`',
      reload: 'restart',
      doc: '`--log-level` overrides it.',
    },
    {
      keys: ['format'],
      type: 'string',
      oneOf: ['text', 'json'],
      default: '`"text"`',
      reload: 'restart',
      doc: '`json`: one object per line.',
    },
  ],
  pod_metadata: [
    { keys: ['enable'], type: 'bool', default: '`false`', reload: 'restart', doc: 'turn it on.' },
    {
      keys: ['source'],
      type: 'string',
      oneOf: ['apiserver', 'kubelet'],
      default: '`"apiserver"`',
      reload: 'restart',
      doc: '`"apiserver"` (list, then watch, the pods with `spec.nodeName = node_name`) or `"kubelet"` (poll the kubelet\'s `/pods`).',
    },
    {
      keys: ['node_name'],
      type: 'string, expanded',
      default: '`"$HOSTNAME"`',
      reload: 'restart',
      doc: 'this node\'s name; required (non-empty) for `source = "apiserver"` only.',
    },
    {
      keys: ['apiserver_url'],
      type: 'URL, expanded',
      default: 'from `KUBERNETES_SERVICE_HOST`/`_PORT`',
      reload: 'restart',
      doc: 'for `source = "apiserver"`.',
    },
    {
      keys: ['kubelet_url'],
      type: 'URL, expanded',
      default: '`"https://127.0.0.1:10250"`',
      reload: 'restart',
      doc: 'for `source = "kubelet"`.',
    },
    {
      keys: ['poll_interval'],
      type: 'duration',
      min: 1000,
      default: '`5s`',
      reload: 'restart',
      doc: 'how often the kubelet source polls `/pods`.',
    },
    {
      keys: ['bearer_token_file'],
      type: 'path, expanded',
      default: '`/var/run/secrets/kubernetes.io/serviceaccount/token`',
      reload: 'restart',
      doc: 're-read on every request (projected tokens rotate).',
    },
    {
      keys: ['tls_ca'],
      type: 'path, expanded',
      default: '`/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`',
      reload: 'restart',
      doc: 'the default is dropped (system CAs) when the file does not exist, an explicit one must.',
    },
    { keys: ['insecure_skip_verify'], type: 'bool', default: '`false`', reload: 'restart', doc: '' },
    {
      keys: ['pod_labels'],
      type: 'string[]',
      default: '`[]`',
      reload: 'restart',
      doc: 'pod labels to copy, as `label_<name>` (`"*"`: all).',
    },
    {
      keys: ['pod_annotations'],
      type: 'string[]',
      default: '`[]`',
      reload: 'restart',
      doc: 'pod annotations to copy, as `annotation_<name>`.',
    },
    {
      keys: ['health_metrics'],
      type: 'bool',
      default: '`true`',
      reload: 'restart',
      doc: 'emit the pod health series (`kube_pod_*`, job `pod-health`).',
    },
    {
      keys: ['drop_stale_containers'],
      type: 'bool',
      default: '`true`',
      reload: 'restart',
      doc: "drop cAdvisor's series of containers the pod view saw end (a restart's old instance, a crash loop's last one, a finished init container) and of deleted or replaced pods, with staleness markers at once, instead of sending them until cAdvisor's housekeeping forgets the cgroup. Ids the view has not seen yet are kept. See docs/kubernetes.md, \"Dead containers\".",
    },
  ],
  derive: [
    {
      keys: ['enable'],
      type: 'bool',
      default: '`false`',
      reload: 'restart',
      doc: 'also write them as ordinary series (job `nodegraf-derive`): `nodegraf_container_cpu_usage_of_quota_ratio`, `nodegraf_container_cpu_throttled_ratio`, `nodegraf_container_memory_working_set_of_limit_ratio`, `nodegraf_container_fs_{reads,writes}_bytes_per_second`, `nodegraf_pod_network_{receive,transmit}_bits_per_second`. Takes effect at start (not on reload).',
    },
  ],
  'input.prometheus': [
    {
      keys: ['interval'],
      type: 'duration (number = s)',
      min: MIN_INTERVAL_MS,
      default: '`[global] interval`',
      reload: 'yes',
      doc: "scrape interval of this file's instances.",
    },
    {
      keys: ['labels'],
      type: 'table of strings, expanded',
      default: '`{}`',
      reload: 'yes',
      doc: "merged under each instance's `labels`.",
    },
    {
      keys: ['metrics_pass', 'metrics_drop'],
      type: 'string[] (globs)',
      default: '`[]`',
      reload: 'yes',
      doc: "prepended to each instance's lists.",
    },
    {
      keys: ['instances'],
      type: 'array of tables',
      default: '—',
      reload: 'yes',
      doc: 'one `[[instances]]` per group of URLs. A file without any is a warning.',
    },
  ],
  instances: [
    {
      keys: ['urls'],
      type: 'string[], expanded',
      default: '`[]`',
      reload: 'yes',
      doc: '`http://` or `https://` URLs. A URL with no path gets `/metrics` (`http://h:9100` → `http://h:9100/metrics`).',
    },
    {
      keys: ['labels'],
      type: 'table of strings, expanded',
      default: '`{}`',
      reload: 'yes',
      doc: 'target labels; override scraped ones. `"-"` deletes.',
    },
    {
      keys: ['url_label_key'],
      type: 'label name',
      default: '`"instance"`',
      reload: 'yes',
      doc: 'label carrying the URL; `"-"` = none.',
    },
    {
      keys: ['url_label_value'],
      type: 'template',
      default: '`"{{.Host}}"`',
      reload: 'yes',
      doc: 'over the URL: `{{.Scheme}}` `{{.Host}}` (host[:port], a default port omitted) `{{.Hostname}}` `{{.Port}}` (80/443 if absent) `{{.Path}}` `{{.Query}}`. Other fields or template syntax are errors.',
    },
    {
      keys: ['interval_times'],
      type: 'int',
      min: 0,
      default: '`0`',
      reload: 'yes',
      doc: 'scrape every `interval × interval_times` (0 or 1 = every interval). There is no per-instance `interval`.',
    },
    {
      keys: ['timeout'],
      type: 'duration (number = s)',
      default: '`3` (3 s)',
      reload: 'yes',
      doc: 'whole scrape, connect included. Longer than the interval: a warning.',
    },
    {
      keys: ['honor_labels'],
      type: 'bool',
      default: '`false`',
      reload: 'yes',
      doc: '`true`: on a conflict keep the scraped value (no `exported_` label).',
    },
    {
      keys: ['honor_timestamps'],
      type: 'bool',
      default: '`true`',
      reload: 'yes',
      doc: 'use the timestamps the target sends (cAdvisor does); a sample whose timestamp did not advance is not resent. `false`: scrape time.',
    },
    {
      keys: ['scrape_protocols'],
      type: 'list of strings',
      default: '`["OpenMetricsText1.0.0", "PrometheusText0.0.4"]`',
      reload: 'yes',
      doc: 'expositions to ask for, preferred first (Prometheus\'s names; also `PrometheusProto`, `OpenMetricsText0.0.1`, `PrometheusText1.0.0`). `["PrometheusProto", "PrometheusText0.0.4"]` reads native histograms (Kubernetes 1.36+ components serve them only in protobuf); a target that ignores the preference is read in whatever it sends.',
    },
    {
      keys: ['bearer_token_file'],
      type: 'path, expanded',
      default: '—',
      reload: 'yes',
      doc: 'token file, re-read on every scrape (projected tokens rotate); on a 401 it is re-read and the scrape retried once.',
    },
    {
      keys: ['bearer_token_string'],
      type: 'string',
      default: '—',
      secret: true,
      reload: 'yes',
      doc: 'literal token (not expanded; redacted). Wins over `bearer_token_file`.',
    },
    {
      keys: ['username'],
      type: 'string',
      default: '—',
      reload: 'yes',
      doc: 'basic auth user, used only when no bearer token is set.',
    },
    {
      keys: ['password'],
      type: 'string',
      default: '—',
      secret: true,
      reload: 'yes',
      doc: 'basic auth password (not expanded; shown as `<secret>`).',
    },
    {
      keys: ['headers'],
      type: 'string[] of name, value pairs',
      default: '`[]`',
      reload: 'yes',
      doc: 'request headers; values expanded. `Authorization` is replaced by a bearer token or basic auth if configured.',
    },
    {
      keys: ['use_tls'],
      type: 'bool',
      default: '`false`',
      reload: 'yes',
      doc: 'accepted; the URL scheme decides: `https://` = TLS, `use_tls = true` does not turn `http://` into TLS.',
    },
    {
      keys: ['tls_ca'],
      type: 'path, expanded',
      default: '—',
      reload: 'yes',
      doc: 'CA bundle to verify the target.',
    },
    {
      keys: ['tls_cert', 'tls_key'],
      type: 'path, expanded',
      default: '—',
      reload: 'yes',
      doc: 'client certificate; each requires the other.',
    },
    {
      keys: ['tls_server_name'],
      type: 'string',
      default: '—',
      reload: 'yes',
      doc: 'name to verify the certificate against (SNI).',
    },
    {
      keys: ['insecure_skip_verify'],
      type: 'bool',
      default: '`false`',
      reload: 'yes',
      doc: "do not verify the target's certificate (the kubelet's is usually self-signed).",
    },
    {
      keys: ['metrics_pass'],
      type: 'string[] (globs)',
      default: '`[]`',
      reload: 'yes',
      doc: 'if not empty, keep only metric names matching one.',
    },
    {
      keys: ['metrics_drop'],
      type: 'string[] (globs)',
      default: '`[]`',
      reload: 'yes',
      doc: 'drop metric names matching one (applied after `metrics_pass`).',
    },
    {
      keys: ['ignore_metrics'],
      type: 'string[] (globs)',
      default: '`[]`',
      reload: 'yes',
      doc: 'same as `metrics_drop`.',
    },
    {
      keys: ['ignore_label_keys'],
      type: 'string[] (globs)',
      default: '`[]`',
      reload: 'yes',
      doc: 'remove these **scraped** label names (not the configured ones).',
    },
    {
      keys: ['relabel_configs'],
      type: '`[[instances.relabel_configs]]`',
      default: '`[]`',
      reload: 'yes',
      doc: 'Prometheus relabeling on every series, after all labels are attached (see below).',
    },
    {
      keys: ['sample_limit'],
      type: 'int',
      min: 0,
      default: '`0` (none)',
      reload: 'yes',
      doc: 'more samples after filtering/relabel: the scrape fails as soon as the limit is passed (the rest of the body is not read), `up = 0`, nothing sent.',
    },
    {
      keys: ['label_limit'],
      type: 'int',
      min: 0,
      default: '`0` (none)',
      reload: 'yes',
      doc: 'more labels on a series: the scrape fails.',
    },
    {
      keys: ['label_value_length_limit'],
      type: 'int',
      min: 0,
      default: '`0` (none)',
      reload: 'yes',
      doc: 'a longer label value: the scrape fails.',
    },
    {
      keys: ['body_size_limit'],
      type: 'size',
      default: '`"64MiB"` (67108864)',
      reload: 'yes',
      doc: 'larger response (also after gunzip): the scrape fails. There is no "unlimited": `0` rejects every response.',
    },
    {
      keys: ['line_size_limit'],
      type: 'size',
      default: '`"1MiB"` (1048576)',
      reload: 'yes',
      doc: 'a longer line (no newline within this many bytes, checked as the body streams in, to within one network read): the scrape fails at once, `up = 0`, nothing sent. `0`: no limit (then a line is bounded by `body_size_limit` only). Real lines are under a few KiB.',
    },
    {
      keys: ['duplication_allowed'],
      type: 'bool',
      default: '`false`',
      reload: 'yes',
      doc: 'accepted, no effect: repeated metric families are always accepted; a series repeated within one scrape keeps its first sample.',
    },
  ],
  'instances.relabel_configs': [
    {
      keys: ['source_labels'],
      type: 'string[]',
      default: '`[]`',
      reload: 'yes',
      doc: 'labels whose values are joined with `separator`. `__name__` is the metric name.',
    },
    { keys: ['separator'], type: 'string', default: '`";"`', reload: 'yes', doc: '' },
    { keys: ['regex'], type: 'string', default: '`"(.*)"`', reload: 'yes', doc: '' },
    {
      keys: ['target_label'],
      type: 'string',
      default: '`""`',
      reload: 'yes',
      doc: 'required for `replace`, `hashmod`, `lowercase`, `uppercase`, `keepequal`, `dropequal`.',
    },
    { keys: ['replacement'], type: 'string', default: '`"$1"`', reload: 'yes', doc: '' },
    {
      keys: ['modulus'],
      type: 'int',
      min: 0,
      default: '`0`',
      reload: 'yes',
      doc: 'required (> 0) for `hashmod`.',
    },
    {
      keys: ['action'],
      type: 'string',
      oneOf: RELABEL_ACTIONS,
      ignoreCase: true,
      default: '`"replace"`',
      reload: 'yes',
      doc: 'as in Prometheus.',
    },
  ],
  'input.kube_proxy': [
    {
      keys: ['url'],
      type: 'URL, expanded',
      default: '—',
      reload: 'yes',
      doc: 'full metrics URL; wins over `host`.',
    },
    {
      keys: ['host'],
      type: '`host` or `host:port`, expanded',
      default: '`127.0.0.1`',
      reload: 'yes',
      doc: '→ `http://<host>:10249/metrics` (port 10249 if none).',
    },
    {
      keys: ['urls'],
      type: 'string[], expanded',
      default: '—',
      reload: 'yes',
      doc: 'if set, used instead of `url`/`host` (several targets).',
    },
    {
      keys: ['interval'],
      type: 'duration (number = s)',
      min: MIN_INTERVAL_MS,
      default: '`[global] interval`',
      reload: 'yes',
      doc: '',
    },
    { keys: [], type: '', default: '`job = "kube-proxy"`', reload: 'yes', doc: '' },
  ],
  'input.kubelet': [
    {
      keys: ['url'],
      type: 'URL, expanded',
      default: '—',
      reload: 'yes',
      doc: '**base** URL without path, e.g. `https://node-1:10250`; `/metrics`, `/metrics/cadvisor`, `/metrics/resource` and `/metrics/probes` are appended. Wins over `host`.',
    },
    {
      keys: ['host'],
      type: '`host` or `host:port`, expanded',
      default: '`$NODE_IP` if set, else `127.0.0.1`',
      reload: 'yes',
      doc: '→ `https://<host>:10250`. Use `host = "$HOSTIP"` when the kubelet does not listen on loopback.',
    },
    {
      keys: ['cadvisor'],
      type: 'bool',
      default: '`true`',
      reload: 'yes',
      doc: 'also scrape `/metrics/cadvisor` (job `cadvisor`).',
    },
    {
      keys: ['resource'],
      type: 'bool',
      default: '`true`',
      reload: 'yes',
      doc: "also scrape `/metrics/resource` (job `kubelet-resource`): the kubelet's CPU and memory summary per container, pod and node, what `kubectl top` and the metrics server read (Kubernetes 1.18+). Its `container_*` families have cAdvisor's names and are dropped (the job's default `metrics_drop = [\"container_*\"]`; a `metrics_drop` in the file replaces it): kept, sums without a `job` filter would count each container twice.",
    },
    {
      keys: ['probes'],
      type: 'bool',
      default: '`true`',
      reload: 'yes',
      doc: "also scrape `/metrics/probes` (job `kubelet-probes`): `prober_probe_total` per pod, container, probe type and result (Kubernetes 1.18+). Both are the `nodes/metrics` subresource: no RBAC beyond the kit's.",
    },
    {
      keys: ['scrape_protocols'],
      type: 'list of strings',
      default: '`["OpenMetricsText1.0.0", "PrometheusText0.0.4"]`',
      reload: 'yes',
      doc: 'as in `[[instances]]`, for job `kubelet` only: `["PrometheusProto", "PrometheusText0.0.4"]` reads its native histograms (Kubernetes 1.36+). The other three endpoints have none and stay on text (cheaper to parse). See docs/kubernetes.md, "Native histograms".',
    },
    {
      keys: ['drop_pod_cgroup_rows'],
      type: 'bool',
      default: '`false`',
      reload: 'yes',
      doc: 'drop cAdvisor\'s rows of a pod\'s own cgroup (`container=""`) and of pause containers (`container="POD"`), except the network families, which exist only there; then `sum by (pod)` without a container filter is right. Trade-offs and the equivalent relabel rules for `input.prometheus`: docs/kubernetes.md, "Pod totals and pause containers".',
    },
    {
      keys: ['interval'],
      type: 'duration (number = s)',
      min: MIN_INTERVAL_MS,
      default: '`[global] interval`',
      reload: 'yes',
      doc: '',
    },
    {
      keys: ['bearer_token_file'],
      type: 'path',
      default: '`/var/run/secrets/kubernetes.io/serviceaccount/token`',
      reload: 'yes',
      doc: '',
    },
    {
      keys: ['tls_ca'],
      type: 'path',
      default: '`/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`',
      reload: 'yes',
      doc: 'used only if `insecure_skip_verify = false`.',
    },
    { keys: ['use_tls'], type: 'bool', default: '`true`', reload: 'yes', doc: '' },
    {
      keys: ['insecure_skip_verify'],
      type: 'bool',
      default: '`true`',
      reload: 'yes',
      doc: "the kubelet's serving certificate is usually self-signed and not issued for 127.0.0.1. Set `false` to verify with `tls_ca`.",
    },
    {
      keys: ['urls'],
      type: '—',
      default: '—',
      reload: 'yes',
      doc: 'ignored, with a warning (built from `url`/`host`).',
    },
  ],
};

/** The type as the docs show it, with the validation the reader applies. */
function typeColumn(k: KeyDoc): string {
  let type = k.type;
  if (k.oneOf)
    type += `: ${k.oneOf.map((v) => '`' + v + '`').join(', ')}${k.ignoreCase ? ' (any case)' : ''}`;
  if (k.min !== undefined)
    type += /duration/.test(k.type) ? `, at least ${formatDuration(k.min)}` : ` ≥ ${k.min}`;
  return type;
}

/** The markdown table of a section, as docs/configuration.md shows it. */
export function keyTable(section: Section): string {
  const rows = CONFIG_KEYS[section].map(
    (k) =>
      `| ${k.keys.map((x) => '`' + x + '`').join(', ')} | ${typeColumn(k)} | ${k.default} | ${k.reload === 'yes' ? 'yes' : '**restart**'} | ${k.doc} |`,
  );
  return ['| key | type | default | reload | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

const REGION =
  /<!-- keys ([a-z_.]+): generated from src\/config\/keys\.ts by npm run kit -->\n[\s\S]*?\n<!-- \/keys -->/g;

/** docs/configuration.md with every key table regenerated from CONFIG_KEYS. */
export function renderKeyTables(doc: string): string {
  return doc.replace(REGION, (_m, section: string) => {
    if (!(section in CONFIG_KEYS))
      throw new Error(`docs/configuration.md: no key table ${section} in src/config/keys.ts`);
    return `<!-- keys ${section}: generated from src/config/keys.ts by npm run kit -->\n${keyTable(section as Section)}\n<!-- /keys -->`;
  });
}
