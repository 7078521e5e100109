// Go `regexp` (RE2 syntax, Perl flags) translated to an equivalent JavaScript RegExp.
//
// Prometheus relabel regexes are Go regexps. Most of the syntax reads the same in JavaScript but
// several constructs mean something different, so patterns are parsed here the way Go's
// regexp/syntax parses them and re-emitted for a `u`-flag JavaScript RegExp:
//   - `.` excludes only "\n" in Go (JS also excludes \r, U+2028, U+2029); `\s` is [\t\n\f\r ]
//     (no \v, no Unicode spaces); `\d` `\w` `\b` are ASCII;
//   - flags `(?i)` `(?m)` `(?s)` `(?U)`, also scoped `(?i:...)` and negated `(?-i)`, which
//     JavaScript (Node 20) cannot express inline; `(?m)` anchors only at "\n";
//   - `(?P<name>re)` and `(?<name>re)` named groups (Go allows names that start with a digit and
//     duplicate names, so every group is emitted unnamed and names are returned separately);
//   - `\A` `\z` `\Q...\E` `\x{10FFFF}` octal `\123`, POSIX `[[:alpha:]]`, `\pL` `\p{Greek}`
//     `\p{^Greek}`, a `{` that does not start a repeat is a literal, `[]a]` contains `]`;
//   - Go's rejections: lookaround, backreferences, `\C`, `\Z`, repeat counts above 1000, `a**`.
// Case-insensitive matching follows Unicode simple case folding in both engines. When `i` covers
// the whole pattern the JS `i` flag does the folding; when it covers only part of it the folded
// alternatives are written out (characters and classes), using orbits computed from the engine.
// Known differences left: captures inside a repeated group (JS forgets a capture that did not
// participate in the last iteration, Go keeps it: ./regex.ts runs such patterns on re2js instead,
// so relabeling agrees with Go there too), nested repeat products above 1000 (Go rejects), and
// `a*(?i)*` style repeats of repeats (Go accepts, here an error). The RegExp made here backtracks:
// ./regex.ts decides when it may run (see there).

export class RE2SyntaxError extends Error {
  constructor(code: string, expr: string) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
    this.name = 'RE2SyntaxError';
  }
}

export interface TranslatedRE2 {
  /** Source for `new RegExp(source, flags)`. */
  source: string;
  /** "u" or "iu". */
  flags: string;
  /** names[i] is the name of capture group i, '' when unnamed; names[0] is the whole match. */
  names: string[];
}

export interface CompiledRE2 {
  re: RegExp;
  names: string[];
}

/** Translate a Go regexp to JavaScript; throws RE2SyntaxError where Go's parser would fail. */
export function translateRE2(pattern: string): TranslatedRE2 {
  const first = new Translator(pattern, false).run();
  if (!first.usedFold) return { source: first.out, flags: 'u', names: first.names };
  if (!first.usedCaseSensitive) return { source: first.out, flags: 'iu', names: first.names };
  const second = new Translator(pattern, true).run();
  return { source: second.out, flags: 'u', names: second.names };
}

/** Compile a Go regexp into a JavaScript RegExp; `extraFlags` such as "g" are added. */
export function compileRE2(pattern: string, extraFlags = ''): CompiledRE2 {
  const t = translateRE2(pattern);
  let re: RegExp;
  try {
    re = new RegExp(t.source, t.flags + extraFlags);
  } catch (e) {
    // Only reachable for names JavaScript does not know (e.g. an unknown script in \p{...}).
    throw new RE2SyntaxError('invalid character class range', `${pattern} (${(e as Error).message})`);
  }
  return { re, names: t.names };
}

// ---------------------------------------------------------------------------------------------
// Character sets

const MAX_RUNE = 0x10ffff;
type Range = [number, number];

/** A set of code points: the union of ranges and JS property escapes such as `\p{Lu}`. */
interface CharSet {
  ranges: Range[];
  props: string[];
}

