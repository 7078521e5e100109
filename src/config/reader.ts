// Typed, position-aware access to one parsed TOML table. Every getter records the key as known, so
// the keys left over at the end are the unknown ones (typos) and get a "did you mean" warning.
import { isAbsolute, resolve } from 'node:path';
import { TomlDate } from 'smol-toml';
import { CONFIG_KEYS, MAX_DURATION_MS, type KeyDoc, type Section } from './keys.js';
import { KeyLines, type TomlPath } from './lines.js';
import { ConfigError, type ConfigWarning } from './types.js';
import { Expander, UnsetVariableError, formatDuration, nearest, parseDuration, parseSize } from './values.js';

/** The declared keys (src/config/keys.ts) by section, for the checks they declare. */
const DECLARED = new Map<string, Map<string, KeyDoc>>(
  Object.entries(CONFIG_KEYS).map(([section, docs]) => [
    section,
    new Map(
      // a preset (input.kubelet) is also an [[instances]] table: its own keys over the instances'
      (section === 'input.kube_proxy' || section === 'input.kubelet'
        ? [...CONFIG_KEYS.instances, ...docs]
        : docs
      ).flatMap((d) => d.keys.map((k) => [k, d] as const)),
    ),
  ]),
);

/** Everything needed to report about one file. */
export interface FileContext {
  /** Path as shown to the user (the config dir joined with the relative name). */
  file: string;
  lines: KeyLines;
  warnings: ConfigWarning[];
  expander: Expander;
  /** The configuration folder (`--configs`): relative file paths in the files are resolved against it. */
  configDir: string;
  /** When set, each finished table adds the keys its reader knows, by section (keys.test.ts). */
  readKeys?: Map<string, Set<string>>;
}

type Raw = Record<string, unknown>;

