// The OpenMetrics 1.0 rules that the line-level TextParser does not check: the strict whitespace of
// the text format, exemplars, metric-family structure (grouping, ordering, metadata placement, name
// clashes), the per-type rules (counter/histogram/gaugehistogram/summary/info/stateset), UNIT, and
// `# EOF`. Not on the scrape hot path: the scraper stays lenient. Used only by tests (through
// ./parse-all.ts and the OpenMetrics conformance suite).
//
// Conformance rule: an OpenMetrics payload is valid iff `TextParser(buf, true)` yields no Invalid
// entry, `labels()` reports no error for any series, and `validateOpenMetrics(buf)` returns [].
// Lines that TextParser already rejects are skipped here (their errors are the parser's to report).
//
// The semantics follow the OpenMetrics 1.0 specification and its parser test suite
// (OpenMetrics tests/testdata/parsers, whose verdicts come from the Python reference parser).
import { isUtf8 } from 'node:buffer';
import { Entry, OM_TYPES, TextParser, parseFloatToken, scanLabelSetEnd, type Labels } from '../parse/text.js';

export interface ValidationError {
  /** 1-based line number. */
  line: number;
  message: string;
}

const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const QUOTE = 34;
const BACKSLASH = 92;
const HASH = 35;
const LBRACE = 123;

/** Sample-name suffixes a family of each type may have ('' is the bare family name). */
const TYPE_SUFFIXES: Record<string, string[]> = {
  counter: ['_total', '_created'],
  summary: ['', '_count', '_sum', '_created'],
  histogram: ['_count', '_sum', '_bucket', '_created'],
  gaugehistogram: ['_gcount', '_gsum', '_bucket'],
  info: ['_info'],
};
const NO_NAN_SUFFIXES = new Set(['_total', '_sum', '_count', '_bucket', '_gcount', '_gsum']);
const NON_NEGATIVE_SUFFIXES = new Set(['_total', '_sum', '_count', '_bucket', '_gcount']);

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const METADATA_LINE = /^# (HELP|TYPE|UNIT) ([^ ]*) ([^]*)$/;
/** A decimal number as OpenMetrics writes label values `le` and `quantile` (or ±Inf, exactly). */
const DECIMAL = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

interface HistogramSample {
  line: number;
  suffix: string;
  group: string;
  ts: number | null;
  le: number;
  value: number;
}

interface Family {
  name: string;
  line: number;
  type: string | undefined;
  hasHelp: boolean;
  unit: string | undefined;
  samples: number;
  allowed: Set<string>;
  group: string | undefined;
  groupTs: number | null;
  seenGroups: Set<string>;
  hist: HistogramSample[];
}

