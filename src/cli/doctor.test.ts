// `doctor` against the node simulator with each fault injected: one diagnosis each, with the fix.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Config, ScrapeInstance } from '../config/types.js';
import { startSimulator, type Simulator } from '../sim/simulator.js';
import { testGlobal, testInstance, testWriter, testWriterOpt, type TestInstance } from '../testing/config.js';
import { startFaultProxy } from '../testing/fault-proxy.js';
import { freePort } from '../testing/net.js';
import { demoToken } from './demo-token.js';
import { diagnoseTargets, diagnoseWriter, formatDiagnosis, type Diagnosis } from './doctor.js';
import { fixture, fixturesMissing } from '../testing/shared.js';

function config(instances: ScrapeInstance[]): Config {
  return {
    dir: '/tmp',
    global: testGlobal(),
    writerOpt: testWriterOpt,
    writers: [],
    queue: { dir: '', maxBytes: 0 },
    log: { level: 'info', format: 'text' },
    http: { enable: false, address: '127.0.0.1:0', enableLifecycle: false, allowedHosts: [] },
    podMetadata: {
      enable: false,
      source: 'kubelet',
      nodeName: '',
      apiserverUrl: '',
      kubeletUrl: '',
      pollIntervalMs: 5000,
      bearerTokenFile: '',
      tlsCa: '',
      insecureSkipVerify: false,
      podLabels: [],
      podAnnotations: [],
      healthMetrics: false,
      dropStaleContainers: true,
    },
    derive: { enable: false },
    inputs: [{ name: 'prometheus', instances }],
  };
}

async function diagnose(inst: TestInstance): Promise<Diagnosis> {
  const [d] = await diagnoseTargets(config([testInstance({ labels: { job: 'kubelet' }, ...inst })]));
  console.log('# ' + formatDiagnosis(d).replace(/\n/g, '\n# '));
  return d;
}

