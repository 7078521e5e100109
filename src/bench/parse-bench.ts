// `npm run bench:parse`: throughput of the scrape hot path on one core (this process's main thread).
// For each payload: the bare parser, the first scrape (every series a cache miss: labels parsed,
// merged, sorted and encoded) and repeated scrapes (cache hits: value parse + byte copy), reporting
// MB/s and samples/s. Payloads: the real cAdvisor captures in ../shared/fixtures/real/cadvisor and a
// generated 200k-series page (../shared/bench/agents/gen-payload.py).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Entry, TextParser } from '../parse/text.js';
import { pipelineOptions, TargetPipeline, type PipelineOptions } from '../scrape/pipeline.js';
import { DeriveHub } from '../derive/hub.js';
import { PodLabeler } from '../scrape/pod-labels.js';
import { parsePod, type Pod } from '../kube/pod.js';
import { PodView } from '../kube/view.js';
import { generatedPayload, shared } from './payload.js';
import { ProtobufDecoder } from '../parse/protobuf.js';

const minSeconds = Number(process.env.BENCH_SECONDS ?? 2);

function options(): PipelineOptions {
  return pipelineOptions({
    targetLabels: [
      ['instance', '127.0.0.1:10250'],
      ['job', 'cadvisor'],
      ['ident', 'node-1'],
    ],
    defaultLabels: [['cluster', 'bench']],
    // Captured timestamps never advance between our repeated "scrapes"; ignore them so that every
    // sample is encoded every time, as it would be against a live cAdvisor.
    honorTimestamps: false,
  });
}

function timeIt(fn: () => number): { seconds: number; runs: number; samples: number } {
  let runs = 0;
  let samples = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minSeconds || runs < 3) {
    samples += fn();
    runs++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  return { seconds: elapsed, runs, samples };
}

function parserOnly(body: Buffer): number {
  const p = new TextParser(body);
  let n = 0;
  for (;;) {
    const e = p.next();
    if (e === Entry.EOF) return n;
    if (e === Entry.Series) {
      p.seriesKey();
      n++;
    }
  }
}

function row(
  name: string,
  mode: string,
  bytes: number,
  r: { seconds: number; runs: number; samples: number },
): string {
  const mbps = (bytes * r.runs) / r.seconds / 1e6;
  const sps = r.samples / r.seconds;
  return `| ${name} | ${mode} | ${(bytes / 1e6).toFixed(2)} | ${mbps.toFixed(0)} | ${(sps / 1e6).toFixed(2)} M | ${r.runs} |`;
}

/** The view of the PodList captured with a cAdvisor page (same cluster and version), if any. */
function podViewFor(cadvisorFile: string): PodView | undefined {
  const m = /^nri-k8s-(\d+_\d+)-metrics-cadvisor\.txt$/.exec(cadvisorFile);
  const file = m && join(shared, 'fixtures', 'real', 'pods', `nri-k8s-${m[1]}-kubelet-pods.json`);
  if (!file || !existsSync(file)) return undefined;
  const list = JSON.parse(readFileSync(file, 'utf8')) as { items: unknown[] };
  const view = new PodView('kubelet', { podLabels: ['app', 'region', 'dept'], podAnnotations: [] });
  view.replace(list.items.map((i) => parsePod(i)).filter((p): p is Pod => p !== undefined));
  return view;
}

