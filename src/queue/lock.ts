// The pid lock of a queue folder: `dir/LOCK` holds the owner's pid, so two agents (a restart that
// overlaps the old process's shutdown, or two DaemonSet pods on one hostPath) never write one queue.
// Created atomically with its content (link of a temp file); a lock whose pid is dead is taken over.
// Known limit: a dead owner's pid reused by an unrelated live process makes the lock look held
// until LOCK is removed by hand (the error names the file).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../errno.js';

export const LOCK_FILE = 'LOCK';

/** Folders locked by this process (a second open in the same process fails at once). */
const held = new Set<string>();

export interface LockOptions {
  /**
   * How long to wait for a live owner to let go (a previous process still shutting down), polling;
   * 0 fails at once. `onWait` is called once, when the wait starts.
   */
  waitMs?: number;
  onWait?: (ownerPid: number) => void;
}

export class LockedError extends Error {
  constructor(
    readonly dir: string,
    readonly ownerPid: number,
  ) {
    super(
      `diskqueue ${dir}: locked by another running process (pid ${ownerPid}); ` +
        `only one process may own a queue directory (lock file ${path.join(dir, LOCK_FILE)})`,
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

async function tryCreate(lockPath: string, content: string): Promise<boolean> {
  const tmp = `${lockPath}.${process.pid}.tmp`;
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

/** The pid of a live owner other than this process, or undefined when the lock is free or stale. */
async function liveOwner(lockPath: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(lockPath, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined; // released meanwhile
    throw e;
  }
  const pid = Number(text.trim());
  // Our own pid is not in `held`, so it is a previous run that had the same pid (containers).
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid) ? pid : undefined;
}

/** Take the lock of `dir` (which must exist), waiting up to `waitMs` for a live owner. */
export async function acquireLock(dir: string, opts: LockOptions = {}): Promise<void> {
  if (held.has(dir)) throw new Error(`diskqueue ${dir}: already open in this process`);
  held.add(dir); // reserved synchronously: a concurrent open in this process fails above
  const lockPath = path.join(dir, LOCK_FILE);
  const deadline = Date.now() + (opts.waitMs ?? 0);
  let waiting = false;
  let takeovers = 0;
  try {
    for (;;) {
      if (await tryCreate(lockPath, `${process.pid}\n`)) return;
      const owner = await liveOwner(lockPath);
      if (owner === undefined) {
        if (++takeovers > 5) throw new Error(`diskqueue ${dir}: could not take the lock file ${lockPath}`);
        await fsp.unlink(lockPath).catch((e: unknown) => {
          if (errnoCode(e) !== 'ENOENT') throw e;
        }); // stale: its owner is gone
        continue;
      }
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
}

export async function releaseLock(dir: string): Promise<void> {
  const lockPath = path.join(dir, LOCK_FILE);
  try {
    const text = await fsp.readFile(lockPath, 'utf8');
    if (Number(text.trim()) === process.pid) await fsp.unlink(lockPath);
  } catch {
    // already gone
  } finally {
    held.delete(dir);
  }
}
