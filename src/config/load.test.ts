import { test, after } from 'node:test';
import { revealAll } from '../testing/config.js';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KeyLines } from './lines.js';
import { loadConfig, type LoadOptions } from './load.js';
import { renderEffectiveConfig } from './effective.js';
import { redactUrl } from './secret.js';
import { ConfigError, type ConfigWarning } from './types.js';

/** TLS files the configurations below name: they must exist (the loader checks they can be read). */
const PKI = mkdtempSync(join(tmpdir(), 'nodegraf-pki-'));
for (const f of ['ca.pem', 'c.pem', 'k.pem', 'ca', 'run-ca.crt']) writeFileSync(join(PKI, f), 'pem');
import { parseDuration, parseSize } from './values.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A config directory holding `files` (relative path -> content). */
function confDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'nodegraf-conf-'));
  dirs.push(dir);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

const BASE_OPTS: LoadOptions = { env: { HOSTNAME: 'node-7' }, hostname: 'os-host', ip: '192.0.2.10' };

function load(files: Record<string, string>, opts: LoadOptions = {}) {
  const dir = confDir(files);
  return { dir, ...loadConfig(dir, { ...BASE_OPTS, ...opts }) };
}

function loadError(files: Record<string, string>, opts: LoadOptions = {}): ConfigError & { dir: string } {
  const dir = confDir(files);
  try {
    loadConfig(dir, { ...BASE_OPTS, ...opts });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return Object.assign(err, { dir });
  }
  assert.fail('expected loadConfig to throw');
}

const instancesOf = (files: Record<string, string>, opts: LoadOptions = {}) =>
  load(files, opts).config.inputs.flatMap((i) => i.instances);
const PROM = 'input.prometheus/prometheus.toml';

// SPEC §3.4, verbatim except the writer URL and the token path (never send traffic to 10.x).
const ARTICLE_CONFIG = `[global]
hostname = "$HOSTNAME"
interval = 15
providers = ["local"]
[writer_opt]
batch = 2000
chan_size = 10000
[[writers]]
url = "http://127.0.0.1:19000/prometheus/v1/write"
timeout = 5000
dial_timeout = 2500
max_idle_conns_per_host = 100
`;
const TOKEN = '/tmp/nodegraf-test/token';
const ARTICLE_PROM = `[[instances]]
urls = ["http://127.0.0.1:10249/metrics"]
labels = { job="kube-proxy" }
[[instances]]
urls = ["https://127.0.0.1:10250/metrics"]
bearer_token_file = "${TOKEN}"
use_tls = true
insecure_skip_verify = true
labels = { job="kubelet" }
[[instances]]
urls = ["https://127.0.0.1:10250/metrics/cadvisor"]
bearer_token_file = "${TOKEN}"
use_tls = true
insecure_skip_verify = true
labels = { job="cadvisor" }
`;

test("the article's configuration loads: 3 instances, writer, global", () => {
  const { dir, config, warnings } = load({ 'config.toml': ARTICLE_CONFIG, [PROM]: ARTICLE_PROM });
  assert.deepEqual(warnings, []);
  assert.equal(config.global.hostname, 'node-7');
  assert.equal(config.global.hostnameLabel, 'ident');
  assert.equal(config.global.intervalMs, 15_000);
  assert.deepEqual(config.writerOpt, { batch: 2000, chanSize: 10000, shutdownGraceMs: 5000 });
  assert.equal(config.writers.length, 1);
  const w = config.writers[0]!;
  assert.equal(w.url.reveal(), 'http://127.0.0.1:19000/prometheus/v1/write');
  assert.equal(w.timeoutMs, 5000);
  assert.equal(w.dialTimeoutMs, 2500);
  assert.equal(w.maxIdleConnsPerHost, 100);
  assert.equal(w.maxInFlight, 4);

  assert.deepEqual(
    config.inputs.map((i) => i.name),
    ['prometheus'],
  );
  const [proxy, kubelet, cadvisor] = config.inputs[0]!.instances;
  assert.equal(config.inputs[0]!.instances.length, 3);
  assert.deepEqual(revealAll(proxy!.urls), ['http://127.0.0.1:10249/metrics']);
  assert.deepEqual(proxy!.labels, { job: 'kube-proxy' });
  assert.equal(proxy!.bearerTokenFile, undefined);
  assert.deepEqual(proxy!.tls, { useTls: false, insecureSkipVerify: false });
  assert.equal(proxy!.name, `${PROM}#1`);
  assert.deepEqual(proxy!.origin, { file: join(dir, PROM), line: 1 });

  assert.deepEqual(revealAll(kubelet!.urls), ['https://127.0.0.1:10250/metrics']);
  assert.deepEqual(kubelet!.labels, { job: 'kubelet' });
  assert.equal(kubelet!.bearerTokenFile, TOKEN);
  assert.deepEqual(kubelet!.tls, { useTls: true, insecureSkipVerify: true });
  assert.equal(kubelet!.origin.line, 4);

  assert.deepEqual(revealAll(cadvisor!.urls), ['https://127.0.0.1:10250/metrics/cadvisor']);
  assert.deepEqual(cadvisor!.labels, { job: 'cadvisor' });
  assert.equal(cadvisor!.bearerTokenFile, TOKEN);
  assert.equal(cadvisor!.name, `${PROM}#3`);
  assert.equal(cadvisor!.origin.line, 10);
  for (const i of [proxy!, kubelet!, cadvisor!]) {
    assert.equal(i.intervalMs, 15_000);
    assert.equal(i.timeoutMs, 3000);
    assert.equal(i.urlLabelKey, 'instance');
    assert.equal(i.urlLabelValue, '{{.Host}}');
  }
});

test('the article\'s hostname = "$HOSTNAME" with HOSTNAME unset: the OS hostname, with a warning naming file, line, key', () => {
  const { config, warnings, dir } = load({ 'config.toml': ARTICLE_CONFIG }, { env: {} });
  assert.equal(config.global.hostname, 'os-host');
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].file, join(dir, 'config.toml'));
  assert.equal(warnings[0].line, 2);
  assert.equal(warnings[0].key, 'global.hostname');
  assert.match(warnings[0].message, /HOSTNAME is not set.*using the OS hostname "os-host".*export HOSTNAME/);
});

