// Glob filters for Categraf's `ignore_metrics`, `ignore_label_keys`, `metrics_pass` and
// `metrics_drop`: Categraf's pkg/filter.Compile over github.com/gobwas/glob, without separators.
//
// gobwas/glob syntax, matched against the whole string:
//   *  **     any sequence of characters (no separators are configured, so both are the same)
//   ?          exactly one character
//   [abc]      one of the listed characters; [!abc] any other character
//   [a-z]      one character in the range; [!a-z] any other (a single range per brackets)
//   {a,b*,c}   any of the comma-separated alternatives, which may contain globs and nest
//   \x         the character x literally (a trailing lone backslash is ignored)
// A "}" or "," outside braces is an ordinary character; an unclosed "{" is closed at the end.
//
// filter.Compile quirks kept here: when no pattern of the list contains `*`, `?` or `[`, every
// pattern is compared literally (even "{a,b}" or "a\.b"); several patterns are joined into one
// glob "{p1,p2,...}", so a comma or brace inside a pattern takes part in that outer alternation.

import { GuardedRegex } from './regex.js';

export class GlobSyntaxError extends Error {
  constructor(message: string, glob: string) {
    super(`invalid glob ${JSON.stringify(glob)}: ${message}`);
    this.name = 'GlobSyntaxError';
  }
}

type Token =
  | { t: 'text'; s: string }
  | { t: 'any' }
  | { t: 'single' }
  | { t: 'range'; not: boolean; lo: number; hi: number }
  | { t: 'list'; not: boolean; chars: string }
  | { t: 'open' }
  | { t: 'sep' }
  | { t: 'close' };

/** gobwas/glob's lexer and range parser, as a flat token list. */
function lex(glob: string): Token[] {
  const cps = Array.from(glob);
  const out: Token[] = [];
  let i = 0;
  let terms = 0;
  const fetchText = (breakers: string): string => {
    let data = '';
    let escaped = false;
    while (i < cps.length) {
      const c = cps[i];
      if (!escaped) {
        if (c === '\\') {
          escaped = true;
          i++;
          continue;
        }
        if (breakers.includes(c)) break;
      }
      escaped = false;
      data += c;
      i++;
    }
    return data;
  };
  while (i < cps.length) {
    const c = cps[i];
    if (c === '{') {
      terms++;
      i++;
      out.push({ t: 'open' });
    } else if (c === ',' && terms > 0) {
      i++;
      out.push({ t: 'sep' });
    } else if (c === '}' && terms > 0) {
      terms--;
      i++;
      out.push({ t: 'close' });
    } else if (c === '[') {
      i++;
      out.push(lexRange());
    } else if (c === '?') {
      i++;
      out.push({ t: 'single' });
    } else if (c === '*') {
      i += cps[i + 1] === '*' ? 2 : 1;
      out.push({ t: 'any' });
    } else {
      const s = fetchText(terms > 0 ? '?*[{},' : '?*[{');
      if (s !== '') out.push({ t: 'text', s });
    }
  }
  return out;

  function lexRange(): Token {
    let not = false;
    let lo = 0;
    let hi = 0;
    let chars = '';
    // gobwas: an optional "!", then either "lo-hi" or a list of characters, then "]".
    if (cps[i] === '!') {
      not = true;
      i++;
    }
    if (i >= cps.length) throw new GlobSyntaxError('unexpected end of input', glob);
    if (cps[i + 1] === '-') {
      lo = cps[i].codePointAt(0)!;
      i += 2;
      if (i >= cps.length) throw new GlobSyntaxError('unexpected end of input', glob);
      hi = cps[i].codePointAt(0)!;
      i++;
    } else {
      chars = fetchText(']');
    }
    if (i >= cps.length) throw new GlobSyntaxError('unexpected end of input', glob);
    if (cps[i] !== ']') throw new GlobSyntaxError('expected close range character', glob);
    i++;
    const isRange = lo !== 0 && hi !== 0;
    if (isRange === (chars !== '')) throw new GlobSyntaxError('could not parse range', glob);
    if (isRange) {
      if (hi < lo) throw new GlobSyntaxError(`hi character should be greater than lo`, glob);
      return { t: 'range', not, lo, hi };
    }
    return { t: 'list', not, chars };
  }
}

/** The regex syntax a glob is written out in: JavaScript's RegExp (u flag) or RE2 (for re2js). */
type Dialect = 'js' | 're2';

function reChar(cp: number, d: Dialect): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f) {
    return String.fromCharCode(cp);
  }
  return `\\${d === 'js' ? 'u' : 'x'}{${cp.toString(16)}}`;
}

function reText(s: string, d: Dialect): string {
  let out = '';
  for (const c of s) out += reChar(c.codePointAt(0)!, d);
  return out;
}