/** A named group (\d, [:alpha:], \pL ...) and its complement, both as unions. */
interface NamedSet {
  pos: CharSet;
  neg: CharSet;
}

function normalize(ranges: Range[]): Range[] {
  const r = ranges.map((x) => [x[0], x[1]] as Range).sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const out: Range[] = [];
  for (const x of r) {
    const last = out[out.length - 1];
    if (last !== undefined && x[0] <= last[1] + 1) {
      if (x[1] > last[1]) last[1] = x[1];
    } else out.push(x);
  }
  return out;
}

function complement(ranges: Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalize(ranges)) {
    if (next <= lo - 1) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

function rangeSet(ranges: Range[]): NamedSet {
  return { pos: { ranges, props: [] }, neg: { ranges: complement(ranges), props: [] } };
}

const PERL: Record<string, Range[]> = {
  d: [[0x30, 0x39]],
  s: [
    [0x09, 0x0a],
    [0x0c, 0x0d],
    [0x20, 0x20],
  ],
  w: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
};

const POSIX: Record<string, Range[]> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: PERL.w,
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

/** Go's unicode.Categories keys (two-letter and one-letter general categories). */
const CATEGORIES = new Set(
  'L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp Cc Cf Cs Co'.split(
    ' ',
  ),
);

/** Go's canonicalName: first letter upper, rest lower, without "_", "-" and " ". */
function canonicalName(name: string): string {
  let out = '';
  for (const c of name) {
    if (c === '_' || c === '-' || c === ' ') continue;
    out += out === '' ? c.toUpperCase() : c.toLowerCase();
  }
  return out;
}

function prop(p: string, q: string): NamedSet {
  return { pos: { ranges: [], props: [p] }, neg: { ranges: [], props: [q] } };
}

let propCheck: Map<string, boolean> | undefined;
function jsKnows(escape: string): boolean {
  propCheck ??= new Map();
  let ok = propCheck.get(escape);
  if (ok === undefined) {
    try {
      new RegExp(escape, 'u');
      ok = true;
    } catch {
      ok = false;
    }
    propCheck.set(escape, ok);
  }
  return ok;
}

/** The set named by `\p{name}`, or undefined when Go would not know the name. */
function unicodeSet(name: string): NamedSet | undefined {
  if (!/^[A-Za-z0-9_ -]+$/.test(name)) return undefined;
  const canon = canonicalName(name);
  switch (canon) {
    case 'Any':
      return { pos: { ranges: [[0, MAX_RUNE]], props: [] }, neg: { ranges: [], props: [] } };
    case 'Assigned':
      return prop('\\P{Cn}', '\\p{Cn}');
    case 'Ascii':
      return rangeSet([[0, 0x7f]]);
    case 'Lc':
      return prop('\\p{LC}', '\\P{LC}');
    case 'C':
      // Go's C is Cc|Cf|Co|Cs; JavaScript's also includes unassigned code points (Cn).
      return {
        pos: { ranges: [], props: ['\\p{Cc}', '\\p{Cf}', '\\p{Co}', '\\p{Cs}'] },
        neg: { ranges: [], props: ['\\P{C}', '\\p{Cn}'] },
      };
  }
  if (CATEGORIES.has(canon)) return prop(`\\p{${canon}}`, `\\P{${canon}}`);
  for (const n of [name, canon]) {
    if (jsKnows(`\\p{Script=${n}}`)) return prop(`\\p{Script=${n}}`, `\\P{Script=${n}}`);
  }
  // Long category aliases such as Uppercase_Letter.
  const gc = `\\p{General_Category=${name}}`;
  if (name !== 'Cn' && name !== 'Unassigned' && jsKnows(gc)) {
    return prop(gc, `\\P{General_Category=${name}}`);
  }
  return undefined;
}

const SYNTAX_CHARS = new Set('^$\\.*+?()[]{}|/');

/** A code point as a JavaScript (u-mode) pattern atom. */
function lit(cp: number, inClass: boolean): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f) {
    return String.fromCharCode(cp);
  }
  if (cp >= 0x20 && cp < 0x7f) {
    const ch = String.fromCharCode(cp);
    return SYNTAX_CHARS.has(ch) || (inClass && ch === '-') ? '\\' + ch : ch;
  }
  return `\\u{${cp.toString(16)}}`;
}

