// Container lifecycle at the source, end to end (issue 21): the same simulated node twice, with
// dead cgroups lingering in cAdvisor as they do until its housekeeping notices, through the whole
// agent into a real Prometheus and a real VictoriaMetrics — once with [pod_metadata]
// drop_stale_containers on (cluster="on"), once off (cluster="off"). Its crash-looping and
// OOM-looping containers restart, and the StatefulSet pod db-0 is deleted and recreated under the
// same name 2.5 minutes before the end. Then the article's recipes and the kit's queries, both ways.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBackfill, type Backfill } from '../testing/backfill.js';
import { waitFor } from '../testing/net.js';
import {
  flushVm,
  peerMissing,
  PROMETHEUS_BIN,
  startPrometheus,
  startVictoriaMetrics,
  VM_BIN,
  waitQueryable,
  type Receiver,
} from '../testing/peers.js';

const skip = peerMissing(VM_BIN) ?? peerMissing(PROMETHEUS_BIN);
const STEP_MS = 15_000;
const STEPS = 40;
/** db-0 is deleted and recreated after this step's scrapes. */
const RECREATE_AT = 30;
const LINGER_S = 600;

type Result = Array<{ metric: Record<string, string>; value: [number, string] }>;

describe(
  'dead containers and deleted pods in Prometheus and VictoriaMetrics, drop on and off',
  { skip },
  () => {
    let vm: Receiver;
    let prom: Receiver;
    const end = Math.floor(Date.now() / STEP_MS) * STEP_MS;
    const start = end - (STEPS - 1) * STEP_MS;
    const recreatedAt = start + RECREATE_AT * STEP_MS;
    let oldUid = '';
    let newUid = '';

    async function run(cluster: 'on' | 'off'): Promise<void> {
      const bf: Backfill = await startBackfill({
        writeUrls: [vm.writeUrl, prom.writeUrl],
        startMs: start,
        stepMs: STEP_MS,
        steps: STEPS,
        labels: { cluster },
        deadCgroupLingerS: LINGER_S,
        podMetadata: `drop_stale_containers = ${cluster === 'on'}\n`,
      });
      try {
        await bf.run((step) => {
          if (step !== RECREATE_AT) return;
          oldUid = bf.sim.model.pods.find((p) => p.name === 'db-0')!.uid;
          assert.equal(bf.sim.recreate('shop/db-0'), 'db-0');
          newUid = bf.sim.model.pods.find((p) => p.name === 'db-0')!.uid;
        });
        await waitFor('the writers to drain', () => bf.drained());
      } finally {
        await bf.stop();
      }
    }

    before(async () => {
      [vm, prom] = await Promise.all([startVictoriaMetrics(), startPrometheus()]);
      await run('on');
      await run('off');
      for (const c of ['on', 'off'])
        await waitQueryable([vm, prom], `container_memory_working_set_bytes{cluster="${c}"}`, end / 1000);
      await flushVm(vm);
    });
    after(async () => {
      await Promise.all([vm?.stop(), prom?.stop()]);
    });

    const q = async (r: Receiver, expr: string, atMs = end): Promise<Result> =>
      (await r.query(expr, atMs / 1000)) as Result;
    const byKey = (rows: Result, ...keys: string[]) =>
      new Map(rows.map((x) => [keys.map((k) => x.metric[k] ?? '').join('/'), Number(x.value[1])]));

    for (const name of ['prometheus', 'victoria-metrics'] as const) {
      const store = () => (name === 'prometheus' ? prom : vm);

      test(`${name}: on, every container has one memory series; off, dead ones linger beside the live`, async () => {
        const count = (c: string) =>
          q(
            store(),
            `count by (namespace, pod, container) (container_memory_working_set_bytes{cluster="${c}", container!=""})`,
          );
        const on = await count('on');
        const off = await count('off');
        assert.ok(on.length > 10);
        const extra = on.filter((x) => Number(x.value[1]) !== 1);
        assert.deepEqual(extra, [], 'on: one series per container');
        const doubled = off
          .filter((x) => Number(x.value[1]) > 1)
          .map((x) => `${x.metric.pod}/${x.metric.container}`);
        assert.ok(
          doubled.some((k) => k.startsWith('db-0/')),
          `off: db-0's old pod lingers (${doubled.join(', ')})`,
        );
        const total = async (c: string) =>
          Number((await q(store(), `count({cluster="${c}", job="cadvisor"})`))[0]!.value[1]);
        console.log(
          `# ${name}: cAdvisor series at the end: on ${await total('on')}, off ${await total('off')}`,
        );
        console.log(
          `# ${name}: containers with more than one memory series: on 0, off ${doubled.length} (${doubled.join(', ')})`,
        );
      });

      test(`${name}: the deleted pod's series end within one interval when on`, async () => {
        const next = recreatedAt + STEP_MS;
        const old = (c: string) => q(store(), `count({cluster="${c}", id=~".*${oldUid}.*"})`, next);
        assert.deepEqual(await old('on'), [], 'on: no series of the old pod one interval later');
        const off = await old('off');
        assert.ok(off.length === 1 && Number(off[0]!.value[1]) > 50, `off: ${JSON.stringify(off)}`);
      });

      test(`${name}: the article's recipes by pod count no dead container when on`, async () => {
        // the recipe verbatim (memory by pod, containers only), and the live containers alone
        const recipe = (c: string) =>
          q(store(), `sum by (pod) (container_memory_working_set_bytes{cluster="${c}", container!=""})`);
        const live = byKey(
          await q(
            store(),
            `sum by (pod) (container_memory_working_set_bytes{cluster="off", container!="", id=~".*${newUid}.*"})`,
          ),
          'pod',
        );
        const on = byKey(await recipe('on'), 'pod');
        const off = byKey(await recipe('off'), 'pod');
        assert.equal(on.get('db-0'), live.get('db-0'), 'on: db-0 is its live containers');
        assert.ok(
          off.get('db-0')! > 1.5 * on.get('db-0')!,
          `off counts the old db-0 too: ${off.get('db-0')} vs ${on.get('db-0')}`,
        );
        const cpu = (c: string) =>
          q(
            store(),
            `sum by (pod) (rate(container_cpu_usage_seconds_total{cluster="${c}", container!=""}[1m]))`,
          );
        const cpuOn = byKey(await cpu('on'), 'pod');
        const cpuOff = byKey(await cpu('off'), 'pod');
        const cpuLive = byKey(
          await q(
            store(),
            `sum by (pod) (rate(container_cpu_usage_seconds_total{cluster="off", container!="", id=~".*${newUid}.*"}[1m]))`,
          ),
          'pod',
        );
        assert.ok(
          Math.abs(cpuOn.get('db-0')! - cpuLive.get('db-0')!) < 1e-9,
          'on: db-0 CPU is its live containers',
        );
        console.log(
          `# ${name}: db-0 memory by the recipe: on ${(on.get('db-0')! / 2 ** 20).toFixed(0)} MiB, off ${(off.get('db-0')! / 2 ** 20).toFixed(0)} MiB; CPU on ${cpuOn.get('db-0')?.toFixed(3)}, off ${cpuOff.get('db-0')?.toFixed(3)} cores`,
        );
      });

      test(`${name}: the kit's max-by forms give one value per container both ways, the live one when on`, async () => {
        const kit = (c: string) =>
          q(
            store(),
            `max by (namespace, pod, container) (container_memory_working_set_bytes{cluster="${c}", container!=""})`,
          );
        const on = byKey(await kit('on'), 'namespace', 'pod', 'container');
        const off = byKey(await kit('off'), 'namespace', 'pod', 'container');
        // off has one row more for a container whose only series is a dead instance's (the
        // crash-looping api in its back-off): on, a container that does not run has no row
        const notRunning = byKey(
          await q(store(), `kube_pod_container_status_running{cluster="on"} == 0`),
          'namespace',
          'pod',
          'container',
        );
        for (const k of on.keys()) assert.ok(off.has(k), k);
        for (const k of off.keys())
          if (!on.has(k)) assert.ok(notRunning.has(k), `off only: ${k} does not run`);
        const liveDb = byKey(
          await q(
            store(),
            `container_memory_working_set_bytes{cluster="off", pod="db-0", container!="", id=~".*${newUid}.*"}`,
          ),
          'namespace',
          'pod',
          'container',
        );
        for (const [k, v] of liveDb) assert.equal(on.get(k), v, `on: ${k} is the live container's value`);
        // off: max picks whichever instance is larger, dead or alive
        for (const [k, v] of off) assert.ok(v >= (on.get(k) ?? 0) - 1, k);
      });
    }
  },
);