/** Errors of the OpenMetrics 1.0 semantic rules (see the module comment), in line order. */
export function validateOpenMetrics(buf: Buffer): ValidationError[] {
  const errors: ValidationError[] = [];
  const fail = (line: number, message: string) => errors.push({ line, message });

  // Physical lines: start offsets (a final LF ends the last line, it does not open a new one).
  const starts: number[] = [];
  for (let s = 0; s < buf.length;) {
    starts.push(s);
    const lf = buf.indexOf(LF, s);
    if (lf < 0) break;
    s = lf + 1;
  }
  const lineEnd = (n: number): number => {
    const lf = buf.indexOf(LF, starts[n - 1]);
    return lf < 0 ? buf.length : lf;
  };
  /** End of line `n` without a trailing CR (reported once, below, not again as bad syntax). */
  const contentEnd = (n: number): number => {
    const e = lineEnd(n);
    return e > starts[n - 1] && buf[e - 1] === CR ? e - 1 : e;
  };
  for (let i = 0; i < starts.length; i++) {
    const s = starts[i];
    const e = lineEnd(i + 1);
    if (e === s) fail(i + 1, 'blank line');
    else if (buf[e - 1] === CR)
      fail(i + 1, 'carriage return at end of line (OpenMetrics lines end with LF only)');
  }
  if (!isUtf8(buf)) {
    for (let i = 0; i < starts.length; i++) {
      if (!isUtf8(buf.subarray(starts[i], lineEnd(i + 1)))) {
        fail(i + 1, 'invalid UTF-8');
        break;
      }
    }
  }

  const seenNames = new Set<string>();
  let fam: Family | undefined;
  const finish = () => {
    if (fam !== undefined) finishFamily(fam, seenNames, fail);
  };
  const start = (name: string, line: number, type?: string): Family => {
    finish();
    fam = {
      name,
      line,
      type,
      hasHelp: false,
      unit: undefined,
      samples: 0,
      allowed: new Set([name]),
      group: undefined,
      groupTs: null,
      seenGroups: new Set(),
      hist: [],
    };
    return fam;
  };

  const p = new TextParser(buf, true);
  const labels: Labels = [];
  for (;;) {
    const e = p.next();
    if (e === Entry.EOF) break;
    const line = p.line;
    if (e === Entry.Invalid || e === Entry.Comment) continue; // Comment: `# EOF` (any other is Invalid)
    if (e === Entry.Help || e === Entry.Type || e === Entry.Unit) {
      const text = buf.toString('utf8', starts[line - 1], contentEnd(line));
      const m = METADATA_LINE.exec(text);
      if (m === null || m[2] !== p.metaName) {
        fail(line, 'metadata line must be "# HELP|TYPE|UNIT <name> <text>" with single spaces');
        continue;
      }
      const name = m[2];
      if (e === Entry.Type && !OM_TYPES.has(m[3])) {
        fail(line, `invalid metric type ${JSON.stringify(m[3])}`);
        continue;
      }
      let f = fam;
      if (f !== undefined && f.name === name) {
        if (f.samples > 0) fail(line, `metadata for ${name} after its samples`);
      } else {
        f = start(name, line);
      }
      if (e === Entry.Help) {
        if (f.hasHelp) fail(line, `more than one HELP for ${name}`);
        f.hasHelp = true;
      } else if (e === Entry.Unit) {
        if (f.unit !== undefined) fail(line, `more than one UNIT for ${name}`);
        f.unit = m[3];
      } else {
        if (f.type !== undefined) fail(line, `more than one TYPE for ${name}`);
        f.type = m[3];
        f.allowed = new Set((TYPE_SUFFIXES[m[3]] ?? ['']).map((s) => name + s));
      }
      continue;
    }
    // Entry.Series
    labels.length = 0;
    if (p.labels(labels) !== undefined) continue; // reported by the parser
    const name = p.metricName();
    const syntax = checkSampleSyntax(buf, p, contentEnd(line));
    if (syntax.error !== undefined) fail(line, syntax.error);
    const labelMap = new Map<string, string>();
    let dup: string | undefined;
    for (const [k, v] of labels) {
      if (labelMap.has(k) || k === '__name__') dup ??= k;
      labelMap.set(k, v);
    }
    if (dup !== undefined) fail(line, `duplicate label name ${JSON.stringify(dup)}`);

    let f = fam;
    if (f === undefined || !f.allowed.has(name)) f = start(name, line, 'unknown');
    f.samples++;
    const type = f.type ?? 'unknown';
    const suffix = name.slice(f.name.length);
    const value = p.value;

    if (type === 'stateset' && !labelMap.has(f.name))
      fail(line, `stateset sample without a label named ${f.name}`);
    let le = NaN;
    if (name === f.name + '_bucket') {
      const s = labelMap.get('le');
      le = s === undefined ? NaN : parseCanonical(s);
      if (le !== le) fail(line, `bucket without a valid "le" label`);
      if (!Number.isInteger(value)) fail(line, 'bucket value must be an integer');
    }
    if ((name === f.name + '_count' || name === f.name + '_gcount') && !Number.isInteger(value)) {
      fail(line, 'count value must be an integer');
    }
    if (type === 'summary' && name === f.name) {
      const s = labelMap.get('quantile');
      const q = s === undefined ? NaN : parseCanonical(s);
      if (!(q >= 0 && q <= 1)) fail(line, 'summary quantile sample without a "quantile" label in [0, 1]');
      if (value < 0) fail(line, 'quantile values cannot be negative');
    }

    // Grouping: the samples of one MetricPoint (same labels but le/quantile/the stateset label) are
    // contiguous, and timestamps within a MetricPoint do not go backwards.
    const ts = syntax.tsSeconds;
    const group = groupKey(labels, f.name, type, name);
    if (f.group !== undefined && group !== f.group && f.seenGroups.has(group)) {
      fail(line, `samples of ${f.name} are not grouped: this label set appeared before`);
    }
    if (f.group !== undefined && group === f.group) {
      if ((ts === null) !== (f.groupTs === null))
        fail(line, 'mix of samples with and without timestamp in a group');
      else if (ts !== null && f.groupTs !== null && f.groupTs > ts && type !== 'info') {
        fail(line, 'timestamps went backwards within a group');
      }
    }
    f.group = group;
    f.groupTs = ts;
    f.seenGroups.add(group);

    if (type === 'stateset' && value !== 0 && value !== 1) fail(line, 'stateset values must be 0 or 1');
    if (type === 'info' && value !== 1) fail(line, 'info values must be 1');
    if (NO_NAN_SUFFIXES.has(suffix) && value !== value) fail(line, `${name} cannot be NaN`);
    if (NON_NEGATIVE_SUFFIXES.has(suffix) && value < 0) fail(line, `${name} cannot be negative`);
    if (syntax.exemplar) {
      const ok =
        ((type === 'histogram' || type === 'gaugehistogram') && suffix === '_bucket') ||
        (type === 'counter' && suffix === '_total');
      if (!ok)
        fail(line, 'exemplars are only allowed on histogram/gaugehistogram buckets and counter _total');
    }
    if ((type === 'histogram' || type === 'gaugehistogram') && suffix !== '') {
      f.hist.push({ line, suffix, group, ts, le, value });
    }
  }
  finish();
  if (!p.sawEOF) fail(starts.length + 1, 'missing "# EOF" at the end');
  errors.sort((a, b) => a.line - b.line);
  return errors;
}

