#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=32768 node --single-threaded-gc --max-semi-space-size=1
// How nodegraf is launched, everywhere (this shebang, the Dockerfile, scripts/build-image.sh,
// `npm run demo`, the benchmark plugin; src/cli/launch.test.ts holds them together). Each measured side by side with
// vmagent (docs/performance.md, "Memory and the runtime"):
// --single-threaded-gc: V8's parallel and concurrent GC threads cost more CPU in total than they
//   save in pause time on a small node (about −40 % CPU per sample on a 200k-series target);
//   pauses stay far below a scrape interval.
// --max-semi-space-size=1 (MiB): from Node.js 22 V8 sizes the young generation from the heap
//   limit: 64 MiB semi-spaces under the DaemonSet's --max-old-space-size=384 (16 on Node.js 20).
//   The agent's garbage is short-lived (one scrape), so small semi-spaces cost no CPU here, and
//   the steady RSS of a busy node (1 x 40k series) fell from 354 to 196-205 MiB on Node.js 24.
// MALLOC_MMAP_THRESHOLD_=32768: Buffers of 32 KiB and more (response pieces, requests being built)
//   get their own mappings, returned to the system when freed, instead of fragmenting glibc's main
//   heap, which held 64-99 MiB for 20 targets (15 MiB with it).
import { main } from './program.js';

main(process.argv);