function tokensToSource(tokens: Token[], d: Dialect = 'js'): string {
  const any = d === 'js' ? '[^]' : '(?s:.)';
  // Frames of open braces: finished alternatives plus the one being built.
  const frames: { alts: string[]; cur: string }[] = [{ alts: [], cur: '' }];
  const top = () => frames[frames.length - 1];
  const close = () => {
    const f = frames.pop()!;
    top().cur += `(?:${[...f.alts, f.cur].join('|')})`;
  };
  for (const tok of tokens) {
    switch (tok.t) {
      case 'text':
        top().cur += reText(tok.s, d);
        break;
      case 'any':
        top().cur += any + '*';
        break;
      case 'single':
        top().cur += any;
        break;
      case 'range':
        top().cur += `[${tok.not ? '^' : ''}${reChar(tok.lo, d)}-${reChar(tok.hi, d)}]`;
        break;
      case 'list':
        top().cur += `[${tok.not ? '^' : ''}${reText(tok.chars, d)}]`;
        break;
      case 'open':
        frames.push({ alts: [], cur: '' });
        break;
      case 'sep':
        top().alts.push(top().cur);
        top().cur = '';
        break;
      case 'close':
        close();
        break;
    }
  }
  while (frames.length > 1) close();
  return frames[0].cur;
}

/** A gobwas/glob pattern (no separators) as an anchored RegExp. Throws GlobSyntaxError. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^(?:${tokensToSource(lex(glob))})$`, 'u');
}

/** Matcher for one glob: string operations when it is only text and stars, else a RegExp. */
export function compileGlob(glob: string): (s: string) => boolean {
  const tokens = lex(glob);
  if (tokens.every((t) => t.t === 'text' || t.t === 'any')) {
    // Texts separated by stars: exact, prefix, suffix, or greedy leftmost search in between.
    const parts: string[] = [''];
    for (const t of tokens) {
      if (t.t === 'any') parts.push('');
      else parts[parts.length - 1] += t.s;
    }
    if (parts.length === 1) {
      const text = parts[0];
      return (s) => s === text;
    }
    const first = parts[0];
    const last = parts[parts.length - 1];
    const middle = parts.slice(1, -1).filter((p) => p !== '');
    const min = first.length + last.length + middle.reduce((n, p) => n + p.length, 0);
    if (middle.length === 0) {
      if (last === '') return first === '' ? () => true : (s) => s.startsWith(first);
      if (first === '') return (s) => s.endsWith(last);
      return (s) => s.length >= min && s.startsWith(first) && s.endsWith(last);
    }
    return (s) => {
      if (s.length < min || !s.startsWith(first) || !s.endsWith(last)) return false;
      let at = first.length;
      const end = s.length - last.length;
      for (const p of middle) {
        const k = s.indexOf(p, at);
        if (k < 0 || k + p.length > end) return false;
        at = k + p.length;
      }
      return true;
    };
  }
  // Metric and label names come from targets: several stars on a long name must not backtrack
  // without bound (./regex.ts).
  const re = new GuardedRegex({
    js: `^(?:${tokensToSource(tokens, 'js')})$`,
    jsFlags: 'u',
    re2: `^(?:${tokensToSource(tokens, 're2')})$`,
  });
  return (s) => re.test(s);
}

/** Whether filter.Compile treats the pattern as a glob. */
function hasMeta(s: string): boolean {
  return s.includes('*') || s.includes('?') || s.includes('[');
}

/**
 * Categraf's filter.Compile: a predicate that is true when s matches any of the globs. An empty
 * list matches nothing. Throws GlobSyntaxError for an invalid glob.
 */
export function compileGlobs(globs: string[]): (s: string) => boolean {
  if (globs.length === 0) return () => false;
  if (!globs.some(hasMeta)) {
    if (globs.length === 1) {
      const only = globs[0];
      return (s) => s === only;
    }
    const set = new Set(globs);
    return (s) => set.has(s);
  }
  if (globs.length === 1) return compileGlob(globs[0]);
  if (globs.some((g) => /[,{}\\]/.test(g))) {
    // Joined into one alternation, with whatever that does to commas and braces.
    return compileGlob(`{${globs.join(',')}}`);
  }
  // Without commas, braces or escapes "{g1,g2}" is exactly "g1 or g2".
  const exact = new Set<string>();
  const others: ((s: string) => boolean)[] = [];
  for (const g of globs) {
    if (hasMeta(g)) others.push(compileGlob(g));
    else exact.add(g);
  }
  return (s) => {
    if (exact.has(s)) return true;
    for (const m of others) if (m(s)) return true;
    return false;
  };
}
