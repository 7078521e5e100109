// Container lifecycle at the source (issue 21): the pod view knows which container ids and pod UIDs
// are gone, and a target's pipeline stops sending cAdvisor's lingering series of them, with a
// staleness marker after their last sample. On the simulator with dead cgroups lingering, as
// cAdvisor keeps them until its housekeeping notices.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Chunk } from '../prompb/chunk.js';
import { decodeChunk, type DecodedSample } from '../prompb/decode.js';
import { pipelineOptions, TargetPipeline } from '../scrape/pipeline.js';
import { PodLabeler, cgroupIds } from '../scrape/pod-labels.js';
import { ScrapeError } from '../scrape/errors.js';
import { startSimulator, type Simulator } from '../sim/simulator.js';
import { parsePod, type Pod } from './pod.js';
import { PodView } from './view.js';

const OPTS = { podLabels: [], podAnnotations: [] };

function pod(uid: string, statuses: object[]): Pod {
  return parsePod({
    metadata: { namespace: 'shop', name: 'db-0', uid },
    spec: { nodeName: 'n1', containers: [{ name: 'postgres', image: 'postgres:16' }] },
    status: { phase: 'Running', containerStatuses: statuses },
  })!;
}
const running = (id: string, last?: string) => ({
  name: 'postgres',
  containerID: `containerd://${id}`,
  state: { running: {} },
  lastState: last ? { terminated: { reason: 'OOMKilled', containerID: `containerd://${last}` } } : {},
});

const other = parsePod({
  metadata: { namespace: 'shop', name: 'web-1', uid: 'uid-9' },
  spec: { nodeName: 'n1', containers: [{ name: 'web', image: 'web:1' }] },
  status: { phase: 'Running', containerStatuses: [running('e'.repeat(64))] },
})!;

test('the pod view: a replaced container id and a replaced or deleted pod are dead, a new id is not', () => {
  const view = new PodView('kubelet', OPTS);
  view.replace([pod('uid-1', [running('a'.repeat(64))])]);
  const e1 = view.lookup('shop/db-0');
  assert.equal(view.isDead('a'.repeat(64), 'uid-1'), false);
  // an id the view has not seen yet (the container just started): not dead
  assert.equal(view.isDead('c'.repeat(64), 'uid-1'), false);
  // restarted: the old id in lastState, and it was current before
  view.replace([pod('uid-1', [running('b'.repeat(64), 'a'.repeat(64))])]);
  assert.equal(view.isDead('a'.repeat(64), 'uid-1'), true);
  assert.equal(view.isDead('b'.repeat(64), 'uid-1'), false);
  assert.notEqual(view.lookup('shop/db-0'), e1, 'a new enrichment: the targets rebuild the pod');
  // deleted and recreated under the same name (StatefulSet): the old UID and its ids are dead
  view.replace([pod('uid-2', [running('d'.repeat(64))])]);
  assert.equal(view.isDead(undefined, 'uid-1'), true);
  assert.equal(view.isDead('b'.repeat(64), 'uid-2'), true);
  assert.equal(view.isDead('d'.repeat(64), 'uid-2'), false);
  // a status without a container id yet (a static pod the kubelet has no status for) buries nothing
  view.replace([pod('uid-2', [{ name: 'postgres', state: { waiting: { reason: 'ContainerCreating' } } }])]);
  assert.equal(view.isDead('d'.repeat(64), 'uid-2'), false);
  view.replace([pod('uid-2', [running('d'.repeat(64))])]);
  // an empty list (a kubelet restarting, before it knows its pods) buries nothing
  view.replace([]);
  assert.equal(view.isDead('d'.repeat(64), 'uid-2'), false);
  // deleted (gone from a list that has other pods)
  view.replace([pod('uid-2', [running('d'.repeat(64))])]);
  view.replace([other]);
  assert.equal(view.isDead('d'.repeat(64), 'uid-2'), true);
  assert.equal(view.isDead(undefined, 'uid-2'), true);
  // and back (a mirror pod recreated, a relist): what runs is alive again
  view.replace([pod('uid-2', [running('d'.repeat(64))]), other]);
  assert.equal(view.isDead('d'.repeat(64), 'uid-2'), false);
  assert.equal(view.isDead(undefined, 'uid-2'), false);
  assert.ok(view.status.deadSeriesDropped >= 4);
  // off: nothing is dead
  const off = new PodView('kubelet', { ...OPTS, dropStaleContainers: false });
  off.replace([pod('uid-1', [running('b'.repeat(64), 'a'.repeat(64))])]);
  assert.equal(off.isDead('a'.repeat(64), 'uid-1'), false);
});

