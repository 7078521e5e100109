// Pull parser for the Prometheus text format 0.0.4 and OpenMetrics 1.0 text.
//
// Contract (after Prometheus's model/textparse/interface.go):
// - Performance: `next()` only finds the boundaries of the current line and reads the value and
//   timestamp; it allocates nothing for a Series entry. The raw series text (`name{labels}`) is
//   exposed as byte offsets (`seriesStart`..`seriesEnd`) and as a 64-bit hash (`seriesHash()`), so
//   the caller can look the series up in a cache and skip label parsing for a series it has seen
//   before. Labels are decoded only on demand, by `labels()`; strings are made only by `labels()`,
//   `metricName()`, `seriesKey()` and for Help/Type/Unit/Invalid entries.
// - Lifetime: every field and offset describes the entry the last `next()` returned and is valid
//   until the next call to `next()`. The parser reads `buf` in place: the caller must not change
//   the bytes between `start` and `end` while it parses them.
// - Fields by entry: Series: seriesStart, seriesEnd, nameEnd, labelsStart, value, timestamp (NaN
//   when none), exemplarStart (OpenMetrics, -1 when none), line; seriesHash(), seriesKey(),
//   metricName(), labels(), lineText(), exemplarText(). Help/Type/Unit: metaName, metaText, line.
//   Comment: line. Invalid: error, line (parsing goes on at the next line). EOF: the end of the
//   segment, nothing else.
// - Streaming: a payload may be parsed as several segments, each a new parser over a range that
//   ends right after a newline (the caller carries a partial last line over). State that spans
//   segments is passed in: `sawEOF` (OpenMetrics `# EOF` seen) goes in through the constructor and
//   is read back from the field after the segment. Line numbers restart at 1 in each segment: the
//   caller adds the lines of the segments before.
// - Leniency: a malformed line yields `Entry.Invalid` with `error` and `line` set, and parsing
//   continues on the next line, so one bad line does not cost the whole scrape. Stricter
//   OpenMetrics rules live in ../testing/openmetrics-validate.ts (tests only).

import { isUtf8 } from 'node:buffer';
export const enum Entry {
  EOF = 0,
  Series = 1,
  Help = 2,
  Type = 3,
  Unit = 4,
  Comment = 5,
  Invalid = 6,
}

export type Labels = Array<[string, string]>;

const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const HASH = 35;
const LBRACE = 123;
const RBRACE = 125;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const EQUALS = 61;

// Character classes for metric and label names, indexed by byte.
const NAME_START = new Uint8Array(256);
const NAME_CHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  const alpha = /[A-Za-z_]/.test(ch);
  NAME_START[c] = alpha || ch === ':' ? 1 : 0;
  NAME_CHAR[c] = alpha || ch === ':' || /[0-9]/.test(ch) ? 1 : 0;
}