test('an unset variable anywhere else than [global] hostname stays an error naming file, line, key', () => {
  const err = loadError(
    { 'config.toml': '[[writers]]\nurl = "http://$STORE_HOST/api/v1/write"\n' },
    { env: {} },
  );
  assert.equal(err.line, 2);
  assert.equal(err.key, 'writers.url');
  assert.match(err.message, /STORE_HOST is not set/);
});

test('defaults: no config.toml at all, and an empty one', () => {
  for (const files of [{}, { 'config.toml': '' }] as Record<string, string>[]) {
    const { config, warnings } = load(files);
    assert.deepEqual(warnings, []);
    assert.equal(config.global.hostname, 'os-host'); // hostname "" -> OS hostname
    assert.equal(config.global.omitHostname, false);
    assert.equal(config.global.hostnameLabel, 'ident');
    assert.equal(config.global.intervalMs, 15_000);
    assert.deepEqual(config.global.providers, ['local']);
    assert.equal(config.global.precision, 'ms');
    assert.equal(config.global.concurrency, -1);
    assert.deepEqual(config.writerOpt, { batch: 1000, chanSize: 1_000_000, shutdownGraceMs: 5000 });
    assert.deepEqual(config.writers, []);
    assert.deepEqual(config.queue, { dir: './data/queue', maxBytes: 1024 ** 3 });
    assert.deepEqual(config.log, { level: 'info', format: 'text' });
    assert.deepEqual(config.http, {
      enable: true,
      address: '127.0.0.1:9101',
      enableLifecycle: false,
      allowedHosts: [],
    });
    assert.equal(config.podMetadata.enable, false);
    assert.equal(config.podMetadata.source, 'apiserver');
    assert.equal(config.podMetadata.nodeName, 'node-7');
    assert.deepEqual(config.inputs, []);
  }
});

