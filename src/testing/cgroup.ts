// A memory cgroup of our own (root only), to run the agent under the DaemonSet's real limit and see
// whether the kernel would OOM-kill it: cgroup v1 (memory controller) or v2, under the cgroup this
// process is in.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemoryCgroup {
  dir: string;
  /** The file a pid is written to, to move it into the cgroup. */
  procs: string;
  /** OOM kills in the cgroup so far. */
  oomKills(): number;
  /** Highest memory use the kernel recorded (page cache included), bytes; NaN when unknown. */
  maxUsage(): number;
  remove(): void;
}

/** A cgroup limited to `limitBytes` without swap, or the reason none can be made here. */
export function memoryCgroup(limitBytes: number, name: string): MemoryCgroup | string {
  if (process.getuid?.() !== 0) return 'needs root to create a memory cgroup';
  const self = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v1 = self.find((l) => /^\d+:memory:/.test(l));
  try {
    if (v1 && existsSync('/sys/fs/cgroup/memory')) {
      const dir = join('/sys/fs/cgroup/memory', v1.split(':')[2], name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limitBytes));
      // no swap either, where the kernel accounts it
      if (existsSync(join(dir, 'memory.memsw.limit_in_bytes')))
        writeFileSync(join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes));
      return {
        dir,
        procs: join(dir, 'cgroup.procs'),
        oomKills: () =>
          Number(/oom_kill (\d+)/.exec(readFileSync(join(dir, 'memory.oom_control'), 'utf8'))?.[1] ?? 0),
        maxUsage: () => Number(readFileSync(join(dir, 'memory.max_usage_in_bytes'), 'utf8')),
        remove: () => rmdirSync(dir),
      };
    }
    const v2 = self.find((l) => l.startsWith('0::'));
    if (v2 && existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      const dir = join('/sys/fs/cgroup', v2.slice(3), name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'memory.max'), String(limitBytes));
      if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
      return {
        dir,
        procs: join(dir, 'cgroup.procs'),
        oomKills: () =>
          Number(/oom_kill (\d+)/.exec(readFileSync(join(dir, 'memory.events'), 'utf8'))?.[1] ?? 0),
        maxUsage: () =>
          existsSync(join(dir, 'memory.peak')) ? Number(readFileSync(join(dir, 'memory.peak'), 'utf8')) : NaN,
        remove: () => rmdirSync(dir),
      };
    }
  } catch (err) {
    return `cannot create a memory cgroup here: ${String(err)}`;
  }
  return 'no memory cgroup controller here';
}
