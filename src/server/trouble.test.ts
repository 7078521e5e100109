// Which pods the status page lists as in trouble, and in which order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PodSummary } from '../kube/pod-metadata.js';
import { podsInTrouble } from './trouble.js';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const at = (minAgo: number) => new Date(NOW - minAgo * 60_000).toISOString();

function pod(
  name: string,
  o: Partial<PodSummary> = {},
  c: Partial<PodSummary['containers'][0]> = {},
): PodSummary {
  const container = {
    name: 'app',
    ready: true,
    restarts: 0,
    waiting: '',
    lastTerminated: '',
    lastTerminatedAt: null,
    ...c,
  };
  return {
    namespace: 'shop',
    name,
    workloadKind: 'Deployment',
    workload: name,
    phase: 'Running',
    ready: true,
    restarts: container.restarts,
    waiting: [],
    lastTerminated: [],
    startTime: at(120),
    containers: [container],
    ...o,
  };
}

test('worst first: cannot run, then OOM-killed lately, then restarting or not ready; healthy and finished pods left out', () => {
  const list = podsInTrouble(
    [
      pod('healthy'),
      pod('old-restart', {}, { restarts: 3, lastTerminated: 'Error', lastTerminatedAt: at(180) }),
      pod('done', { phase: 'Succeeded', ready: false }),
      pod('starting', { ready: false }, { waiting: 'ContainerCreating', ready: false }),
      pod('oom', {}, { restarts: 2, lastTerminated: 'OOMKilled', lastTerminatedAt: at(7) }),
      pod(
        'crash',
        { ready: false },
        {
          restarts: 8,
          waiting: 'CrashLoopBackOff',
          lastTerminated: 'Error',
          lastTerminatedAt: at(4),
          ready: false,
        },
      ),
      pod('config', { ready: false }, { waiting: 'CreateContainerConfigError', ready: false }),
    ],
    NOW,
  );
  assert.deepEqual(
    list.map((p) => [p.pod, p.severity]),
    [
      ['crash', 3],
      ['config', 3],
      ['oom', 2],
      ['starting', 1],
    ],
  );
  assert.deepEqual(list[0].problems, [
    'app: CrashLoopBackOff',
    'app: restarted 4 min ago (Error)',
    'not ready',
  ]);
  assert.deepEqual(list[2].problems, ['app: OOM-killed 7 min ago']);
  assert.equal(list[0].lastTermination, at(4));
});

test('a failed or unknown pod is in trouble whatever its containers say', () => {
  const [p] = podsInTrouble([pod('lost', { phase: 'Unknown', ready: false })], NOW);
  assert.deepEqual([p.pod, p.severity, p.problems], ['lost', 3, ['pod Unknown']]);
});
