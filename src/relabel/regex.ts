// Regular expressions over values that come from targets (relabel rules, metric globs), with a
// guard against catastrophic backtracking.
//
// Relabel rules are Go regexps (RE2: linear-time). JavaScript's RegExp backtracks, so a rule like
// `(.+)+x` on a long crafted label value would stall the event loop, and every target with it.
// re2js (a port of RE2 to JavaScript) is linear-time and agrees with Go on every one of RE2's own
// 5.2 million search tests, but it is 10-40x slower per match than the RegExp made by ./re2.ts
// (src/bench/re2-compare.ts, `npm run bench:re2`: 0.3-5 µs vs 20-330 ns on typical rules). Since
// relabeling runs on every cache miss (a target's first scrape, series churn), each rule runs on
// the fast engine when that is provably safe, and on re2js otherwise:
//   - a quantifier over a group that itself holds a quantifier or an alternation (`(.+)+`,
//     `(a|aa)*`, `(?:x*y){2,}`) can take exponential time: such a rule always runs on re2js;
//   - so does a rule with a capture group inside a repeated group, where JavaScript and Go report
//     different submatches (Go keeps a capture from an earlier iteration, JavaScript forgets it:
//     the 2,048 disagreements of the translator on RE2's tests, all of this kind);
//   - otherwise nothing is nested: with d unbounded repeats in a row (`*`, `+`, `{n,}`) and c ways
//     to take its bounded parts (`?` two, `{n,m}` m-n+1, an alternation the sum of its branches',
//     all multiplied along the pattern), a backtracking match costs at most about c x len^d steps.
//     It runs on RegExp while that stays within STEP_BUDGET and on re2js for longer values (or
//     always, when c alone exceeds it). With the budget of 10^6, `(.*)` takes RegExp up to a
//     million characters, `(.+);(.+)` up to 1000, `.*a.*b.*c` up to 100.
// Both engines are compiled when the rule is loaded, so a match never compiles.
import { RE2JS } from 're2js';
import { RE2SyntaxError, translateRE2 } from './re2.js';

/** Worst-case backtracking steps a RegExp match may take before re2js is used instead. */
export const STEP_BUDGET = 1e6;

export interface GuardedSources {
  /** RegExp source and flags (from ./re2.ts, or a glob). */
  js: string;
  jsFlags: string;
  /** The same pattern in RE2 syntax, for re2js. */
  re2: string;
}

/** What the guard found in a pattern (exported for tests and the bench). */
export interface Shape {
  /** A quantifier over a group with a quantifier or alternation inside. */
  nested: boolean;
  /** A capture group inside a repeated group. */
  captureInRepeat: boolean;
  /**
   * Unbounded repeats in a row, the worst alternative counted, and the number of ways the bounded
   * parts (`?`, `{n,m}`, alternatives) can be taken: with nothing nested, a backtracking match
   * takes at most about choices x len^degree steps.
   */
  degree: number;
  choices: number;
}

/** Groups of an anchored match: [0] the whole value, then each capture (undefined: did not take part). */
export type Groups = ArrayLike<string | undefined>;

export class GuardedRegex {
  readonly shape: Shape;
  /** Values up to this length run on RegExp; longer ones on re2js (-1: always re2js). */
  readonly maxFastLength: number;
  private readonly fast: RegExp;
  private readonly linear: RE2JS;

  constructor(src: GuardedSources) {
    this.fast = new RegExp(src.js, src.jsFlags);
    this.linear = RE2JS.compile(src.re2);
    this.shape = analyse(src.js);
    const s = this.shape;
    this.maxFastLength =
      s.nested || s.captureInRepeat || s.choices > STEP_BUDGET
        ? -1
        : s.degree === 0
          ? Infinity
          : Math.floor((STEP_BUDGET / s.choices) ** (1 / s.degree) + 1e-9);
  }

  /** Whether the whole value matches (the patterns are anchored). */
  test(value: string): boolean {
    return value.length <= this.maxFastLength ? this.fast.test(value) : this.linear.matches(value);
  }

  /** The groups of a whole-value match, or null. */
  exec(value: string): Groups | null {
    if (value.length <= this.maxFastLength) return this.fast.exec(value);
    const m = this.linear.matcher(value);
    if (!m.matches()) return null;
    const out: (string | undefined)[] = [];
    for (let g = 0; g <= m.groupCount(); g++) out.push(m.group(g) ?? undefined);
    return out;
  }
}

/** A Go regexp, anchored at both ends as Prometheus anchors relabel regexes, with its group names. */
export function compileAnchored(pattern: string): { re: GuardedRegex; names: string[] } {
  const anchored = '^(?:' + pattern + ')$';
  const t = translateRE2(anchored); // Go's syntax rules and error messages
  let re: GuardedRegex;
  try {
    // Groups are used by number; RE2 (unlike Go) refuses two groups of the same name.
    re = new GuardedRegex({ js: t.source, jsFlags: t.flags, re2: withoutGroupNames(anchored) });
  } catch (e) {
    throw new RE2SyntaxError('invalid regexp', `${pattern} (${(e as Error).message})`);
  }
  return { re, names: t.names };
}

/**
 * `(?P<name>re)` and `(?<name>re)` as plain `(re)`, leaving escapes, `\Q...\E` and character
 * classes alone (Go's parsing rules).
 */
