// The queue folder's lock across processes and PID namespaces: agents in two containers (each its
// own PID 1) on one hostPath must not both use the folder; a killed owner's lock frees itself.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { acquireLock, LOCK_FILE, LockedError, releaseLock, type LockOwner } from './lock.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const lockModule = pathToFileURL(fileURLToPath(new URL('./lock.ts', import.meta.url))).href;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegraf-lock-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A child that takes the lock (waiting up to waitMs) and holds it, or prints why it could not. */
function childScript(dir: string): string {
  const file = path.join(dir, 'child.mjs');
  fs.writeFileSync(
    file,
    `import { acquireLock } from ${JSON.stringify(lockModule)};
const [dir, waitMs] = process.argv.slice(2);
try {
  await acquireLock(dir, { waitMs: Number(waitMs), staleMs: 1500, heartbeatMs: 300 });
  process.stdout.write('locked ' + process.pid + '\\n');
  setInterval(() => {}, 1 << 30);
} catch (e) {
  process.stdout.write('refused ' + e.message + '\\n');
  process.exit(3);
}
`,
  );
  return file;
}

const canUnshare =
  process.getuid?.() === 0 && spawnSync('unshare', ['-fp', '--mount-proc', 'true']).status === 0;

interface Child {
  first: Promise<string>;
  exited: Promise<void>;
  kill(): void;
}

/** Runs the child, in a PID namespace of its own (where it is PID 1) when `ownNs`. */
function start(script: string, dir: string, waitMs: number, ownNs: boolean): Child {
  const node = [process.execPath, '--import', 'tsx', script, dir, String(waitMs)];
  const proc = ownNs
    ? spawn('unshare', ['-fp', '--mount-proc', '--kill-child', ...node], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(node[0], node.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const guard = setTimeout(() => proc.kill('SIGKILL'), 60_000);
  const exited = new Promise<void>((r) =>
    proc.once('exit', () => {
      clearTimeout(guard);
      r();
    }),
  );
  const first = new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    void exited.then(() => reject(new Error(`child exited without a word: ${err}`)));
  });
  // --kill-child: the namespace's init (the agent) dies with unshare, as a container's PID 1 does
  return { first, exited, kill: () => proc.kill('SIGKILL') };
}

test(
  'two agents in separate PID namespaces, both PID 1, on one folder: the second is refused and told who holds it',
  { skip: canUnshare ? false : 'needs root and unshare (PID namespaces)' },
  async (t) => {
    const dir = tempDir(t);
    const script = childScript(dir);
    const q = path.join(dir, 'q');
    fs.mkdirSync(q);
    const a = start(script, q, 0, true);
    t.after(() => a.kill());
    assert.equal(await a.first, 'locked 1', 'the first agent is PID 1 of its namespace and holds the lock');
    const owner = JSON.parse(fs.readFileSync(path.join(q, LOCK_FILE), 'utf8')) as LockOwner;
    assert.equal(owner.pid, 1);
    assert.match(owner.pidNs, /^pid:\[\d+\]$/);

    const b = start(script, q, 0, true); // also PID 1, in yet another namespace
    const said = await b.first;
    assert.match(said, /^refused .*locked by another running nodegraf \(pid 1 in pid:\[\d+\]/);
    assert.ok(said.includes(owner.pidNs), 'the refusal names the holder');
    await b.exited;

    // the holder is killed (kill -9 of a container): its heartbeat stops and the lock frees itself
    a.kill();
    await a.exited;
    const t0 = Date.now();
    const c = start(script, q, 10_000, true);
    t.after(() => c.kill());
    assert.equal(await c.first, 'locked 1');
    console.log(
      `# a killed owner in another PID namespace: its lock taken over after ${Date.now() - t0} ms (stale after 1.5 s here, 10 s by default)`,
    );
    c.kill();
    await c.exited;
  },
);

test('same namespace: a live owner is refused at once, a dead pid is taken over at once', async (t) => {
  const dir = tempDir(t);
  const script = childScript(dir);
  const q = path.join(dir, 'q');
  fs.mkdirSync(q);
  const a = start(script, q, 0, false);
  t.after(() => a.kill());
  const [, pid] = (await a.first).split(' ');
  await assert.rejects(acquireLock(q), (e: unknown) => {
    assert.ok(e instanceof LockedError);
    assert.equal(e.owner.pid, Number(pid));
    return true;
  });
  a.kill();
  await a.exited;
  const t0 = Date.now();
  await acquireLock(q, { waitMs: 5000 });
  assert.ok(
    Date.now() - t0 < 1000,
    'a dead pid in our namespace frees the lock without waiting for staleness',
  );
  await releaseLock(q);
  assert.equal(fs.existsSync(path.join(q, LOCK_FILE)), false, 'release removes the lock');
});

test('a lock of the old format (a bare pid) or one without a heartbeat for STALE_MS is taken over', async (t) => {
  const q = tempDir(t);
  const lock = path.join(q, LOCK_FILE);
  fs.writeFileSync(lock, '1\n'); // PID 1 is alive here, but the file has no heartbeat
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(lock, old, old);
  await acquireLock(q);
  assert.equal((JSON.parse(fs.readFileSync(lock, 'utf8')) as LockOwner).pid, process.pid);
  await releaseLock(q);
});

test('an owner whose lock was taken over by another instance says so', async (t) => {
  const q = tempDir(t);
  const lost: LockOwner[] = [];
  await acquireLock(q, { heartbeatMs: 50, onLost: (o) => lost.push(o) });
  const intruder: LockOwner = { id: 'other', pid: 4242, pidNs: 'pid:[1]', host: 'node-b', since: '' };
  fs.writeFileSync(path.join(q, LOCK_FILE), JSON.stringify(intruder));
  const deadline = Date.now() + 5000;
  while (lost.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(lost[0]?.host, 'node-b');
  await releaseLock(q);
  assert.ok(fs.existsSync(path.join(q, LOCK_FILE)), "release leaves another instance's lock alone");
});
