// Opening a writer's queues: one ShardQueue per shard, each over its own on-disk folder
// (`<dir>/shard-<i>`), and one more per folder a previous run with more shards left behind, so its
// backlog is replayed too.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../errno.js';
import { DiskBudget } from './budget.js';
import { DiskQueue } from './diskqueue.js';
import { describeOwner } from './lock.js';
import { ShardQueue, type ShardQueueOptions } from './shard-queue.js';

export interface OpenQueuesOptions {
  /** The writer's queue folder; '' for memory only. */
  dir: string;
  shards: number;
  /** Bound of the whole writer's bytes on disk, shared by its shards (see ./budget.ts). */
  maxBytes: number;
  /** Memory bound of each shard, in samples. */
  memorySamples: number;
  /** How long to wait for a previous process to release a folder (it may still be shutting down). */
  lockWaitMs: number;
  onDrop: ShardQueueOptions['onDrop'];
  onSpill?: ShardQueueOptions['onSpill'];
  onLockWait?: (dir: string, owner: string) => void;
  /** Another process took a folder's lock while this one held it: two agents share the folder. */
  onLockLost?: (dir: string, owner: string) => void;
  /** A folder could not be opened: that shard runs in memory only. */
  onOpenError?: (dir: string, message: string) => void;
}

export interface OpenedQueues {
  queues: ShardQueue[];
  /** The disk bound of all of them (undefined without a folder). */
  budget: DiskBudget | undefined;
}

export async function openShardQueues(o: OpenQueuesOptions): Promise<OpenedQueues> {
  let count = o.shards;
  if (o.dir) {
    let existing: string[] = [];
    try {
      existing = readdirSync(o.dir).filter((d) => /^shard-\d+$/.test(d));
    } catch {
      existing = [];
    }
    count = Math.max(count, ...existing.map((d) => Number(d.slice(6)) + 1));
  }
  const budget = o.dir ? new DiskBudget(o.maxBytes) : undefined;
  const queues: ShardQueue[] = [];
  for (let i = 0; i < count; i++) {
    let disk: DiskQueue | undefined;
    if (o.dir) {
      const dir = join(o.dir, `shard-${i}`);
      try {
        disk = await DiskQueue.open({
          dir,
          budget,
          lockWaitMs: o.lockWaitMs,
          onLockWait: (owner) => o.onLockWait?.(dir, describeOwner(owner)),
          onLockLost: (owner) => o.onLockLost?.(dir, describeOwner(owner)),
          onDrop: (_records, samples) =>
            o.onDrop('disk_full', samples, 'on-disk queue full: dropped the oldest samples'),
        });
      } catch (err) {
        o.onOpenError?.(dir, errorMessage(err));
      }
    }
    queues.push(
      new ShardQueue({ memorySamples: o.memorySamples, disk, onDrop: o.onDrop, onSpill: o.onSpill }),
    );
  }
  return { queues, budget };
}
