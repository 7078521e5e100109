// The lock of a queue folder, so two agents never write one queue: a restart that overlaps the old
// process's shutdown, a rollout's two pods, or two DaemonSets on one hostPath.
//
// A pid alone cannot tell: every container has its own PID namespace, where the agent is often
// PID 1, so the previous owner's pid says nothing about whether it is alive. So `dir/LOCK` names
// its owner (a random instance id, pid, PID namespace, host name, start time) and the owner touches
// it every HEARTBEAT_MS. A lock is held while its heartbeat is fresh (younger than STALE_MS); in
// our own PID namespace a dead pid, or our own pid under another instance id (a previous run of
// this container), frees it at once. A killed owner in another namespace frees it STALE_MS after
// its last beat. Created atomically with its content (link of a temp file).
//
// Each beat also reads the lock back: an owner that finds another instance's id in it (its event
// loop stalled past STALE_MS and a second agent took over) says so through `onLost`.
import { randomUUID } from 'node:crypto';
import { readlinkSync, promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { errnoCode, errorMessage } from '../errno.js';

export const LOCK_FILE = 'LOCK';
/** How often the owner touches its lock. */
export const HEARTBEAT_MS = 2000;
/** A lock not touched for this long is free (its owner died, in whatever namespace). */
export const STALE_MS = 10_000;

/** This process: one id for every lock it takes. */
const INSTANCE = randomUUID();
const PID_NS = (() => {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return ''; // not Linux: the heartbeat alone decides
  }
})();

/** What a lock file says of its owner. */
export interface LockOwner {
  id: string;
  pid: number;
  pidNs: string;
  host: string;
  since: string;
}

export function describeOwner(o: LockOwner): string {
  return `pid ${o.pid}${o.pidNs ? ` in ${o.pidNs}` : ''} on ${o.host || 'an unknown host'}, since ${o.since || 'an unknown time'}`;
}

/** Folders locked by this process, with their heartbeat. */
const held = new Map<string, NodeJS.Timeout | undefined>();

export interface LockOptions {
  /**
   * How long to wait for a live owner to let go (a previous process still shutting down, a killed
   * one whose heartbeat has not gone stale yet), polling; 0 fails at once. `onWait` is called once,
   * when the wait starts.
   */
  waitMs?: number;
  onWait?: (owner: LockOwner) => void;
  /** Another instance's id was found in a lock this process holds (see the header). */
  onLost?: (owner: LockOwner) => void;
  /** Overrides STALE_MS and HEARTBEAT_MS (tests). */
  staleMs?: number;
  heartbeatMs?: number;
}

