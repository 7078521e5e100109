// End to end against real receivers: the real kubelet, kube-proxy and cAdvisor captures are served
// on loopback, scraped, written over remote write to VictoriaMetrics and Prometheus at once, and
// read back through their query APIs: exactly the series and values that were sent must be there.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../log.js';
import type { Chunk } from '../prompb/chunk.js';
import type { SampleSink } from '../prompb/chunk.js';
import { ScrapeTarget } from '../scrape/target.js';
import { testGlobal, testInstance, testWriter, testWriterOpt } from '../testing/config.js';
import { startFixtureServer, withCurrentTimestamps, type FixtureServer } from '../testing/fixture-server.js';
import { selfSignedCert } from '../testing/net.js';
import {
  flushVm,
  peerMissing,
  PROMETHEUS_BIN,
  startPrometheus,
  startVictoriaMetrics,
  VM_BIN,
  type Receiver,
} from '../testing/peers.js';
import { fixture, fixturesMissing } from '../testing/shared.js';
import { decodeChunk } from '../prompb/decode.js';
import { Fanout } from './fanout.js';
import { RemoteWriter } from './writer.js';
import { waitFor } from '../testing/net.js';

const skip = fixturesMissing() ?? peerMissing(VM_BIN) ?? peerMissing(PROMETHEUS_BIN);

class Sent implements SampleSink {
  byJob = new Map<string, Map<string, number>>();
  push(c: Chunk): void {
    for (const s of decodeChunk(c.body)) {
      const l = Object.fromEntries(s.labels);
      if (s.stale || Number.isNaN(s.value)) continue; // compared separately: receivers differ on NaN
      const job = l.job;
      if (!this.byJob.has(job)) this.byJob.set(job, new Map());
      this.byJob.get(job)!.set(seriesKey(l), s.value);
    }
  }
}

function promValue(s: string): number {
  // "+Inf" from Prometheus, "Inf" from VictoriaMetrics
  if (/^\+?inf$/i.test(s)) return Infinity;
  return /^-inf$/i.test(s) ? -Infinity : Number(s);
}

function seriesKey(l: Record<string, string>): string {
  return JSON.stringify(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : 1)));
}

describe('delivery to real VictoriaMetrics and Prometheus', { skip }, () => {
  let vm: Receiver;
  let prom: Receiver;
  let target: FixtureServer;
  let kubelet: FixtureServer;
  const sent = new Sent();
  const log = createLogger('error', 'text');
  const writers: RemoteWriter[] = [];

  before(async () => {
    [vm, prom] = await Promise.all([startVictoriaMetrics(), startPrometheus()]);
    const cert = selfSignedCert();
    target = await startFixtureServer({
      routes: { '/metrics': readFileSync(fixture('kube-proxy', 'beats-k8s-v1_30-kube-proxy-metrics.txt')) },
    });
    const cadvisor = readFileSync(fixture('cadvisor', 'nri-k8s-1_35-metrics-cadvisor.txt'), 'utf8');
    kubelet = await startFixtureServer({
      tls: cert,
      tokens: ['t0ken'],
      gzip: true,
      routes: {
        '/metrics': readFileSync(fixture('kubelet', 'dd-k8s-v1_21_2-kubelet-metrics.txt')),
        '/metrics/cadvisor': () => withCurrentTimestamps(cadvisor),
      },
    });
    for (const r of [vm, prom]) {
      const w = new RemoteWriter(testWriter(r.writeUrl), testWriterOpt, { dir: '', maxBytes: 0 }, log);
      await w.start();
      writers.push(w);
    }
    const fan = new Fanout(writers, [sent]);
    const tls = { useTls: true, insecureSkipVerify: true };
    const targets = [
      new ScrapeTarget(
        testInstance({ labels: { job: 'kube-proxy' } }),
        `${target.url}/metrics`,
        testGlobal(),
        testWriterOpt,
      ),
      new ScrapeTarget(
        testInstance({ labels: { job: 'kubelet' }, bearerTokenString: 't0ken', tls }),
        `${kubelet.url}/metrics`,
        testGlobal(),
        testWriterOpt,
      ),
      new ScrapeTarget(
        testInstance({ labels: { job: 'cadvisor' }, bearerTokenString: 't0ken', tls }),
        `${kubelet.url}/metrics/cadvisor`,
        testGlobal(),
        testWriterOpt,
      ),
    ];
    const reports = await Promise.all(targets.map((t) => t.scrape(fan)));
    for (const r of reports) assert.equal(r.up, true, `${r.target}: ${r.error?.message}`);
    await Promise.all(targets.map((t) => t.stop()));
    await waitFor('writers to drain', () => writers.every((w) => w.idle), 60_000);
  });

  after(async () => {
    await Promise.all(writers.map((w) => w.close(1000)));
    await Promise.all([vm?.stop(), prom?.stop(), target?.close(), kubelet?.close()]);
  });

  for (const kind of ['victoria-metrics', 'prometheus'] as const) {
    for (const job of ['kube-proxy', 'kubelet', 'cadvisor']) {
      test(`${kind}: every ${job} series arrived with its value, ident, job and instance`, async () => {
        const r = kind === 'victoria-metrics' ? vm : prom;
        await flushVm(r);
        const expected = sent.byJob.get(job)!;
        assert.ok(expected.size > 20, `${job}: sent ${expected.size} series`);
        let got = new Map<string, number>();
        await waitFor(
          `${kind} to hold all ${expected.size} ${job} series`,
          async () => {
            const res = await r.query(`{job="${job}"}`);
            got = new Map(
              res
                .filter((x) => x.value[1] !== 'NaN')
                .map((x) => [seriesKey(x.metric), promValue(x.value[1])]),
            );
            return got.size >= expected.size;
          },
          30_000,
        );
        const missing = [...expected.keys()].filter((k) => !got.has(k));
        const extra = [...got.keys()].filter((k) => !expected.has(k));
        assert.deepEqual(missing.slice(0, 3), [], `${missing.length} series missing`);
        assert.deepEqual(extra.slice(0, 3), [], `${extra.length} unexpected series`);
        for (const [k, v] of expected) {
          const g = got.get(k)!;
          // VictoriaMetrics stores floats as decimal mantissa+exponent: ~12 significant digits survive.
          if (kind === 'victoria-metrics' && Number.isFinite(v) && v !== 0) {
            assert.ok(Math.abs(g - v) <= Math.abs(v) * 1e-11, `value of ${k}: ${g} vs ${v}`);
          } else {
            assert.equal(g, v, `value of ${k}`);
          }
        }
        const one = JSON.parse([...expected.keys()][0]) as Array<[string, string]>;
        const labels = Object.fromEntries(one);
        assert.equal(labels.ident, 'node-1');
        assert.equal(labels.job, job);
        assert.match(labels.instance, /^127\.0\.0\.1:\d+$/);
        console.log(`# ${kind} ${job}: ${expected.size} series, all present with equal values`);
      });
    }
  }

  test('the synthetic series arrived: up == 1 for every target, in both stores', async () => {
    for (const r of [vm, prom]) {
      const up = await r.query('up');
      assert.equal(up.length, 3);
      assert.ok(up.every((x) => x.value[1] === '1'));
    }
  });

  test('writers counted every sample they delivered, nothing dropped', () => {
    for (const w of writers) {
      assert.ok(w.stats.sentSamples > 1000);
      assert.deepEqual(Object.values(w.stats.droppedSamples), [0, 0, 0, 0, 0]);
    }
    assert.equal(writers[0].stats.sentSamples, writers[1].stats.sentSamples);
  });
});