test('pod_metadata: the kubelet source needs no HOSTNAME; the apiserver source needs a node name and an API server', () => {
  const kubelet = load({ 'config.toml': '[pod_metadata]\nenable = true\nsource = "kubelet"\n' }, { env: {} });
  assert.equal(kubelet.config.podMetadata.nodeName, '');
  assert.equal(kubelet.config.podMetadata.kubeletUrl, 'https://127.0.0.1:10250');
  const noCluster = loadError(
    { 'config.toml': '[pod_metadata]\nenable = true\n' },
    { env: { HOSTNAME: 'n1' } },
  );
  assert.equal(noCluster.key, 'pod_metadata.apiserver_url');
  assert.match(noCluster.message, /KUBERNETES_SERVICE_HOST.*source = "kubelet"/);
  const inCluster = load(
    { 'config.toml': '[pod_metadata]\nenable = true\n' },
    { env: { HOSTNAME: 'n1', KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' } },
  );
  assert.equal(inCluster.config.podMetadata.apiserverUrl, 'https://[fd00::1]:443');
  assert.equal(inCluster.config.podMetadata.nodeName, 'n1');
});

test('pod_metadata disabled does not need HOSTNAME; enabled does', () => {
  assert.equal(load({}, { env: {} }).config.podMetadata.nodeName, '');
  const err = loadError(
    { 'config.toml': '[pod_metadata]\nenable = true\nsource = "apiserver"\n' },
    { env: {} },
  );
  assert.equal(err.key, 'pod_metadata.node_name');
  assert.match(err.message, /HOSTNAME is not set.*defaults to \$HOSTNAME/);
});

test('a missing configuration directory is a ConfigError', () => {
  assert.throws(
    () => loadConfig(join(tmpdir(), 'nodegraf-no-such-dir-4711'), BASE_OPTS),
    (err) => err instanceof ConfigError && /not found/.test(err.message),
  );
});

test('every config.toml key is parsed', () => {
  const { config, warnings } = load(
    {
      'config.toml': `[global]
hostname = "h-$hostname"
omit_hostname = true
hostname_label = "agent_hostname"
interval = "30s"
providers = ["local"]
precision = "s"
concurrency = 8
print_configs = true
series_limit = 50000
[global.labels]
cluster = "prod"
region = "$REGION"

[writer_opt]
batch = 500
chan_size = 2000
shutdown_grace = "3s"

[[writers]]
url = "https://vm.example:8428/api/v1/write"
name = "vm-main"
basic_auth_user = "u"
basic_auth_pass = "p"
headers = ["X-From", "nodegraf", "X-Tenant", "\${TENANT}"]
timeout = "7s"
dial_timeout = 1000
max_idle_conns_per_host = 10
max_in_flight = 2
native_histograms = true
use_tls = true
tls_ca = "${PKI}/ca.pem"
tls_cert = "${PKI}/c.pem"
tls_key = "${PKI}/k.pem"
tls_server_name = "vm"
insecure_skip_verify = true

[[writers]]
url = "http://127.0.0.1:9090/api/v1/write"

[queue]
dir = ""
max_bytes = "512MiB"

[log]
level = "debug"
format = "json"

[http]
enable = false
address = "0.0.0.0:9200"
enable_lifecycle = true
allowed_hosts = ["Node-1.example"]

[pod_metadata]
enable = true
source = "apiserver"
node_name = "$HOSTNAME"
kubelet_url = "https://$ip:10250"
bearer_token_file = "/t"
tls_ca = "/dev/null"
insecure_skip_verify = true
pod_labels = ["region", "dept"]
pod_annotations = ["owner"]
health_metrics = false
drop_stale_containers = false
`,
    },
    {
      env: {
        HOSTNAME: 'node-7',
        REGION: 'eu',
        TENANT: 't1',
        KUBERNETES_SERVICE_HOST: '10.96.0.1',
        KUBERNETES_SERVICE_PORT: '443',
      },
    },
  );
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.global, {
    hostname: 'h-os-host',
    omitHostname: true,
    hostnameLabel: 'agent_hostname',
    labels: { cluster: 'prod', region: 'eu' },
    intervalMs: 30_000,
    providers: ['local'],
    precision: 's',
    concurrency: 8,
    printConfigs: true,
    seriesLimit: 50000,
  });
  assert.deepEqual(config.writerOpt, { batch: 500, chanSize: 2000, shutdownGraceMs: 3000 });
  assert.deepEqual(revealAll(config.writers[0]), {
    url: 'https://vm.example:8428/api/v1/write',
    name: 'vm-main',
    basicAuthUser: 'u',
    basicAuthPass: 'p',
    headers: { 'X-From': 'nodegraf', 'X-Tenant': 't1' },
    timeoutMs: 7000,
    dialTimeoutMs: 1000,
    maxIdleConnsPerHost: 10,
    maxInFlight: 2,
    nativeHistograms: true,
    tls: {
      useTls: true,
      caFile: `${PKI}/ca.pem`,
      certFile: `${PKI}/c.pem`,
      keyFile: `${PKI}/k.pem`,
      serverName: 'vm',
      insecureSkipVerify: true,
    },
  });
  assert.deepEqual(revealAll(config.writers[1]), {
    url: 'http://127.0.0.1:9090/api/v1/write',
    name: '127.0.0.1:9090/api/v1/write',
    headers: {},
    timeoutMs: 5000,
    dialTimeoutMs: 2500,
    maxIdleConnsPerHost: 100,
    maxInFlight: 4,
    nativeHistograms: false,
    tls: { useTls: false, insecureSkipVerify: false },
  });
  assert.deepEqual(config.queue, { dir: '', maxBytes: 512 * 1024 ** 2 });
  assert.deepEqual(config.log, { level: 'debug', format: 'json' });
  assert.deepEqual(config.http, {
    enable: false,
    address: '0.0.0.0:9200',
    enableLifecycle: true,
    allowedHosts: ['node-1.example'],
  });
  assert.deepEqual(config.podMetadata, {
    enable: true,
    source: 'apiserver',
    nodeName: 'node-7',
    apiserverUrl: 'https://10.96.0.1:443',
    kubeletUrl: 'https://192.0.2.10:10250',
    pollIntervalMs: 5000,
    bearerTokenFile: '/t',
    tlsCa: '/dev/null',
    insecureSkipVerify: true,
    podLabels: ['region', 'dept'],
    podAnnotations: ['owner'],
    healthMetrics: false,
    dropStaleContainers: false,
  });
});

test('every instance key is parsed', () => {
  const [i, j] = instancesOf({
    [PROM]: `interval = "1m"
[[instances]]
urls = ["http://127.0.0.1:9100"]
labels = { job = "node", drop_me = "-" }
url_label_key = "target"
url_label_value = "{{.Scheme}}://{{.Host}}{{.Path}}"
honor_labels = true
honor_timestamps = false
bearer_token_string = "tok"
username = "user"
password = "pass"
headers = ["X-A", "1"]
timeout = "500ms"
use_tls = true
tls_ca = "${PKI}/ca"
tls_server_name = "srv"
insecure_skip_verify = true
ignore_metrics = ["go_*"]
ignore_label_keys = ["id"]
metrics_pass = ["node_*"]
metrics_drop = ["node_scrape_*"]
interval_times = 2
duplication_allowed = true
sample_limit = 1000
scrape_protocols = ["PrometheusProto", "PrometheusText0.0.4"]
label_limit = 30
label_value_length_limit = 200
body_size_limit = "10MB"
line_size_limit = "64KiB"

[[instances]]
urls = ["http://127.0.0.1:9101/m"]
url_label_key = "-"
bearer_token_file = "/tok"
`,
  });
  assert.deepEqual(revealAll(i), {
    name: `${PROM}#1`,
    origin: i!.origin,
    urls: ['http://127.0.0.1:9100/metrics'], // Categraf: no path -> /metrics
    labels: { job: 'node', drop_me: '-' },
    urlLabelKey: 'target',
    urlLabelValue: '{{.Scheme}}://{{.Host}}{{.Path}}',
    honorLabels: true,
    honorTimestamps: false,
    bearerTokenString: 'tok',
    username: 'user',
    password: 'pass',
    headers: { 'X-A': '1' },
    timeoutMs: 500,
    intervalMs: 120_000, // file interval 1m * interval_times 2
    tls: { useTls: true, caFile: `${PKI}/ca`, serverName: 'srv', insecureSkipVerify: true },
    ignoreMetrics: ['go_*'],
    ignoreLabelKeys: ['id'],
    metricsPass: ['node_*'],
    metricsDrop: ['node_scrape_*'],
    relabelConfigs: [],
    duplicationAllowed: true,
    sampleLimit: 1000,
    scrapeProtocols: ['PrometheusProto', 'PrometheusText0.0.4'],
    labelLimit: 30,
    labelValueLengthLimit: 200,
    bodySizeLimit: 10_000_000,
    lineSizeLimit: 65536,
  });
  assert.equal(i!.origin.line, 2);
  assert.equal(j!.urlLabelKey, '');
  assert.equal(j!.bearerTokenFile, '/tok');
  assert.equal(j!.intervalMs, 60_000);
  assert.equal(j!.bodySizeLimit, 64 * 1024 * 1024);
});

test('unknown key: a warning with file, line and the nearest known key', () => {
  const { dir, warnings } = load({
    [PROM]: `[[instances]]
urls = ["http://127.0.0.1:1/metrics"]

[[instances]]
urls = ["http://127.0.0.1:2/metrics"]
bearer_token_fil = "/t"
`,
  });
  assert.equal(warnings.length, 1);
  const w = warnings[0]!;
  assert.equal(w.file, join(dir, PROM));
  assert.equal(w.line, 6);
  assert.equal(w.key, 'instances.bearer_token_fil');
  assert.match(w.message, /did you mean bearer_token_file\?/);
});

test('unknown key in config.toml sections, far from anything known: no suggestion', () => {
  const { warnings } = load({
    'config.toml': '[global]\ninterval = 15\nintervl = 10\n[http]\nxyzzy_plugh = 1\n',
  });
  const byKey = Object.fromEntries(warnings.map((w) => [w.key, w]));
  assert.match(byKey['global.intervl']!.message, /did you mean interval\?/);
  assert.equal(byKey['global.intervl']!.line, 3);
  assert.doesNotMatch(byKey['http.xyzzy_plugh']!.message, /did you mean/);
  assert.equal(byKey['http.xyzzy_plugh']!.line, 5);
});

test("Categraf's sections and keys nodegraf ignores: warnings naming them, no error", () => {
  const { warnings } = load({
    'config.toml': `[global]
hostname = ""
[log]
file_name = "stdout"
[http]
enable = true
print_access = false
[heartbeat]
enable = true
url = "http://127.0.0.1:17000/v1/n9e/heartbeat"
[ibex]
enable = false
[prometheus]
enable = false
`,
  });
  const find = (key: string): ConfigWarning => {
    const w = warnings.find((x) => x.key === key);
    assert.ok(w, `no warning for ${key}: ${JSON.stringify(warnings)}`);
    return w;
  };
  assert.match(find('heartbeat').message, /\[heartbeat\].*not support/);
  assert.equal(find('heartbeat').line, 8);
  assert.equal(find('ibex').line, 11);
  assert.equal(find('prometheus').line, 13);
  assert.match(find('log.file_name').message, /ignored/);
  assert.equal(find('http.print_access').line, 7);
  assert.equal(warnings.length, 5);
});

test('wrong types are errors naming file:line:key', () => {
  const cases: [Record<string, string>, string, number, string, RegExp][] = [
    [
      { 'config.toml': '[global]\nhostname = "x"\ninterval = "abc"\n' },
      'config.toml',
      3,
      'global.interval',
      /invalid duration "abc"/,
    ],
    [
      { [PROM]: '[[instances]]\nurls = "http://x"\n' },
      PROM,
      2,
      'instances.urls',
      /expected an array of strings, got the string/,
    ],
    [
      { [PROM]: '[[instances]]\nurls = ["http://x"]\ntimeout = true\n' },
      PROM,
      3,
      'instances.timeout',
      /expected a duration.*got the boolean true/,
    ],
    [
      { [PROM]: '[[instances]]\nurls = ["http://x"]\nlabels = { job = 1 }\n' },
      PROM,
      3,
      'instances.labels.job',
      /expected a string, got the integer 1/,
    ],
    [{ [PROM]: '[[instances]]\nurls = ["http://x", 2]\n' }, PROM, 2, 'instances.urls', /found the integer 2/],
    [
      { 'config.toml': '[writer_opt]\nbatch = "many"\n' },
      'config.toml',
      2,
      'writer_opt.batch',
      /expected an integer/,
    ],
    [
      {
        'config.toml':
          '[[writers]]\nurl = "http://x/w"\n\n[[writers]]\nurl = "http://y/w"\nmax_in_flight = 1.5\n',
      },
      'config.toml',
      6,
      'writers.max_in_flight',
      /expected an integer/,
    ],
    [
      { 'config.toml': '[http]\nenable = "yes"\n' },
      'config.toml',
      2,
      'http.enable',
      /expected true or false/,
    ],
    [{ 'config.toml': 'global = 3\n' }, 'config.toml', 1, 'global', /expected a table/],
    [
      { [PROM]: '[[instances]]\nurls = ["http://x"]\nscrape_protocols = ["Protobuf"]\n' },
      PROM,
      3,
      'instances.scrape_protocols',
      /unknown protocol "Protobuf"; one of PrometheusProto, /,
    ],
    [
      { [PROM]: '[[instances]]\nurls = ["http://x"]\nscrape_protocols = []\n' },
      PROM,
      3,
      'instances.scrape_protocols',
      /is empty/,
    ],
  ];
  for (const [files, file, line, key, msg] of cases) {
    const err = loadError(files);
    assert.equal(err.file, join(err.dir, file), key);
    assert.equal(err.line, line, key);
    assert.equal(err.key, key);
    assert.match(err.message, msg);
    assert.ok(err.message.startsWith(`${join(err.dir, file)}:${line}: ${key}: `), err.message);
  }
});

test('TOML syntax errors carry their line', () => {
  const err = loadError({ [PROM]: '[[instances]]\nurls = ["http://x"\nlabels = {}\n' });
  assert.equal(err.file, join(err.dir, PROM));
  assert.equal(err.line, 3);
  assert.equal(err.key, 'TOML syntax');
});

test('an unset $VAR in a URL is an error naming the variable, file and line', () => {
  const err = loadError({ [PROM]: '[[instances]]\n\nurls = ["http://$KUBELET_HOST:10250/metrics"]\n' });
  assert.equal(err.line, 3);
  assert.equal(err.key, 'instances.urls');
  assert.match(err.message, /KUBELET_HOST is not set/);
});

test('expansion: ${VAR}, $VAR, $hostname, $ip (HOSTIP), $$ and $1', () => {
  const files = {
    'config.toml':
      '[global]\nhostname = "$hostname-$ip"\nlabels = { a = "${A}x", b = "$A", c = "cost $$5", d = "$1" }\n',
    [PROM]:
      '[[instances]]\nurls = ["http://${HOST_IP}:1/m", "http://$ip:2/m", "http://$hostname:3/m"]\nlabels = { node = "${HOSTNAME}" }\n',
  };
  const env = { A: 'aa', HOST_IP: '10.1.2.3', HOSTNAME: 'node-7', HOSTIP: '198.51.100.4' };
  const { config } = load(files, { env, ip: undefined });
  assert.equal(config.global.hostname, 'os-host-198.51.100.4');
  assert.deepEqual(config.global.labels, { a: 'aax', b: 'aa', c: 'cost $5', d: '$1' });
  const inst = config.inputs[0]!.instances[0]!;
  assert.deepEqual(revealAll(inst.urls), [
    'http://10.1.2.3:1/m',
    'http://198.51.100.4:2/m',
    'http://os-host:3/m',
  ]);
  assert.deepEqual(inst.labels, { node: 'node-7' });
  // opts.ip overrides HOSTIP
  assert.equal(load(files, { env, ip: '203.0.113.9' }).config.global.hostname, 'os-host-203.0.113.9');
  // Variables are case-sensitive: $Hostname is an environment variable, not the reserved word.
  const err = loadError({ 'config.toml': '[[writers]]\nurl = "http://$Hostname:8428/api/v1/write"\n' });
  assert.match(err.message, /Hostname is not set/);
});

test('headers: flat pairs; an odd length is an error', () => {
  const [i] = instancesOf({
    [PROM]: '[[instances]]\nurls = ["http://x/m"]\nheaders = ["X-A", "1", "X-B", "$HOSTNAME"]\n',
  });
  assert.deepEqual(i!.headers, { 'X-A': '1', 'X-B': 'node-7' });
  const err = loadError({ [PROM]: '[[instances]]\nurls = ["http://x/m"]\nheaders = ["X-A", "1", "X-B"]\n' });
  assert.equal(err.line, 3);
  assert.equal(err.key, 'instances.headers');
  assert.match(err.message, /pairs/);
});

test('relabel_configs: parsed with defaults, validated', () => {
  const prom = `[[instances]]
urls = ["http://x/m"]

[[instances]]
urls = ["http://y/m"]
[[instances.relabel_configs]]
source_labels = ["__name__"]
regex = "go_.*"
action = "drop"
[[instances.relabel_configs]]
source_labels = ["a", "b"]
separator = "/"
target_label = "c"
replacement = "$1-x"
[[instances.relabel_configs]]
source_labels = ["pod"]
modulus = 4
target_label = "shard"
action = "HashMod"
`;
  const [a, b] = instancesOf({ [PROM]: prom });
  assert.deepEqual(a!.relabelConfigs, []);
  assert.deepEqual(b!.relabelConfigs, [
    {
      sourceLabels: ['__name__'],
      separator: ';',
      regex: 'go_.*',
      modulus: 0,
      targetLabel: '',
      replacement: '$1',
      action: 'drop',
    },
    {
      sourceLabels: ['a', 'b'],
      separator: '/',
      regex: '(.*)',
      modulus: 0,
      targetLabel: 'c',
      replacement: '$1-x',
      action: 'replace',
    },
    {
      sourceLabels: ['pod'],
      separator: ';',
      regex: '(.*)',
      modulus: 4,
      targetLabel: 'shard',
      replacement: '$1',
      action: 'hashmod',
    },
  ]);

  const bad = (body: string) =>
    loadError({ [PROM]: `[[instances]]\nurls = ["http://x/m"]\n[[instances.relabel_configs]]\n${body}` });
  let err = bad('source_labels = ["a"]\naction = "keepit"\n');
  assert.equal(err.line, 5);
  assert.equal(err.key, 'instances.relabel_configs.action');
  assert.match(err.message, /action: unknown value "keepit"; one of replace, keep/);
  err = bad('regex = "(unclosed"\naction = "keep"\n');
  assert.equal(err.line, 4);
  assert.match(err.message, /error parsing regexp: missing closing \)/);
  // RE2 syntax, checked by the agent's own compiler: lookarounds are refused as Prometheus does
  err = bad('regex = "a(?=b)"\naction = "keep"\nsource_labels = ["a"]\n');
  assert.equal(err.key, 'instances.relabel_configs.regex');
  err = bad('source_labels = ["a"]\n');
  assert.match(err.message, /replace action requires 'target_label'/);
  assert.equal(err.key, 'instances.relabel_configs.target_label');
  err = bad('source_labels = ["a"]\naction = "hashmod"\ntarget_label = "s"\n');
  assert.match(err.message, /modulus/);
  assert.equal(err.key, 'instances.relabel_configs.modulus');
  // every problem carries its own key, found by the compiler, and that key's line
  err = bad('action = "lowercase"\nsource_labels = ["a"]\ntarget_label = "b"\nreplacement = "x"\n');
  assert.equal(err.key, 'instances.relabel_configs.replacement');
  assert.equal(err.line, 7);
  err = bad('action = "labeldrop"\nregex = "x"\nseparator = ","\n');
  assert.equal(err.key, 'instances.relabel_configs.separator');
  assert.equal(err.line, 6);
  // Unknown keys inside a relabel config are warned about with their line.
  const { warnings } = load({
    [PROM]: `[[instances]]\nurls = ["http://x/m"]\n[[instances.relabel_configs]]\nsource_label = ["a"]\naction = "keep"\n`,
  });
  assert.equal(warnings[0]!.line, 4);
  assert.match(warnings[0]!.message, /did you mean source_labels\?/);
});

