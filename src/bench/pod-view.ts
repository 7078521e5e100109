// The pod view of the busy-node benchmark with pod enrichment (bench/nodegraf-pods.sh): a local
// list/watch API server (testing/fake-apiserver.ts) serving one pod for every namespace/pod pair of
// the benchmark's payload, each with an `app` label and a ReplicaSet owner, so that every container
// series of the payload is enriched. Writes the server's URL, CA and token into DIR and runs until
// it is killed.
//
//   node build/bench/bench/pod-view.js PAYLOAD NODE DIR
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiPod, FakeApiServer } from '../testing/fake-apiserver.js';

const [payload, node, dir] = process.argv.slice(2);
if (!payload || !node || !dir) throw new Error('usage: pod-view.js PAYLOAD NODE DIR');
const pods = new Map<string, [string, string]>();
for (const m of readFileSync(payload, 'latin1').matchAll(/namespace="([^"]*)",pod="([^"]*)"/g))
  pods.set(`${m[1]}/${m[2]}`, [m[1], m[2]]);
const server = new FakeApiServer();
server.tokens = new Set(['bench-token']);
server.pageSize = 500;
await server.start();
for (const [ns, name] of pods.values()) server.put(apiPod(ns, name, node, { app: name.split('-')[0] }));
writeFileSync(join(dir, 'token'), 'bench-token\n');
writeFileSync(join(dir, 'ca.pem'), server.cert.cert);
writeFileSync(join(dir, 'url'), server.url + '\n');
process.stdout.write(`pod view: ${pods.size} pods at ${server.url}\n`);
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