function setBody(s: CharSet): string {
  let out = '';
  for (const [lo, hi] of normalize(s.ranges)) {
    out += lo === hi ? lit(lo, true) : lit(lo, true) + (hi === lo + 1 ? '' : '-') + lit(hi, true);
  }
  return out + s.props.join('');
}

// ---------------------------------------------------------------------------------------------
// Case folding for partly case-insensitive patterns

let orbits: Map<number, number[]> | undefined;

/**
 * Simple case folding orbits (the sets Go's unicode.SimpleFold cycles through), for every code
 * point that has one. Built once on first use from the engine's own folding: two code points are
 * joined when one is the other's lower or upper case and a case-insensitive `u` RegExp agrees.
 */
function orbitTable(): Map<number, number[]> {
  if (orbits !== undefined) return orbits;
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let r = x;
    for (let p = parent.get(r); p !== undefined && p !== r; p = parent.get(r)) r = p;
    parent.set(x, r);
    return r;
  };
  for (let cp = 0x41; cp <= 0x1e943; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const s = String.fromCodePoint(cp);
    for (const t of [s.toLowerCase(), s.toUpperCase()]) {
      if (t === s) continue;
      const u = t.codePointAt(0)!;
      if (String.fromCodePoint(u) !== t) continue; // multi-character mapping: not a simple fold
      if (!new RegExp(`^\\u{${cp.toString(16)}}$`, 'iu').test(t)) continue;
      if (!parent.has(cp)) parent.set(cp, cp);
      if (!parent.has(u)) parent.set(u, u);
      const a = find(cp);
      const b = find(u);
      if (a !== b) parent.set(a, b);
    }
  }
  const groups = new Map<number, number[]>();
  for (const cp of parent.keys()) {
    const r = find(cp);
    let g = groups.get(r);
    if (g === undefined) groups.set(r, (g = []));
    g.push(cp);
  }
  orbits = new Map();
  for (const g of groups.values()) {
    g.sort((a, b) => a - b);
    for (const cp of g) orbits.set(cp, g);
  }
  return orbits;
}

function inRanges(ranges: Range[], cp: number): boolean {
  for (const [lo, hi] of ranges) if (cp >= lo && cp <= hi) return true;
  return false;
}

/** s plus every code point that folds to a member of s. */
function foldSet(s: CharSet): CharSet {
  const table = orbitTable();
  const propRe = s.props.length ? new RegExp(`[${s.props.join('')}]`, 'u') : undefined;
  const extra: Range[] = [];
  for (const [cp, orbit] of table) {
    if (inRanges(s.ranges, cp) || (propRe !== undefined && propRe.test(String.fromCodePoint(cp)))) {
      for (const o of orbit) extra.push([o, o]);
    }
  }
  return { ranges: normalize([...s.ranges, ...extra]), props: s.props };
}

// ---------------------------------------------------------------------------------------------
// The parser

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

const CH = (s: string): number => s.charCodeAt(0);
const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isAlnum = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

