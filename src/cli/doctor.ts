// `nodegraf doctor`: one probe per target and per writer, one line each: OK with series count and
// latency, or the failure with its most likely cause and the fix. Exit 1 when anything failed.
import { compressSync } from 'snappy';
import { networkHint, RemoteWriteClient, statusHint } from '../write/client.js';
import { readFileSync } from 'node:fs';
import type { Config, WriterConfig } from '../config/types.js';
import { loadConfig } from '../config/load.js';
import { TargetClient, jwtExpiry, tokenExpiryNote } from '../scrape/client.js';
import { classifyNetworkError, ScrapeError } from '../scrape/errors.js';
import { TextParser, Entry } from '../parse/text.js';
import type { ExpositionFormat } from '../parse/format.js';
import { ProtobufDecoder } from '../parse/protobuf.js';
import { VERSION } from '../version.js';
import { compileTarget } from '../scrape/compile.js';
import { TargetPipeline } from '../scrape/pipeline.js';
import { missingFamilies } from '../scrape/contract.js';
import { createLogger } from '../log.js';
import { PodMetadata } from '../kube/pod-metadata.js';
import { inputList, type ConfigOptions } from './options.js';
import { errnoCode, errorMessage } from '../errno.js';
import { diagnoseAccess } from './doctor-access.js';

export interface Diagnosis {
  ok: boolean;
  /** Works, but should be changed (printed WARN, not counted as a problem). */
  warn?: boolean;
  subject: string;
  message: string;
  hint?: string;
}

function countSeries(
  body: Buffer,
  format: ExpositionFormat,
): { series: number; invalid: number; firstError: string; native: number } {
  let series = 0;
  let native = 0;
  if (format === 'protobuf') {
    // the series the protobuf page's text twin has, plus one per native histogram
    const texts: Buffer[] = [];
    try {
      const d = new ProtobufDecoder(
        (t) => texts.push(Buffer.from(t)),
        () => native++,
      );
      d.push(body);
      d.end();
    } catch (err) {
      return { series: 0, invalid: 1, firstError: `invalid protobuf page: ${errorMessage(err)}`, native: 0 };
    }
    body = Buffer.concat(texts);
  }
  const p = new TextParser(body, format === 'openmetrics');
  let invalid = 0;
  let firstError = '';
  for (let e = p.next(); e !== Entry.EOF; e = p.next()) {
    if (e === Entry.Series) series++;
    else if (e === Entry.Invalid) {
      invalid++;
      if (!firstError) firstError = `line ${p.line}: ${p.error}`;
    }
  }
  return { series: series + native, invalid, firstError, native };
}

/** The exposition, when it is not the text format every target speaks. */
function format(f: ExpositionFormat, native: number): string {
  if (f === 'protobuf') return ` (protobuf, ${native} native histogram${native === 1 ? '' : 's'})`;
  return f === 'openmetrics' ? ' (OpenMetrics)' : '';
}

/** What the token file says about itself: missing, empty, expired (with its exp), or fine. */
function tokenNote(file: string | undefined): string {
  if (!file) return '';
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    return `token file ${file}: ${errnoCode(err) ?? 'unreadable'}`;
  }
  if (!token) return `token file ${file} is empty`;
  const exp = jwtExpiry(token);
  if (exp === undefined) return `token file ${file}: not a JWT (no exp)`;
  return tokenExpiryNote(file, exp);
}

export async function diagnoseTargets(config: Config): Promise<Diagnosis[]> {
  const probes: Array<Promise<Diagnosis | Diagnosis[]>> = [];
  for (const input of config.inputs) {
    for (const inst of input.instances) {
      for (const u of inst.urls) {
        // the job it is sent with and the client's settings, compiled as the scrape compiles them
        const target = compileTarget(inst, u.reveal(), config.global, config.writerOpt);
        const subject = `target ${target.job || '(no job label)'} ${u.shown}`;
        probes.push(
          (async (): Promise<Diagnosis | Diagnosis[]> => {
            const client = new TargetClient(target.url, {
              ...target.client,
              userAgent: `nodegraf/${VERSION} (doctor)`,
            });
            const t0 = performance.now();
            try {
              const res = await client.fetch();
              const ms = performance.now() - t0;
              const c = countSeries(res.body, res.format);
              if (c.series === 0) {
                return {
                  ok: false,
                  subject,
                  message: `answered 200 but no samples${c.firstError ? ` (${c.firstError})` : ''}`,
                  hint: 'is this a Prometheus metrics endpoint? check the path',
                };
              }
              const extra = c.invalid ? `, ${c.invalid} malformed line(s), first: ${c.firstError}` : '';
              const tok = inst.bearerTokenFile ? `; ${tokenNote(inst.bearerTokenFile)}` : '';
              const ok: Diagnosis = {
                ok: true,
                subject,
                message: `${c.series} series in ${ms.toFixed(0)} ms${format(res.format, c.native)}${extra}${tok}`,
              };
              // the kit's series contract, on what this instance would send (its filters applied)
              const p = new TargetPipeline(target.pipeline);
              p.process(res.body, res.format, Date.now(), () => undefined);
              const missing = missingFamilies(target.job, new Set(p.families().keys()));
              return [
                ok,
                ...missing.map((m) => ({
                  ok: true,
                  warn: true,
                  subject,
                  message: `${m.family} is missing: empties ${m.empties.join(', ') || 'no panel'}`,
                  hint: `likely ${m.cause}`,
                })),
              ];
            } catch (err) {
              const e =
                err instanceof ScrapeError ? err : classifyNetworkError(err, target.url, inst.timeoutMs);
              // a 401 already names the token file and its exp (when the token is a JWT)
              return { ok: false, subject, message: e.message, hint: e.hint };
            } finally {
              await client.close();
            }
          })(),
        );
      }
    }
  }
  return (await Promise.all(probes)).flat();
}

