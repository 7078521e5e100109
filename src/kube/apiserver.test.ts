import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger } from '../log.js';
import { apiPod, FakeApiServer } from '../testing/fake-apiserver.js';
import { waitFor } from '../testing/net.js';
import { ApiserverPodSource } from './apiserver.js';
import { PodView } from './view.js';

const api = new FakeApiServer();
const dir = mkdtempSync(join(tmpdir(), 'nodegraf-api-'));
const tokenFile = join(dir, 'token');
const log = createLogger('silent', 'text');

before(() => api.start());
after(() => api.stop());

function source(view: PodView) {
  return new ApiserverPodSource(
    {
      url: api.url,
      nodeName: 'node-1',
      bearerTokenFile: tokenFile,
      caFile: api.cert.certFile,
      insecureSkipVerify: false,
      minBackoffMs: 20,
      maxBackoffMs: 100,
      userAgent: 'nodegraf/test',
    },
    view,
    log,
  );
}

const names = (v: PodView) => [...v.all()].map((p) => `${p.namespace}/${p.name}`).sort();
const watchCount = () => api.requests.filter((r) => r.query.watch === '1').length;
const listCount = () => api.requests.filter((r) => r.query.watch !== '1').length;

test('list (paged) then watch: split events, changes, deletes, bookmarks, a dropped watch, 410, token rotation', async () => {
  writeFileSync(tokenFile, 'token-1\n');
  api.put(apiPod('shop', 'web-a', 'node-1', { region: 'eu' }));
  api.put(apiPod('shop', 'web-b', 'node-1'));
  api.put(apiPod('shop', 'db-0', 'node-1'));
  api.put(apiPod('shop', 'elsewhere', 'node-2'));
  const view = new PodView('apiserver', { podLabels: ['region', 'team'], podAnnotations: [] });
  const src = source(view);
  src.start();
  try {
    assert.ok(await view.waitSynced(10_000), 'first list');
    assert.deepEqual(names(view), ['shop/db-0', 'shop/web-a', 'shop/web-b'], 'only this node, every page');
    const firstList = api.requests.filter((r) => r.query.watch !== '1');
    assert.equal(firstList.length, 2, 'two pages of 2');
    assert.equal(firstList[0].query.fieldSelector, 'spec.nodeName=node-1');
    await waitFor('the watch', () => api.openWatches === 1, 10_000);
    const w = api.requests.at(-1)!;
    assert.equal(w.query.resourceVersion, String(api.rv), 'the watch starts at the list version');
    assert.equal(w.query.allowWatchBookmarks, 'true');

    // an event split into 7 writes (one inside a UTF-8 character), a change, a delete
    api.put(apiPod('shop', 'web-c', 'node-1', { region: 'us', team: 'équipe-東京' }), 7);
    api.put(apiPod('shop', 'web-a', 'node-1', { region: 'ap' }));
    api.delete('shop', 'web-b');
    await waitFor('the events', () => view.status.events === 3, 10_000);
    assert.deepEqual(names(view), ['shop/db-0', 'shop/web-a', 'shop/web-c']);
    assert.equal(view.lookup('shop/web-a')?.labels.find(([k]) => k === 'label_region')?.[1], 'ap');
    assert.equal(view.lookup('shop/web-c')?.labels.find(([k]) => k === 'label_team')?.[1], 'équipe-東京');
    api.bookmark();
    await waitFor('the bookmark', () => view.status.resourceVersion === String(api.rv), 10_000);

    // dropped mid-event: resume the watch from the last version, no relist
    const lists = listCount();
    const rvBefore = view.status.resourceVersion;
    api.dropWatches();
    await waitFor('a new watch', () => api.openWatches === 1, 10_000);
    assert.equal(api.requests.at(-1)!.query.resourceVersion, rvBefore);
    assert.equal(listCount(), lists, 'no relist after a dropped watch');
    assert.deepEqual(names(view), ['shop/db-0', 'shop/web-a', 'shop/web-c'], 'the view is kept');

    // 410: relist; a pod deleted while the watch was away leaves the view
    api.deleteQuietly('shop', 'db-0');
    api.expire();
    await waitFor('the relist', () => listCount() > lists && !names(view).includes('shop/db-0'), 10_000);
    assert.deepEqual(names(view), ['shop/web-a', 'shop/web-c']);

    // the token rotates: the old one is refused, the file has the new one, which is re-read
    writeFileSync(tokenFile, 'token-2\n');
    api.tokens = new Set(['token-2']);
    const watches = watchCount();
    api.dropWatches();
    await waitFor(
      'a watch with the new token',
      () => api.openWatches === 1 && watchCount() > watches,
      10_000,
    );
    assert.equal(api.requests.at(-1)!.token, 'token-2');
    assert.equal(view.status.lastError, '');
  } finally {
    await src.stop();
  }
});

test('403 with a Status body: the error names the RBAC rule, the last good view is kept', async () => {
  writeFileSync(tokenFile, 'token-2\n');
  api.tokens = new Set(['token-2']);
  const view = new PodView('apiserver', { podLabels: [], podAnnotations: [] });
  const src = source(view);
  src.start();
  try {
    assert.ok(await view.waitSynced(10_000));
    const pods = names(view);
    assert.ok(pods.length > 0);
    api.forbidden = true;
    api.expire(); // force a relist, which is refused
    await waitFor('the error', () => view.status.lastError !== '', 10_000);
    assert.match(view.status.lastError, /403 Forbidden listing pods of node node-1: pods is forbidden/);
    assert.match(view.status.lastHint, /resources: \["pods"\], verbs: \["list", "watch"\]/);
    assert.deepEqual(names(view), pods, 'last good view kept');
    api.forbidden = false;
    await waitFor('recovery', () => view.status.lastError === '' && api.openWatches === 1, 10_000);
  } finally {
    await src.stop();
  }
});

test('401 that a re-read token does not fix: an error that says so', async () => {
  writeFileSync(tokenFile, 'stale-token\n');
  const view = new PodView('apiserver', { podLabels: [], podAnnotations: [] });
  const src = source(view);
  src.start();
  try {
    await waitFor('the error', () => view.status.errors > 0, 10_000);
    assert.match(view.status.lastError, /401 Unauthorized/);
    assert.match(view.status.lastHint, /re-read on every request/);
    assert.equal(view.status.synced, false);
    assert.ok(!JSON.stringify(view.status).includes('stale-token'), 'the token is never shown');
  } finally {
    await src.stop();
  }
});