function finishFamily(
  f: Family,
  seenNames: Set<string>,
  fail: (line: number, message: string) => void,
): void {
  const type = f.type ?? 'unknown';
  for (const s of new Set([...(TYPE_SUFFIXES[type] ?? []), ''])) {
    const n = f.name + s;
    if (seenNames.has(n)) fail(f.line, `metric family ${f.name} clashes with an earlier family on ${n}`);
    seenNames.add(n);
  }
  if (f.unit) {
    if (!f.name.endsWith('_' + f.unit))
      fail(f.line, `metric name ${f.name} does not end with its unit _${f.unit}`);
    if (type === 'info' || type === 'stateset') fail(f.line, `${type} metrics cannot have a unit`);
  }
  if (!METRIC_NAME.test(f.name)) fail(f.line, `invalid metric name ${JSON.stringify(f.name)}`);
  if (type === 'histogram' || type === 'gaugehistogram') checkHistogram(f, fail);
}

/** Bucket rules, per MetricPoint (a run of samples with the same group and timestamp). */
function checkHistogram(f: Family, fail: (line: number, message: string) => void): void {
  let group: string | undefined;
  let ts: number | null = null;
  let line = f.line;
  let count: number | undefined;
  let bucket: number | undefined;
  let bucketValue = 0;
  let negativeBuckets = false;
  let hasSum = false;
  let hasGsum = false;
  let negativeGsum = false;
  const done = () => {
    const what = `histogram ${f.name} (point ending line ${line})`;
    if (bucket !== Infinity) fail(line, `${what}: missing the le="+Inf" bucket`);
    if (count !== undefined && count !== bucketValue)
      fail(line, `${what}: _count does not match the +Inf bucket`);
    if (hasSum && count === undefined) fail(line, `${what}: _sum without _count`);
    if (hasGsum && count === undefined) fail(line, `${what}: _gsum without _gcount`);
    if (!(hasSum || hasGsum) && count !== undefined) fail(line, `${what}: _count/_gcount without _sum/_gsum`);
    if (negativeBuckets && hasSum) fail(line, `${what}: _sum with negative buckets`);
    if (!negativeBuckets && negativeGsum) fail(line, `${what}: negative _gsum without negative buckets`);
  };
  for (const s of f.hist) {
    if (group !== undefined && (s.group !== group || s.ts !== ts)) done();
    if (group === undefined || s.group !== group || s.ts !== ts) {
      count = bucket = undefined;
      bucketValue = 0;
      negativeBuckets = hasSum = hasGsum = negativeGsum = false;
    }
    group = s.group;
    ts = s.ts;
    line = s.line;
    if (s.suffix === '_bucket') {
      if (s.le !== s.le) continue; // reported where the sample was read
      if (s.le < 0) negativeBuckets = true;
      if (bucket !== undefined && s.le <= bucket) fail(s.line, `histogram ${f.name}: buckets out of order`);
      if (s.value < bucketValue) fail(s.line, `histogram ${f.name}: bucket values are not cumulative`);
      bucket = s.le;
      bucketValue = s.value;
    } else if (s.suffix === '_count' || s.suffix === '_gcount') {
      count = s.value;
    } else if (s.suffix === '_sum') {
      hasSum = true;
    } else if (s.suffix === '_gsum') {
      hasGsum = true;
      if (s.value < 0) negativeGsum = true;
    }
  }
  if (group !== undefined) done();
}

/** `le`/`quantile` label value: a decimal number or exactly "+Inf"/"-Inf"; NaN when invalid. */
function parseCanonical(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return DECIMAL.test(s) ? Number(s) : NaN;
}

