// Opening a writer's queues: one ShardQueue per shard, each over its own on-disk folder
// (`<dir>/shard-<i>`), and one more per folder a previous run with more shards left behind, so its
// backlog is replayed too.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../errno.js';
import { DiskQueue } from './diskqueue.js';
import { ShardQueue, type ShardQueueOptions } from './shard-queue.js';

export interface OpenQueuesOptions {
  /** The writer's queue folder; '' for memory only. */
  dir: string;
  shards: number;
  /** Bound of the whole writer's disk use, split evenly between its shards. */
  maxBytes: number;
  /** Memory bound of each shard, in samples. */
  memorySamples: number;
  /** How long to wait for a previous process to release a folder (it may still be shutting down). */
  lockWaitMs: number;
  onDrop: ShardQueueOptions['onDrop'];
  onSpill?: ShardQueueOptions['onSpill'];
  onLockWait?: (dir: string, ownerPid: number) => void;
  /** A folder could not be opened: that shard runs in memory only. */
  onOpenError?: (dir: string, message: string) => void;
}

/** Per-shard disk bound: an even share, at least 1 MiB. */
export function perShardBytes(maxBytes: number, shards: number): number {
  return Math.max(1 << 20, Math.floor(maxBytes / shards));
}

export async function openShardQueues(o: OpenQueuesOptions): Promise<ShardQueue[]> {
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
  const bytes = perShardBytes(o.maxBytes, count);
  const queues: ShardQueue[] = [];
  for (let i = 0; i < count; i++) {
    let disk: DiskQueue | undefined;
    if (o.dir) {
      const dir = join(o.dir, `shard-${i}`);
      try {
        disk = await DiskQueue.open({
          dir,
          maxBytes: bytes,
          lockWaitMs: o.lockWaitMs,
          onLockWait: (pid) => o.onLockWait?.(dir, pid),
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
  return queues;
}