/** murmur3's finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

export class TextParser {
  /** 1-based line number of the current entry. */
  line = 0;
  /** Byte offsets of the raw series text (`name` or `name{...}`) of the current Series entry. */
  seriesStart = 0;
  seriesEnd = 0;
  nameEnd = 0;
  labelsStart = 0;
  value = 0;
  /** Explicit timestamp in milliseconds, or NaN when the sample has none. */
  timestamp = NaN;
  /** For Help/Type/Unit: the metric family name and the rest of the line (unescaped for Help). */
  metaName = '';
  metaText = '';
  /** Set when `next()` returns Invalid. */
  error = '';
  /** OpenMetrics: true once `# EOF` was seen (in this segment or, via the constructor, before it). */
  sawEOF: boolean;
  /** OpenMetrics: exemplar present on the current sample line (offset of `#`, or -1). */
  exemplarStart = -1;

  private pos = 0;
  private lineEnd = 0;
  private readonly len: number;
  private nextHash = -1; // position of the next '#' byte at or after pos (-1: none left)

  /**
   * Parse `buf` from `start` to `end`. A segment that is not the whole payload must end right after
   * a newline (streaming: the caller carries a partial last line over to the next segment).
   * `sawEOF`: whether an earlier segment of the same OpenMetrics payload ended with `# EOF`.
   */
  /** Where this segment starts (for the UTF-8 check of `labels`). */
  private readonly start: number;
  /** Whether the segment is valid UTF-8 without NUL: 0 not checked yet, 1 clean, 2 not. */
  private utf8State = 0;

  constructor(
    private readonly buf: Buffer,
    readonly openMetrics = false,
    start = 0,
    end = buf.length,
    sawEOF = false,
  ) {
    this.sawEOF = sawEOF;
    this.pos = start;
    this.start = start;
    this.len = end;
    this.nextHash = buf.indexOf(HASH, start);
  }

  /** Advance to the next entry. */
  next(): Entry {
    const b = this.buf;
    const n = this.len;
    let p = this.pos;
    // Skip blank lines (0.0.4 allows them; OpenMetrics does not, reported by the validator).
    for (;;) {
      if (p >= n) {
        this.pos = p;
        return Entry.EOF;
      }
      const c = b[p];
      if (c === LF) {
        p++;
        this.line++;
        continue;
      }
      if (!this.openMetrics && (c === SPACE || c === TAB)) {
        let q = p + 1;
        while (q < n && (b[q] === SPACE || b[q] === TAB)) q++;
        if (q >= n || b[q] === LF) {
          p = q;
          continue;
        }
        p = q; // leading blanks before a series or comment
      }
      break;
    }
    if (this.sawEOF) {
      this.pos = n;
      this.line++;
      return this.invalid(p, 'content after # EOF');
    }
    let eol = b.indexOf(LF, p);
    if (eol < 0 || eol > n) eol = n;
    this.line++;
    this.pos = eol + 1;
    if (eol > p && b[eol - 1] === CR) {
      eol--; // CRLF line ending (OpenMetrics forbids it: reported by the validator)
      if (eol === p) return this.next(); // blank CRLF line
    }
    this.lineEnd = eol;
    if (b[p] === HASH) return this.comment(p, eol);
    return this.series(p, eol);
  }

  private invalid(at: number, msg: string): Entry {
    this.error = msg;
    this.seriesStart = this.seriesEnd = at;
    return Entry.Invalid;
  }

  private series(p: number, eol: number): Entry {
    const b = this.buf;
    this.seriesStart = p;
    if (!NAME_START[b[p]]) {
      return this.invalid(p, `invalid metric name start ${JSON.stringify(String.fromCharCode(b[p]))}`);
    }
    let q = p + 1;
    while (q < eol && NAME_CHAR[b[q]]) q++;
    this.nameEnd = q;
    let end = q;
    if (q < eol && (b[q] === SPACE || b[q] === TAB)) {
      // 0.0.4 allows blanks between the name and its label set
      let r = q + 1;
      while (r < eol && (b[r] === SPACE || b[r] === TAB)) r++;
      if (r < eol && b[r] === LBRACE && !this.openMetrics) q = r;
    }
    this.labelsStart = q;
    if (q < eol && b[q] === LBRACE) {
      // Fast path: without a '#' on this line (no exemplar, no '#' inside a label value) the series
      // ends at the last '}' of the line. Otherwise walk the label set respecting quotes.
      if (this.nextHash !== -1 && this.nextHash < p) this.nextHash = b.indexOf(HASH, p);
      if (this.nextHash === -1 || this.nextHash >= eol) {
        const rb = b.lastIndexOf(RBRACE, eol - 1);
        if (rb < q) return this.invalid(q, 'unterminated label set: missing "}"');
        end = rb + 1;
      } else {
        end = scanLabelSetEnd(b, q, eol);
        if (end < 0) return this.invalid(q, 'unterminated label set: missing "}"');
      }
    }
    this.seriesEnd = end;
    // Value: separated from the series by at least one blank.
    let v = end;
    if (v >= eol || (b[v] !== SPACE && b[v] !== TAB)) {
      // 0.0.4 (as Prometheus and Go's expfmt): the value may follow the closing '}' directly.
      if (v >= eol || this.openMetrics || end === this.nameEnd) {
        return this.invalid(v, v >= eol ? 'missing value' : 'expected a blank between series and value');
      }
    }
    while (v < eol && (b[v] === SPACE || b[v] === TAB)) v++;
    let ve = v;
    while (ve < eol && b[ve] !== SPACE && b[ve] !== TAB) ve++;
    if (ve === v) return this.invalid(v, 'missing value');
    const value = parseFloatToken(b, v, ve);
    if (value === undefined)
      return this.invalid(v, `invalid value ${JSON.stringify(b.toString('latin1', v, ve))}`);
    this.value = value;
    this.timestamp = NaN;
    this.exemplarStart = -1;
    let t = ve;
    while (t < eol && (b[t] === SPACE || b[t] === TAB)) t++;
    if (t < eol && b[t] !== HASH) {
      let te = t;
      while (te < eol && b[te] !== SPACE && b[te] !== TAB) te++;
      const ts = this.openMetrics ? parseOpenMetricsTimestamp(b, t, te) : parseIntToken(b, t, te);
      if (ts === undefined)
        return this.invalid(t, `invalid timestamp ${JSON.stringify(b.toString('latin1', t, te))}`);
      this.timestamp = ts;
      t = te;
      while (t < eol && (b[t] === SPACE || b[t] === TAB)) t++;
    }
    if (t < eol) {
      if (this.openMetrics && b[t] === HASH) {
        this.exemplarStart = t;
      } else {
        return this.invalid(t, 'unexpected text after value');
      }
    }
    return Entry.Series;
  }

  private comment(p: number, eol: number): Entry {
    const b = this.buf;
    // "# HELP name text", "# TYPE name type", "# UNIT name unit", "# EOF"; anything else is a comment.
    let q = p + 1;
    if (q < eol && b[q] === SPACE) q++;
    else if (this.openMetrics) return this.invalid(p, 'invalid comment');
    if (!this.openMetrics) while (q < eol && (b[q] === SPACE || b[q] === TAB)) q++; // 0.0.4: "#[ \t]+HELP"
    let we = q;
    while (we < eol && b[we] !== SPACE && b[we] !== TAB) we++;
    const word = b.toString('latin1', q, we);
    if (word === 'EOF' && we === eol) {
      if (this.openMetrics) this.sawEOF = true;
      return Entry.Comment;
    }
    const kind =
      word === 'HELP'
        ? Entry.Help
        : word === 'TYPE'
          ? Entry.Type
          : word === 'UNIT'
            ? Entry.Unit
            : Entry.Comment;
    if (kind === Entry.Comment) {
      if (this.openMetrics) return this.invalid(p, 'invalid comment');
      return Entry.Comment;
    }
    if (kind === Entry.Unit && !this.openMetrics) return Entry.Comment;
    let ns = we;
    while (ns < eol && (b[ns] === SPACE || b[ns] === TAB)) ns++;
    let ne = ns;
    while (ne < eol && b[ne] !== SPACE && b[ne] !== TAB) ne++;
    if (ne === ns && !this.openMetrics) return Entry.Comment; // 0.0.4: "# HELP" alone is a comment (as Go's expfmt)
    if (ne === ns || !isValidMetricName(b, ns, ne)) {
      return this.invalid(ns, `invalid metric name in ${word} line`);
    }
    this.metaName = b.toString('utf8', ns, ne);
    let ts = ne;
    if (ts < eol) ts++; // one separator
    const text = b.toString('utf8', ts, eol);
    if (kind === Entry.Help) {
      this.metaText = unescapeHelp(text, this.openMetrics);
    } else if (kind === Entry.Type) {
      const type = text.trim();
      if (!(this.openMetrics ? OM_TYPES : TEXT_TYPES).has(type)) {
        return this.invalid(ts, `invalid metric type ${JSON.stringify(type)}`);
      }
      this.metaText = type;
    } else {
      this.metaText = text;
    }
    return kind;
  }

  /** Second 32 bits of the last `seriesHash()`. */
  seriesHashHi = 0;

  /**
   * 64-bit hash of the raw series text, without making a string of it: returns the low 32 bits
   * (a murmur3 lane) and leaves the high 32 bits (an xxHash-style lane) in `seriesHashHi`.
   */
  seriesHash(): number {
    const b = this.buf;
    const end = this.seriesEnd;
    let i = this.seriesStart;
    let lo = 0x9747b28c;
    let hi = 0x165667b1;
    for (; i + 4 <= end; i += 4) {
      const w = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
      let k = Math.imul(w, 0xcc9e2d51);
      k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
      lo ^= k;
      lo = (Math.imul((lo << 13) | (lo >>> 19), 5) + 0xe6546b64) | 0;
      hi = (hi + Math.imul(w, 0x85ebca77)) | 0;
      hi = Math.imul((hi << 13) | (hi >>> 19), 0x9e3779b1);
    }
    let w = 0;
    for (let shift = 0; i < end; i++, shift += 8) w |= b[i] << shift;
    const n = end - this.seriesStart;
    lo = fmix32(lo ^ Math.imul(w, 0xcc9e2d51) ^ n);
    hi = fmix32((hi + Math.imul(w ^ n, 0x27d4eb2f)) | 0);
    this.seriesHashHi = hi;
    return lo;
  }

  /** Raw series text of the current Series entry. Latin-1 keeps it 1 byte per byte. */
  seriesKey(): string {
    return this.buf.latin1Slice(this.seriesStart, this.seriesEnd);
  }

  metricName(): string {
    return this.buf.toString('latin1', this.seriesStart, this.nameEnd);
  }

  /**
   * Decode the label set of the current Series entry into `out` (appended, in exposition order).
   * Returns an error message, or undefined when the label set is well-formed.
   */
  labels(out: Labels): string | undefined {
    const b = this.buf;
    let p = this.labelsStart;
    const end = this.seriesEnd;
    if (p >= end || b[p] !== LBRACE) return undefined;
    // As Prometheus: a label value must be valid UTF-8 without NUL (decoding would silently put
    // U+FFFD in its place, and a store would keep the altered value). The whole segment is checked
    // once, on the first decode in it (a native SIMD scan: ~0.1 ms per MB); only when it fails is
    // each value checked, to name the label. Per value it cost +5-8 % of a first scrape (two native
    // calls and a view per value, measured on the 1.16-1.35 captures); a scrape with no new series
    // (the repeated-scrape path) never decodes, so never pays.
    if (this.utf8State === 0) {
      const seg = b.subarray(this.start, this.len);
      this.utf8State = isUtf8(seg) && seg.indexOf(0) < 0 ? 1 : 2;
    }
    const suspect = this.utf8State === 2;
    p++; // '{'
    const close = end - 1;
    for (;;) {
      while (p < close && (b[p] === SPACE || b[p] === TAB)) p++;
      if (p >= close) return undefined;
      // label name
      const ns = p;
      if (!NAME_START[b[p]] || b[p] === 58 /* ':' not allowed in label names */) {
        return `invalid label name at column ${p - this.seriesStart + 1}`;
      }
      p++;
      while (p < close && NAME_CHAR[b[p]] && b[p] !== 58) p++;
      const name = b.toString('latin1', ns, p);
      while (p < close && (b[p] === SPACE || b[p] === TAB)) p++;
      if (b[p] !== EQUALS) return `expected "=" after label name ${JSON.stringify(name)}`;
      p++;
      while (p < close && (b[p] === SPACE || b[p] === TAB)) p++;
      if (b[p] !== QUOTE) return `expected quoted value for label ${JSON.stringify(name)}`;
      p++;
      const vs = p;
      let escaped = false;
      while (p < close && b[p] !== QUOTE) {
        if (b[p] === BACKSLASH) {
          escaped = true;
          p++;
        } else if (b[p] === LF) {
          return `newline in value of label ${JSON.stringify(name)}`;
        }
        p++;
      }
      if (p >= close) return `unterminated value of label ${JSON.stringify(name)}`;
      if (suspect) {
        const raw = b.subarray(vs, p);
        if (!isUtf8(raw)) return `invalid UTF-8 in the value of label ${JSON.stringify(name)}`;
        if (raw.indexOf(0) >= 0) return `NUL byte in the value of label ${JSON.stringify(name)}`;
      }
      let value = b.toString('utf8', vs, p);
      if (escaped) value = unescapeLabelValue(value);
      out.push([name, value]);
      p++; // closing quote
      while (p < close && (b[p] === SPACE || b[p] === TAB)) p++;
      if (p >= close) return undefined;
      if (b[p] !== COMMA) return `expected "," or "}" after value of label ${JSON.stringify(name)}`;
      p++;
      if (this.openMetrics) {
        // OpenMetrics forbids a trailing comma
        let r = p;
        while (r < close && (b[r] === SPACE || b[r] === TAB)) r++;
        if (r >= close) return 'trailing comma in label set';
      }
    }
  }

  /** Text of the current line (for error messages). */
  lineText(): string {
    let s = this.seriesStart;
    while (s > 0 && this.buf[s - 1] !== LF) s--;
    return this.buf.toString('utf8', s, Math.min(this.lineEnd, s + 200));
  }

  /** Exemplar text of the current OpenMetrics sample (after `#`), or ''. */
  exemplarText(): string {
    return this.exemplarStart < 0 ? '' : this.buf.toString('utf8', this.exemplarStart, this.lineEnd);
  }
}