test('validation: URLs, providers, log level/format, tls_cert without tls_key, http address', () => {
  let err = loadError({ [PROM]: '[[instances]]\nlabels = {}\nurls = ["ftp://x/m"]\n' });
  assert.equal(err.line, 3);
  assert.equal(err.key, 'instances.urls');
  assert.match(err.message, /only http:\/\/ and https:\/\//);
  err = loadError({ [PROM]: '[[instances]]\nurls = ["not a url"]\n' });
  assert.match(err.message, /invalid URL/);
  err = loadError({ 'config.toml': '[[writers]]\nurl = "127.0.0.1:8428/api/v1/write"\n' });
  assert.equal(err.key, 'writers.url');
  err = loadError({ 'config.toml': '[[writers]]\ntimeout = 5000\n' });
  assert.match(err.message, /needs a url/);
  err = loadError({ 'config.toml': '[global]\nproviders = ["local", "http"]\n' });
  assert.equal(err.key, 'global.providers');
  assert.match(err.message, /only the "local" provider is supported.*"http"/);
  err = loadError({ 'config.toml': '[log]\nlevel = "loud"\n' });
  assert.equal(err.key, 'log.level');
  err = loadError({ 'config.toml': '[log]\nformat = "xml"\n' });
  assert.equal(err.key, 'log.format');
  err = loadError({ [PROM]: '[[instances]]\nurls = ["https://x/m"]\ntls_cert = "${PKI}/c.pem"\n' });
  assert.equal(err.key, 'instances.tls_cert');
  assert.equal(err.line, 3);
  err = loadError({ 'config.toml': '[http]\naddress = "localhost"\n' });
  assert.equal(err.key, 'http.address');
  err = loadError({ [PROM]: '[[instances]]\nurls = ["http://x/m"]\nurl_label_value = "{{.Hots}}"\n' });
  assert.match(err.message, /unknown field \{\{\.Hots\}\}/);
  err = loadError({ 'config.toml': '[pod_metadata]\nsource = "etcd"\n' });
  assert.equal(err.key, 'pod_metadata.source');
});

test('instances without urls are skipped with a warning; a file without instances warns', () => {
  const { config, warnings } = load({
    [PROM]: '[[instances]]\nurls = []\n[[instances]]\nurls = ["http://x/m"]\n',
    'input.prometheus/empty.toml': '# nothing yet\n',
  });
  const names = config.inputs[0]!.instances.map((i) => i.name);
  assert.deepEqual(names, [`${PROM}#2`]);
  assert.ok(warnings.some((w) => w.file.endsWith(PROM) && w.line === 2 && /no urls/.test(w.message)));
  assert.ok(warnings.some((w) => w.file.endsWith('empty.toml') && /no \[\[instances\]\]/.test(w.message)));
});

test('several files per input, read in sorted order; names carry the file', () => {
  const { config } = load({
    'input.prometheus/b.toml': '[[instances]]\nurls = ["http://b/m"]\n',
    'input.prometheus/a.toml': 'interval = 5\n[[instances]]\nurls = ["http://a/m"]\n',
    'input.prometheus/notes.txt': 'not toml',
  });
  const insts = config.inputs[0]!.instances;
  assert.deepEqual(
    insts.map((i) => [i.name, i.intervalMs]),
    [
      ['input.prometheus/a.toml#1', 5000],
      ['input.prometheus/b.toml#1', 15_000],
    ],
  );
});

test('presets: kube_proxy and kubelet with defaults', () => {
  const { config, warnings } = load({
    'input.kube_proxy/kube_proxy.toml': '',
    'input.kubelet/kubelet.toml': '# defaults\n',
  });
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    config.inputs.map((i) => i.name),
    ['kube_proxy', 'kubelet'],
  );
  const [proxy] = config.inputs[0]!.instances;
  assert.deepEqual(revealAll(proxy!.urls), ['http://127.0.0.1:10249/metrics']);
  assert.deepEqual(proxy!.labels, { job: 'kube-proxy' });
  assert.equal(proxy!.bearerTokenFile, undefined);
  const [kubelet, cadvisor, resource, probes] = config.inputs[1]!.instances;
  assert.equal(config.inputs[1]!.instances.length, 4);
  assert.deepEqual(revealAll(kubelet!.urls), ['https://127.0.0.1:10250/metrics']);
  assert.deepEqual(revealAll(cadvisor!.urls), ['https://127.0.0.1:10250/metrics/cadvisor']);
  assert.deepEqual(revealAll(resource!.urls), ['https://127.0.0.1:10250/metrics/resource']);
  assert.deepEqual(revealAll(probes!.urls), ['https://127.0.0.1:10250/metrics/probes']);
  assert.deepEqual(kubelet!.labels, { job: 'kubelet' });
  assert.deepEqual(cadvisor!.labels, { job: 'cadvisor' });
  assert.deepEqual(resource!.labels, { job: 'kubelet-resource' });
  assert.deepEqual(probes!.labels, { job: 'kubelet-probes' });
  // /metrics/resource's container families share cAdvisor's names: dropped unless asked for
  assert.deepEqual(resource!.metricsDrop, ['container_*']);
  assert.deepEqual(probes!.metricsDrop, []);
  assert.deepEqual(
    instancesOf({ 'input.kubelet/kubelet.toml': 'metrics_drop = []\n' })[2]!.metricsDrop,
    [],
    "the file's own metrics_drop wins",
  );
  for (const i of [kubelet!, cadvisor!, resource!, probes!]) {
    assert.equal(i.bearerTokenFile, '/var/run/secrets/kubernetes.io/serviceaccount/token');
    // the ServiceAccount CA is the default only where it exists (in a pod)
    const ca = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
    assert.deepEqual(i.tls, {
      useTls: true,
      ...(existsSync(ca) ? { caFile: ca } : {}),
      insecureSkipVerify: true,
    });
  }
  assert.equal(kubelet!.name, 'input.kubelet/kubelet.toml#kubelet');
  assert.equal(cadvisor!.name, 'input.kubelet/kubelet.toml#cadvisor');
  assert.equal(probes!.name, 'input.kubelet/kubelet.toml#kubelet-probes');
});

