// Convenience wrapper over TextParser: the whole payload as plain objects, OpenMetrics validated.
// Used only by tests (parser conformance, fixtures, the CLI tests' expectations); the agent's own
// paths (scrape pipeline, `doctor`, `--test`) drive TextParser directly.
import { Entry, TextParser, type Labels } from '../parse/text.js';
import { validateOpenMetrics } from './openmetrics-validate.js';

export interface ParsedSample {
  name: string;
  /** Label names to values (exposition order), without `__name__`. */
  labels: Record<string, string>;
  value: number;
  /** Explicit timestamp in milliseconds, when the sample has one. */
  timestampMs?: number;
}

export interface ParseError {
  /** 1-based line number. */
  line: number;
  message: string;
}

export interface ParsedFamily {
  name: string;
  /** From the first `# TYPE` line for the name ('untyped' / 'unknown' when it has none). */
  type: string;
  help?: string;
  unit?: string;
  /** Line of the first metadata line (or first sample, for a family without metadata). */
  line: number;
  /** Number of samples whose name belongs to this family (name, or name + a suffix of its type). */
  samples: number;
}

export interface ParseAllResult {
  samples: ParsedSample[];
  /** Malformed lines and label sets, in line order. Their samples are not in `samples`. */
  errors: ParseError[];
  /** Metric families in order of first appearance; a repeated family is merged into the first. */
  families: ParsedFamily[];
}

export interface ParseAllOptions {
  openMetrics: boolean;
  /**
   * OpenMetrics only: also apply the semantic rules of validateOpenMetrics (grouping, histogram
   * buckets, `# EOF`, ...). Off by default: the scrape path is lenient and does not apply them.
   */
  validate?: boolean;
}

const SUFFIXES: Record<string, string[]> = {
  counter: ['_total', '_created'],
  summary: ['_count', '_sum', '_created'],
  histogram: ['_bucket', '_count', '_sum', '_created'],
  gaugehistogram: ['_bucket', '_gcount', '_gsum'],
  info: ['_info'],
};

export function parseAll(buf: Buffer, opts: ParseAllOptions): ParseAllResult {
  const p = new TextParser(buf, opts.openMetrics);
  const samples: ParsedSample[] = [];
  const errors: ParseError[] = [];
  const families = new Map<string, ParsedFamily>();
  const scratch: Labels = [];
  const defaultType = opts.openMetrics ? 'unknown' : 'untyped';
  const family = (name: string, line: number): ParsedFamily => {
    let f = families.get(name);
    if (f === undefined) {
      f = { name, type: defaultType, line, samples: 0 };
      families.set(name, f);
    }
    return f;
  };
  const typed = new Set<string>();
  let lastFamily: ParsedFamily | undefined;
  for (;;) {
    const e = p.next();
    if (e === Entry.EOF) break;
    switch (e) {
      case Entry.Series: {
        scratch.length = 0;
        const err = p.labels(scratch);
        if (err !== undefined) {
          errors.push({ line: p.line, message: err });
          break;
        }
        const name = p.metricName();
        const labels: Array<[string, string]> = [];
        const seen = new Set<string>(['__name__']);
        let dup: string | undefined;
        for (const [k, v] of scratch) {
          if (seen.has(k)) {
            dup = k;
            break;
          }
          seen.add(k);
          labels.push([k, v]);
        }
        if (dup !== undefined) {
          errors.push({ line: p.line, message: `duplicate label name ${JSON.stringify(dup)}` });
          break;
        }
        // Object.fromEntries defines own properties, so a label named `__proto__` stays a label.
        const s: ParsedSample = { name, labels: Object.fromEntries(labels), value: p.value };
        if (p.timestamp === p.timestamp) s.timestampMs = p.timestamp;
        samples.push(s);
        const f = familyOf(name, lastFamily, families) ?? family(name, p.line);
        f.samples++;
        lastFamily = f;
        break;
      }
      case Entry.Help:
      case Entry.Type:
      case Entry.Unit: {
        const f = family(p.metaName, p.line);
        if (e === Entry.Help) f.help ??= p.metaText;
        else if (e === Entry.Unit) f.unit ??= p.metaText;
        else if (!typed.has(f.name)) {
          typed.add(f.name);
          f.type = p.metaText;
        }
        lastFamily = f;
        break;
      }
      case Entry.Invalid:
        errors.push({ line: p.line, message: p.error });
        break;
      default:
        break;
    }
  }
  if (opts.openMetrics) {
    if (opts.validate) {
      const seen = new Set(errors.map((e) => `${e.line}\u0000${e.message}`));
      for (const v of validateOpenMetrics(buf)) if (!seen.has(`${v.line}\u0000${v.message}`)) errors.push(v);
      errors.sort((a, b) => a.line - b.line);
    } else if (!p.sawEOF) {
      errors.push({ line: p.line + 1, message: 'OpenMetrics payload without "# EOF"' });
    }
  }
  return { samples, errors, families: [...families.values()] };
}

/** The family a sample belongs to: the current one if the name fits its type, else one named exactly so. */
function familyOf(
  name: string,
  last: ParsedFamily | undefined,
  families: Map<string, ParsedFamily>,
): ParsedFamily | undefined {
  if (last !== undefined && name.startsWith(last.name)) {
    const rest = name.slice(last.name.length);
    if (rest === '' || (SUFFIXES[last.type] ?? []).includes(rest)) return last;
  }
  const exact = families.get(name);
  if (exact !== undefined) return exact;
  // A typed family declared earlier (duplicate families are allowed in 0.0.4).
  for (const suffix of ['_total', '_created', '_bucket', '_count', '_sum', '_gcount', '_gsum', '_info']) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f !== undefined && (SUFFIXES[f.type] ?? []).includes(suffix)) return f;
  }
  return undefined;
}
