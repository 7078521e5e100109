import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { after, before, describe, it, test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { startSimulator, type Simulator } from './simulator.js';
import { fmt } from './util.js';

// ---------------------------------------------------------------------------
// helpers

interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  body: string;
}

function request(
  url: string,
  opts: { token?: string; gzip?: boolean; ca?: string; insecure?: boolean } = {},
): Promise<Resp> {
  const u = new URL(url);
  const headers: Record<string, string> = {};
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.gzip) headers['Accept-Encoding'] = 'gzip';
  return new Promise((resolve, reject) => {
    const cb = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body =
          res.headers['content-encoding'] === 'gzip'
            ? gunzipSync(raw).toString('utf8')
            : raw.toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, body });
      });
      res.on('error', reject);
    };
    const req =
      u.protocol === 'https:'
        ? https.request(
            url,
            {
              headers,
              agent: false,
              ...(opts.ca ? { ca: opts.ca } : {}),
              rejectUnauthorized: !opts.insecure,
            },
            cb,
          )
        : http.request(url, { headers, agent: false }, cb);
    req.on('error', reject);
    req.end();
  });
}

function rawExchange(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', reject);
  });
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  key: string;
  value: number;
  ts?: number;
}

interface Page {
  samples: Sample[];
  byKey: Map<string, Sample>;
  types: Map<string, string>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LNAME = '[a-zA-Z_][a-zA-Z0-9_]*';
const LVAL = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const VALUE = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]Inf|NaN)';
const SAMPLE_RE = new RegExp(
  `^(${NAME})(?:\\{((?:${LNAME}=${LVAL})(?:,${LNAME}=${LVAL})*)?\\})? (${VALUE})(?: (-?\\d+))?$`,
);
const HELP_RE = new RegExp(`^# HELP (${NAME}) .*$`);
const TYPE_RE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses and validates a Prometheus text-format page; every line must be valid. */
function parsePage(text: string): Page {
  assert.ok(text.endsWith('\n'), 'page ends with a newline');
  const lines = text.slice(0, -1).split('\n');
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const byKey = new Map<string, Sample>();
  lines.forEach((line, i) => {
    if (line.startsWith('#')) {
      const t = TYPE_RE.exec(line);
      if (t) {
        assert.ok(!types.has(t[1]!), `line ${i + 1}: duplicate TYPE for ${t[1]}`);
        types.set(t[1]!, t[2]!);
        return;
      }
      assert.match(line, HELP_RE, `line ${i + 1}: bad comment`);
      return;
    }
    const m = SAMPLE_RE.exec(line);
    assert.ok(m, `line ${i + 1} is not a valid sample: ${line.slice(0, 200)}`);
    const labels: Record<string, string> = {};
    const names: string[] = [];
    for (const lm of (m[2] ?? '').matchAll(LABEL_RE)) {
      labels[lm[1]!] = lm[2]!;
      names.push(lm[1]!);
    }
    assert.equal(new Set(names).size, names.length, `line ${i + 1}: duplicate label`);
    const fam = familyOf(m[1]!, types);
    assert.ok(types.has(fam), `line ${i + 1}: sample ${m[1]} before its # TYPE`);
    const key = `${m[1]}{${m[2] ?? ''}}`;
    assert.ok(!byKey.has(key), `line ${i + 1}: duplicate series ${key}`);
    const s: Sample = {
      name: m[1]!,
      labels,
      key,
      value: Number(m[3]!.replace('Inf', 'Infinity')),
      ...(m[4] ? { ts: Number(m[4]) } : {}),
    };
    samples.push(s);
    byKey.set(key, s);
  });
  return { samples, byKey, types };
}

function familyOf(name: string, types: Map<string, string>): string {
  if (types.has(name)) return name;
  for (const suf of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suf)) {
      const base = name.slice(0, -suf.length);
      const t = types.get(base);
      if (t === 'histogram' || (t === 'summary' && suf !== '_bucket')) return base;
    }
  }
  return name;
}

/** Series whose value must never go down: counters, histogram buckets/sums/counts, summary sums/counts. */
function isMonotone(s: Sample, types: Map<string, string>): boolean {
  const t = types.get(familyOf(s.name, types));
  if (t === 'counter' || t === 'histogram') return true;
  return t === 'summary' && (s.name.endsWith('_sum') || s.name.endsWith('_count'));
}

function assertMonotone(a: Page, b: Page, what: string): number {
  let compared = 0;
  for (const s of b.samples) {
    const p = a.byKey.get(s.key);
    if (!p || !isMonotone(s, b.types)) continue;
    compared++;
    assert.ok(s.value >= p.value, `${what}: ${s.key} went down ${p.value} -> ${s.value}`);
  }
  return compared;
}