describe('doctor: targets', () => {
  let sim: Simulator;
  let dir: string;
  const good = demoToken();
  const tls = { useTls: true, insecureSkipVerify: true };
  const file = (name: string, content: string) => {
    const f = join(dir, name);
    writeFileSync(f, content);
    return f;
  };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nodegraf-doctor-'));
    sim = await startSimulator({
      kubeProxyPort: 0,
      kubeProxyHealthPort: 0,
      kubeletPort: 0,
      tokens: [good],
      forbiddenTokens: ['no-rbac'],
    });
  });
  after(() => sim.close());

  test('healthy kubelet, cAdvisor and kube-proxy: OK with series count and latency', async () => {
    const token = file('good', good);
    const ds = await diagnoseTargets(
      config([
        testInstance({ urls: [sim.kubeProxyUrl], labels: { job: 'kube-proxy' } }),
        testInstance({
          urls: [`${sim.kubeletUrl}/metrics`, `${sim.kubeletUrl}/metrics/cadvisor`],
          bearerTokenFile: token,
          tls,
        }),
      ]),
    );
    assert.equal(ds.length, 3);
    for (const d of ds) {
      assert.equal(d.ok, true, formatDiagnosis(d));
      assert.match(d.message, /^\d+ series in \d+ ms/);
    }
    assert.match(ds[1].message, /valid until/);
  });

  test('scrape_protocols with PrometheusProto: the kubelet answers in protobuf, native histograms counted', async () => {
    const token = file('good', good);
    const [text, proto] = await diagnoseTargets(
      config([
        testInstance({ urls: [`${sim.kubeletUrl}/metrics`], bearerTokenFile: token, tls }),
        testInstance({
          urls: [`${sim.kubeletUrl}/metrics`],
          bearerTokenFile: token,
          tls,
          scrapeProtocols: ['PrometheusProto', 'PrometheusText0.0.4'],
        }),
      ]),
    );
    assert.equal(proto!.ok, true, formatDiagnosis(proto!));
    const m = /^(\d+) series in \d+ ms \(protobuf, (\d+) native histograms\)/.exec(proto!.message);
    assert.ok(m, proto!.message);
    const textSeries = Number(/^(\d+) series/.exec(text!.message)![1]);
    assert.doesNotMatch(text!.message, /protobuf/);
    // the same classic series as the text page, plus one per native histogram
    assert.equal(Number(m[1]), textSeries + Number(m[2]));
    assert.ok(Number(m[2]) >= 5);
  });

  test('connection refused: suggests $HOSTIP / metricsBindAddress', async () => {
    const port = await freePort();
    const d = await diagnose({ urls: [`http://127.0.0.1:${port}/metrics`] });
    assert.equal(d.ok, false);
    assert.match(d.message, /connection refused/);
    const k = await diagnose({
      urls: ['https://127.0.0.1:10250/metrics'].map((u) => u.replace('10250', String(port))),
    });
    assert.match(k.message, /connection refused/);
  });

  test('plain HTTP to the kubelet: use https:// and use_tls', async () => {
    const d = await diagnose({
      urls: [`http://127.0.0.1:${sim.ports.kubelet}/metrics`],
      bearerTokenString: good,
    });
    assert.equal(d.ok, false);
    assert.match(d.message, /server speaks HTTPS/);
    assert.match(d.hint ?? '', /https:\/\/.*use_tls = true/);
  });

  test('certificate not trusted: insecure_skip_verify or tls_ca', async () => {
    const d = await diagnose({ urls: [`${sim.kubeletUrl}/metrics`], bearerTokenString: good });
    assert.match(d.message, /certificate/);
    assert.match(d.hint ?? '', /insecure_skip_verify = true, or tls_ca/);
    const ok = await diagnose({
      urls: [`${sim.kubeletUrl}/metrics`],
      bearerTokenString: good,
      tls: { useTls: true, insecureSkipVerify: false, caFile: sim.certFile },
    });
    assert.equal(ok.ok, true, 'tls_ca with the simulator certificate works');
  });

  test('401 with a missing, an empty and an expired token file: says which, prints exp', async () => {
    const missing = await diagnose({
      urls: [`${sim.kubeletUrl}/metrics`],
      bearerTokenFile: join(dir, 'nope'),
      tls,
    });
    assert.match(missing.message, /cannot read bearer_token_file .*nope: ENOENT/);
    const empty = await diagnose({
      urls: [`${sim.kubeletUrl}/metrics`],
      bearerTokenFile: file('empty', '\n'),
      tls,
    });
    assert.match(empty.message, /is empty/);
    const exp = Math.floor(Date.now() / 1000) - 3600;
    const expired = await diagnose({
      urls: [`${sim.kubeletUrl}/metrics`],
      bearerTokenFile: file('expired', demoToken(exp)),
      tls,
    });
    assert.match(expired.message, /401 Unauthorized/);
    assert.match(expired.message, new RegExp(`token in .*expired expired at .* \\(exp ${exp}\\)`));
    assert.match(expired.hint ?? '', /token is missing, invalid or expired/);
  });

  test('403: names the ClusterRole rule that is missing', async () => {
    const d = await diagnose({
      urls: [`${sim.kubeletUrl}/metrics/cadvisor`],
      bearerTokenString: 'no-rbac',
      tls,
    });
    assert.match(d.message, /403 Forbidden/);
    assert.match(d.hint ?? '', /resources: \["nodes\/metrics"\], verbs: \["get"\]/);
  });

  test('404: wrong path', async () => {
    const d = await diagnose({ urls: [`${sim.kubeletUrl}/metrics/cadvisr`], bearerTokenString: good, tls });
    assert.match(d.message, /404 Not Found: \/metrics\/cadvisr/);
    assert.match(d.hint ?? '', /wrong path/);
  });

  test('https:// to the plain-HTTP kube-proxy port: use http://', async () => {
    const d = await diagnose({ urls: [sim.kubeProxyUrl.replace('http:', 'https:')], tls });
    assert.equal(d.ok, false);
    assert.match(d.hint ?? '', /use http:\/\//);
  });
});

