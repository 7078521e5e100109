// The hints a 403 from the kubelet carries: the RBAC rule the path needs, and never nodes/proxy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyStatus } from './errors.js';

const kubelet = (path: string) => new URL(`https://127.0.0.1:10250${path}`);

test('403 on /metrics/cadvisor names the nodes/metrics rule', () => {
  const e = classifyStatus(
    403,
    'Forbidden (user=system:serviceaccount:nodegraf:nodegraf, verb=get, resource=nodes, subresource=metrics)',
    kubelet('/metrics/cadvisor'),
    '',
  );
  assert.equal(e.kind, 'forbidden');
  assert.match(e.hint, /resources: \["nodes\/metrics"\], verbs: \["get"\]/);
});

test('403 on /pods from a fine-grained kubelet names nodes/pods', () => {
  const e = classifyStatus(
    403,
    'Forbidden (user=system:serviceaccount:nodegraf:nodegraf, verb=get, resource=nodes, subresource=pods)',
    kubelet('/pods'),
    '',
  );
  assert.match(e.hint, /resources: \["nodes\/pods"\]/);
});

test('403 on /pods from a kubelet that checks nodes/proxy: the hint is the apiserver source, not nodes/proxy', () => {
  const e = classifyStatus(
    403,
    'Forbidden (user=system:serviceaccount:nodegraf:nodegraf, verb=get, resource=nodes, subresource=proxy)',
    kubelet('/pods'),
    '',
  );
  assert.match(e.hint, /source = "apiserver"/);
  assert.doesNotMatch(e.hint, /resources: \["nodes\/proxy"\]/);
});
