#!/usr/bin/env -S node --single-threaded-gc
// --single-threaded-gc: V8's parallel and concurrent GC threads cost more CPU in total than they
// save in pause time on a small node (about −40 % CPU per sample on a 200k-series target in the
// side-by-side benchmark, docs/performance.md); pauses stay far below a scrape interval. Every way
// nodegraf is launched (this shebang, the container image, the benchmark plugin) passes it.
import { main } from './program.js';

main(process.argv);
