// What the benchmarks read: ../shared (the real captures, the agents harness) and the generated
// cAdvisor-like page of the side-by-side benchmark (../shared/bench/agents/gen-payload.py), made
// once per size and kept in /var/tmp.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// run from build/bench/bench/ (tsconfig.bench.json): the repository is three folders up
export const shared = resolve(
  process.env.NODEGRAF_SHARED ?? join(import.meta.dirname, '..', '..', '..', '..', 'shared'),
);

/** A generated page of `series` series, or undefined without the harness. */
export function generatedPayload(series: number): Buffer | undefined {
  const gen = join(shared, 'bench', 'agents', 'gen-payload.py');
  if (!existsSync(gen)) return undefined;
  const dir = '/var/tmp/nodegraf-bench';
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `payload-${series}.txt`);
  if (!existsSync(file))
    execFileSync('python3', [gen, '-n', String(series), '-o', file], { stdio: 'inherit' });
  return readFileSync(file);
}
