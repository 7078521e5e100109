// nodegraf is launched five ways: the bin's first line (src/cli/main.ts), the Dockerfile, the image
// script (scripts/build-image.sh), `npm run demo` and the benchmark plugin (bench/nodegraf.sh).
// Their Node.js flags and malloc setting are measured choices (main.ts says why): all must carry
// the same ones.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { agentLaunch } from '../testing/launch.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');

test("every launcher passes main.ts's node flags and malloc setting", () => {
  const launch = agentLaunch();
  const env = Object.entries(launch.env).map(([k, v]) => `${k}=${v}`);
  const flags = launch.flags;
  assert.ok(
    flags.includes('--single-threaded-gc') && flags.some((f) => f.startsWith('--max-semi-space-size=')),
  );
  assert.ok(env.some((e) => e.startsWith('MALLOC_MMAP_THRESHOLD_=')));

  const docker = read('Dockerfile');
  const entry = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(docker)![1]!) as string[];
  assert.deepEqual(entry, ['/nodejs/bin/node', ...flags, '/app/dist/cli/main.js'], 'Dockerfile ENTRYPOINT');
  for (const e of env) assert.match(docker, new RegExp(`^ENV ${e}$`, 'm'), `Dockerfile ENV ${e}`);

  const script = read('scripts/build-image.sh');
  const entrypoint = [...script.matchAll(/--config\.entrypoint (\S+)/g)].map((m) => m[1]);
  assert.deepEqual(entrypoint, ['/nodejs/bin/node', ...flags, '/app/dist/cli/main.js'], 'build-image.sh');
  for (const e of env) assert.ok(script.includes(`--config.env ${e}`), `build-image.sh --config.env ${e}`);

  const demo = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.demo!;
  assert.ok(demo.includes(`${env.join(' ')} node ${flags.join(' ')} dist/cli/main.js demo`), 'npm run demo');

  const bench = read('bench/nodegraf.sh');
  const line = /^\s*(.*)"\$NODE_BIN" (.*)\\$/m.exec(bench);
  assert.ok(line, 'bench/nodegraf.sh starts "$NODE_BIN"');
  assert.deepEqual(line[1]!.trim().split(' ').filter(Boolean), env, 'bench/nodegraf.sh environment');
  assert.deepEqual(line[2]!.trim().split(' ').slice(0, flags.length), flags, 'bench/nodegraf.sh flags');
});
