// One place where a configured instance and one of its URLs become a target's settings: the label
// precedence, the metric and label filters, relabeling, limits, the client's options, the synthetic
// series' labels, its shard and its schedule offset. ScrapeTarget runs what this compiles.
import { createHash } from 'node:crypto';
import { sanitizeLabelName } from '../config/common.js';
import type { GlobalConfig, ScrapeInstance, WriterOptions } from '../config/types.js';
import type { LabelPairs } from '../prompb/encode.js';
import { compileGlobs } from '../relabel/glob.js';
import { compileRelabel } from '../relabel/relabel.js';
import { VERSION } from '../version.js';
import { acceptHeader, type ClientOptions } from './client.js';
import type { PipelineOptions } from './pipeline.js';
import type { PipelinePlugins } from './plugins.js';
import { syntheticLabels } from './report.js';

export interface CompiledTarget {
  url: URL;
  /** The `job` label it is sent with ('' when none). */
  job: string;
  /** Final target labels (override scraped ones), in name order. */
  labels: LabelPairs;
  /** The pipeline's settings, without the plug-ins (plugins.ts), which the runtime adds. */
  pipeline: Omit<PipelineOptions, keyof PipelinePlugins>;
  client: ClientOptions;
  /** Stable per instance and URL: the writer shard, so a target's samples stay in order. */
  shard: number;
  /** Stable offset of this target within its interval, so targets don't all fire at once. */
  offsetMs: number;
}

/** Expand Categraf's url_label_value template over a URL. */
export function expandUrlTemplate(template: string, u: URL): string {
  const fields: Record<string, string> = {
    Scheme: u.protocol.replace(/:$/, ''),
    Host: u.host,
    Hostname: u.hostname,
    Port: u.port || (u.protocol === 'https:' ? '443' : '80'),
    Path: u.pathname,
    Query: u.search.replace(/^\?/, ''),
  };
  return template.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (m, f: string) => fields[f] ?? m);
}

interface TargetLabels {
  override: Map<string, string>;
  defaults: LabelPairs;
  deleted: Set<string>;
}

/**
 * Precedence (SPEC §3.2): URL label < instance labels < ident (override scraped labels, which are
 * kept as exported_<name>); [global] labels only fill in missing keys; a value "-" deletes.
 */
function targetLabels(instance: ScrapeInstance, url: URL, global: GlobalConfig): TargetLabels {
  const override = new Map<string, string>();
  const deleted = new Set<string>();
  const set = (k: string, v: string) => {
    const name = sanitizeLabelName(k);
    if (v === '-') {
      override.delete(name);
      deleted.add(name);
    } else {
      deleted.delete(name);
      override.set(name, v);
    }
  };
  if (instance.urlLabelKey) set(instance.urlLabelKey, expandUrlTemplate(instance.urlLabelValue, url));
  for (const [k, v] of Object.entries(instance.labels)) set(k, v);
  // An `ident` set explicitly in the instance labels is intent (e.g. a device's own name): it wins.
  if (!global.omitHostname && !override.has(global.hostnameLabel) && !deleted.has(global.hostnameLabel)) {
    set(global.hostnameLabel, global.hostname);
  }
  const defaults: LabelPairs = [];
  for (const [k, v] of Object.entries(global.labels)) {
    const name = sanitizeLabelName(k);
    if (v === '-' || v === '') deleted.add(name);
    else if (!override.has(name) && !deleted.has(name)) defaults.push([name, v]);
  }
  for (const [k, v] of override) if (v === '') override.delete(k);
  return { override, defaults, deleted };
}

export function compileTarget(
  instance: ScrapeInstance,
  url: string,
  global: GlobalConfig,
  writerOpt: WriterOptions,
): CompiledTarget {
  const u = new URL(url);
  const { override, defaults, deleted } = targetLabels(instance, u, global);
  const labels = [...override, ...defaults].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const pass = compileGlobs(instance.metricsPass);
  const drop = compileGlobs([...instance.metricsDrop, ...instance.ignoreMetrics]);
  const hasPass = instance.metricsPass.length > 0;
  const key = createHash('sha256').update(`${instance.name}\0${url}`).digest();
  return {
    url: u,
    job: override.get('job') ?? '',
    labels,
    pipeline: {
      targetLabels: [...override],
      defaultLabels: defaults,
      deleteLabels: [...deleted],
      honorLabels: instance.honorLabels,
      honorTimestamps: instance.honorTimestamps,
      keepMetric: (name) => (!hasPass || pass(name)) && !drop(name),
      ignoreLabel: compileGlobs(instance.ignoreLabelKeys),
      // compiled by the config loader; instances built in code (tests) are compiled here
      relabel:
        instance.relabel ??
        (instance.relabelConfigs.length ? compileRelabel(instance.relabelConfigs) : undefined),
      sampleLimit: instance.sampleLimit,
      lineSizeLimit: instance.lineSizeLimit,
      labelLimit: instance.labelLimit,
      labelValueLengthLimit: instance.labelValueLengthLimit,
      batch: writerOpt.batch,
      synthetic: syntheticLabels(labels),
    },
    client: {
      timeoutMs: instance.timeoutMs,
      bodySizeLimit: instance.bodySizeLimit,
      tls: instance.tls,
      bearerTokenFile: instance.bearerTokenFile,
      bearerTokenString: instance.bearerTokenString,
      username: instance.username,
      password: instance.password,
      headers: instance.headers,
      userAgent: `nodegraf/${VERSION}`,
      accept: acceptHeader(instance.scrapeProtocols),
    },
    shard: key.readUInt32BE(0),
    offsetMs: key.readUInt32BE(4) % Math.max(1, instance.intervalMs),
  };
}