export function isTable(v: unknown): v is Raw {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof TomlDate) &&
    !(v instanceof Date)
  );
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v instanceof TomlDate || v instanceof Date) return 'a date';
  if (isTable(v)) return 'a table';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v === 'number' ? (Number.isInteger(v) ? 'the integer' : 'the number') : `the ${typeof v}`} ${String(v)}`;
}

export class Table {
  private readonly known = new Set<string>();
  /** The section of src/config/keys.ts this table is (`instances`, `input.kubelet`, '' for the root). */
  readonly section: string;
  private readonly declared: Map<string, KeyDoc> | undefined;

  constructor(
    readonly ctx: FileContext,
    readonly raw: Raw,
    readonly path: TomlPath,
  ) {
    const names = path.filter((s): s is string => typeof s === 'string');
    const input = /\binput\.([a-z_]+)[\\/][^\\/]*$/.exec(ctx.file)?.[1];
    this.section = names.length ? names.join('.') : input ? `input.${input}` : '';
    this.declared = DECLARED.get(this.section as Section);
  }

  /** The checks keys.ts declares for a key of this section. */
  private rule(key: string): KeyDoc | undefined {
    return this.declared?.get(key);
  }

  /** Dotted key name for messages, without array indices: `instances.urls`. */
  name(key: string): string {
    return [...this.path.filter((s): s is string => typeof s === 'string'), key].join('.');
  }

  line(key?: string): number {
    return this.ctx.lines.line(this.path, key);
  }

  error(key: string, message: string): ConfigError {
    return new ConfigError(this.ctx.file, this.line(key), this.name(key), message);
  }

  warn(key: string, message: string): void {
    this.ctx.warnings.push({ file: this.ctx.file, line: this.line(key), key: this.name(key), message });
  }

  has(key: string): boolean {
    this.known.add(key);
    return this.raw[key] !== undefined;
  }

  /** Marks keys as known without reading them (handled elsewhere, or deliberately ignored). */
  accept(...keys: string[]): void {
    for (const k of keys) this.known.add(k);
  }

  private get(key: string): unknown {
    this.known.add(key);
    return this.raw[key];
  }

  private wrongType(key: string, want: string, v: unknown): ConfigError {
    return this.error(key, `expected ${want}, got ${describe(v)}`);
  }

  /** `$VAR` expansion with errors located at this key. */
  expand(key: string, text: string): string {
    try {
      return this.ctx.expander.expand(text);
    } catch (err) {
      if (err instanceof UnsetVariableError) throw this.error(key, err.message);
      throw err;
    }
  }

  /**
   * A file path (token, CA, certificate): `$VAR`-expanded, and a relative path resolved against the
   * configuration folder, so it means the same whatever the working directory (docs/configuration.md).
   */
  filePath(key: string, value: string): string {
    return this.resolvePath(this.expand(key, value));
  }

  /** An already expanded path, relative ones resolved against the configuration folder. */
  resolvePath(v: string): string {
    return v && !isAbsolute(v) ? resolve(this.ctx.configDir, v) : v;
  }

  str(key: string, def: string): string {
    return this.optStr(key) ?? def;
  }

  /** A string; a key declared with `oneOf` must be one of them (lowercased when `ignoreCase`). */
  optStr(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw this.wrongType(key, 'a string', v);
    const rule = this.rule(key);
    const oneOf = rule?.oneOf;
    if (!oneOf) return v;
    const value = rule!.ignoreCase ? v.toLowerCase() : v;
    if (!oneOf.includes(value))
      throw this.error(key, `unknown value ${JSON.stringify(v)}; one of ${oneOf.join(', ')}`);
    return value;
  }

  bool(key: string, def: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v !== 'boolean') throw this.wrongType(key, 'true or false', v);
    return v;
  }

  /** An integer, at least the declared `min`. */
  int(key: string, def: number): number {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw this.wrongType(key, 'an integer', v);
    const min = this.rule(key)?.min;
    if (min !== undefined && v < min) throw this.error(key, `must be at least ${min}, got ${v}`);
    return v;
  }

  strArray(key: string, def: string[] = []): string[] {
    const v = this.get(key);
    if (v === undefined) return def;
    if (!Array.isArray(v)) throw this.wrongType(key, 'an array of strings', v);
    for (const item of v) {
      if (typeof item !== 'string')
        throw this.error(key, `expected an array of strings, found ${describe(item)} in it`);
    }
    return v as string[];
  }

  /** A table of string values, e.g. `labels = { job = "x" }`. */
  strMap(key: string): Record<string, string> {
    const v = this.get(key);
    if (v === undefined) return {};
    if (!isTable(v)) throw this.wrongType(key, 'a table of strings', v);
    const sub = new Table(this.ctx, v, [...this.path, key]);
    const out: Record<string, string> = {};
    for (const [k, item] of Object.entries(v)) {
      if (typeof item !== 'string') throw sub.error(k, `expected a string, got ${describe(item)}`);
      out[k] = item;
    }
    return out;
  }

  /** `strMap` with `$VAR` expansion of every value; errors point at the label's own line if it has one. */
  expandedMap(key: string): Record<string, string> {
    const out = this.strMap(key);
    const sub = new Table(this.ctx, {}, [...this.path, key]);
    for (const [k, v] of Object.entries(out)) out[k] = sub.expand(k, v);
    return out;
  }

  /**
   * A duration in milliseconds: a string ("15s", "500ms") or a bare number in `numberUnitMs`
   * (seconds for Categraf's `interval`/`timeout`, milliseconds for the writers'). 0 means default.
   * At least the declared `min` (else 1 ms), at most a day.
   */
  duration(key: string, defMs: number, numberUnitMs: number): number {
    const minMs = this.rule(key)?.min ?? 1;
    const v = this.get(key);
    if (v === undefined) return defMs;
    let ms: number | undefined;
    if (typeof v === 'number') ms = v * numberUnitMs;
    else if (typeof v === 'string') ms = parseDuration(v);
    else
      throw this.wrongType(
        key,
        `a duration ("15s", "500ms") or a number of ${numberUnitMs === 1 ? 'milliseconds' : 'seconds'}`,
        v,
      );
    if (ms === undefined || !Number.isFinite(ms)) {
      const shown = typeof v === 'number' ? String(v) : JSON.stringify(v);
      throw this.error(key, `invalid duration ${shown} (examples: "15s", "1m", "500ms")`);
    }
    if (ms < 0) throw this.error(key, `must not be negative, got ${String(v)}`);
    if (ms === 0) return defMs;
    const rounded = Math.round(ms);
    // timers take at most 2^31-1 ms (24.8 days); a longer one fires at once (back-to-back
    // scrapes, writes aborted after 1 ms): everything here is a day at most
    if (rounded < minMs || rounded > MAX_DURATION_MS)
      throw this.error(
        key,
        `${String(v)} is out of range: between ${formatDuration(minMs)} and 24h${numberUnitMs === 1 ? ' (a bare number is milliseconds)' : ' (a bare number is seconds)'}`,
      );
    return rounded;
  }

  /** A byte size: a number of bytes or a string with a unit ("64MiB", "10MB"). */
  size(key: string, def: number): number {
    const v = this.get(key);
    if (v === undefined) return def;
    let n: number | undefined;
    if (typeof v === 'number') n = Number.isInteger(v) ? v : undefined;
    else if (typeof v === 'string') n = parseSize(v);
    else throw this.wrongType(key, 'a size ("64MiB", "10MB") or a number of bytes', v);
    if (n === undefined || n < 0)
      throw this.error(key, `invalid size ${JSON.stringify(v)} (examples: "64MiB", "10MB", 1048576)`);
    return n;
  }

  /** A sub-table (`[global]` or `x = { ... }`), or undefined if absent. */
  table(key: string): Table | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!isTable(v)) throw this.wrongType(key, 'a table', v);
    return new Table(this.ctx, v, [...this.path, key]);
  }

  /** An array of tables (`[[writers]]` or `key = [{...}, {...}]`). */
  tables(key: string): Table[] {
    const v = this.get(key);
    if (v === undefined) return [];
    // `[writers]` (a single table) where `[[writers]]` was meant: accept it as one element.
    if (isTable(v)) return [new Table(this.ctx, v, [...this.path, key])];
    if (!Array.isArray(v)) throw this.wrongType(key, `an array of tables ([[${this.name(key)}]])`, v);
    return v.map((item, i) => {
      if (!isTable(item)) throw this.error(key, `expected an array of tables, found ${describe(item)} in it`);
      return new Table(this.ctx, item, [...this.path, key, i]);
    });
  }

  /**
   * Warns about every key no getter asked for. `ignored` maps keys nodegraf knows but does not
   * support (Categraf features) to why; the rest get the nearest known key as a suggestion.
   */
  finish(ignored: Record<string, string> = {}): void {
    if (this.ctx.readKeys) {
      const set = this.ctx.readKeys.get(this.section) ?? new Set<string>();
      for (const k of this.known) set.add(k);
      this.ctx.readKeys.set(this.section, set);
    }
    for (const key of Object.keys(this.raw)) {
      if (this.known.has(key)) continue;
      if (Object.hasOwn(ignored, key)) {
        this.warn(key, ignored[key]!);
        continue;
      }
      const guess = nearest(key, this.known);
      this.warn(key, `unknown key${guess ? `; did you mean ${guess}?` : ''} (ignored)`);
    }
  }
}