test("cgroup paths: cgroupfs and systemd layouts give the container id and the pod's UID", () => {
  const id = 'f'.repeat(64);
  assert.deepEqual(cgroupIds(`/kubepods/burstable/pod0b1c2d3e-1111-2222-3333-444455556666/${id}`), {
    containerId: id,
    podUid: '0b1c2d3e-1111-2222-3333-444455556666',
  });
  assert.deepEqual(
    cgroupIds(
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b1c2d3e_1111_2222_3333_444455556666.slice/cri-containerd-${id}.scope`,
    ),
    { containerId: id, podUid: '0b1c2d3e-1111-2222-3333-444455556666' },
  );
  assert.deepEqual(cgroupIds('/kubepods/burstable/pod0b1c2d3e-1111-2222-3333-444455556666'), {
    podUid: '0b1c2d3e-1111-2222-3333-444455556666',
  });
  assert.deepEqual(cgroupIds('/system.slice/kubelet.service'), {});
});

describe('a target on the simulator with dead cgroups lingering', () => {
  let sim: Simulator;
  let clock = 0;
  before(async () => {
    clock = Math.floor(Date.now() / 1000) * 1000;
    sim = await startSimulator({
      seed: 3,
      deadCgroupLingerS: 600,
      now: () => clock,
      kubeProxyPort: 0,
      kubeProxyHealthPort: 0,
      kubeletPort: 0,
    });
  });
  after(() => sim.close());

  const name = (s: DecodedSample) => s.labels.find(([k]) => k === '__name__')![1];
  const label = (s: DecodedSample, k: string) => s.labels.find(([n]) => n === k)?.[1] ?? '';

  /** Scrape cAdvisor at the simulator's clock with the view refreshed from its /pods. */
  function scrapeAt(ms: number, view: PodView, p: TargetPipeline): DecodedSample[] {
    clock = ms;
    const list = JSON.parse(sim.render.pods(ms)) as { items: unknown[] };
    view.replace(list.items.map((i) => parsePod(i)!).filter(Boolean), ms);
    const out: DecodedSample[] = [];
    const emit = (c: Chunk) => out.push(...decodeChunk(c.body));
    p.process(Buffer.from(sim.render.cadvisor(ms)), false, ms, emit);
    p.flush(emit);
    return out;
  }

  test('a deleted and recreated StatefulSet pod: the old cgroups end with markers after their last sample', () => {
    const view = new PodView('kubelet', OPTS);
    const p = new TargetPipeline(pipelineOptions({ enricher: new PodLabeler(view) }));
    const offView = new PodView('kubelet', { ...OPTS, dropStaleContainers: false });
    const off = new TargetPipeline(pipelineOptions({ enricher: new PodLabeler(offView) }));
    const t0 = clock;
    scrapeAt(t0, view, p);
    scrapeAt(t0, offView, off);
    const oldUid = sim.model.pods.find((x) => x.name === 'db-0')!.uid;
    clock = t0 + 5_000;
    assert.equal(sim.recreate('shop/db-0'), 'db-0');
    const t1 = t0 + 15_000;
    const got = scrapeAt(t1, view, p);
    const gotOff = scrapeAt(t1, offView, off);
    const ofOld = (s: DecodedSample) => label(s, 'id').includes(oldUid);
    // with it off, cAdvisor's lingering rows of the old pod are still there (not sent again only
    // because their timestamps did not advance: a store keeps returning them for its lookback)
    const oldRows = sim.render
      .cadvisor(t1)
      .split('\n')
      .filter((l) => l.includes(oldUid)).length;
    assert.ok(oldRows > 50, `${oldRows} lingering rows of the old pod`);
    assert.equal(gotOff.filter((s) => ofOld(s) && s.stale).length, 0, 'off: no markers');
    // on: a marker for every series of the old pod, after its last sample
    const markers = got.filter((s) => ofOld(s) && s.stale);
    assert.ok(markers.length > 50, `${markers.length} markers`);
    assert.ok(markers.every((s) => s.timestampMs >= t1));
    assert.equal(got.filter((s) => ofOld(s) && !s.stale).length, 0);
    // the new pod's series are sent
    const newUid = sim.model.pods.find((x) => x.name === 'db-0')!.uid;
    assert.ok(
      got.some((s) => label(s, 'id').includes(newUid) && name(s) === 'container_memory_working_set_bytes'),
    );
    assert.ok(view.status.deadSeriesDropped >= markers.length);
  });

  test('a restarted container: the old instance is dropped, the new one kept (the OOM-looping recommender)', () => {
    const view = new PodView('kubelet', OPTS);
    const p = new TargetPipeline(pipelineOptions({ enricher: new PodLabeler(view) }));
    const rec = sim.model.pods.find((x) => x.name.startsWith('recommender-'))!;
    const c = rec.containers.find((x) => !x.pause)!;
    // scrape every 15 s across a restart of its container (OOM every 720 s)
    const start = clock;
    const seen = new Map<string, { sent: number; stale: number; firstMs: number }>();
    for (let ms = start; ms < start + 900_000; ms += 15_000) {
      for (const s of scrapeAt(ms, view, p)) {
        if (label(s, 'pod') !== rec.name || label(s, 'container') !== c.name) continue;
        if (name(s) !== 'container_memory_working_set_bytes') continue;
        const id = cgroupIds(label(s, 'id')).containerId!;
        const e = seen.get(id) ?? { sent: 0, stale: 0, firstMs: ms };
        if (s.stale) e.stale++;
        else e.sent++;
        seen.set(id, e);
      }
    }
    const ids = [...seen.keys()];
    assert.equal(ids.length, 2, `two instances: ${JSON.stringify([...seen])}`);
    const [first, second] = ids.map((id) => seen.get(id)!);
    assert.equal(first!.stale, 1, 'the old instance got one marker');
    assert.equal(second!.stale, 0);
    // cAdvisor went on reporting the old instance after the new one started: the drop, not
    // cAdvisor, ended it
    assert.ok(
      sim.render.cadvisor(second!.firstMs + 15_000).includes(ids[0]!),
      'cAdvisor still reports the old instance',
    );
  });
});

test('a target retired after a failed scrape still ends the series a pod change evicted', () => {
  const view = new PodView('kubelet', OPTS);
  const id = 'a'.repeat(64);
  view.replace([pod('uid-1', [running(id)])]);
  const p = new TargetPipeline(pipelineOptions({ enricher: new PodLabeler(view) }));
  const page = `container_memory_working_set_bytes{namespace="shop",pod="db-0",container="postgres",id="/kubepods/pod0b1c2d3e-1111-2222-3333-444455556666/${id}"} 5 1000\n`;
  const out: DecodedSample[] = [];
  const emit = (c: Chunk) => out.push(...decodeChunk(c.body));
  p.process(Buffer.from(page), false, 2000, emit);
  p.flush(emit);
  assert.equal(out.filter((s) => !s.stale).length, 1);
  // the container restarts; the next scrape begins (evicting the old series) and fails
  view.replace([pod('uid-1', [running('b'.repeat(64), id)])]);
  p.begin(false, 12_000);
  p.fail(emit, new ScrapeError('timeout', 'timeout after 3 s'), 12_000, 0);
  out.length = 0;
  p.retire(emit, 20_000, true);
  const markers = out.filter((s) => s.stale && s.labels.some(([k, v]) => k === 'id' && v.endsWith(id)));
  assert.ok(markers.length >= 1, JSON.stringify(out.map((s) => s.labels)));
});