test('presets: scrape_protocols in the kubelet preset asks protobuf of job kubelet only', () => {
  const insts = instancesOf({
    'input.kubelet/kubelet.toml': 'scrape_protocols = ["PrometheusProto", "PrometheusText0.0.4"]\n',
  });
  assert.deepEqual(
    insts.map((i) => [i.labels.job, i.scrapeProtocols[0]]),
    [
      ['kubelet', 'PrometheusProto'],
      ['cadvisor', 'OpenMetricsText1.0.0'],
      ['kubelet-resource', 'OpenMetricsText1.0.0'],
      ['kubelet-probes', 'OpenMetricsText1.0.0'],
    ],
  );
});

test('presets: the kubelet preset turns /metrics/resource and /metrics/probes off one by one', () => {
  const jobs = (toml: string) => instancesOf({ 'input.kubelet/kubelet.toml': toml }).map((i) => i.labels.job);
  assert.deepEqual(jobs(''), ['kubelet', 'cadvisor', 'kubelet-resource', 'kubelet-probes']);
  assert.deepEqual(jobs('resource = false\n'), ['kubelet', 'cadvisor', 'kubelet-probes']);
  assert.deepEqual(jobs('probes = false\n'), ['kubelet', 'cadvisor', 'kubelet-resource']);
  assert.deepEqual(jobs('cadvisor = false\nresource = false\nprobes = false\n'), ['kubelet']);
  const err = loadError({ 'input.kubelet/kubelet.toml': '\nprobes = "yes"\n' });
  assert.equal(err.key, 'probes');
  assert.equal(err.line, 2);
});

