// The series budget end to end: the simulated node through the whole agent with a
// `[global] series_limit` below what it sends, into real Prometheus and VictoriaMetrics. The
// largest families no shipped dashboard or alert reads stop arriving (their series end with
// staleness markers), the kit's families and `up` keep arriving, and every panel query of the
// containers dashboard still returns data.
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
import { KIT_READERS } from './kit-readers.js';

const skip = peerMissing(VM_BIN) ?? peerMissing(PROMETHEUS_BIN);
const STEP_MS = 15_000;
const STEPS = 12;
const LIMIT = 3000;

describe('a node over its series budget in Prometheus and VictoriaMetrics', { skip }, () => {
  let vm: Receiver;
  let prom: Receiver;
  let bf: Backfill;
  let dropped: string[] = [];
  const end = Math.floor(Date.now() / STEP_MS) * STEP_MS;
  const start = end - (STEPS - 1) * STEP_MS;

  before(async () => {
    [vm, prom] = await Promise.all([startVictoriaMetrics(), startPrometheus()]);
    bf = await startBackfill({
      writeUrls: [vm.writeUrl, prom.writeUrl],
      startMs: start,
      stepMs: STEP_MS,
      steps: STEPS,
      labels: { cluster: 'budget' },
      global: `series_limit = ${LIMIT}`,
    });
    await bf.run();
    dropped = [...bf.rt.manager.budget.dropped.keys()];
    await waitFor('the writers to drain', () => bf.drained());
    await waitQueryable([vm, prom], 'up{cluster="budget"}', end / 1000);
    await flushVm(vm);
  });
  after(async () => {
    await bf?.stop();
    await Promise.all([vm?.stop(), prom?.stop()]);
  });

  test('the budget dropped families the kit does not read, the largest first', () => {
    assert.ok(dropped.length > 0, 'something was dropped');
    for (const f of dropped) assert.equal(KIT_READERS[f], undefined, `${f} is read by the kit`);
    console.log(
      `# budget ${LIMIT}: not sending ${dropped.length} families (${dropped.slice(0, 5).join(', ')}…), ${bf.rt.manager.budget.droppedSeries} series`,
    );
  });

  for (const name of ['prometheus', 'victoria-metrics'] as const) {
    test(`${name}: the dropped families end, the kit's and up stay`, async () => {
      const r = name === 'prometheus' ? prom : vm;
      const at = end / 1000;
      const first = dropped[0]!;
      // it arrived with the first scrape (the budget plans after it), and is gone at the end
      assert.ok(
        (await r.query(`count(${first}{cluster="budget"})`, start / 1000)).length === 1,
        `${first} at the start`,
      );
      assert.deepEqual(await r.query(`count(${first}{cluster="budget"})`, at), [], `${first} at the end`);
      for (const kit of [
        'container_cpu_usage_seconds_total',
        'container_memory_working_set_bytes',
        'kubelet_running_pods',
      ])
        assert.equal((await r.query(`count(${kit}{cluster="budget"})`, at)).length, 1, kit);
      assert.equal((await r.query('count(up{cluster="budget"} == 1)', at)).length, 1);
      const total = Number((await r.query('count({cluster="budget"})', at))[0]!.value[1]);
      console.log(`# ${name}: ${total} series at the end with series_limit ${LIMIT}`);
      assert.ok(total <= LIMIT * 1.1, `${total} series`);
    });
  }
});