describe('doctor: writers', () => {
  for (const [status, hint] of [
    [400, /not a remote-write endpoint|is this URL a remote-write endpoint/],
    [404, /wrong write URL path/],
    [413, /lower \[writer_opt\] batch/],
    [429, /rate-limits this sender/],
    [500, /the store failed on its side: its log says why/],
    [503, /the store is down or not ready behind its proxy .*\/health/],
  ] as const) {
    test(`writer answering ${status}: ${hint.source}`, async () => {
      const proxy = await startFaultProxy('http://127.0.0.1:1/unused', { status });
      try {
        const d = await diagnoseWriter(testWriter(proxy.url));
        console.log('# ' + formatDiagnosis(d).replace(/\n/g, '\n# '));
        assert.equal(d.ok, false);
        assert.match(d.message, new RegExp(`^HTTP ${status}`));
        assert.match(d.hint ?? '', hint);
      } finally {
        await proxy.close();
      }
    });
  }

  test('writer refused: check host and port', async () => {
    const d = await diagnoseWriter(testWriter(`http://127.0.0.1:${await freePort()}/api/v1/write`));
    assert.match(d.message, /connection refused/);
    assert.match(d.hint ?? '', /host and port/);
  });

  test('writer accepting an empty remote-write request: OK', async () => {
    const proxy = await startFaultProxy('http://127.0.0.1:1/unused', { status: 204 });
    try {
      const d = await diagnoseWriter(testWriter(proxy.url));
      assert.equal(d.ok, true, formatDiagnosis(d));
    } finally {
      await proxy.close();
    }
  });
});

test('doctor checks the pod view: listed pods, or the 403 with the RBAC rule to add', async () => {
  const { FakeApiServer, apiPod } = await import('../testing/fake-apiserver.js');
  const { diagnosePodView } = await import('./doctor.js');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const api = new FakeApiServer();
  await api.start();
  try {
    const token = join(mkdtempSync(join(tmpdir(), 'nodegraf-doctor-')), 'token');
    writeFileSync(token, 'token-1\n');
    api.put(apiPod('shop', 'web-a', 'node-1'));
    const c = config([]);
    c.podMetadata = {
      ...c.podMetadata,
      enable: true,
      source: 'apiserver',
      nodeName: 'node-1',
      apiserverUrl: api.url,
      bearerTokenFile: token,
      tlsCa: api.cert.certFile,
    };
    const ok = await diagnosePodView(c);
    assert.equal(ok?.ok, true);
    assert.match(ok!.message, /1 pods of this node listed/);
    api.forbidden = true;
    const bad = await diagnosePodView(c, 3000);
    assert.equal(bad?.ok, false);
    assert.match(bad!.message, /403 Forbidden listing pods of node node-1/);
    assert.match(bad!.hint ?? '', /RBAC: the ClusterRole needs/);
  } finally {
    await api.stop();
  }
});