function bench(name: string, body: Buffer, view?: PodView): string[] {
  const rows: string[] = [];
  rows.push(
    row(
      name,
      'parser only',
      body.length,
      timeIt(() => parserOnly(body)),
    ),
  );
  const sink = () => undefined;
  rows.push(
    row(
      name,
      'first scrape',
      body.length,
      timeIt(() => new TargetPipeline(options()).process(body, false, Date.now(), sink).emitted),
    ),
  );
  const pipe = new TargetPipeline(options());
  pipe.process(body, false, Date.now(), sink);
  rows.push(
    row(
      name,
      'repeated scrape',
      body.length,
      timeIt(() => pipe.process(body, false, Date.now(), sink).emitted),
    ),
  );
  // The derive tap (issue 11: <= 10 % on repeated scrapes): one call per container sample, and
  // the recipes computed once per scrape.
  const tapped = () =>
    new TargetPipeline({ ...options(), tap: new DeriveHub().factory({ url: name, job: 'cadvisor' }) });
  const dp = tapped();
  dp.process(body, false, Date.now(), sink);
  rows.push(
    row(
      name,
      'repeated scrape, derive',
      body.length,
      timeIt(() => dp.process(body, false, Date.now(), sink).emitted),
    ),
  );
  if (view) {
    // Enrichment runs on cache misses only: the repeated scrape must cost the same (issue 9: <= 10 %).
    const enriched = () => new TargetPipeline({ ...options(), enricher: new PodLabeler(view) });
    rows.push(
      row(
        name,
        'first scrape, pod metadata',
        body.length,
        timeIt(() => enriched().process(body, false, Date.now(), sink).emitted),
      ),
    );
    const ep = enriched();
    ep.process(body, false, Date.now(), sink);
    rows.push(
      row(
        name,
        'repeated scrape, pod metadata',
        body.length,
        timeIt(() => ep.process(body, false, Date.now(), sink).emitted),
      ),
    );
  }
  return rows;
}

const out: string[] = [
  `node ${process.version}, one core (main thread), >= ${minSeconds}s per row`,
  '',
  '| payload | mode | MB | MB/s | samples/s | runs |',
  '|---|---|---|---|---|---|',
];
const cadvisorDir = join(shared, 'fixtures', 'real', 'cadvisor');
if (existsSync(cadvisorDir)) {
  const files = readdirSync(cadvisorDir).filter((f) => f.endsWith('.txt'));
  const pick = process.env.BENCH_ALL ? files : files.filter((f) => /1_35|1_33|1_16|gke/.test(f));
  // All captures concatenated stand for one big node; each file alone for the per-version figures.
  const all: Buffer[] = [];
  for (const f of pick) {
    const body = readFileSync(join(cadvisorDir, f));
    all.push(body);
    out.push(...bench(f.replace(/-metrics-cadvisor\.txt$/, ''), body, podViewFor(f)));
  }
} else {
  out.push(`(skipped real cAdvisor captures: ${cadvisorDir} not found)`);
}
/**
 * A protobuf page: first and repeated scrapes, and the same series as text (the decoder's own
 * transcoding, so both rows carry identical series) for the ratio. MB are the protobuf body's.
 */
function benchProtobuf(name: string, body: Buffer): string[] {
  const texts: Buffer[] = [];
  const d = new ProtobufDecoder(
    (t) => texts.push(Buffer.from(t)),
    () => undefined,
  );
  d.push(body);
  d.end();
  const text = Buffer.concat(texts);
  const sink = () => undefined;
  const rows: string[] = [];
  rows.push(
    row(
      name,
      'protobuf: first scrape',
      body.length,
      timeIt(() => new TargetPipeline(options()).process(body, 'protobuf', Date.now(), sink).emitted),
    ),
  );
  const pipe = new TargetPipeline(options());
  pipe.process(body, 'protobuf', Date.now(), sink);
  rows.push(
    row(
      name,
      'protobuf: repeated scrape',
      body.length,
      timeIt(() => pipe.process(body, 'protobuf', Date.now(), sink).emitted),
    ),
  );
  const tp = new TargetPipeline(options());
  tp.process(text, 'text', Date.now(), sink);
  rows.push(
    row(
      `${name} (as text, ${(text.length / 1e6).toFixed(2)} MB)`,
      'text twin: repeated scrape',
      body.length,
      timeIt(() => tp.process(text, 'text', Date.now(), sink).emitted),
    ),
  );
  return rows;
}

const pbFile = join(shared, 'fixtures', 'real', 'exposition', 'nri-kubelet-cadvisor-protobuf-delimited.bin');
if (existsSync(pbFile)) out.push(...benchProtobuf('nri-kubelet-cadvisor protobuf', readFileSync(pbFile)));
else out.push(`(skipped the protobuf capture: ${pbFile} not found)`);

const gen = generatedPayload(Number(process.env.BENCH_SERIES ?? 200_000));
if (gen) out.push(...bench(`generated ${process.env.BENCH_SERIES ?? 200_000} series`, gen));
else out.push('(skipped generated payload: gen-payload.py not found)');
console.log(out.join('\n'));
