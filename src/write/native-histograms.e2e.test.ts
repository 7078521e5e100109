// Native histograms end to end: the whole agent scrapes the simulated kubelet's /metrics three
// times — as text (the article's job), in protobuf (classic and native buckets, as a 1.36+ kubelet
// with native histograms on), and in protobuf with native buckets only — and writes to a real
// Prometheus that stores native histograms (writer `native_histograms = true`) and a real
// VictoriaMetrics that cannot (the default: classic series). Then the dashboards' p99 queries:
//  - Prometheus holds the native histograms and `histogram_quantile` over them answers within the
//    resolution of the classic buckets the text page has;
//  - VictoriaMetrics holds no native histogram; the protobuf job's classic series are the text
//    job's exactly (same p99), and the native-only job's series converted from the native buckets
//    give a p99 within the classic bucket resolution of the text job's.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { kubeletInstanceToml } from '../cli/demo.js';
import { NATIVE_ONLY_HEADER } from '../sim/simulator.js';
import { startBackfill, type Backfill } from '../testing/backfill.js';
import { waitFor } from '../testing/net.js';
import {
  peerMissing,
  PROMETHEUS_BIN,
  startPrometheusNative,
  startVictoriaMetrics,
  VM_BIN,
  waitQueryable,
  type Receiver,
} from '../testing/peers.js';

const skip = peerMissing(VM_BIN) ?? peerMissing(PROMETHEUS_BIN);
const STEP_MS = 15_000;
const STEPS = 24;
const PROTO = 'scrape_protocols = ["PrometheusProto", "PrometheusText0.0.4"]\n';

/** Two of the kubelet dashboard's p99 panels (src/kit/dashboards.ts) over native families, per job. */
const PANELS = [
  { family: 'kubelet_pleg_relist_duration_seconds', by: '' },
  { family: 'kubelet_runtime_operations_duration_seconds', by: 'operation_type' },
];
const classicP99 = (f: string, by: string, job: string) =>
  `histogram_quantile(0.99, sum by (${by ? by + ', ' : ''}le) (rate(${f}_bucket{job="${job}"}[2m])))`;
const nativeP99 = (f: string, by: string, job: string) =>
  `histogram_quantile(0.99, sum by (${by}) (rate(${f}{job="${job}"}[2m])))`;

/** One native bucket at schema 3 (the finer estimates' own resolution). */
const NATIVE_STEP = Math.pow(2, 1 / 8);

type Result = Array<{ metric: Record<string, string>; value?: [number, string]; histogram?: unknown }>;
const byGroup = (r: Result) => new Map(r.map((s) => [s.metric.operation_type ?? '', Number(s.value![1])]));

/**
 * An estimate `e` from finer buckets agrees with the text job's `t` when it lies in t's classic
 * bucket (where the true p99 is) widened by one native bucket each side; with no observations in
 * the window both are NaN.
 */
function agrees(bounds: number[], t: number, e: number): boolean {
  if (Number.isNaN(t)) return Number.isNaN(e);
  let lo = 0;
  let hi = Infinity;
  for (const b of bounds) {
    if (t <= b) {
      hi = b;
      break;
    }
    lo = b;
  }
  return e > lo / NATIVE_STEP && e <= hi * NATIVE_STEP;
}