/** MetricPoint identity of a sample: its labels without the per-sample ones (le, quantile, state). */
function groupKey(labels: Labels, family: string, type: string, name: string): string {
  if (type === 'info') return '';
  let drop = '';
  if (type === 'summary' && name === family) drop = 'quantile';
  else if (type === 'stateset') drop = family;
  else if ((type === 'histogram' || type === 'gaugehistogram') && name === family + '_bucket') drop = 'le';
  const kept = labels.filter(([k]) => k !== drop).map(([k, v]) => `${k}\u0000${v}`);
  kept.sort();
  return kept.join('\u0001');
}

const EXTRA_BLANK =
  'extra blank: fields are separated by exactly one space, with none at the end of the line';

interface SampleSyntax {
  error?: string;
  /** Timestamp in seconds (as written), or null. */
  tsSeconds: number | null;
  exemplar: boolean;
}

/**
 * The strict OpenMetrics sample line: no blanks inside the label set, exactly one space between
 * value, timestamp and exemplar, no trailing blank, and the exemplar `# {labels} value [timestamp]`.
 */
function checkSampleSyntax(b: Buffer, p: TextParser, eol: number): SampleSyntax {
  const r: SampleSyntax = { tsSeconds: null, exemplar: false };
  if (p.labelsStart < p.seriesEnd && b[p.labelsStart] === LBRACE) {
    if (blankOutsideQuotes(b, p.labelsStart, p.seriesEnd)) {
      r.error = 'blank inside the label set';
      return r;
    }
  }
  let i = p.seriesEnd;
  const token = (): [number, number] => {
    const s = i;
    while (i < eol && b[i] !== SPACE) i++;
    return [s, i];
  };
  if (b[i] !== SPACE) return { ...r, error: 'expected one space before the value' };
  i++;
  const [vs, ve] = token();
  if (vs === ve) return { ...r, error: EXTRA_BLANK };
  if (parseFloatToken(b, vs, ve) === undefined) return { ...r, error: 'invalid value' };
  if (i === eol) return r;
  i++; // the space after the value
  if (b[i] !== HASH) {
    const [ts, te] = token();
    if (ts === te) return { ...r, error: EXTRA_BLANK };
    const t = parseFloatToken(b, ts, te);
    if (t === undefined || !Number.isFinite(t)) return { ...r, error: 'invalid timestamp' };
    r.tsSeconds = t;
    if (i === eol) return r;
    i++;
    if (b[i] !== HASH) return { ...r, error: 'unexpected text after the timestamp' };
  }
  // Exemplar: "# {labels} value [timestamp]".
  r.exemplar = true;
  i++;
  if (b[i] !== SPACE || b[i + 1] !== LBRACE)
    return { ...r, error: 'exemplar must be "# {labels} value [timestamp]"' };
  i++;
  const ls = i;
  const le = scanLabelSetEnd(b, ls, eol);
  if (le < 0) return { ...r, error: 'exemplar label set without "}"' };
  const labels = exemplarLabels(b, ls, le);
  if (typeof labels === 'string') return { ...r, error: `exemplar: ${labels}` };
  let chars = 0;
  for (const [k, v] of labels) chars += codePoints(k) + codePoints(v);
  if (chars > 128) return { ...r, error: `exemplar label set has ${chars} characters (max 128)` };
  i = le;
  if (b[i] !== SPACE) return { ...r, error: 'exemplar: expected one space before its value' };
  i++;
  const [xs, xe] = token();
  if (xs === xe || parseFloatToken(b, xs, xe) === undefined)
    return { ...r, error: 'exemplar: invalid value' };
  if (i === eol) return r;
  i++;
  const [ts, te] = token();
  const t = ts === te ? undefined : parseFloatToken(b, ts, te);
  if (t === undefined || !Number.isFinite(t) || i !== eol)
    return { ...r, error: 'exemplar: invalid timestamp' };
  return r;
}

function blankOutsideQuotes(b: Buffer, s: number, e: number): boolean {
  let inQuote = false;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (inQuote) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inQuote = false;
    } else if (c === QUOTE) inQuote = true;
    else if (c === SPACE || c === TAB) return true;
  }
  return false;
}

/** Decode an exemplar label set with the same grammar as series labels (TextParser in OM mode). */
function exemplarLabels(b: Buffer, s: number, e: number): Labels | string {
  if (blankOutsideQuotes(b, s, e)) return 'blank inside the label set';
  const line = Buffer.concat([Buffer.from('x'), b.subarray(s, e), Buffer.from(' 0\n')]);
  const tp = new TextParser(line, true);
  if (tp.next() !== Entry.Series || tp.seriesEnd !== 1 + (e - s)) return 'malformed label set';
  const out: Labels = [];
  const err = tp.labels(out);
  if (err !== undefined) return err;
  if (new Set(out.map(([k]) => k)).size !== out.length) return 'duplicate label name';
  return out;
}

function codePoints(s: string): number {
  return [...s].length;
}
