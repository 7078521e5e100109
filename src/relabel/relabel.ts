// Prometheus relabeling (`relabel_configs` / `metric_relabel_configs`) with the semantics of
// Prometheus's model/relabel/relabel.go: the same actions, defaults, validation, regex anchoring,
// Go regexp syntax (./re2.ts, guarded against backtracking by ./regex.ts) and Go's `$1` / `${name}`
// template expansion. Rules are validated and compiled once (compileRule), by the config loader.
//
// The label set is a Map that the rules mutate in place. As in Prometheus's labels.Builder an
// empty value means "no such label": reading a missing label gives "", and writing "" deletes.
import { createHash } from 'node:crypto';
import type { RelabelAction, RelabelConfig } from './types.js';
import { compileAnchored, type GuardedRegex, type Groups } from './regex.js';

/** Label name → value, including `__name__`. */
export type LabelSet = Map<string, string>;

/** Applies compiled rules in order, mutating `labels`; false means the series must be dropped. */
export type Relabeler = (labels: LabelSet) => boolean;

/** The relabel_configs key a problem is about (config files report it with its line). */
export type RelabelKey =
  'action' | 'source_labels' | 'separator' | 'regex' | 'modulus' | 'target_label' | 'replacement';

export class RelabelConfigError extends Error {
  constructor(
    message: string,
    /** 0-based position of the offending rule in the list given to compileRelabel (-1: one rule). */
    readonly index: number,
    /** The key at fault. */
    readonly key: RelabelKey,
  ) {
    super(message);
    this.name = 'RelabelConfigError';
  }
}

/** A problem of one rule: what is wrong, and with which key. */
export interface RelabelProblem {
  key: RelabelKey;
  message: string;
}

export const RELABEL_DEFAULTS = {
  separator: ';',
  regex: '(.*)',
  replacement: '$1',
  action: 'replace',
} as const satisfies Partial<RelabelConfig>;

/** Every relabel action, as Prometheus names them. */
export const RELABEL_ACTIONS: readonly RelabelAction[] = [
  'replace',
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
];
const ACTIONS = new Set<RelabelAction>(RELABEL_ACTIONS);

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Whether name is a valid (legacy, Prometheus 2 / Categraf) label name. */
export function isValidLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

// Prometheus's relabelTarget `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$` accepts the same strings
// as this; the original nests unbounded repeats, which backtracks exponentially in JavaScript.
const RELABEL_TARGET = /^(?:[a-zA-Z_]|\$(?:\{\w+\}|\w))(?:\w|\$(?:\{\w+\}|\w))*$/;

/**
 * Prometheus's Config.Validate (and the label-name checks of its YAML decoding): the problem and
 * the key it is about, or undefined when the rule is valid.
 */
