// `npm run bench:memory`: where a target's bytes go. Builds one pipeline (as a target has it: the
// series cache, the request builder, optionally the derive tap), scrapes a page a few times, and
// reports the heap that stays after a full GC, per series, by V8 heap space. With
// HEAP_SNAPSHOT=file it also writes a heap snapshot (open it in Chrome DevTools, or summarise it).
// Run with --expose-gc (the npm script does). Payload: BENCH_SERIES generated series (default
// 40,000, ../shared/bench/agents/gen-payload.py) or BENCH_PAYLOAD=file (e.g. a real cAdvisor page).
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { DeriveHub } from '../derive/hub.js';
import { pipelineOptions, TargetPipeline } from '../scrape/pipeline.js';
import { generatedPayload } from './payload.js';
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function payload(): Buffer {
  if (process.env.BENCH_PAYLOAD) return readFileSync(process.env.BENCH_PAYLOAD);
  const page = generatedPayload(Number(process.env.BENCH_SERIES ?? 40_000));
  if (!page) throw new Error('gen-payload.py not found: set NODEGRAF_SHARED, or BENCH_PAYLOAD=file');
  return page;
}

function heap(): { used: number; spaces: Record<string, number>; external: number; arrayBuffers: number } {
  gc!();
  gc!();
  const spaces: Record<string, number> = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = s.space_used_size;
  const m = process.memoryUsage();
  return { used: m.heapUsed, spaces, external: m.external, arrayBuffers: m.arrayBuffers };
}

const body = payload();
const withTap = process.env.BENCH_TAP === '1';
const before = heap();
const pipelines: TargetPipeline[] = [];
const targets = Number(process.env.BENCH_TARGETS ?? 1);
let series = 0;
for (let t = 0; t < targets; t++) {
  const p = new TargetPipeline(
    pipelineOptions({
      targetLabels: [
        ['instance', `127.0.0.1:${9100 + t}`],
        ['job', 'bench'],
        ['ident', 'bench-node'],
      ],
      honorTimestamps: false,
      tap: withTap ? new DeriveHub().factory({ url: `t${t}`, job: 'cadvisor' }) : undefined,
    }),
  );
  for (let i = 0; i < 3; i++) p.process(body, false, Date.now() + i * 10_000, () => undefined);
  series += p.seriesCount;
  pipelines.push(p);
}
const after = heap();
const per = (n: number) => (n / series).toFixed(0);
console.log(
  `node ${process.version}: ${targets} target(s), ${series} series, ${(body.length / 1e6).toFixed(1)} MB page${withTap ? ', derive tap' : ''}`,
);
console.log(
  `heap used: +${((after.used - before.used) / 2 ** 20).toFixed(1)} MiB = ${per(after.used - before.used)} B/series`,
);
for (const [name, used] of Object.entries(after.spaces)) {
  const d = used - (before.spaces[name] ?? 0);
  if (Math.abs(d) > 64 * 1024) console.log(`  ${name}: ${per(d)} B/series`);
}
console.log(
  `external: ${per(after.external - before.external)} B/series, array buffers: ${per(after.arrayBuffers - before.arrayBuffers)} B/series`,
);
// the pipelines stay referenced (module scope) until here, so the snapshot holds them
if (process.env.HEAP_SNAPSHOT) console.log(`snapshot: ${v8.writeHeapSnapshot(process.env.HEAP_SNAPSHOT)}`);
