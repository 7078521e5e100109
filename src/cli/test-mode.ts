// `nodegraf --test`: scrape and print, write nothing (Categraf's test mode).
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { ScrapeManager } from '../scrape/manager.js';
import { describeJob, type ScrapeReport } from '../scrape/target.js';
import { createLogger } from '../log.js';
import { inputList, noTargetsMessage, type ConfigOptions } from './options.js';
import { PrintSink, type PrintFormat } from './print-sink.js';
import { startPodMetadata } from './pods.js';
import { cardinalityReport, formatCardinality } from '../scrape/cardinality.js';
import type { SampleSink } from '../prompb/chunk.js';

export interface TestOptions extends ConfigOptions {
  once?: boolean;
  format: PrintFormat;
  /** With once: the series report (scrape/cardinality.ts) instead of the samples. */
  cardinality?: boolean;
}

function reportLine(r: ScrapeReport): string {
  if (!r.up)
    return `target ${r.target} (${describeJob(r.job)}): DOWN: ${r.error?.describe() ?? 'unknown error'}`;
  const s = r.stats!;
  const warn = r.warning ? `; ${r.warning}` : '';
  return `target ${r.target} (${describeJob(r.job)}): up, ${s.scraped} samples in ${r.durationMs.toFixed(0)} ms${warn}`;
}

/**
 * The agent's own /metrics (the deploy kit scrapes it, job "nodegraf") is not served in --test
 * mode: scraping it would report a down target, and exit 1 with --once, on a good configuration.
 */
function skipOwnMetrics(config: Config): void {
  if (!config.http.enable) return;
  const own = new Set([`http://${config.http.address}/metrics`]);
  const port = /:(\d+)$/.exec(config.http.address)?.[1];
  if (port) for (const h of ['127.0.0.1', 'localhost']) own.add(`http://${h}:${port}/metrics`);
  for (const input of config.inputs)
    for (const inst of input.instances) {
      const kept = inst.urls.filter((u) => !own.has(u.reveal()));
      for (const u of inst.urls.filter((x) => own.has(x.reveal())))
        process.stderr.write(
          `note: not scraping ${u}: the agent's own /metrics, which --test does not serve\n`,
        );
      inst.urls = kept;
    }
}

export async function runTest(o: TestOptions): Promise<number> {
  const { config, warnings } = loadConfig(o.configs, { inputs: inputList(o) });
  const log = createLogger(o.logLevel ?? 'warn', 'text');
  for (const w of warnings) process.stderr.write(`warning: ${w.file}:${w.line}: ${w.key}: ${w.message}\n`);
  skipOwnMetrics(config);
  if (o.cardinality && !o.once) {
    process.stderr.write('--cardinality works with --test --once\n');
    return 2;
  }
  const sink: SampleSink = o.cardinality
    ? { push: () => undefined }
    : new PrintSink(process.stdout, o.format);
  // --inputs names inputs: the pod health series (not an input) are printed only without it
  const { pods, extras } = await startPodMetadata(config, log, { withHealth: !inputList(o) });
  const manager = new ScrapeManager(config, sink, log, extras);
  if (manager.targets.length === 0) {
    await pods?.stop();
    process.stderr.write(noTargetsMessage(o.configs, inputList(o)) + '\n');
    return 2;
  }
  if (o.once) {
    const reports = await manager.scrapeAll();
    for (const r of reports) process.stderr.write(reportLine(r) + '\n');
    if (o.cardinality) process.stdout.write(formatCardinality(cardinalityReport(manager.targets)));
    await manager.stop();
    await pods?.stop();
    return reports.every((r) => r.up) ? 0 : 1;
  }
  manager.start((r) => process.stderr.write(reportLine(r) + '\n'));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await manager.stop();
  await pods?.stop();
  return 0;
}