test('presets: NODE_IP, and keys that override url/host, token, CA, verification, labels, interval', () => {
  let insts = instancesOf({ 'input.kubelet/kubelet.toml': '' }, { env: { NODE_IP: '10.0.0.5' } });
  assert.deepEqual(revealAll(insts[0]!.urls), ['https://10.0.0.5:10250/metrics']);

  insts = instancesOf(
    {
      'input.kubelet/kubelet.toml': `interval = "30s"
host = "$HOSTIP"
bearer_token_file = "/run/token"
tls_ca = "${PKI}/run-ca.crt"
insecure_skip_verify = false
labels = { cluster = "c1" }
cadvisor = false
resource = false
probes = false
sample_limit = 50000
`,
      'input.kube_proxy/kube_proxy.toml':
        'url = "http://$HOSTIP:10249/metrics"\nlabels = { job = "proxy" }\n',
    },
    { env: { HOSTIP: '10.0.0.9' } },
  );
  assert.equal(insts.length, 2);
  const [proxy, kubelet] = insts;
  assert.deepEqual(revealAll(proxy!.urls), ['http://10.0.0.9:10249/metrics']);
  assert.deepEqual(proxy!.labels, { job: 'proxy' });
  assert.deepEqual(revealAll(kubelet!.urls), ['https://10.0.0.9:10250/metrics']);
  assert.equal(kubelet!.bearerTokenFile, '/run/token');
  assert.deepEqual(kubelet!.tls, { useTls: true, caFile: `${PKI}/run-ca.crt`, insecureSkipVerify: false });
  assert.deepEqual(kubelet!.labels, { job: 'kubelet', cluster: 'c1' });
  assert.equal(kubelet!.intervalMs, 30_000);
  assert.equal(kubelet!.sampleLimit, 50_000);

  insts = instancesOf({ 'input.kubelet/kubelet.toml': 'url = "https://node-1:10250/"\n' });
  assert.deepEqual(revealAll(insts[1]!.urls), ['https://node-1:10250/metrics/cadvisor']);
  // kube_proxy honours the user's own urls
  insts = instancesOf({
    'input.kube_proxy/kube_proxy.toml':
      'urls = ["http://127.0.0.1:10249/metrics", "http://127.0.0.2:10249/metrics"]\n',
  });
  assert.equal(insts[0]!.urls.length, 2);
  insts = instancesOf({ 'input.kubelet/kubelet.toml': 'url = "https://node-1:10250/"\n' });
  assert.deepEqual(revealAll(insts[1]!.urls), ['https://node-1:10250/metrics/cadvisor']);

  // A typo in a preset file is warned about once, not once per generated instance.
  const { warnings } = load({ 'input.kubelet/kubelet.toml': 'hots = "x"\n' });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.message, /did you mean host\?/);
  const err = loadError({ 'input.kubelet/kubelet.toml': 'insecure_skip_verify = "no"\n' });
  assert.equal(err.key, 'insecure_skip_verify');
  assert.equal(err.line, 1);
});