export async function diagnoseWriter(w: WriterConfig): Promise<Diagnosis> {
  const client = new RemoteWriteClient(w, ' (doctor)');
  const subject = `writer ${client.displayUrl}`;
  const t0 = performance.now();
  try {
    // An empty WriteRequest: a valid remote-write call that stores nothing.
    const res = await client.post(
      compressSync(Buffer.alloc(0), { copyOutputData: true }),
      AbortSignal.timeout(w.timeoutMs),
    );
    const ms = performance.now() - t0;
    if (res.status >= 200 && res.status < 300) {
      return {
        ok: true,
        subject,
        message: `accepts remote write (HTTP ${res.status} in ${ms.toFixed(0)} ms)`,
      };
    }
    return {
      ok: false,
      subject,
      message: `HTTP ${res.status}${res.text ? ': ' + res.text.slice(0, 200) : ''}`,
      hint: statusHint(res.status),
    };
  } catch (err) {
    const e = classifyNetworkError(err, client.url, w.timeoutMs);
    return { ok: false, subject, message: e.message, hint: networkHint(err) || e.hint };
  } finally {
    await client.close();
  }
}

export function formatDiagnosis(d: Diagnosis): string {
  if (d.warn) return `WARN  ${d.subject}: ${d.message}${d.hint ? `\n      fix: ${d.hint}` : ''}`;
  return d.ok
    ? `OK    ${d.subject}: ${d.message}`
    : `FAIL  ${d.subject}: ${d.message}${d.hint ? `\n      fix: ${d.hint}` : ''}`;
}

/** The pod view (`[pod_metadata]`): one list from its source, or the error with its fix. */
export async function diagnosePodView(config: Config, waitMs = 10_000): Promise<Diagnosis | undefined> {
  const pm = config.podMetadata;
  if (!pm.enable) return undefined;
  const pods = new PodMetadata(pm, config.global, createLogger('silent', 'text'));
  const subject = `pod view (source ${pm.source}, ${pm.source === 'apiserver' ? pm.apiserverUrl : pm.kubeletUrl})`;
  pods.start();
  try {
    const ok = await pods.view.waitSynced(waitMs);
    if (ok) return { ok: true, subject, message: `${pods.status.pods} pods of this node listed` };
    const st = pods.status;
    return {
      ok: false,
      subject,
      message: st.lastError || `no answer within ${waitMs / 1000} s`,
      hint: st.lastHint || undefined,
    };
  } finally {
    await pods.stop();
  }
}

export async function runDoctor(o: ConfigOptions): Promise<number> {
  const { config, warnings } = loadConfig(o.configs, { inputs: inputList(o) });
  for (const w of warnings) process.stdout.write(`WARN  ${w.file}:${w.line}: ${w.key}: ${w.message}\n`);
  const results = [
    ...(await diagnoseTargets(config)),
    ...(await Promise.all(config.writers.map(diagnoseWriter))),
  ];
  const podView = await diagnosePodView(config);
  if (podView) results.push(podView);
  results.push(...(await diagnoseAccess(config)));
  for (const d of results) process.stdout.write(formatDiagnosis(d) + '\n');
  if (config.writers.length === 0)
    process.stdout.write('WARN  no [[writers]] configured: nothing would be written\n');
  const failed = results.filter((d) => !d.ok).length;
  process.stdout.write(failed ? `${failed} problem(s) found\n` : 'all checks passed\n');
  return failed ? 1 : 0;
}