function assertHistogramsConsistent(page: Page, what: string): number {
  const groups = new Map<string, { les: [number, number][]; count?: number; sum?: number }>();
  for (const s of page.samples) {
    const fam = familyOf(s.name, page.types);
    if (page.types.get(fam) !== 'histogram') continue;
    const { le, ...rest } = s.labels;
    const gk = fam + JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(gk) ?? { les: [] };
    groups.set(gk, g);
    if (s.name.endsWith('_bucket')) g.les.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    else if (s.name.endsWith('_count')) g.count = s.value;
    else if (s.name.endsWith('_sum')) g.sum = s.value;
  }
  for (const [k, g] of groups) {
    assert.ok(
      g.les.length > 0 && g.count !== undefined && g.sum !== undefined,
      `${what}: incomplete histogram ${k}`,
    );
    for (let i = 1; i < g.les.length; i++) {
      assert.ok(g.les[i]![0] > g.les[i - 1]![0], `${what}: ${k} le not increasing`);
      assert.ok(
        g.les[i]![1] >= g.les[i - 1]![1],
        `${what}: ${k} bucket counts decrease at le=${g.les[i]![0]}`,
      );
    }
    const inf = g.les[g.les.length - 1]!;
    assert.equal(inf[0], Infinity, `${what}: ${k} has no +Inf bucket`);
    assert.equal(inf[1], g.count, `${what}: ${k} +Inf != _count`);
    assert.ok(g.sum! >= 0, `${what}: ${k} negative sum`);
  }
  return groups.size;
}

function series(page: Page, name: string): Sample[] {
  return page.samples.filter((s) => s.name === name);
}

interface PodJson {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec: {
    containers: { name: string; resources: { limits?: Record<string, string> } }[];
    initContainers?: {
      name: string;
      restartPolicy?: string;
      resources: { limits?: Record<string, string> };
    }[];
  };
  status: {
    phase: string;
    qosClass: string;
    conditions: { type: string; status: string; reason?: string }[];
    containerStatuses: {
      name: string;
      restartCount: number;
      ready: boolean;
      state: { running?: unknown; waiting?: { reason: string }; terminated?: { reason: string } };
      lastState: { terminated?: { reason: string; exitCode: number } };
    }[];
  };
}

// ---------------------------------------------------------------------------

const TOKEN = 'good-token';
const FORBIDDEN = 'authenticated-but-not-allowed';
const T0 = Date.UTC(2026, 5, 26, 10, 0, 0, 0);
let clock = T0;
let sim: Simulator;