export const TEXT_TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
export const OM_TYPES = new Set([
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
  'unknown',
]);

function isValidMetricName(b: Buffer, s: number, e: number): boolean {
  if (!NAME_START[b[s]]) return false;
  for (let i = s + 1; i < e; i++) if (!NAME_CHAR[b[i]]) return false;
  return true;
}

/** End offset (exclusive) of a `{...}` label set starting at `p`, honouring quoted values; -1 if none. */
export function scanLabelSetEnd(b: Buffer, p: number, eol: number): number {
  let inQuote = false;
  for (let i = p + 1; i < eol; i++) {
    const c = b[i];
    if (inQuote) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inQuote = false;
    } else if (c === QUOTE) {
      inQuote = true;
    } else if (c === RBRACE) {
      return i + 1;
    }
  }
  return -1;
}

function unescapeLabelValue(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const d = s[++i];
    if (d === 'n') out += '\n';
    else if (d === '\\') out += '\\';
    else if (d === '"') out += '"';
    else out += '\\' + d; // an unknown escape is kept as written, as Prometheus and the OpenMetrics test suite do
  }
  return out;
}

function unescapeHelp(s: string, openMetrics: boolean): string {
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const d = s[++i];
    if (d === 'n') out += '\n';
    else if (d === '\\') out += '\\';
    else if (d === '"' && openMetrics) out += '"';
    else out += '\\' + d;
  }
  return out;
}