export function validateRelabelConfig(c: RelabelConfig): RelabelProblem | undefined {
  const bad = (key: RelabelKey, message: string): RelabelProblem => ({ key, message });
  const a = c.action;
  if (!ACTIONS.has(a)) return bad('action', `unknown relabel action ${JSON.stringify(a)}`);
  for (const l of c.sourceLabels) {
    if (!isValidLabelName(l)) return bad('source_labels', `${JSON.stringify(l)} is not a valid label name`);
  }
  if (a === 'hashmod' && !(Number.isSafeInteger(c.modulus) && c.modulus > 0)) {
    return bad(
      'modulus',
      c.modulus === 0
        ? 'relabel configuration for hashmod requires non-zero modulus'
        : `invalid modulus ${c.modulus} for hashmod action`,
    );
  }
  if (!(Number.isSafeInteger(c.modulus) && c.modulus >= 0))
    return bad('modulus', `invalid modulus ${c.modulus}`);
  const needsTarget =
    a === 'replace' ||
    a === 'hashmod' ||
    a === 'lowercase' ||
    a === 'uppercase' ||
    a === 'keepequal' ||
    a === 'dropequal';
  if (needsTarget && c.targetLabel === '') {
    return bad('target_label', `relabel configuration for ${a} action requires 'target_label' value`);
  }
  const invalidTarget = bad(
    'target_label',
    `${JSON.stringify(c.targetLabel)} is invalid 'target_label' for ${a} action`,
  );
  if (a === 'replace') {
    const ok = c.targetLabel.includes('$')
      ? RELABEL_TARGET.test(c.targetLabel)
      : isValidLabelName(c.targetLabel);
    if (!ok) return invalidTarget;
  }
  const simple = a === 'lowercase' || a === 'uppercase' || a === 'keepequal' || a === 'dropequal';
  if (simple && !isValidLabelName(c.targetLabel)) return invalidTarget;
  if (simple && c.replacement !== RELABEL_DEFAULTS.replacement) {
    return bad('replacement', `'replacement' can not be set for ${a} action`);
  }
  if (a === 'labelmap' && !RELABEL_TARGET.test(c.replacement)) {
    return bad('replacement', `${JSON.stringify(c.replacement)} is invalid 'replacement' for ${a} action`);
  }
  if (a === 'hashmod' && !isValidLabelName(c.targetLabel)) return invalidTarget;
  // keepequal/dropequal take only source_labels and target_label; labeldrop/labelkeep only regex
  const onlyFor: Partial<Record<RelabelAction, [RelabelKey[], string]>> = {
    keepequal: [['regex', 'modulus', 'separator', 'replacement'], "'source_labels' and `target_label`"],
    dropequal: [['regex', 'modulus', 'separator', 'replacement'], "'source_labels' and `target_label`"],
    labeldrop: [['source_labels', 'target_label', 'modulus', 'separator', 'replacement'], "'regex'"],
    labelkeep: [['source_labels', 'target_label', 'modulus', 'separator', 'replacement'], "'regex'"],
  };
  const only = onlyFor[a];
  if (only) {
    const extra = only[0].find((k) => isSet(c, k));
    if (extra) return bad(extra, `${a} action requires only ${only[1]}, and no other fields`);
  }
  return undefined;
}

/** Whether a rule sets `key` to something other than its default. */
function isSet(c: RelabelConfig, key: RelabelKey): boolean {
  switch (key) {
    case 'source_labels':
      return c.sourceLabels.length > 0;
    case 'target_label':
      return c.targetLabel !== '';
    case 'modulus':
      return c.modulus !== 0;
    case 'separator':
      return c.separator !== RELABEL_DEFAULTS.separator;
    case 'replacement':
      return c.replacement !== RELABEL_DEFAULTS.replacement;
    case 'regex':
      return c.regex !== RELABEL_DEFAULTS.regex;
    case 'action':
      return c.action !== RELABEL_DEFAULTS.action;
  }
}

// ---------------------------------------------------------------------------------------------
// Go's regexp.Expand

/** A parsed template: literal text, or the capture groups a `$ref` may take its text from. */
type Template = (string | number[])[];

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/**
 * Parse a replacement template the way Go's Regexp.Expand reads it: `$$` is "$"; `$name` takes
 * the longest run of letters, digits and underscores (so `$1x` names group "1x"); `${name}`;
 * a name that is a number without leading zeros is a group index; a malformed `$` is literal.
 */
export function parseTemplate(template: string, names: readonly string[]): Template {
  const parts: Template = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf('$', i);
    if (d < 0) {
      text += template.slice(i);
      break;
    }
    text += template.slice(i, d);
    i = d + 1;
    if (template[i] === '$') {
      text += '$';
      i++;
      continue;
    }
    const brace = template[i] === '{';
    let j = brace ? i + 1 : i;
    const nameStart = j;
    while (j < template.length) {
      const cp = template.codePointAt(j)!;
      const ch = String.fromCodePoint(cp);
      if (!NAME_CHAR.test(ch)) break;
      j += ch.length;
    }
    if (j === nameStart || (brace && template[j] !== '}')) {
      text += '$'; // malformed: the $ is literal text
      continue;
    }
    const name = template.slice(nameStart, j);
    i = brace ? j + 1 : j;
    let num = 0;
    for (let k = 0; k < name.length; k++) {
      const c = name.charCodeAt(k);
      if (c < 0x30 || c > 0x39 || num >= 1e8) {
        num = -1;
        break;
      }
      num = num * 10 + c - 0x30;
    }
    if (name[0] === '0' && name.length > 1) num = -1;
    const groups: number[] = [];
    if (num >= 0) {
      if (num < names.length) groups.push(num);
    } else {
      for (let g = 0; g < names.length; g++) if (names[g] === name) groups.push(g);
    }
    if (text) parts.push(text);
    text = '';
    parts.push(groups);
  }
  if (text) parts.push(text);
  return parts;
}