test('unsupported inputs warn; --inputs restricts what is loaded', () => {
  const files = {
    [PROM]: '[[instances]]\nurls = ["http://x/m"]\n',
    'input.kubelet/kubelet.toml': '',
    'input.mysql/mysql.toml': '[[instances]]\naddress = "127.0.0.1:3306"\n',
  };
  const all = load(files);
  assert.deepEqual(
    all.config.inputs.map((i) => i.name),
    ['kubelet', 'prometheus'],
  );
  assert.equal(all.warnings.length, 1);
  assert.equal(all.warnings[0]!.message, 'input mysql is not supported by nodegraf, ignored');
  assert.equal(all.warnings[0]!.file, join(all.dir, 'input.mysql/mysql.toml'));

  const only = load(files, { inputs: ['prometheus'] });
  assert.deepEqual(
    only.config.inputs.map((i) => i.name),
    ['prometheus'],
  );
  assert.deepEqual(only.warnings, []);
  const missing = load(files, { inputs: ['kube_proxy'] });
  assert.deepEqual(missing.config.inputs, []);
  assert.match(missing.warnings[0]!.message, /does not exist/);
});

test('duration and size strings', () => {
  assert.equal(parseDuration('15s'), 15_000);
  assert.equal(parseDuration('1m'), 60_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('abc'), undefined);
  assert.equal(parseDuration('15'), undefined);
  assert.equal(parseDuration('-5s'), undefined);
  assert.equal(parseSize('64MiB'), 64 * 1024 * 1024);
  assert.equal(parseSize('10MB'), 10_000_000);
  assert.equal(parseSize('1GiB'), 1024 ** 3);
  assert.equal(parseSize('4096'), 4096);
  assert.equal(parseSize('12 parsecs'), undefined);

  const { config } = load({
    'config.toml':
      '[global]\ninterval = "1m"\n[[writers]]\nurl = "http://x/w"\ntimeout = "5s"\ndial_timeout = "250ms"\n[queue]\nmax_bytes = 1048576\n',
    [PROM]: '[[instances]]\nurls = ["http://x/m"]\ntimeout = 10\nbody_size_limit = "64MiB"\n',
  });
  assert.equal(config.global.intervalMs, 60_000);
  assert.equal(config.writers[0]!.timeoutMs, 5000);
  assert.equal(config.writers[0]!.dialTimeoutMs, 250);
  assert.equal(config.queue.maxBytes, 1_048_576);
  const inst = config.inputs[0]!.instances[0]!;
  assert.equal(inst.timeoutMs, 10_000); // instance timeout: integer seconds, as Categraf
  assert.equal(inst.intervalMs, 60_000); // inherits the global interval
  assert.equal(inst.bodySizeLimit, 64 * 1024 * 1024);

  const err = loadError({ [PROM]: '[[instances]]\nurls = ["http://x/m"]\nbody_size_limit = "lots"\n' });
  assert.equal(err.key, 'instances.body_size_limit');
  assert.equal(err.line, 3);
});

