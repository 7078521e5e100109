// The real reference: VictoriaMetrics single-node parses the same capture bytes
// (POST /api/v1/import/prometheus), and what it stored (GET /api/v1/export) must match parseAll():
// same series, same values, same explicit timestamps.
//
// What VictoriaMetrics does differently, by design, and how the comparison accounts for it:
//  - NaN samples are dropped on import (VM keeps only its staleness-marker NaN): NaN samples are
//    expected to be absent, and VM must return no NaN.
//  - a label with an empty value is no label (Prometheus semantics): empty values are dropped
//    from our side before comparing.
//  - values are stored in VM's decimal representation (at most ~15 significant digits, and
//    exponents below ~1e-255 flush to 0): values are compared with a relative tolerance of 1e-12.
//  - samples without a timestamp get the ingestion time: their timestamps must fall within the
//    import window; explicit timestamps must be equal.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { parseAll } from '../testing/parse-all.js';

const SHARED = process.env.NODEGRAF_SHARED ?? fileURLToPath(new URL('../../../shared/', import.meta.url));
const REAL = join(SHARED, 'fixtures', 'real');
const VM_BIN = join(
  process.env.NODEGRAF_PEERS ?? '/opt/peers',
  'victoria-metrics',
  'usr',
  'bin',
  'victoria-metrics',
);

/** A selection of real captures: old and new label names, NaN quantiles, no final newline, timestamps. */
const SELECTION = [
  'cadvisor/nri-k8s-1_35-metrics-cadvisor.txt', // explicit millisecond timestamps
  'cadvisor/dd-gke-cos-docker-pre_1_16-metrics-cadvisor.txt', // container_name/pod_name era
  'kubelet/dd-k8s-v1_10_0-kubelet-metrics.txt', // ends with NaN quantiles
  'kubelet/dd-k8s-v1_21_2-kubelet-metrics.txt',
  'kube-proxy/dd-k8s-v1_8_3-kube-proxy-iptables-metrics.txt', // NaN quantiles
  'kube-proxy/beats-k8s-v1_30-kube-proxy-metrics.txt', // no newline at the end of the file
  'ksm/nri-k8s-1_35-ksm-metrics.txt',
];

const REL_TOLERANCE = 1e-12;
const START_TIMEOUT_MS = 30_000;

const skipReason = !existsSync(VM_BIN)
  ? `VictoriaMetrics not found at ${VM_BIN} (install the peers, or set NODEGRAF_PEERS)`
  : !existsSync(REAL)
    ? `fixtures not found: ${REAL} (set NODEGRAF_SHARED to the shared folder)`
    : undefined;