/** Integer milliseconds timestamp (text 0.0.4). Digits only, optional sign. */
function parseIntToken(b: Buffer, s: number, e: number): number | undefined {
  let i = s;
  let neg = false;
  if (b[i] === 45 /* - */ || b[i] === 43 /* + */) {
    neg = b[i] === 45;
    i++;
  }
  if (i >= e) return undefined;
  let n = 0;
  for (; i < e; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

/** OpenMetrics timestamps are seconds, possibly fractional. */
function parseOpenMetricsTimestamp(b: Buffer, s: number, e: number): number | undefined {
  const v = parseFloatToken(b, s, e);
  if (v === undefined || !Number.isFinite(v)) return undefined;
  return Math.round(v * 1000);
}

/**
 * Parse a float the way Go's strconv.ParseFloat accepts it in expositions: decimal with optional
 * exponent, NaN, [+-]Inf. Plain integers (the common case: counters, bytes) avoid building a string.
 */
export function parseFloatToken(b: Buffer, s: number, e: number): number | undefined {
  let i = s;
  let neg = false;
  const c0 = b[i];
  if (c0 === 45 || c0 === 43) {
    neg = c0 === 45;
    i++;
  }
  if (i >= e) return undefined;
  // Fast path: up to 15 digits, exact in a double.
  if (e - i <= 15) {
    let n = 0;
    let j = i;
    for (; j < e; j++) {
      const d = b[j] - 48;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    if (j === e) return neg ? -n : n;
  }
  const c = b[i] | 0x20;
  if (c === 0x6e /* n */ || c === 0x69 /* i */) {
    const word = b.toString('latin1', i, e).toLowerCase();
    if (word === 'nan') return NaN;
    if (word === 'inf' || word === 'infinity') return neg ? -Infinity : Infinity;
    return undefined;
  }
  // Validate the grammar Number() would be more lenient about (hex, binary, underscores, blanks).
  let j = i;
  let digits = 0;
  while (j < e && b[j] >= 48 && b[j] <= 57) {
    j++;
    digits++;
  }
  if (j < e && b[j] === 46 /* . */) {
    j++;
    while (j < e && b[j] >= 48 && b[j] <= 57) {
      j++;
      digits++;
    }
  }
  if (digits === 0) return undefined;
  if (j < e && (b[j] | 0x20) === 0x65 /* e */) {
    j++;
    if (j < e && (b[j] === 43 || b[j] === 45)) j++;
    const es = j;
    while (j < e && b[j] >= 48 && b[j] <= 57) j++;
    if (j === es) return undefined;
  }
  if (j !== e) return undefined;
  const v = Number(b.latin1Slice(i, e));
  return neg ? -v : v;
}

declare module 'node:buffer' {
  interface Buffer {
    /** Undocumented but stable V8 binding: the fastest way to get a one-byte string. */
    latin1Slice(start: number, end: number): string;
    /** Its counterpart: writes a one-byte string's chars as bytes, returns the count. */
    latin1Write(s: string, offset: number, length: number): number;
  }
}