test('doctor asks the API server what the ServiceAccount may do: least privilege, missing rules, nodes/proxy', async () => {
  const { FakeApiServer } = await import('../testing/fake-apiserver.js');
  const { diagnoseAccess } = await import('./doctor-access.js');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const api = new FakeApiServer();
  await api.start();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'nodegraf-doctor-'));
    const tokenFile = (name: string) => {
      writeFileSync(join(dir, name), name + '\n');
      api.tokens.add(name);
      return join(dir, name);
    };
    const kit =
      'RBAC: allowed by ClusterRoleBinding "nodegraf" of ClusterRole "nodegraf" to ServiceAccount "nodegraf/nodegraf"';
    api.access.set(
      'least',
      new Map([
        ['get nodes/metrics', kit],
        ['list pods', kit],
        ['watch pods', kit],
      ]),
    );
    api.access.set(
      'broad',
      new Map([
        ['get nodes/metrics', kit],
        ['list pods', kit],
        ['watch pods', kit],
        [
          'get nodes/proxy',
          'RBAC: allowed by ClusterRoleBinding "monitoring-all" of ClusterRole "monitoring-all" to ServiceAccount "nodegraf/nodegraf"',
        ],
      ]),
    );
    api.access.set('narrow', new Map([['list pods', kit]]));
    const c = config([]);
    const as = (token: string) => {
      c.podMetadata = {
        ...c.podMetadata,
        enable: true,
        source: 'apiserver',
        nodeName: 'node-1',
        apiserverUrl: api.url,
        bearerTokenFile: tokenFile(token),
        tlsCa: api.cert.certFile,
      };
      return diagnoseAccess(c);
    };
    const print = (ds: Awaited<ReturnType<typeof as>>) => ds.map(formatDiagnosis).join('\n');
    const least = await as('least');
    console.log(`# doctor, least-privilege ServiceAccount:\n${print(least)}`);
    assert.deepEqual(
      least.map((d) => [d.subject, d.ok, d.warn ?? false]),
      [
        ['RBAC get nodes/metrics', true, false],
        ['RBAC list pods', true, false],
        ['RBAC watch pods', true, false],
        ['RBAC get nodes/proxy', true, false],
      ],
    );
    assert.match(least[0]!.message, /ClusterRole "nodegraf"/);
    const broad = await as('broad');
    console.log(`# doctor, over-privileged ServiceAccount:\n${print(broad)}`);
    const proxy = broad.find((d) => d.subject === 'RBAC get nodes/proxy')!;
    assert.equal(proxy.warn, true);
    assert.match(proxy.message, /exec into every container.*CIS Kubernetes Benchmark 5\.1\.14/);
    assert.match(
      proxy.hint ?? '',
      /remove "nodes\/proxy" from ClusterRole monitoring-all \(kubectl edit clusterrole monitoring-all\)/,
    );
    assert.match(formatDiagnosis(proxy), /^WARN {2}RBAC get nodes\/proxy/);
    const narrow = await as('narrow');
    const metrics = narrow.find((d) => d.subject === 'RBAC get nodes/metrics')!;
    assert.equal(metrics.ok, false);
    assert.match(metrics.message, /answer 403: the kubelet and container dashboards stay empty/);
    // the kit's manifest line that grants it
    assert.match(metrics.hint ?? '', /resources: \["nodes\/metrics"\].*deploy\/kubernetes\/rbac\.yaml:\d+/);
    assert.equal(narrow.find((d) => d.subject === 'RBAC watch pods')!.ok, false);
    // the kubelet pod source needs nodes/pods instead of list/watch
    c.podMetadata = { ...c.podMetadata, source: 'kubelet' };
    const kubeletSource = await diagnoseAccess(c);
    assert.deepEqual(
      kubeletSource.map((d) => d.subject),
      ['RBAC get nodes/metrics', 'RBAC get nodes/pods', 'RBAC get nodes/proxy'],
    );
    // no API server to ask: nothing to say
    c.podMetadata = { ...c.podMetadata, apiserverUrl: '' };
    assert.deepEqual(await diagnoseAccess(c), []);
  } finally {
    await api.stop();
  }
});

test(
  'doctor names the families the kit needs that a target does not deliver (a 1.20 cAdvisor without CFS counters)',
  { skip: fixturesMissing() },
  async () => {
    const { startFixtureServer } = await import('../testing/fixture-server.js');
    const { readFileSync } = await import('node:fs');
    const server = await startFixtureServer({
      routes: {
        '/metrics/cadvisor': () =>
          readFileSync(fixture('cadvisor', 'nri-k8s-1_20-metrics-cadvisor.txt'), 'utf8'),
      },
    });
    try {
      const ds = await diagnoseTargets(
        config([testInstance({ urls: [`${server.url}/metrics/cadvisor`], labels: { job: 'cadvisor' } })]),
      );
      console.log(`# doctor on a 1.20 cAdvisor:\n${ds.map(formatDiagnosis).join('\n')}`);
      assert.equal(ds[0]!.ok, true);
      const warns = ds.filter((d) => d.warn);
      assert.deepEqual(
        warns.map((d) => d.message.split(' is missing')[0]),
        ['container_cpu_cfs_throttled_periods_total', 'container_cpu_cfs_periods_total'],
      );
      assert.match(warns[0]!.message, /empties alert ContainerCPUThrottled, nodegraf-containers: /);
      assert.match(
        formatDiagnosis(warns[0]!),
        /^WARN .*\n {6}fix: likely no container on this node has a CPU limit/,
      );
    } finally {
      await server.close();
    }
  },
);
