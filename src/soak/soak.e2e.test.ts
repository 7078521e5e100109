// The soak's short run (3 minutes; `npm run soak -- --minutes 60` is the long one): the whole agent
// under churn, store outages, 401 windows, reloads and a hostile target loses nothing, leaves no
// scrape without its `up` in the store, and exits cleanly. The report lands in test-output/soak-ci.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { peerMissing, VM_BIN } from '../testing/peers.js';
import { runSoak } from './soak.js';

const MINUTES = Number(process.env.NODEGRAF_SOAK_MINUTES ?? 3);

test(
  `soak, ${MINUTES} minutes: nothing lost, no gap, memory bounded, a clean exit`,
  { skip: peerMissing(VM_BIN) },
  async () => {
    const outDir = join(import.meta.dirname, '..', '..', 'test-output', 'soak-ci');
    const r = await runSoak({ minutes: MINUTES, outDir, log: (l) => console.log(`# ${l}`) });
    console.log(
      `# soak ${MINUTES} min: emitted ${r.emitted}, stored ${r.stored}, lost ${r.lost}, dropped ${r.dropped}; gaps ${r.gaps.map((g) => `${g.job} ${g.gap}/${g.scrapes}`).join(', ')}; RSS peak ${r.peakRssMiB.toFixed(0)} MiB, steady ${r.steadyRssMiB.toFixed(0)} MiB; CPU ${r.avgCpuPct.toFixed(1)} %; disk peak ${r.peakDiskMiB.toFixed(1)} MiB; ${r.outages} outages, ${r.authWindows} 401 windows, ${r.reloads} reloads, ${r.churnedPods} pods replaced; exit ${r.exitCode} in ${r.exitSeconds.toFixed(1)} s`,
    );
    assert.ok(r.outages >= 1 && r.authWindows >= 1, 'the faults happened');
    assert.ok(r.churnedPods > 0, 'pods churned');
    assert.equal(r.dropped, 0, 'nothing dropped');
    assert.equal(r.lost, 0, 'everything emitted is stored');
    for (const g of r.gaps)
      assert.equal(
        g.gap,
        0,
        `${g.job}: ${g.gap} of ${g.scrapes} scrapes have no up in the store (stored ${g.firstUpS?.toFixed(1)}–${g.lastUpS?.toFixed(1)} s, last scrape at ${g.lastScrapeS?.toFixed(1)} s; ${g.passedUp} accepted through the proxy, the last at ${g.lastPassedUpS?.toFixed(1)} s)`,
      );
    assert.ok(r.peakRssMiB < 512, `RSS peak ${r.peakRssMiB} MiB under the kit's limit`);
    assert.equal(r.exitCode, 0);
  },
);