export function withoutGroupNames(p: string): string {
  let out = '';
  let i = 0;
  while (i < p.length) {
    const c = p[i];
    if (c === '\\') {
      if (p[i + 1] === 'Q') {
        const e = p.indexOf('\\E', i + 2);
        const end = e < 0 ? p.length : e + 2;
        out += p.slice(i, end);
        i = end;
      } else {
        out += p.slice(i, i + 2);
        i += 2;
      }
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      if (p[j] === '^') j++;
      if (p[j] === ']') j++; // a leading ] is a literal
      while (j < p.length && p[j] !== ']') {
        if (p[j] === '\\') j += 2;
        else if (p[j] === '[' && p[j + 1] === ':') {
          const e = p.indexOf(':]', j + 2);
          j = e < 0 ? j + 1 : e + 2;
        } else j++;
      }
      out += p.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '(' && p[i + 1] === '?') {
      const named = p[i + 2] === 'P' && p[i + 3] === '<' ? i + 4 : p[i + 2] === '<' ? i + 3 : -1;
      const close = named < 0 ? -1 : p.indexOf('>', named);
      if (close > 0) {
        out += '(';
        i = close + 1;
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}

interface Node {
  /** Holds a quantifier whose maximum is above 1, or an alternation (directly or deeper). */
  varies: boolean;
  /** Holds a capture group (directly or deeper). */
  captures: boolean;
  /**
   * The branch being read: unbounded repeats in a row (`deg`), and the product of the choices its
   * bounded parts offer (`mult`: 2 for `?`, m-n+1 for `{n,m}`, a group's own count). Finished
   * branches: the most unbounded repeats of any (`altDeg`) and the sum of their choices (`altMult`).
   */
  deg: number;
  mult: number;
  altDeg: number;
  altMult: number;
}

const node = (): Node => ({ varies: false, captures: false, deg: 0, mult: 1, altDeg: 0, altMult: 0 });

/** A group's total: alternatives add their choices, and the worst one's unbounded repeats count. */
function total(g: Node): { deg: number; mult: number } {
  return { deg: Math.max(g.altDeg, g.deg), mult: g.altMult + g.mult };
}

/**
 * Reads a RegExp source (as ./re2.ts and the glob compiler write them) for the shapes above. Errs
 * on the safe side: anything it cannot place counts as nested.
 */
export function analyse(src: string): Shape {
  const shape: Shape = { nested: false, captureInRepeat: false, degree: 0, choices: 1 };
  const stack: Node[] = [node()];
  let last: Node | 'atom' | undefined; // what a quantifier at this point applies to
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === '\\') {
      const e = src[i + 1];
      i += 2;
      if ((e === 'p' || e === 'P' || e === 'u') && src[i] === '{') i = src.indexOf('}', i) + 1 || n;
      else if (e === 'x') i += 2;
      else if (e === 'u') i += 4;
      last = 'atom';
      continue;
    }
    if (c === '[') {
      i++;
      if (src[i] === '^') i++;
      while (i < n && src[i] !== ']') i += src[i] === '\\' ? 2 : 1;
      i++;
      last = 'atom';
      continue;
    }
    if (c === '(') {
      let capture = true;
      if (src[i + 1] === '?') {
        capture = false;
        i += src[i + 2] === '<' ? 4 : 3; // (?:  (?=  (?!  (?<=  (?<!
      } else i++;
      if (capture) stack[stack.length - 1].captures = true;
      stack.push(node());
      last = undefined;
      continue;
    }
    if (c === ')') {
      const group = stack.pop();
      if (!group || stack.length === 0) return { ...shape, nested: true };
      const parent = stack[stack.length - 1];
      parent.varies ||= group.varies;
      parent.captures ||= group.captures;
      // a sequence multiplies: its unbounded repeats add up, its choices multiply
      const t = total(group);
      parent.deg += t.deg;
      parent.mult = Math.min(parent.mult * t.mult, Number.MAX_SAFE_INTEGER);
      last = group;
      i++;
      continue;
    }
    if (c === '|') {
      const top = stack[stack.length - 1];
      top.varies = true;
      top.altDeg = Math.max(top.altDeg, top.deg);
      top.altMult += top.mult;
      top.deg = 0;
      top.mult = 1;
      last = undefined;
      i++;
      continue;
    }
    if (c === '*' || c === '+' || c === '?' || c === '{') {
      let min = 0;
      let max = Infinity;
      if (c === '+') min = 1;
      else if (c === '?') max = 1;
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
        if (!m) return { ...shape, nested: true };
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        i += m[0].length - 1;
      }
      i++;
      if (src[i] === '?') i++; // lazy
      if (last === undefined) return { ...shape, nested: true };
      if (max > 1 && typeof last === 'object') {
        if (last.varies) shape.nested = true;
        if (last.captures) shape.captureInRepeat = true;
      }
      const top = stack[stack.length - 1];
      if (max > min) top.varies = true;
      if (max === Infinity) top.deg++;
      else top.mult = Math.min(top.mult * (max - min + 1), Number.MAX_SAFE_INTEGER);
      last = undefined;
      continue;
    }
    // a literal, `.`, `^`, `$`
    last = c === '^' || c === '$' ? undefined : 'atom';
    i++;
  }
  if (stack.length !== 1) shape.nested = true;
  const t = total(stack[0]);
  shape.degree = t.deg;
  shape.choices = t.mult;
  return shape;
}