test('key lines: sub-tables, dotted keys, arrays of tables, and never a throw', () => {
  const src = `# comment
[[instances]]
urls = [
  "http://a/m",
]
[instances.labels]
job = "x"

[[instances]]
tls.ca = "y"
text = """
fake = 1
"""
after = 2
[[instances.relabel_configs]]
action = "keep"
[[instances.relabel_configs]]
action = "drop"
`;
  const l = new KeyLines(src);
  assert.equal(l.line(['instances', 0], 'urls'), 3);
  assert.equal(l.line(['instances', 0, 'labels'], 'job'), 7);
  assert.equal(l.line(['instances', 0], 'labels'), 6);
  assert.equal(l.line(['instances', 1, 'tls'], 'ca'), 10);
  assert.equal(l.line(['instances', 1], 'fake'), 9); // inside a multi-line string: not a key
  assert.equal(l.line(['instances', 1], 'after'), 14);
  assert.equal(l.line(['instances', 1, 'relabel_configs', 1], 'action'), 18);
  assert.equal(l.header(['instances', 1]), 9);
  for (const junk of ['[[[', '= = =', '["a', 'a."b', '"""', '\u0000[x]\n[[x]]\n[x.y]']) {
    assert.doesNotThrow(() => new KeyLines(junk).line(['x', 3, 'y'], 'z'));
  }
});

test('the rendered effective config redacts secrets and keeps file paths', () => {
  const secrets = [
    'wr1t3r-pass',
    'hdr-s3cret',
    'url-pa55',
    'inst-pa55',
    'bearer-str1ng',
    'api-k3y',
    'qry-t0ken',
  ];
  const { config } = load({
    'config.toml': `[[writers]]
url = "https://writer:url-pa55@vm.example/api/v1/write?access_token=qry-t0ken&db=x"
basic_auth_user = "writer"
basic_auth_pass = "wr1t3r-pass"
headers = ["Authorization", "Bearer hdr-s3cret", "X-Scope-OrgID", "tenant-1"]
`,
    [PROM]: `[[instances]]
urls = ["http://x/m"]
username = "admin"
password = "inst-pa55"
bearer_token_string = "bearer-str1ng"
headers = ["X-Api-Key", "api-k3y"]
[[instances]]
urls = ["https://y/m"]
bearer_token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token"
`,
  });
  const out = renderEffectiveConfig(config);
  for (const s of secrets) assert.ok(!out.includes(s), `${s} leaked:\n${out}`);
  assert.match(out, /basic_auth_pass = "<secret>"/);
  assert.match(out, /"Authorization", "<secret>"/);
  assert.match(out, /"X-Scope-OrgID", "tenant-1"/);
  assert.match(out, /https:\/\/writer:<secret>@vm\.example\/api\/v1\/write\?access_token=<secret>&db=x/);
  assert.match(out, /bearer_token_file = "\/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/token"/);
  assert.match(out, /username = "admin"/);
  assert.match(out, /\[\[writers\]\]/);
  assert.match(out, /# input\.prometheus\/prometheus\.toml#2/);
  assert.equal(redactUrl('http://host:1/metrics'), 'http://host:1/metrics');
});

test('values check used to accept that the agent mishandled: bounds with clear errors', () => {
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [
      { 'config.toml': '[global]\ninterval = 3000000\n' },
      'global.interval',
      /out of range: between 100ms and 24h/,
    ],
    [{ 'config.toml': '[global]\ninterval = 0.0001\n' }, 'global.interval', /out of range/],
    [{ 'config.toml': '[global]\ninterval = "100us"\n' }, 'global.interval', /out of range/],
    [{ 'config.toml': '[global]\ninterval = inf\n' }, 'global.interval', /invalid duration Infinity/],
    [{ 'config.toml': '[global]\ninterval = nan\n' }, 'global.interval', /invalid duration NaN/],
    [
      { 'config.toml': '[[writers]]\nurl = "http://127.0.0.1:8428/api/v1/write"\ntimeout = 3000000000\n' },
      'writers.timeout',
      /out of range: between 1ms and 24h \(a bare number is milliseconds\)/,
    ],
    [
      {
        'config.toml':
          '[[writers]]\nurl = "http://127.0.0.1:8428/api/v1/write"\nheaders = ["X-Tenant", "a\\r\\nb"]\n',
      },
      'writers.headers',
      /X-Tenant contains a line break/,
    ],
    [
      { [PROM]: '[[instances]]\nurls = ["http://x/m"]\nheaders = ["X", "a\\nb"]\n' },
      'instances.headers',
      /line break/,
    ],
    [
      { [PROM]: '[[instances]]\nurls = ["http://x/m"]\ntimeout = "0.1ms"\n' },
      'instances.timeout',
      /out of range/,
    ],
    [
      { [PROM]: '[[instances]]\nurls = ["http://x/m"]\ninterval_times = 100000\n' },
      'instances.interval_times',
      /over 24h/,
    ],
    [{ 'config.toml': '[global]\nlabels = { "" = "x" }\n' }, 'global.labels', /"" is not a valid label name/],
    [
      { [PROM]: '[[instances]]\nurls = ["http://x/m"]\nlabels = { 1abc = "x" }\n' },
      'instances.labels',
      /"1abc" is not a valid label name/,
    ],
    [
      { [PROM]: '[[instances]]\nurls = ["http://x/m"]\nlabels = { "a:b" = "x" }\n' },
      'instances.labels',
      /"a:b" is not a valid label name/,
    ],
    [
      { [PROM]: '[[instances]]\nurls = ["https://x/m"]\ntls_ca = "/nonexistent/ca.pem"\n' },
      'instances.tls_ca',
      /cannot read \/nonexistent\/ca\.pem: ENOENT/,
    ],
  ];
  for (const [files, key, message] of cases) {
    const err = loadError(files);
    assert.equal(err.key, key, err.message);
    assert.match(err.message, message);
    assert.ok(err.line > 0, `${err.message}: a line number`);
  }
  // Categraf's sanitising still applies: "app.kubernetes.io/name" is a fine label key
  const [inst] = instancesOf({
    [PROM]:
      '[[instances]]\nurls = ["http://x/m"]\nlabels = { "app.kubernetes.io/name" = "x", "my-label" = "y" }\n',
  });
  assert.equal(inst.labels['my-label'], 'y');
});