let vm: ChildProcess | undefined;
let dataDir: string | undefined;
let baseUrl = '';
let vmStderr = '';
const killOnExit = () => vm?.kill('SIGKILL');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  if (skipReason) return;
  dataDir = mkdtempSync(join(tmpdir(), 'nodegraf-vm-ref-'));
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  process.once('exit', killOnExit);
  vm = spawn(
    VM_BIN,
    [
      `-storageDataPath=${dataDir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-retentionPeriod=100y',
      '-search.disableCache',
      '-loggerLevel=ERROR',
      // our extra `src` label must not push a series over VM's default limit of 30 labels
      '-maxLabelsPerTimeseries=1000',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  vm.stderr?.on('data', (d: Buffer) => (vmStderr = (vmStderr + d.toString()).slice(-4000)));
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (vm.exitCode !== null) throw new Error(`VictoriaMetrics exited with ${vm.exitCode}: ${vmStderr}`);
    try {
      const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`VictoriaMetrics not healthy after ${START_TIMEOUT_MS} ms: ${vmStderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  const child = vm;
  vm = undefined;
  if (child && child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(hard);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
  process.removeListener('exit', killOnExit);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

interface Point {
  value: number;
  ts: number | undefined;
}

/** Canonical series key: sorted labels including __name__, empty values dropped. */
function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.entries(labels)
      .filter(([, v]) => v !== '')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** One line of /api/v1/export: JSON, except that values may be the bare words NaN, +Inf, -Inf. */
function parseExportLine(line: string): {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
} {
  const at = line.lastIndexOf('"values":[');
  const end = line.indexOf(']', at);
  const values = line
    .slice(at + '"values":['.length, end)
    .split(',')
    .filter((s) => s !== '')
    .map((s) => (s === 'NaN' ? NaN : s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s)));
  const rest = JSON.parse(line.slice(0, at) + '"values":[]' + line.slice(end + 1)) as {
    metric: Record<string, string>;
    timestamps: number[];
  };
  return { metric: rest.metric, values, timestamps: rest.timestamps };
}

function close(a: number, b: number): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= REL_TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
}

const byValueThenTs = (a: Point, b: Point) => a.value - b.value || (a.ts ?? 0) - (b.ts ?? 0);

for (const rel of SELECTION) {
  test(`VictoriaMetrics stores what parseAll reads: ${rel}`, { timeout: 120_000 }, async (t) => {
    if (skipReason) {
      t.skip(skipReason);
      return;
    }
    const file = join(REAL, rel);
    if (!existsSync(file)) {
      t.skip(`fixture missing: ${file}`);
      return;
    }
    const body = readFileSync(file);
    const src = rel.replace(/[^a-zA-Z0-9_.-]/g, '_');

    // Ours.
    const parsed = parseAll(body, { openMetrics: false });
    assert.deepEqual(parsed.errors, [], `${rel}: parse errors`);
    const want = new Map<string, Point[]>();
    let nanSamples = 0;
    let explicitTs = 0;
    for (const s of parsed.samples) {
      if (Number.isNaN(s.value)) {
        nanSamples++;
        continue;
      }
      if (s.timestampMs !== undefined) explicitTs++;
      const key = seriesKey({ __name__: s.name, ...s.labels });
      const list = want.get(key) ?? [];
      list.push({ value: s.value, ts: s.timestampMs });
      want.set(key, list);
    }

    // VictoriaMetrics'.
    const importStart = Date.now();
    const res = await fetch(
      `${baseUrl}/api/v1/import/prometheus?extra_label=src=${encodeURIComponent(src)}`,
      {
        method: 'POST',
        body,
        signal: AbortSignal.timeout(30_000),
      },
    );
    assert.equal(res.status, 204, `import: ${res.status} ${await res.text()}`);
    await (await fetch(`${baseUrl}/internal/force_flush`, { signal: AbortSignal.timeout(30_000) })).text();
    const importEnd = Date.now();
    const q = new URLSearchParams({
      'match[]': `{src="${src}"}`,
      end: String(Math.ceil(importEnd / 1000) + 3600),
    });
    const exp = await fetch(`${baseUrl}/api/v1/export?${q}`, { signal: AbortSignal.timeout(30_000) });
    assert.equal(exp.status, 200);
    const got = new Map<string, Point[]>();
    for (const line of (await exp.text()).split('\n')) {
      if (line.trim() === '') continue;
      const row = parseExportLine(line);
      assert.equal(row.metric.src, src);
      delete row.metric.src;
      const key = seriesKey(row.metric);
      const list = got.get(key) ?? [];
      row.values.forEach((value, i) => list.push({ value, ts: row.timestamps[i] }));
      got.set(key, list);
    }

    // Same series.
    const missing = [...want.keys()].filter((k) => !got.has(k));
    const extra = [...got.keys()].filter((k) => !want.has(k));
    assert.deepEqual(missing.slice(0, 5), [], `${rel}: series parseAll read but VM did not store`);
    assert.deepEqual(extra.slice(0, 5), [], `${rel}: series VM stored but parseAll did not read`);
    assert.equal(got.size, want.size);

    // Same values and timestamps.
    let compared = 0;
    for (const [key, wantPoints] of want) {
      const gotPoints = got.get(key)!;
      assert.equal(gotPoints.length, wantPoints.length, `${rel}: sample count of ${key}`);
      assert.ok(!gotPoints.some((p) => Number.isNaN(p.value)), `${rel}: VM returned NaN for ${key}`);
      wantPoints.sort(byValueThenTs);
      gotPoints.sort(byValueThenTs);
      for (let i = 0; i < wantPoints.length; i++) {
        const w = wantPoints[i];
        const g = gotPoints[i];
        assert.ok(close(g.value, w.value), `${rel}: ${key}: value ${g.value} (VM) vs ${w.value} (parseAll)`);
        if (w.ts !== undefined) {
          assert.equal(g.ts, w.ts, `${rel}: ${key}: timestamp`);
        } else {
          assert.ok(
            g.ts !== undefined && g.ts >= importStart - 1000 && g.ts <= importEnd + 1000,
            `${rel}: ${key}: ingestion timestamp ${g.ts} outside [${importStart}, ${importEnd}]`,
          );
        }
        compared++;
      }
    }
    t.diagnostic(
      `${rel}: ${want.size} series, ${compared} samples equal (${explicitTs} with explicit timestamps); ` +
        `${nanSamples} NaN samples, absent from VM as expected`,
    );
  });
}
