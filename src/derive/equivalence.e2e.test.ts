// The derived container values against the article's PromQL on real engines. The same simulator
// data goes through the whole agent (its derive hub records what it computed after each scrape)
// and, by remote write, into a real Prometheus and a real VictoriaMetrics; then the recipes are
// evaluated there at the instants of the samples the values came from, and must agree within 1 %
// for every container. The simulator runs on a fast clock (15 simulated seconds per scrape, cAdvisor
// housekeeping every 15 s, so every scrape brings one new sample per cgroup); a second target
// plays a container whose counters reset half-way.
//
// Windows: irate over [1m] uses the last two samples on both engines. For the throttled ratio the
// window is the one scrape interval the agent uses, at the newer sample's instant: Prometheus
// selects (t - w, t], so `increase(x[15001ms])` holds exactly the two samples 15 s apart and
// extrapolates by 1 ms, the same for both counters; VictoriaMetrics' increase starts from the last
// sample before its window, so there `[15s]` spans the same two samples.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBackfill, type Backfill } from '../testing/backfill.js';
import { RECIPES, type RecipeWindows } from '../cli/recipes.js';
import { startFixtureServer, type FixtureServer } from '../testing/fixture-server.js';
import { waitFor } from '../testing/net.js';
import {
  waitQueryable,
  peerMissing,
  PROMETHEUS_BIN,
  startPrometheus,
  startVictoriaMetrics,
  VM_BIN,
  type Receiver,
} from '../testing/peers.js';

const skip = peerMissing(VM_BIN) ?? peerMissing(PROMETHEUS_BIN);
const STEP_MS = 15_000;
const STEPS = 40;
/** The last COMPARED scrapes are compared (the first ones have no rate yet). */
const COMPARED = 12;
/**
 * The article's recipes as the product ships them (cli/recipes.ts), with this test's windows: the
 * throttled ratio's window per engine (above).
 */
const windows = (engine: string): RecipeWindows => ({
  rate: '1m',
  increase: engine === 'prometheus' ? '15001ms' : '15s',
});

/** A container whose counters drop to near zero at step RESET_AT (same series: a counter reset). */
const RESET_AT = STEPS - 6;
function resetterPage(step: number, ms: number): string {
  const k = step >= RESET_AT ? step - RESET_AT + 1 : step + 1000;
  const L = (extra = '') =>
    `{container="app",id="/kubepods/podr/ctr-r",namespace="test",pod="resetter-0"${extra}}`;
  return [
    `container_cpu_usage_seconds_total${L(',cpu="total"')} ${(k * 3.3).toFixed(3)} ${ms}`,
    `container_cpu_cfs_periods_total${L()} ${k * 150} ${ms}`,
    `container_cpu_cfs_throttled_periods_total${L()} ${k * 45} ${ms}`,
    `container_spec_cpu_quota${L()} 50000`,
    `container_spec_cpu_period${L()} 100000`,
    `container_fs_writes_bytes_total${L(',device="/dev/sda"')} ${k * 4096} ${ms}`,
    '',
  ].join('\n');
}

type Rec = { key: string; perPod: boolean; ts: number; values: Record<string, number> };