function unhex(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

class Translator {
  private readonly cps: number[];
  private pos = 0;
  private out = '';
  private flags: Flags = { i: false, m: false, s: false, U: false };
  private readonly stack: Flags[] = [];
  private readonly names: string[] = [''];
  /** Something case-sensitive was emitted while `i` was on / off (or a \b, which JS's i changes). */
  private usedFold = false;
  private usedCaseSensitive = false;
  /** An operand is on top of Go's parse stack (a repeat has something to apply to). */
  private canRepeat = false;
  private lastRepeat = false;

  constructor(
    private readonly pattern: string,
    private readonly manualFold: boolean,
  ) {
    this.cps = Array.from(pattern, (c) => c.codePointAt(0)!);
  }

  run(): { out: string; names: string[]; usedFold: boolean; usedCaseSensitive: boolean } {
    const cps = this.cps;
    while (this.pos < cps.length) {
      const c = cps[this.pos];
      let repeat = false;
      switch (c) {
        case CH('('):
          this.openGroup();
          break;
        case CH(')'):
          if (this.stack.length === 0) throw new RE2SyntaxError('unexpected )', this.pattern);
          this.flags = this.stack.pop()!;
          this.out += ')';
          this.pos++;
          this.canRepeat = true;
          break;
        case CH('|'):
          this.out += '|';
          this.pos++;
          this.canRepeat = false;
          break;
        case CH('^'):
          this.pos++;
          this.assertion(this.flags.m ? '(?<![^\\n])' : '^');
          break;
        case CH('$'):
          this.pos++;
          this.assertion(this.flags.m ? '(?![^\\n])' : '$');
          break;
        case CH('.'):
          this.pos++;
          this.atom(this.flags.s ? '[^]' : '[^\\n]');
          break;
        case CH('['):
          this.parseClass();
          break;
        case CH('*'):
        case CH('+'):
        case CH('?'):
          this.pos++;
          this.repeat(String.fromCharCode(c), this.pos - 1);
          repeat = true;
          break;
        case CH('{'): {
          const r = this.parseRepeat();
          if (r === undefined) {
            this.pos++;
            this.literal(c);
          } else {
            this.repeat(r, this.pos - 1);
            repeat = true;
          }
          break;
        }
        case CH('\\'):
          this.parseBackslash();
          break;
        default:
          this.pos++;
          this.literal(c);
      }
      this.lastRepeat = repeat;
    }
    if (this.stack.length) throw new RE2SyntaxError('missing closing )', this.pattern);
    return {
      out: this.out,
      names: this.names,
      usedFold: this.usedFold,
      usedCaseSensitive: this.usedCaseSensitive,
    };
  }

  private err(code: string, from: number, to = this.pos): never {
    throw new RE2SyntaxError(code, String.fromCodePoint(...this.cps.slice(from, to)));
  }

  private noteCase(): void {
    if (this.flags.i) this.usedFold = true;
    else this.usedCaseSensitive = true;
  }

  private atom(src: string): void {
    this.out += src;
    this.canRepeat = true;
  }

  /** Zero-width assertions are wrapped when a repeat follows (Go allows `^*`, JS does not). */
  private assertion(src: string): void {
    const next = this.cps[this.pos];
    const quantified = next === CH('*') || next === CH('+') || next === CH('?') || next === CH('{');
    this.atom(quantified ? `(?:${src})` : src);
  }

  private literal(cp: number): void {
    this.noteCase();
    if (this.flags.i && this.manualFold) {
      const orbit = orbitTable().get(cp);
      if (orbit !== undefined && orbit.length > 1) {
        this.atom(`[${orbit.map((o) => lit(o, true)).join('')}]`);
        return;
      }
    }
    this.atom(lit(cp, false));
  }

  private repeat(op: string, start: number): void {
    let lazy = false;
    if (this.cps[this.pos] === CH('?')) {
      lazy = true;
      this.pos++;
    }
    if (this.lastRepeat) this.err('invalid nested repetition operator', Math.max(0, start - 1));
    if (!this.canRepeat) this.err('missing argument to repetition operator', start);
    if (this.flags.U) lazy = !lazy;
    this.out += op + (lazy ? '?' : '');
  }

  /** Go's parseInt: no leading zeros; above 1e8 reads as -1. */
  private parseInt(): number | undefined {
    const cps = this.cps;
    if (!isDigit(cps[this.pos])) return undefined;
    if (cps[this.pos] === CH('0') && isDigit(cps[this.pos + 1])) return undefined;
    let n = 0;
    while (isDigit(cps[this.pos])) {
      if (n >= 1e8) n = -1;
      else if (n >= 0) n = n * 10 + cps[this.pos] - 0x30;
      this.pos++;
    }
    return n;
  }

  /** `{n}`, `{n,}` or `{n,m}` as a JS quantifier, or undefined (pos unchanged) when `{` is a literal. */
  private parseRepeat(): string | undefined {
    const cps = this.cps;
    const start = this.pos;
    this.pos++;
    let min = this.parseInt();
    let max: number | undefined; // -1: no upper bound
    if (min !== undefined && this.pos < cps.length) {
      if (cps[this.pos] !== CH(',')) max = min;
      else {
        this.pos++;
        if (cps[this.pos] === CH('}')) max = -1;
        else if ((max = this.parseInt()) === -1) min = -1; // too big
      }
    }
    if (min === undefined || max === undefined || cps[this.pos] !== CH('}')) {
      this.pos = start;
      return undefined;
    }
    this.pos++;
    if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max))
      this.err('invalid repeat count', start);
    return max === -1 ? `{${min},}` : max === min ? `{${min}}` : `{${min},${max}}`;
  }

  private openGroup(): void {
    const cps = this.cps;
    const start = this.pos;
    if (cps[this.pos + 1] !== CH('?')) {
      this.pos++;
      this.stack.push({ ...this.flags });
      this.names.push('');
      this.out += '(';
      this.canRepeat = false;
      return;
    }
    const named =
      (cps[start + 2] === CH('P') && cps[start + 3] === CH('<') && cps.length > start + 4) ||
      (cps[start + 2] === CH('<') && cps.length > start + 3);
    if (named) {
      const nameStart = cps[start + 2] === CH('P') ? start + 4 : start + 3;
      const end = cps.indexOf(CH('>'), start);
      if (end < 0) this.err('invalid named capture', start, cps.length);
      const name = String.fromCodePoint(...cps.slice(nameStart, end));
      if (name === '' || !/^[A-Za-z0-9_]+$/.test(name)) this.err('invalid named capture', start, end + 1);
      this.pos = end + 1;
      this.stack.push({ ...this.flags });
      this.names.push(name);
      this.out += '(';
      this.canRepeat = false;
      return;
    }
    // Flags and/or non-capturing group: (?flags) (?flags:re) (?:re), flags [imsU]*(-[imsU]*)?
    this.pos += 2;
    const f = { ...this.flags };
    let negate = false;
    let sawFlag = false;
    while (this.pos < cps.length) {
      const c = cps[this.pos++];
      if (c === CH('i') || c === CH('m') || c === CH('s') || c === CH('U')) {
        const k = String.fromCharCode(c) as keyof Flags;
        f[k] = !negate;
        sawFlag = true;
      } else if (c === CH('-')) {
        if (negate) break;
        negate = true;
        sawFlag = false;
      } else if (c === CH(':') || c === CH(')')) {
        if (negate && !sawFlag) break;
        if (c === CH(':')) {
          this.stack.push({ ...this.flags });
          this.out += '(?:';
          this.canRepeat = false;
        }
        this.flags = f;
        return;
      } else break;
    }
    this.err('invalid or unsupported Perl syntax', start);
  }

  private parseBackslash(): void {
    const cps = this.cps;
    const start = this.pos;
    const c = cps[this.pos + 1];
    switch (c) {
      case CH('A'):
        this.pos += 2;
        this.assertion('^');
        return;
      case CH('z'):
        this.pos += 2;
        this.assertion('$');
        return;
      case CH('b'):
      case CH('B'):
        // Go's \b is ASCII-only even under (?i); JS's i flag would make ſ and K word characters.
        this.usedCaseSensitive = true;
        this.pos += 2;
        this.assertion(c === CH('b') ? '\\b' : '\\B');
        return;
      case CH('C'):
        this.err('invalid escape sequence', start, start + 2);
        break;
      case CH('Q'): {
        this.pos += 2;
        let end = this.pos;
        while (end < cps.length && !(cps[end] === CH('\\') && cps[end + 1] === CH('E'))) end++;
        const lits = cps.slice(this.pos, end);
        this.pos = end < cps.length ? end + 2 : end;
        for (const l of lits) this.literal(l);
        return;
      }
      case CH('p'):
      case CH('P'): {
        const set = this.parseUnicodeClass();
        this.emitClass({ ranges: [], props: [] }, false, [[set, set.negated]]);
        return;
      }
    }
    if (c !== undefined && isPerlLetter(c)) {
      this.pos += 2;
      this.emitClass({ ranges: [], props: [] }, false, [[perlSet(c), c < 0x61]]);
      return;
    }
    this.literal(this.parseEscape());
  }

  /** Go's parseEscape: the escaped code point; pos is at the backslash. */
  private parseEscape(): number {
    const cps = this.cps;
    const start = this.pos;
    this.pos++;
    if (this.pos >= cps.length) throw new RE2SyntaxError('trailing backslash at end of expression', '');
    const c = cps[this.pos++];
    const isOct = (x: number | undefined) => x !== undefined && x >= 0x30 && x <= 0x37;
    if (c >= 0x31 && c <= 0x37 && !isOct(cps[this.pos])) {
      this.err('invalid escape sequence', start); // a backreference: not supported
    }
    if (c >= 0x30 && c <= 0x37) {
      let r = c - 0x30;
      for (let i = 1; i < 3 && isOct(cps[this.pos]); i++) r = r * 8 + cps[this.pos++] - 0x30;
      return r;
    }
    switch (c) {
      case CH('x'): {
        if (cps[this.pos] === CH('{')) {
          this.pos++;
          let r = 0;
          let n = 0;
          for (;;) {
            const h = cps[this.pos];
            if (h === undefined) this.err('invalid escape sequence', start);
            this.pos++;
            if (h === CH('}')) break;
            const v = unhex(h);
            if (v < 0) this.err('invalid escape sequence', start);
            r = r * 16 + v;
            if (r > MAX_RUNE) this.err('invalid escape sequence', start);
            n++;
          }
          if (n === 0) this.err('invalid escape sequence', start);
          return r;
        }
        const x = unhex(cps[this.pos]);
        const y = unhex(cps[this.pos + 1]);
        this.pos = Math.min(this.pos + 2, cps.length);
        if (x < 0 || y < 0) this.err('invalid escape sequence', start);
        return x * 16 + y;
      }
      case CH('a'):
        return 7;
      case CH('f'):
        return 12;
      case CH('n'):
        return 10;
      case CH('r'):
        return 13;
      case CH('t'):
        return 9;
      case CH('v'):
        return 11;
    }
    if (c < 0x80 && !isAlnum(c)) return c;
    this.err('invalid escape sequence', start);
  }

  /** `\pX`, `\p{Name}`, `\p{^Name}` (and \P); pos at the backslash. Returns the positive set. */
  private parseUnicodeClass(): NamedSet & { negated: boolean } {
    const cps = this.cps;
    const start = this.pos;
    let negated = cps[this.pos + 1] === CH('P');
    this.pos += 2;
    let name: string;
    if (cps[this.pos] === CH('{')) {
      const end = cps.indexOf(CH('}'), this.pos);
      if (end < 0) this.err('invalid character class range', start, cps.length);
      name = String.fromCodePoint(...cps.slice(this.pos + 1, end));
      this.pos = end + 1;
    } else {
      name = this.pos < cps.length ? String.fromCodePoint(cps[this.pos++]) : '';
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    const set = unicodeSet(name);
    if (set === undefined) this.err('invalid character class range', start);
    return { ...set, negated };
  }

  /** A bracket expression; pos at `[`. */
  private parseClass(): void {
    const cps = this.cps;
    const start = this.pos;
    this.pos++;
    let negate = false;
    if (cps[this.pos] === CH('^')) {
      negate = true;
      this.pos++;
    }
    const pos: CharSet = { ranges: [], props: [] };
    const groups: [NamedSet, boolean][] = [];
    let first = true;
    for (;;) {
      if (this.pos >= cps.length) this.err('missing closing ]', start, cps.length);
      const c = cps[this.pos];
      if (c === CH(']') && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c === CH('[') && cps[this.pos + 1] === CH(':') && this.pos + 2 < cps.length) {
        let end = -1;
        for (let j = this.pos + 2; j + 1 < cps.length; j++) {
          if (cps[j] === CH(':') && cps[j + 1] === CH(']')) {
            end = j;
            break;
          }
        }
        if (end >= 0) {
          let name = String.fromCodePoint(...cps.slice(this.pos + 2, end));
          const neg = name.startsWith('^');
          if (neg) name = name.slice(1);
          const ranges = Object.hasOwn(POSIX, name) ? POSIX[name] : undefined;
          if (ranges === undefined) this.err('invalid character class range', this.pos, end + 2);
          groups.push([rangeSet(ranges), neg]);
          this.pos = end + 2;
          continue;
        }
      }
      if (c === CH('\\') && (cps[this.pos + 1] === CH('p') || cps[this.pos + 1] === CH('P'))) {
        const set = this.parseUnicodeClass();
        groups.push([set, set.negated]);
        continue;
      }
      const n = cps[this.pos + 1];
      if (c === CH('\\') && n !== undefined && isPerlLetter(n)) {
        groups.push([perlSet(n), n < 0x61]);
        this.pos += 2;
        continue;
      }
      const rangeStart = this.pos;
      const lo = this.classChar(start);
      let hi = lo;
      if (cps[this.pos] === CH('-') && this.pos + 1 < cps.length && cps[this.pos + 1] !== CH(']')) {
        this.pos++;
        hi = this.classChar(start);
        if (hi < lo) this.err('invalid character class range', rangeStart);
      }
      pos.ranges.push([lo, hi]);
    }
    this.emitClass(pos, negate, groups);
  }

  private classChar(classStart: number): number {
    if (this.pos >= this.cps.length) this.err('missing closing ]', classStart, this.cps.length);
    if (this.cps[this.pos] === CH('\\')) return this.parseEscape();
    return this.cps[this.pos++];
  }

  /**
   * Emit a class: `pos` plus named groups (each possibly negated), the whole negated if `negate`.
   * As in Go, under `i` a negated group is the complement of the folded group, and the rest is
   * folded; JS can only fold the union afterwards, so such groups become lookaheads.
   */
  private emitClass(pos: CharSet, negate: boolean, groups: [NamedSet, boolean][]): void {
    this.noteCase();
    const u: CharSet = { ranges: [...pos.ranges], props: [...pos.props] };
    const foldedNegs: CharSet[] = [];
    for (const [g, neg] of groups) {
      if (!neg) {
        u.ranges.push(...g.pos.ranges);
        u.props.push(...g.pos.props);
      } else if (!this.flags.i) {
        u.ranges.push(...g.neg.ranges);
        u.props.push(...g.neg.props);
      } else foldedNegs.push(g.pos);
    }
    const fold = this.flags.i && this.manualFold;
    const body = (s: CharSet) => setBody(fold ? foldSet(s) : s);
    const main = body(u);
    if (foldedNegs.length === 0) {
      this.atom(`[${negate ? '^' : ''}${main}]`);
      return;
    }
    if (!negate) {
      const alts = main ? [`[${main}]`] : [];
      for (const n of foldedNegs) alts.push(`(?![${body(n)}])[^]`);
      this.atom(`(?:${alts.join('|')})`);
    } else {
      let s = main ? `(?![${main}])` : '';
      for (const n of foldedNegs) s += `(?=[${body(n)}])`;
      this.atom(`(?:${s}[^])`);
    }
  }
}

function isPerlLetter(c: number): boolean {
  return 'dDsSwW'.includes(String.fromCharCode(c));
}

function perlSet(c: number): NamedSet {
  return rangeSet(PERL[String.fromCharCode(c | 0x20)]);
}