describe('node simulator', () => {
  before(async () => {
    sim = await startSimulator({
      kubeProxyPort: 0,
      kubeProxyHealthPort: 0,
      kubeletPort: 0,
      tokens: [TOKEN],
      forbiddenTokens: [FORBIDDEN],
      now: () => clock,
    });
  });
  after(async () => {
    await sim.close();
  });

  it('reports the actual ports and URLs', () => {
    for (const p of Object.values(sim.ports)) assert.ok(p > 0 && p < 65536);
    assert.equal(sim.kubeProxyUrl, `http://127.0.0.1:${sim.ports.kubeProxy}/metrics`);
    assert.equal(sim.kubeProxyHealthUrl, `http://127.0.0.1:${sim.ports.kubeProxyHealth}/healthz`);
    assert.equal(sim.kubeletUrl, `https://127.0.0.1:${sim.ports.kubelet}`);
    assert.match(sim.caCertPem, /^-----BEGIN CERTIFICATE-----/);
  });

  it('the kubelet serves /metrics/resource from the same readings as cAdvisor, and /metrics/probes with failures for the crash-looping container', async () => {
    const res = await request(`${sim.kubeletUrl}/metrics/resource`, { token: TOKEN, insecure: true });
    assert.equal(res.status, 200);
    const rp = parsePage(res.body);
    const cad = parsePage(
      (await request(`${sim.kubeletUrl}/metrics/cadvisor`, { token: TOKEN, insecure: true })).body,
    );
    for (const name of [
      'container_cpu_usage_seconds_total',
      'container_memory_working_set_bytes',
      'container_start_time_seconds',
      'node_cpu_usage_seconds_total',
      'node_memory_working_set_bytes',
      'pod_cpu_usage_seconds_total',
      'pod_memory_working_set_bytes',
      'resource_scrape_error',
    ])
      assert.ok(series(rp, name).length > 0, `/metrics/resource has ${name}`);
    // the same value and time as cAdvisor's series of the container (the clock stands still)
    const containers = series(rp, 'container_memory_working_set_bytes');
    assert.ok(containers.length >= 10, `${containers.length} containers`);
    for (const r of containers) {
      const c = series(cad, 'container_memory_working_set_bytes').find(
        (x) =>
          x.labels.namespace === r.labels.namespace &&
          x.labels.pod === r.labels.pod &&
          x.labels.container === r.labels.container,
      );
      assert.ok(c, `cAdvisor has ${r.key}`);
      assert.equal(r.value, c.value, r.key);
      assert.equal(r.ts, c.ts, r.key);
      assert.deepEqual(Object.keys(r.labels).sort(), ['container', 'namespace', 'pod']);
    }
    const root = series(cad, 'container_memory_working_set_bytes').find((x) => x.labels.id === '/');
    assert.equal(series(rp, 'node_memory_working_set_bytes')[0]!.value, root!.value);

    const pr = await request(`${sim.kubeletUrl}/metrics/probes`, { token: TOKEN, insecure: true });
    assert.equal(pr.status, 200);
    const probes = series(parsePage(pr.body), 'prober_probe_total');
    const failed = probes.filter((x) => x.labels.result === 'failed');
    assert.ok(probes.length >= 20, `${probes.length} probe series`);
    assert.deepEqual(
      [...new Set(failed.map((x) => x.labels.pod.replace(/-[^-]+-[^-]+$/, '')))],
      ['flaky-api'],
    );
    assert.deepEqual([...new Set(failed.map((x) => x.labels.probe_type))].sort(), ['Liveness', 'Readiness']);
    for (const x of probes) assert.ok(x.labels.pod_uid && x.labels.container, x.key);
    const forbidden = await request(`${sim.kubeletUrl}/metrics/probes`, { token: FORBIDDEN, insecure: true });
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.body, /subresource=metrics/);
  });

  it('kube-proxy serves Prometheus text with the expected families', async () => {
    const r = await request(sim.kubeProxyUrl);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const page = parsePage(r.body);
    const expect: [string, string][] = [
      ['kubeproxy_sync_proxy_rules_duration_seconds', 'histogram'],
      ['kubeproxy_network_programming_duration_seconds', 'histogram'],
      ['kubeproxy_sync_full_proxy_rules_duration_seconds', 'histogram'],
      ['kubeproxy_sync_partial_proxy_rules_duration_seconds', 'histogram'],
      ['kubeproxy_sync_proxy_rules_last_timestamp_seconds', 'gauge'],
      ['kubeproxy_sync_proxy_rules_iptables_total', 'gauge'],
      ['rest_client_requests_total', 'counter'],
      ['rest_client_request_duration_seconds', 'histogram'],
      ['go_goroutines', 'gauge'],
      ['go_gc_duration_seconds', 'summary'],
      ['process_cpu_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['kubernetes_build_info', 'gauge'],
    ];
    for (const [name, type] of expect) assert.equal(page.types.get(name), type, name);
    for (const s of series(page, 'rest_client_requests_total'))
      assert.deepEqual(Object.keys(s.labels), ['code', 'host', 'method']);
    const last = series(page, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds')[0]!.value;
    assert.ok(last <= clock / 1000 + 1 && last > clock / 1000 - 60, 'last sync is recent');
    // all syncs = full + partial
    const count = (n: string) => series(page, n + '_count')[0]!.value;
    assert.equal(
      count('kubeproxy_sync_proxy_rules_duration_seconds'),
      count('kubeproxy_sync_full_proxy_rules_duration_seconds') +
        count('kubeproxy_sync_partial_proxy_rules_duration_seconds'),
    );
    assert.ok(assertHistogramsConsistent(page, 'kube-proxy') >= 8);
    assert.equal((await request(sim.kubeProxyUrl.replace('/metrics', '/nope'))).status, 404);
  });

  it('kube-proxy /healthz answers like the real one', async () => {
    const r = await request(sim.kubeProxyHealthUrl);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    const j = JSON.parse(r.body) as Record<string, unknown>;
    const goTime = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC m=\+\d+\.\d{9}$/;
    assert.match(String(j.lastUpdated), goTime);
    assert.match(String(j.currentTime), goTime);
    assert.ok(String(j.currentTime).startsWith('2026-06-26 10:00:00'));
    assert.match(r.body, /^\{"lastUpdated": "[^"]+","currentTime": "[^"]+"/);
  });

  it('kubelet: 401 without or with an unknown token, 403 for a forbidden one, 200 with a good one', async () => {
    const base = sim.kubeletUrl;
    const ca = sim.caCertPem;
    for (const path of ['/metrics', '/metrics/cadvisor', '/pods', '/healthz']) {
      const none = await request(base + path, { ca });
      assert.equal(none.status, 401, path);
      assert.equal(none.body, 'Unauthorized');
      assert.equal((await request(base + path, { ca, token: 'nope' })).status, 401);
    }
    for (const [path, sub] of [
      ['/metrics', 'metrics'],
      ['/metrics/cadvisor', 'metrics'],
      ['/pods', 'pods'],
    ]) {
      const r = await request(base + path!, { ca, token: FORBIDDEN });
      assert.equal(r.status, 403);
      assert.equal(
        r.body,
        `Forbidden (user=system:serviceaccount:nodegraf:nodegraf, verb=get, resource=nodes, subresource=${sub})`,
      );
    }
    const ok = await request(base + '/metrics', { ca, token: TOKEN });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const h = await request(base + '/healthz', { token: TOKEN, insecure: true });
    assert.equal(h.status, 200);
    assert.equal(h.body, 'ok');
    assert.equal((await request(base + '/nope', { ca, token: TOKEN })).status, 404);
  });

  it('kubelet certificate is self-signed and verifies as its own CA', async () => {
    await assert.rejects(
      request(sim.kubeletUrl + '/healthz', { token: TOKEN }),
      /self[- ]signed|unable to verify/i,
    );
    assert.equal(
      (await request(sim.kubeletUrl + '/healthz', { token: TOKEN, ca: sim.caCertPem })).status,
      200,
    );
  });

  it("plain HTTP to the kubelet port gets Go net/http's 400", async () => {
    const raw = await rawExchange(sim.ports.kubelet, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal(raw, 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
    const r = await request(`http://127.0.0.1:${sim.ports.kubelet}/metrics`);
    assert.equal(r.status, 400);
    assert.equal(r.body, 'Client sent an HTTP request to an HTTPS server.\n');
  });

  it('kubelet /metrics has the kubelet families, valid and consistent', async () => {
    const page = parsePage(
      (await request(sim.kubeletUrl + '/metrics', { token: TOKEN, ca: sim.caCertPem })).body,
    );
    for (const [name, type] of [
      ['kubelet_running_pods', 'gauge'],
      ['kubelet_running_containers', 'gauge'],
      ['kubelet_runtime_operations_total', 'counter'],
      ['kubelet_runtime_operations_errors_total', 'counter'],
      ['kubelet_runtime_operations_duration_seconds', 'histogram'],
      ['kubelet_pleg_relist_duration_seconds', 'histogram'],
      ['kubelet_pleg_relist_interval_seconds', 'histogram'],
      ['kubelet_pod_start_duration_seconds', 'histogram'],
      ['kubelet_volume_stats_used_bytes', 'gauge'],
      ['kubelet_volume_stats_capacity_bytes', 'gauge'],
      ['storage_operation_duration_seconds', 'histogram'],
      ['rest_client_requests_total', 'counter'],
      ['rest_client_request_duration_seconds', 'histogram'],
      ['go_goroutines', 'gauge'],
      ['process_resident_memory_bytes', 'gauge'],
      ['kubernetes_build_info', 'gauge'],
    ]) {
      assert.equal(page.types.get(name!), type, name);
    }
    assert.deepEqual(
      series(page, 'kubelet_running_containers').map((s) => s.labels.container_state),
      ['created', 'exited', 'running'],
    );
    assert.equal(series(page, 'kubelet_running_pods')[0]!.value, 11); // 12 pods, one completed Job
    assert.ok(assertHistogramsConsistent(page, 'kubelet') > 20);
  });

  it('cAdvisor: real label sets, sandboxes, timestamps, scenario containers', async () => {
    const r = await request(sim.kubeletUrl + '/metrics/cadvisor', { token: TOKEN, ca: sim.caCertPem });
    assert.equal(r.status, 200);
    const page = parsePage(r.body);
    for (const name of [
      'container_cpu_usage_seconds_total',
      'container_cpu_cfs_periods_total',
      'container_cpu_cfs_throttled_periods_total',
      'container_cpu_cfs_throttled_seconds_total',
      'container_memory_working_set_bytes',
      'container_memory_usage_bytes',
      'container_memory_rss',
      'container_memory_cache',
      'container_spec_memory_limit_bytes',
      'container_spec_cpu_quota',
      'container_spec_cpu_period',
      'container_spec_cpu_shares',
      'container_network_receive_bytes_total',
      'container_network_transmit_bytes_total',
      'container_fs_reads_bytes_total',
      'container_fs_writes_bytes_total',
      'container_oom_events_total',
      'container_last_seen',
      'container_start_time_seconds',
      'machine_cpu_cores',
      'machine_memory_bytes',
    ]) {
      assert.ok(page.types.has(name), name);
    }
    const base = ['container', 'id', 'image', 'name', 'namespace', 'pod'];
    for (const s of series(page, 'container_memory_working_set_bytes'))
      assert.deepEqual(Object.keys(s.labels), base);
    for (const s of series(page, 'container_cpu_usage_seconds_total'))
      assert.deepEqual(Object.keys(s.labels), [
        'container',
        'cpu',
        'id',
        'image',
        'name',
        'namespace',
        'pod',
      ]);
    for (const s of series(page, 'container_network_receive_bytes_total')) {
      assert.deepEqual(Object.keys(s.labels), [
        'container',
        'id',
        'image',
        'interface',
        'name',
        'namespace',
        'pod',
      ]);
      assert.equal(s.labels.interface, 'eth0');
      assert.equal(s.labels.container, '');
      assert.ok(
        s.labels.id === '/' || s.labels.image!.startsWith('registry.k8s.io/pause:'),
        'network on the sandbox',
      );
    }
    for (const s of series(page, 'container_fs_writes_bytes_total'))
      assert.deepEqual(Object.keys(s.labels), [
        'container',
        'device',
        'id',
        'image',
        'name',
        'namespace',
        'pod',
      ]);

    // timestamps: explicit ms on samples, none on spec_* and machine_*; close to now, different per cgroup
    const stamps = new Set<number>();
    for (const s of page.samples) {
      if (
        s.name.startsWith('container_spec_') ||
        s.name === 'container_start_time_seconds' ||
        s.name.startsWith('machine_') ||
        s.name.endsWith('scrape_error') ||
        s.name === 'cadvisor_version_info'
      ) {
        assert.equal(s.ts, undefined, s.key);
      } else {
        assert.ok(s.ts !== undefined, `${s.key} has a timestamp`);
        assert.ok(s.ts! <= clock && s.ts! > clock - 10000, `${s.key} timestamp ${s.ts} near ${clock}`);
        stamps.add(s.ts!);
      }
    }
    assert.ok(stamps.size > 10, 'timestamps differ per cgroup');

    const ws = new Map(series(page, 'container_memory_working_set_bytes').map((s) => [s.labels.id!, s]));
    const lim = new Map(
      series(page, 'container_spec_memory_limit_bytes').map((s) => [s.labels.id!, s.value]),
    );
    const quota = new Set(series(page, 'container_spec_cpu_quota').map((s) => s.labels.id!));
    const byContainer = (name: string) => [...ws.values()].find((s) => s.labels.container === name)!;
    // near its memory limit
    const pg = byContainer('postgres');
    const ratio = pg.value / lim.get(pg.labels.id!)!;
    assert.ok(ratio > 0.93 && ratio < 0.97, `postgres at ${ratio} of its limit`);
    // no limits: memory limit 0, no quota series (as the real one)
    const dbg = byContainer('debug-shell');
    assert.equal(lim.get(dbg.labels.id!), 0);
    assert.ok(!quota.has(dbg.labels.id!));
    assert.ok(
      !series(page, 'container_cpu_cfs_periods_total').some((s) => s.labels.container === 'debug-shell'),
    );
    // sandboxes: container="" with the pause image, one per running pod
    const pauses = series(page, 'container_memory_working_set_bytes').filter((s) =>
      s.labels.image!.startsWith('registry.k8s.io/pause:'),
    );
    assert.equal(pauses.length, 11);
    for (const s of pauses) assert.equal(s.labels.container, '');
    // limits and quota
    const chk = byContainer('checkout');
    assert.equal(lim.get(chk.labels.id!), 512 * 1024 * 1024);
    assert.equal(
      series(page, 'container_spec_cpu_quota').find((s) => s.labels.id === chk.labels.id)!.value,
      20000,
    );
    assert.ok(series(page, 'machine_cpu_cores')[0]!.value > 0);
  });

  it('/pods is consistent with the cAdvisor series', async () => {
    const pods = JSON.parse(
      (await request(sim.kubeletUrl + '/pods', { token: TOKEN, ca: sim.caCertPem })).body,
    ) as { kind: string; apiVersion: string; items: PodJson[] };
    assert.equal(pods.kind, 'PodList');
    assert.equal(pods.apiVersion, 'v1');
    assert.equal(pods.items.length, 12);
    const cad = parsePage(
      (await request(sim.kubeletUrl + '/metrics/cadvisor', { token: TOKEN, ca: sim.caCertPem })).body,
    );
    const running = new Map(
      pods.items
        .filter((p) => p.status.phase === 'Running')
        .map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]),
    );
    const seen = new Set<string>();
    for (const s of series(cad, 'container_cpu_usage_seconds_total')) {
      if (!s.labels.pod) continue;
      const k = `${s.labels.namespace}/${s.labels.pod}`;
      const p = running.get(k);
      assert.ok(p, `${k} from cAdvisor is a running pod in /pods`);
      seen.add(k);
      assert.ok(s.labels.id!.includes(p.metadata.uid), `cgroup id ${s.labels.id} contains the pod UID`);
      // a native sidecar is an init container with restartPolicy Always, with a cgroup of its own
      if (s.labels.container)
        assert.ok(
          p.spec.containers.some((c) => c.name === s.labels.container) ||
            p.spec.initContainers?.some((c) => c.name === s.labels.container && c.restartPolicy === 'Always'),
          `${s.labels.container} in ${k}`,
        );
    }
    const db = pods.items.find((p) => p.metadata.name === 'db-0')!;
    assert.deepEqual(
      db.spec.initContainers?.map((c) => [c.name, c.restartPolicy]),
      [['postgres-exporter', 'Always']],
      'db-0 runs a native sidecar',
    );
    assert.deepEqual(
      db.spec.containers.map((c) => c.name),
      ['postgres'],
    );
    assert.ok(
      series(cad, 'container_cpu_usage_seconds_total').some(
        (s) => s.labels.container === 'postgres-exporter',
      ),
    );
    assert.deepEqual([...seen].sort(), [...running.keys()].sort(), 'every running pod has cAdvisor series');

    const find = (pred: (p: PodJson) => boolean) => pods.items.find(pred)!;
    const owner = (p: PodJson) => p.metadata.ownerReferences?.[0];
    const web = pods.items.filter((p) => owner(p)?.name === 'web-5d4f8c7b9');
    assert.equal(web.length, 2);
    for (const p of web) {
      assert.equal(owner(p)!.kind, 'ReplicaSet');
      assert.ok(p.metadata.labels.region && p.metadata.labels.dept && p.metadata.labels.app === 'web');
    }
    for (const kind of ['StatefulSet', 'DaemonSet', 'Job'])
      assert.ok(
        pods.items.some((p) => owner(p)?.kind === kind),
        kind,
      );
    assert.ok(
      pods.items.some((p) => !p.metadata.ownerReferences),
      'a bare pod',
    );
    const done = find((p) => p.status.phase === 'Succeeded');
    assert.equal(owner(done)!.kind, 'Job');
    assert.match(owner(done)!.name, /^cleanup-\d+$/);
    assert.equal(done.status.containerStatuses[0]!.state.terminated!.reason, 'Completed');

    const crash = find((p) => p.metadata.name.startsWith('flaky-api-'));
    const cs = crash.status.containerStatuses[0]!;
    assert.equal(cs.state.waiting?.reason, 'CrashLoopBackOff');
    assert.ok(cs.restartCount > 0);
    assert.equal(cs.ready, false);
    assert.equal(crash.status.conditions.find((c) => c.type === 'Ready')!.status, 'False');

    const oom = find((p) => p.metadata.name.startsWith('recommender-'));
    const os = oom.status.containerStatuses[0]!;
    assert.ok(os.state.running);
    assert.equal(os.lastState.terminated?.reason, 'OOMKilled');
    assert.equal(os.lastState.terminated?.exitCode, 137);
    assert.equal(
      find((p) => p.metadata.name.startsWith('checkout-')).status.conditions.find((c) => c.type === 'Ready')!
        .status,
      'True',
    );
    assert.equal(find((p) => p.metadata.name === 'debug-shell').status.qosClass, 'BestEffort');
  });

  it('counters advance between scrapes taken at different simulated times', async () => {
    const get = async (path: string) =>
      parsePage((await request(sim.kubeletUrl + path, { token: TOKEN, ca: sim.caCertPem })).body);
    clock = T0 + 60_000;
    const a = {
      cad: await get('/metrics/cadvisor'),
      kl: await get('/metrics'),
      kp: parsePage((await request(sim.kubeProxyUrl)).body),
    };
    clock = T0 + 75_000;
    const b = {
      cad: await get('/metrics/cadvisor'),
      kl: await get('/metrics'),
      kp: parsePage((await request(sim.kubeProxyUrl)).body),
    };
    assert.ok(assertMonotone(a.cad, b.cad, 'cadvisor') > 500);
    assert.ok(assertMonotone(a.kl, b.kl, 'kubelet') > 100);
    assert.ok(assertMonotone(a.kp, b.kp, 'kube-proxy') > 50);
    const cpu = (p: Page, c: string) =>
      series(p, 'container_cpu_usage_seconds_total').find((s) => s.labels.container === c)!;
    for (const c of ['web', 'checkout', 'postgres', 'kube-proxy']) {
      assert.ok(cpu(b.cad, c).value > cpu(a.cad, c).value, `${c} CPU advanced`);
      assert.ok(cpu(b.cad, c).ts! > cpu(a.cad, c).ts!, `${c} timestamp advanced`);
    }
    // the throttled container: throttled periods grow almost as fast as periods
    const d = (name: string) => {
      const f = (p: Page) => series(p, name).find((s) => s.labels.container === 'checkout')!.value;
      return f(b.cad) - f(a.cad);
    };
    const throttledRatio =
      d('container_cpu_cfs_throttled_periods_total') / d('container_cpu_cfs_periods_total');
    assert.ok(throttledRatio > 0.4 && throttledRatio <= 1, `checkout throttled ratio ${throttledRatio}`);
    // CPU use of the throttled container stays just below its quota (0.2 cores)
    const cores =
      (cpu(b.cad, 'checkout').value - cpu(a.cad, 'checkout').value) /
      ((cpu(b.cad, 'checkout').ts! - cpu(a.cad, 'checkout').ts!) / 1000);
    assert.ok(cores > 0.17 && cores <= 0.2, `checkout uses ${cores} cores`);
    const net = (p: Page) =>
      series(p, 'container_network_transmit_bytes_total').find((s) => s.labels.pod?.startsWith('web-'))!
        .value;
    assert.ok(net(b.cad) > net(a.cad));
    const ops = (p: Page) =>
      series(p, 'kubelet_runtime_operations_total').find(
        (s) => s.labels.operation_type === 'list_containers',
      )!.value;
    assert.ok(ops(b.kl) > ops(a.kl));
  });

  it('the crash loop restarts every few minutes and the OOM-killed container sees OOM events', async () => {
    const restarts = (t: number, prefix: string) => {
      const pods = JSON.parse(sim.render.pods(t)) as { items: PodJson[] };
      return pods.items.find((p) => p.metadata.name.startsWith(prefix))!.status.containerStatuses[0]!
        .restartCount;
    };
    assert.ok(restarts(T0 + 11 * 60_000, 'flaky-api-') >= restarts(T0, 'flaky-api-') + 2);
    assert.ok(restarts(T0 + 25 * 60_000, 'recommender-') >= restarts(T0, 'recommender-') + 2);
    let maxOom = 0;
    for (let t = T0; t < T0 + 12 * 60_000; t += 30_000) {
      const page = parsePage(sim.render.cadvisor(t));
      const s = series(page, 'container_oom_events_total').find((x) => x.labels.container === 'recommender');
      if (s) maxOom = Math.max(maxOom, s.value);
    }
    assert.ok(maxOom >= 1, 'container_oom_events_total increments');
  });

  it('counters never go down and histograms stay consistent over an hour (restarts included)', () => {
    const start = T0 + 5 * 60_000;
    let prev: Page[] | undefined;
    for (let t = start; t <= start + 3600_000; t += 37_000) {
      const pages = [
        sim.render.cadvisor(t),
        sim.render.kubeletMetrics(t),
        sim.render.kubeProxyMetrics(t),
      ].map(parsePage);
      pages.forEach((p, i) => assertHistogramsConsistent(p, `page ${i} at ${t}`));
      if (prev) pages.forEach((p, i) => assertMonotone(prev![i]!, p, `page ${i} at ${t}`));
      prev = pages;
    }
  });

  it('gzip when Accept-Encoding: gzip is sent', async () => {
    clock = T0 + 90_000;
    const plain = await request(sim.kubeletUrl + '/metrics/cadvisor', { token: TOKEN, ca: sim.caCertPem });
    const gz = await request(sim.kubeletUrl + '/metrics/cadvisor', {
      token: TOKEN,
      ca: sim.caCertPem,
      gzip: true,
    });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.ok(gz.raw.length < plain.raw.length / 4);
    assert.equal(gz.body, plain.body);
    const kp = await request(sim.kubeProxyUrl, { gzip: true });
    assert.equal(kp.headers['content-encoding'], 'gzip');
    parsePage(kp.body);
  });

  it('faults: forced status, plain-HTTP kubelet, token rotation, malformed line', async () => {
    const ca = sim.caCertPem;
    sim.setFaults({ kubeletStatus: 503, kubeProxyStatus: 500 });
    assert.equal((await request(sim.kubeletUrl + '/metrics', { token: TOKEN, ca })).status, 503);
    assert.equal((await request(sim.kubeProxyUrl)).status, 500);
    sim.setFaults({ kubeletPlainHttp: true });
    const plain = `http://127.0.0.1:${sim.ports.kubelet}`;
    assert.equal((await request(plain + '/pods')).status, 401);
    assert.equal((await request(plain + '/healthz', { token: TOKEN })).body, 'ok');
    sim.setFaults({ cadvisorMalformedLine: true });
    const bad = (await request(sim.kubeletUrl + '/metrics/cadvisor', { token: TOKEN, ca })).body;
    assert.throws(() => parsePage(bad));
    sim.setFaults({});
    sim.setTokens(['rotated']);
    assert.equal((await request(sim.kubeletUrl + '/healthz', { token: TOKEN, ca })).status, 401);
    assert.equal((await request(sim.kubeletUrl + '/healthz', { token: 'rotated', ca })).status, 200);
    sim.setTokens([TOKEN]);
  });
});

describe('node simulator at benchmark scale', () => {
  it('110 pods and extra series: consistent, valid, deterministic', async () => {
    const now = T0;
    const big = await startSimulator({
      kubeProxyPort: 0,
      kubeProxyHealthPort: 0,
      kubeletPort: 0,
      pods: 110,
      now: () => now,
      seed: 7,
    });
    const more = await startSimulator({
      kubeProxyPort: 0,
      kubeProxyHealthPort: 0,
      kubeletPort: 0,
      pods: 110,
      extraSeries: 5000,
      now: () => now,
      seed: 7,
      cgroupDriver: 'systemd',
    });
    try {
      const page = parsePage(big.render.cadvisor());
      const pods = JSON.parse(big.render.pods()) as { items: PodJson[] };
      assert.equal(pods.items.length, 110);
      const names = new Set(pods.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
      assert.equal(names.size, 110, 'pod names are unique');
      const inCad = new Set(
        series(page, 'container_cpu_usage_seconds_total')
          .filter((s) => s.labels.pod)
          .map((s) => `${s.labels.namespace}/${s.labels.pod}`),
      );
      assert.equal(inCad.size, pods.items.filter((p) => p.status.phase === 'Running').length);
      assert.equal(big.render.cadvisor(), big.render.cadvisor(), 'same time, same page');
      const pageMore = parsePage(more.render.cadvisor());
      const extra = pageMore.samples.length - page.samples.length;
      assert.ok(extra > 4000 && extra < 7000, `extraSeries 5000 added ${extra}`);
      assert.ok(
        series(pageMore, 'container_memory_working_set_bytes').some(
          (s) => s.labels.id!.includes('.slice/') && s.labels.id!.includes('kubepods'),
        ),
      );
      assertHistogramsConsistent(parsePage(big.render.kubeletMetrics()), 'kubelet 110');
    } finally {
      await big.close();
      await more.close();
    }
  });

  it('formats numbers as Go does', () => {
    assert.equal(fmt(0), '0');
    assert.equal(fmt(12288), '12288');
    assert.equal(fmt(1048576), '1.048576e+06');
    assert.equal(fmt(8216887296), '8.216887296e+09');
    assert.equal(fmt(0.016674), '0.016674');
    assert.equal(fmt(0.000099), '9.9e-05');
    assert.equal(fmt(1.8446744073709552e19), '1.8446744073709552e+19');
    assert.equal(fmt(Infinity), '+Inf');
    assert.equal(fmt(NaN), 'NaN');
  });
});

test('pod churn: replaced pods get new names, UIDs and container ids everywhere; the scenario pods stay', async () => {
  const sim = await startSimulator({ kubeProxyPort: 0, kubeProxyHealthPort: 0, kubeletPort: 0, pods: 30 });
  try {
    const before = sim.model.pods.map((p) => ({
      key: `${p.namespace}/${p.name}`,
      uid: p.uid,
      kind: p.workloadKind,
    }));
    const cadvisorBefore = sim.render.cadvisor();
    const gone = sim.churn(5);
    assert.equal(gone.length, 5);
    assert.equal(sim.churned, 5);
    assert.equal(sim.model.pods.length, before.length, 'each replaced, none lost');
    const uids = new Set(sim.model.pods.map((p) => p.uid));
    const replaced = before.filter((b) => !uids.has(b.uid));
    assert.equal(replaced.length, 5);
    const podList = JSON.parse(sim.render.pods()) as {
      items: Array<{ metadata: { name: string; uid: string } }>;
    };
    const cadvisor = sim.render.cadvisor();
    for (const p of sim.model.pods.filter((q) => !before.some((b) => b.uid === q.uid))) {
      assert.ok(
        podList.items.some((i) => i.metadata.uid === p.uid),
        `/pods lists ${p.name}`,
      );
      assert.ok(cadvisor.includes(`pod="${p.name}"`), `cAdvisor has ${p.name}`);
      const id = p.containers[0]
        ? cadvisor.match(
            new RegExp(`container="${p.containers[0].name}"[^}]*id="([^"]+)"[^}]*pod="${p.name}"`),
          )
        : null;
      if (id) assert.ok(!cadvisorBefore.includes(id[1]), 'a new container id');
    }
    for (const r of replaced) {
      if (r.kind === 'StatefulSet') continue; // recreated under the same name
      assert.ok(!cadvisor.includes(`pod="${r.key.split('/')[1]}"`), `${r.key} is gone from cAdvisor`);
    }
    // the scenario's pods (crash loop, OOM, throttled) are never churned
    for (const name of ['checkout', 'recommender']) {
      assert.ok(
        sim.model.pods.some((p) => p.name.startsWith(name)),
        `${name} still there`,
      );
    }
  } finally {
    await sim.close();
  }
});