describe('derived container values = the PromQL recipes on Prometheus and VictoriaMetrics', { skip }, () => {
  let vm: Receiver;
  let prom: Receiver;
  let bf: Backfill;
  let resetter: FixtureServer;
  const end = Math.floor(Date.now() / STEP_MS) * STEP_MS;
  const start = end - (STEPS - 1) * STEP_MS;
  const records: Rec[] = [];

  before(async () => {
    [vm, prom] = await Promise.all([startVictoriaMetrics(), startPrometheus()]);
    resetter = await startFixtureServer({
      routes: { '/metrics/cadvisor': () => resetterPage(bf.step, bf.now) },
    });
    bf = await startBackfill({
      writeUrls: [vm.writeUrl, prom.writeUrl],
      startMs: start,
      stepMs: STEP_MS,
      steps: STEPS,
      housekeepingMs: STEP_MS,
      config: '[derive]\nenable = true',
      instances: `[[instances]]\nurls = ["${resetter.url}/metrics/cadvisor"]\nlabels = { job = "cadvisor-resetter" }\n`,
    });
    const rt = bf.rt;
    await bf.run((step) => {
      if (step < STEPS - COMPARED) return;
      for (const c of rt.derive.containers()) {
        const values: Record<string, number> = {};
        for (const r of RECIPES) if (!r.perPod) values[r.field] = c.values[r.field];
        records.push({
          key: `${c.namespace}/${c.pod}/${c.container}`,
          perPod: false,
          ts: c.values.ts,
          values,
        });
        if (
          c.podNetwork &&
          !records.some((r) => r.perPod && r.key === `${c.namespace}/${c.pod}` && r.ts === c.podNetwork!.ts)
        )
          records.push({
            key: `${c.namespace}/${c.pod}`,
            perPod: true,
            ts: c.podNetwork.ts,
            values: { rxBitsPerSec: c.podNetwork.rxBitsPerSec, txBitsPerSec: c.podNetwork.txBitsPerSec },
          });
      }
    });
    await waitFor('delivery', () => bf.drained(), 120_000);
    await waitQueryable([vm, prom], 'count(container_cpu_usage_seconds_total)', end / 1000);
  });

  after(async () => {
    await bf?.stop();
    await Promise.all([vm?.stop(), prom?.stop(), resetter?.close()]);
  });

  test('[derive] enable: every derived sample in both stores is the value computed for its timestamp', async () => {
    // the derive target renders whatever the hub holds when it is scraped (here: in the same
    // round as cAdvisor, before or after it): each sample it sent must be the value of its time
    const byKeyTs = new Map<string, number>();
    for (const rec of records) if (!rec.perPod) byKeyTs.set(`${rec.key} ${rec.ts}`, rec.values.memoryOfLimit);
    for (const r of [prom, vm]) {
      const res = (await r.query(
        `nodegraf_container_memory_working_set_of_limit_ratio{job="nodegraf-derive"}[${(COMPARED * STEP_MS) / 1000}s]`,
        end / 1000,
      )) as unknown as { metric: Record<string, string>; values: [number, string][] }[];
      let checked = 0;
      for (const s of res) {
        const key = `${s.metric.namespace}/${s.metric.pod}/${s.metric.container}`;
        for (const [t, v] of s.values) {
          const want = byKeyTs.get(`${key} ${Math.round(t * 1000)}`);
          if (want === undefined) continue; // a sample older than the recorded scrapes
          // VictoriaMetrics keeps 12 significant digits
          assert.ok(
            Math.abs(Number(v) - want) <= 1e-9 * Math.abs(want),
            `${r.kind}: ${key} at ${t}: ${v} != ${want}`,
          );
          checked++;
        }
      }
      console.log(`# ${r.kind}: ${checked} derived samples equal the values computed for their time`);
      assert.ok(checked > 20, `${r.kind}: ${checked} samples checked`);
    }
    const withLabels = await vm.query(
      'count(nodegraf_container_cpu_usage_of_quota_ratio{workload_kind="Deployment", ident="node-1"})',
      end / 1000,
    );
    assert.ok(Number(withLabels[0]?.value[1]) > 0, 'the derived series carry the workload and the node');
  });

  for (const engine of ['prometheus', 'victoria-metrics'] as const) {
    test(`${engine}: every container's derived values agree within 1 % (PSI within 1e-9) at the samples' instants`, async () => {
      const r = engine === 'prometheus' ? prom : vm;
      const byInstant = new Map<number, Rec[]>();
      for (const rec of records) {
        let l = byInstant.get(rec.ts);
        if (!l) byInstant.set(rec.ts, (l = []));
        l.push(rec);
      }
      let compared = 0;
      let comparedPsi = 0;
      let worst = 0;
      let worstWhat = '';
      const containers = new Set<string>();
      const bad: string[] = [];
      for (const [ts, recs] of byInstant) {
        for (const recipe of RECIPES) {
          const { field: name, perPod } = recipe;
          const mine = recs.filter((x) => x.perPod === perPod && Number.isFinite(x.values[name]));
          if (!mine.length) continue;
          const res = await r.query(recipe.expr(windows(engine)), ts / 1000);
          const theirs = new Map(
            res.map((s) => [
              perPod
                ? `${s.metric.namespace}/${s.metric.pod}`
                : `${s.metric.namespace}/${s.metric.pod}/${s.metric.container}`,
              Number(s.value[1]),
            ]),
          );
          for (const x of mine) {
            const a = x.values[name];
            const b = theirs.get(x.key);
            if (b === undefined) {
              bad.push(
                `${name} ${x.key} at ${new Date(ts).toISOString()}: nodegraf ${a}, ${engine} no value`,
              );
              continue;
            }
            const rel = Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
            const diff = Math.abs(a - b) < 1e-12 ? 0 : rel;
            if (diff > worst) [worst, worstWhat] = [diff, `${name} ${x.key}`];
            // PSI is a plain irate of one counter per container: the same arithmetic as the store's
            const psi = name === 'cpuPressure' || name === 'memoryPressure';
            if (psi) comparedPsi++;
            if (diff > (psi ? 1e-9 : 0.01))
              bad.push(`${name} ${x.key} at ${new Date(ts).toISOString()}: nodegraf ${a}, ${engine} ${b}`);
            compared++;
            containers.add(x.key);
          }
        }
      }
      console.log(
        `# ${engine}: ${compared} values compared, ${containers.size} containers and pods, ${byInstant.size} instants, worst relative difference ${worst.toExponential(2)} (${worstWhat})`,
      );
      assert.deepEqual(bad.slice(0, 20), [], `${bad.length} values differ by more than 1 %`);
      assert.ok(compared > 100, `${compared} values compared`);
      assert.ok(comparedPsi > 20, `${comparedPsi} PSI values compared (within 1e-9)`);
      assert.ok(containers.has('test/resetter-0/app'), 'the container whose counters reset was compared');
    });
  }
});
