// The install steps of docs/quickstart.md and docs/kubernetes.md work as written: every line of
// their ```sh blocks that needs no cluster (cp, kubectl kustomize) runs, in order, in a copy of
// deploy/ laid out as in the repository; the lines that need a cluster are listed, not run.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..', '..');
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const skip = kubectl
  ? false
  : process.env.CI === 'true'
    ? (() => {
        throw new Error('kubectl not found: the docs test renders the kit with it');
      })()
    : 'kubectl not found (it renders the kustomize kit)';

/** The lines of every ```sh block, comments and `| less` removed. */
function shellLines(doc: string): string[] {
  const text = readFileSync(join(ROOT, doc), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of m[1].split('\n')) {
      const line = raw
        .replace(/\s+#.*$/, '')
        .replace(/\s*\|\s*less\s*$/, '')
        .trim();
      if (line) out.push(line);
    }
  }
  return out;
}

const RUN_HERE = /^(cp |kubectl kustomize )/;

for (const doc of ['docs/quickstart.md', 'docs/kubernetes.md']) {
  test(`${doc}: the install commands that need no cluster run as written`, { skip }, () => {
    const work = mkdtempSync(join(tmpdir(), 'nodegraf-docs-'));
    try {
      cpSync(join(ROOT, 'deploy'), join(work, 'deploy'), { recursive: true });
      const lines = shellLines(doc);
      const ran: string[] = [];
      const notHere: string[] = [];
      for (const line of lines) {
        if (!RUN_HERE.test(line)) {
          notHere.push(line);
          continue;
        }
        const out = execFileSync('bash', ['-c', line], { cwd: work, encoding: 'utf8' });
        if (line.startsWith('kubectl kustomize'))
          assert.match(out, /^kind: DaemonSet$/m, `${line} renders the DaemonSet`);
        ran.push(line);
      }
      assert.ok(
        ran.some((l) => l.startsWith('kubectl kustomize')) ||
          lines.some((l) => l.startsWith('kubectl apply -k')),
        'a render or apply of the kit is documented',
      );
      // an apply -k of a folder must render here too (the cluster is all that is missing)
      for (const line of notHere.filter((l) => l.startsWith('kubectl apply -k '))) {
        const out = execFileSync('kubectl', ['kustomize', line.slice('kubectl apply -k '.length)], {
          cwd: work,
          encoding: 'utf8',
        });
        assert.match(out, /^kind: DaemonSet$/m, `${line}: what it would apply renders`);
      }
      console.log(`# ${doc}: ran ${ran.length} (${ran.join('; ')}); need a cluster: ${notHere.length}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}