export class LockedError extends Error {
  constructor(
    readonly dir: string,
    readonly owner: LockOwner,
  ) {
    super(
      `diskqueue ${dir}: locked by another running nodegraf (${describeOwner(owner)}); ` +
        `only one process may own a queue directory: give each agent its own [queue] dir ` +
        `(lock file ${path.join(dir, LOCK_FILE)}, freed ${STALE_MS / 1000} s after its owner stops)`,
    );
    this.name = 'LockedError';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

function ownContent(): string {
  const o: LockOwner = {
    id: INSTANCE,
    pid: process.pid,
    pidNs: PID_NS,
    host: hostname(),
    since: new Date().toISOString(),
  };
  return `${JSON.stringify(o)}\n`;
}

async function tryCreate(lockPath: string, content: string): Promise<boolean> {
  const tmp = `${lockPath}.${INSTANCE}.tmp`;
  await fsp.writeFile(tmp, content);
  try {
    await fsp.link(tmp, lockPath);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') return false;
    // no hard links on this file system: exclusive create instead
    try {
      await fsp.writeFile(lockPath, content, { flag: 'wx' });
      return true;
    } catch (e2) {
      if (errnoCode(e2) === 'EEXIST') return false;
      throw e2;
    }
  } finally {
    await fsp.unlink(tmp).catch(() => {});
  }
}

/** The owner a lock file names; an older format (a bare pid) or garbage gives what it can. */
function parseOwner(text: string): LockOwner {
  try {
    const v = JSON.parse(text) as Partial<LockOwner>;
    if (typeof v === 'object' && v !== null && typeof v.id === 'string') {
      return {
        id: v.id,
        pid: Number(v.pid) || 0,
        pidNs: String(v.pidNs ?? ''),
        host: String(v.host ?? ''),
        since: String(v.since ?? ''),
      };
    }
  } catch {
    // not JSON
  }
  return { id: '', pid: Number(text.trim()) || 0, pidNs: '', host: '', since: '' };
}

/**
 * The owner a lock names and whether it is alive: `undefined` when the lock is gone meanwhile.
 */
async function ownerOf(
  lockPath: string,
  staleMs: number,
): Promise<{ owner: LockOwner; alive: boolean } | undefined> {
  let text: string;
  let mtimeMs: number;
  try {
    text = await fsp.readFile(lockPath, 'utf8');
    mtimeMs = (await fsp.stat(lockPath)).mtimeMs;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined; // released meanwhile
    throw e;
  }
  const o = parseOwner(text);
  if (o.id === INSTANCE) return { owner: o, alive: false };
  if (Date.now() - mtimeMs >= staleMs) return { owner: o, alive: false }; // no heartbeat: gone
  // our PID namespace on this host (the root namespace has one id on every host: a folder shared
  // over the network would look local), or a lock of an older version, which only had the pid
  if (o.id === '' || (PID_NS && o.pidNs === PID_NS && o.host === hostname())) {
    if (o.pid === process.pid || !(o.pid > 0 && pidAlive(o.pid))) return { owner: o, alive: false };
  }
  return { owner: o, alive: true };
}

/**
 * Remove a stale lock, but only the one judged stale: it is renamed away first (one contender
 * wins the rename), and put back when it turns out to be another contender's fresh lock.
 */
async function takeOver(lockPath: string, stale: LockOwner): Promise<void> {
  const aside = `${lockPath}.stale.${INSTANCE}`;
  try {
    await fsp.rename(lockPath, aside);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return; // another contender took it first
    throw e;
  }
  const moved = parseOwner(await fsp.readFile(aside, 'utf8').catch(() => ''));
  if (moved.id !== stale.id || moved.pid !== stale.pid) {
    // a fresh lock made between our look and the rename: give it back (unless yet another is there)
    await fsp.link(aside, lockPath).catch(() => undefined);
  }
  await fsp.unlink(aside).catch(() => undefined);
}

/** Take the lock of `dir` (which must exist), waiting up to `waitMs` for a live owner. */
export async function acquireLock(dir: string, opts: LockOptions = {}): Promise<void> {
  if (held.has(dir)) throw new Error(`diskqueue ${dir}: already open in this process`);
  held.set(dir, undefined); // reserved synchronously: a concurrent open in this process fails above
  const lockPath = path.join(dir, LOCK_FILE);
  const staleMs = opts.staleMs ?? STALE_MS;
  const deadline = Date.now() + (opts.waitMs ?? 0);
  let waiting = false;
  let takeovers = 0;
  try {
    for (;;) {
      if (await tryCreate(lockPath, ownContent())) break;
      const seen = await ownerOf(lockPath, staleMs);
      if (seen === undefined) continue; // released meanwhile
      if (!seen.alive) {
        if (++takeovers > 5) throw new Error(`diskqueue ${dir}: could not take the lock file ${lockPath}`);
        await takeOver(lockPath, seen.owner); // stale: its owner is gone
        continue;
      }
      const owner = seen.owner;
      if (Date.now() >= deadline) throw new LockedError(dir, owner);
      if (!waiting) {
        waiting = true;
        opts.onWait?.(owner);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    held.delete(dir);
    throw e;
  }
  const beat = setInterval(() => void heartbeat(lockPath, opts), opts.heartbeatMs ?? HEARTBEAT_MS);
  beat.unref();
  held.set(dir, beat);
}

/** Locks whose loss was already reported (once each). */
const lostReported = new Set<string>();
async function heartbeat(lockPath: string, opts: LockOptions): Promise<void> {
  try {
    const o = parseOwner(await fsp.readFile(lockPath, 'utf8'));
    if (o.id !== INSTANCE) {
      if (!lostReported.has(lockPath)) opts.onLost?.(o);
      lostReported.add(lockPath);
      return;
    }
    const now = new Date();
    await fsp.utimes(lockPath, now, now);
  } catch (e) {
    // gone or unreadable: the next open of the folder finds out; say it once
    if (!lostReported.has(lockPath) && errnoCode(e) !== 'ENOENT') {
      lostReported.add(lockPath);
      opts.onLost?.({ id: '', pid: 0, pidNs: '', host: `(lock unreadable: ${errorMessage(e)})`, since: '' });
    }
  }
}

export async function releaseLock(dir: string): Promise<void> {
  const lockPath = path.join(dir, LOCK_FILE);
  clearInterval(held.get(dir));
  lostReported.delete(lockPath);
  try {
    const o = parseOwner(await fsp.readFile(lockPath, 'utf8'));
    if (o.id === INSTANCE) await fsp.unlink(lockPath);
  } catch {
    // already gone
  } finally {
    held.delete(dir);
  }
}