/** Expand a parsed template against a match (the first participating group of each ref). */
export function expandTemplate(t: Template, m: Groups): string {
  let out = '';
  for (const p of t) {
    if (typeof p === 'string') out += p;
    else {
      for (const g of p) {
        const s = m[g];
        if (s !== undefined) {
          out += s;
          break;
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Go's strings.ToLower / strings.ToUpper: per code point, simple (1:1) case mappings only.

const ASCII = /^[\x00-\x7f]*$/;

function simpleMap(s: string, upper: boolean): string {
  if (ASCII.test(s)) return upper ? s.toUpperCase() : s.toLowerCase();
  let out = '';
  for (const ch of s) {
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    const cp = ch.codePointAt(0)!;
    if (m.length === ch.length || String.fromCodePoint(m.codePointAt(0)!) === m) out += m;
    else if (!upper)
      out += m.codePointAt(0) === 0x69 && cp === 0x130 ? 'i' : ch; // İ → i
    else out += String.fromCodePoint(greekUpper(cp));
  }
  return out;
}

/** Simple uppercase of the code points whose full uppercase has several characters. */
function greekUpper(cp: number): number {
  // Greek with ypogegrammeni: the simple mapping is the titlecase (prosgegrammeni) form.
  if ((cp >= 0x1f80 && cp <= 0x1f87) || (cp >= 0x1f90 && cp <= 0x1f97) || (cp >= 0x1fa0 && cp <= 0x1fa7)) {
    return cp + 8;
  }
  if (cp === 0x1fb3 || cp === 0x1fc3 || cp === 0x1ff3) return cp + 9;
  return cp; // ß, ŉ, ǰ, ligatures ...: no simple uppercase
}

/** Go's strings.ToLower. */
export function goToLower(s: string): string {
  return simpleMap(s, false);
}

/** Go's strings.ToUpper. */
export function goToUpper(s: string): string {
  return simpleMap(s, true);
}

// ---------------------------------------------------------------------------------------------
// Compilation

/** A rule ready to run: validated, its regex and templates compiled. */
export interface CompiledRule {
  action: RelabelAction;
  sourceLabels: string[];
  separator: string;
  /** The anchored regex (`^(?:regex)$`), guarded against backtracking (./regex.ts). */
  re: GuardedRegex;
  target: string;
  /** Parsed target template when target_label contains `$`. */
  targetTpl?: Template;
  replacement: string;
  replTpl: Template;
  modulus: bigint;
}

/**
 * Compile one rule: validated as Prometheus does, its regex compiled once (guarded, ./regex.ts).
 * Missing fields take Prometheus's defaults. Throws RelabelConfigError (with the key at fault)
 * where Prometheus would refuse the configuration, an invalid regex included.
 */
export function compileRule(raw: RelabelConfig, index = -1): CompiledRule {
  const c: RelabelConfig = {
    sourceLabels: raw.sourceLabels ?? [],
    separator: raw.separator ?? RELABEL_DEFAULTS.separator,
    regex: raw.regex ?? RELABEL_DEFAULTS.regex,
    modulus: raw.modulus ?? 0,
    targetLabel: raw.targetLabel ?? '',
    replacement: raw.replacement ?? RELABEL_DEFAULTS.replacement,
    action: raw.action ?? RELABEL_DEFAULTS.action,
  };
  const where = index >= 0 ? `relabel_configs[${index}]: ` : '';
  const problem = validateRelabelConfig(c);
  if (problem !== undefined) throw new RelabelConfigError(where + problem.message, index, problem.key);
  let compiled;
  try {
    compiled = compileAnchored(c.regex);
  } catch (e) {
    throw new RelabelConfigError(where + (e as Error).message, index, 'regex');
  }
  const names = compiled.names;
  return {
    action: c.action,
    sourceLabels: c.sourceLabels,
    separator: c.separator,
    re: compiled.re,
    target: c.targetLabel,
    targetTpl: c.targetLabel.includes('$') ? parseTemplate(c.targetLabel, names) : undefined,
    replacement: c.replacement,
    replTpl: parseTemplate(c.replacement, names),
    modulus: BigInt(c.modulus),
  };
}

/** Apply compiled rules in order (see Relabeler). */
export function relabeler(rules: readonly CompiledRule[]): Relabeler {
  // labelmap's result depends on label order when two names map to the same target (the last
  // one wins); keep track of the order in which Prometheus's labels.Builder would range.
  const track = rules.some((r) => r.action === 'labelmap');
  return (labels) => {
    const lb = new Builder(labels, track);
    for (const r of rules) if (!apply(r, lb)) return false;
    return true;
  };
}

/** Compile a list of rules (tests, and instances built without the config loader). */
export function compileRelabel(configs: RelabelConfig[]): Relabeler {
  return relabeler(configs.map((c, i) => compileRule(c, i)));
}

/** labels.Builder semantics over a Map, tracking added names in order (only when needed). */
class Builder {
  private readonly added: string[] | undefined;
  constructor(
    readonly m: LabelSet,
    track: boolean,
  ) {
    this.added = track ? [] : undefined;
  }

  get(name: string): string {
    return this.m.get(name) ?? '';
  }

  set(name: string, value: string): void {
    if (value === '') return this.del(name);
    this.m.set(name, value);
    if (this.added !== undefined && !this.added.includes(name)) this.added.push(name);
  }

  del(name: string): void {
    this.m.delete(name);
    if (this.added !== undefined) {
      const i = this.added.indexOf(name);
      if (i >= 0) this.added.splice(i, 1);
    }
  }

  /** Snapshot in labels.Builder.Range order: untouched labels sorted by name, then set ones. */
  snapshot(): [string, string][] {
    const added = this.added ?? [];
    const base: [string, string][] = [];
    for (const e of this.m) if (!added.includes(e[0])) base.push(e);
    base.sort((a, b) => compareCodePoints(a[0], b[0]));
    for (const k of added) base.push([k, this.m.get(k)!]);
    return base;
  }
}

/** Byte-wise order of the UTF-8 encodings, like Go's string comparison. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order differs from code point order only between surrogates and U+E000..U+FFFF.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (x >= 0xe000 || y >= 0xe000)) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function sourceValue(r: CompiledRule, lb: Builder): string {
  const s = r.sourceLabels;
  if (s.length === 1) return lb.get(s[0]);
  let v = '';
  for (let i = 0; i < s.length; i++) v += (i ? r.separator : '') + lb.get(s[i]);
  return v;
}

function apply(r: CompiledRule, lb: Builder): boolean {
  switch (r.action) {
    case 'drop':
      return !r.re.test(sourceValue(r, lb));
    case 'keep':
      return r.re.test(sourceValue(r, lb));
    case 'dropequal':
      return lb.get(r.target) !== sourceValue(r, lb);
    case 'keepequal':
      return lb.get(r.target) === sourceValue(r, lb);
    case 'replace': {
      const m = r.re.exec(sourceValue(r, lb));
      if (m === null) return true;
      const target = r.targetTpl ? expandTemplate(r.targetTpl, m) : r.target;
      if (!isValidLabelName(target)) return true;
      lb.set(target, expandTemplate(r.replTpl, m)); // "" deletes
      return true;
    }
    case 'lowercase':
      lb.set(r.target, goToLower(sourceValue(r, lb)));
      return true;
    case 'uppercase':
      lb.set(r.target, goToUpper(sourceValue(r, lb)));
      return true;
    case 'hashmod': {
      const sum = createHash('md5').update(sourceValue(r, lb), 'utf8').digest();
      lb.set(r.target, (sum.readBigUInt64BE(8) % r.modulus).toString());
      return true;
    }
    case 'labelmap':
      // Go's ReplaceAllString with an anchored regex: at most one match, the whole name.
      for (const [name, value] of lb.snapshot()) {
        const m = r.re.exec(name);
        if (m !== null) lb.set(expandTemplate(r.replTpl, m), value);
      }
      return true;
    case 'labeldrop':
      for (const name of lb.m.keys()) if (r.re.test(name)) lb.del(name);
      return true;
    case 'labelkeep':
      for (const name of lb.m.keys()) if (!r.re.test(name)) lb.del(name);
      return true;
  }
}