describe(
  'native histograms: stored in Prometheus, classic in VictoriaMetrics, same quantiles',
  { skip },
  () => {
    let vm: Receiver;
    let prom: Receiver;
    let bf: Backfill;
    const end = Math.floor(Date.now() / STEP_MS) * STEP_MS;
    const start = end - (STEPS - 1) * STEP_MS;
    const at = end / 1000;

    /** The family's classic bounds: the text job's `le` values in the store. */
    async function bounds(store: Receiver, family: string): Promise<number[]> {
      const r = await store.query(`count by (le) (${family}_bucket{job="kubelet"})`, at);
      return r.map((s) => Number(s.metric.le!.replace('+Inf', 'Infinity'))).sort((a, b) => a - b);
    }

    before(async () => {
      [vm, prom] = await Promise.all([startVictoriaMetrics(), startPrometheusNative()]);
      bf = await startBackfill({
        writeUrls: [vm.writeUrl, prom.writeUrl],
        nativeWriteUrls: [prom.writeUrl],
        startMs: start,
        stepMs: STEP_MS,
        steps: STEPS,
        instances: (kubelet, token) =>
          kubeletInstanceToml(`${kubelet}/metrics`, token, 'kubelet-protobuf', PROTO) +
          kubeletInstanceToml(
            `${kubelet}/metrics`,
            token,
            'kubelet-native-only',
            PROTO + `headers = ["${NATIVE_ONLY_HEADER}", "1"]\n`,
          ),
      });
      await bf.run();
      await waitFor('the writers to drain', () => bf.drained());
      const pleg = PANELS[0]!.family;
      await waitQueryable([vm], classicP99(pleg, '', 'kubelet-native-only'), at);
      await waitQueryable([prom], nativeP99(pleg, '', 'kubelet-native-only'), at);
    });
    after(async () => {
      await bf?.stop();
      await Promise.all([vm?.stop(), prom?.stop()]);
    });

    test('Prometheus stores the native histograms: histogram_quantile within the classic resolution', async () => {
      const raw = (await prom.query(`${PANELS[0]!.family}{job="kubelet-protobuf"}`, at)) as Result;
      assert.equal(raw.length, 1);
      assert.ok(raw[0]!.histogram, 'a native histogram sample');
      // a native writer gets the native form only: no conversion of the native-only page
      assert.deepEqual(await prom.query(`${PANELS[0]!.family}_bucket{job="kubelet-native-only"}`, at), []);
      let compared = 0;
      for (const { family, by } of PANELS) {
        const b = await bounds(prom, family);
        const text = byGroup((await prom.query(classicP99(family, by, 'kubelet'), at)) as Result);
        assert.ok(text.size > 0, family);
        for (const job of ['kubelet-protobuf', 'kubelet-native-only']) {
          const native = byGroup((await prom.query(nativeP99(family, by, job), at)) as Result);
          assert.deepEqual([...native.keys()].sort(), [...text.keys()].sort(), `${family} ${job}`);
          for (const [group, t] of text) {
            const n = native.get(group)!;
            assert.ok(
              agrees(b, t, n),
              `${family} ${job} ${group}: native ${n}, text ${t}, bounds ${b.join()}`,
            );
            if (!Number.isNaN(t)) compared++;
          }
        }
        // the classic buckets the protobuf page also had went to Prometheus too (the dashboards read them)
        const classic = byGroup((await prom.query(classicP99(family, by, 'kubelet-protobuf'), at)) as Result);
        for (const [group, t] of text) assert.ok(Object.is(classic.get(group), t), `${family} ${group}`);
      }
      assert.ok(compared >= 6, `${compared} quantiles compared`);
    });

    test('VictoriaMetrics gets classic series: exposed ones equal the text job, converted ones within the resolution', async () => {
      assert.deepEqual(await vm.query(`${PANELS[0]!.family}{job=~"kubelet-.*"}`, at), []);
      let compared = 0;
      for (const { family, by } of PANELS) {
        const b = await bounds(vm, family);
        const text = byGroup((await vm.query(classicP99(family, by, 'kubelet'), at)) as Result);
        const proto = byGroup((await vm.query(classicP99(family, by, 'kubelet-protobuf'), at)) as Result);
        const converted = byGroup(
          (await vm.query(classicP99(family, by, 'kubelet-native-only'), at)) as Result,
        );
        assert.ok(text.size > 0, family);
        for (const [group, t] of text) {
          assert.ok(Object.is(proto.get(group), t), `${family} ${group}: ${proto.get(group)} vs ${t}`);
          const c = converted.get(group)!;
          assert.ok(agrees(b, t, c), `${family} ${group}: converted ${c}, text ${t}, bounds ${b.join()}`);
          if (!Number.isNaN(t)) compared++;
        }
      }
      assert.ok(compared >= 3, `${compared} quantiles compared`);
      // converted at the native resolution: more buckets than the text page's
      const count = async (job: string) =>
        Number((await vm.query(`count(${PANELS[0]!.family}_bucket{job="${job}"})`, at))[0]!.value[1]);
      assert.ok((await count('kubelet-native-only')) > (await count('kubelet')));
    });
  },
);
