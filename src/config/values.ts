// Value helpers for the config loader: durations, byte sizes, `$VAR` expansion, key suggestions.
import { hostname as osHostname, networkInterfaces } from 'node:os';

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Go-style duration ("15s", "1m30s", "500ms", "1.5h") in milliseconds, or undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === s.length && pos > 0 ? total : undefined;
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

// SI units are powers of 1000, IEC units (KiB, MiB...) powers of 1024, as vmagent reads them.
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1000,
  kb: 1000,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  t: 1000 ** 4,
  tb: 1000 ** 4,
  ki: 1024,
  kib: 1024,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};

/** "64MiB", "10MB", "1.5GiB", "4096" -> bytes, or undefined if malformed. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  const mult = unit === '' ? 1 : SIZE_UNITS[unit];
  if (mult === undefined) return undefined;
  return Math.round(Number(m[1]) * mult);
}

/** Edit distance where swapping two neighbours counts as one edit (optimal string alignment). */
export function levenshtein(a: string, b: string): number {
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest candidate within `maxDistance` edits, if any. */
export function nearest(word: string, candidates: Iterable<string>, maxDistance = 3): string | undefined {
  // A short word is "near" almost anything (`foo` is two edits from `log`): allow one edit per three
  // characters, so only plausible typos get a suggestion.
  const allowed = Math.min(maxDistance, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestD = allowed + 1;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

export class UnsetVariableError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ExpanderOptions {
  env: NodeJS.ProcessEnv;
  hostname?: string;
  ip?: string;
}

/**
 * Categraf's expansion: `$hostname` and `$ip` (reserved, lower case), then `$VAR` / `${VAR}` from
 * the environment. Unlike Categraf an unset variable is an error, not an empty string, and `$$` is
 * a literal `$`. A `$` not followed by a name (e.g. `$1`) is kept as is.
 */
export class Expander {
  private ip: string | undefined;

  constructor(private readonly o: ExpanderOptions) {}

  /** A raw environment variable, for defaults such as the kubelet preset's `$NODE_IP`. */
  env(name: string): string | undefined {
    return this.o.env[name];
  }

  osHostname(): string {
    return this.o.hostname ?? osHostname();
  }

  hostIp(): string {
    this.ip ??= this.o.ip || this.o.env.HOSTIP || firstIPv4();
    if (!this.ip) throw new UnsetVariableError('ip', '$ip: no non-loopback IPv4 address found; set HOSTIP');
    return this.ip;
  }

  expand(text: string): string {
    if (!text.includes('$')) return text;
    return text.replace(
      /\$(\$|\{([^}]*)\}|[A-Za-z_][A-Za-z0-9_]*)/g,
      (whole, tok: string, braced?: string) => {
        if (tok === '$') return '$';
        const name = braced ?? tok;
        if (braced !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
          throw new UnsetVariableError(name, `${whole}: not a valid variable name`);
        }
        if (name === 'hostname') return this.osHostname();
        if (name === 'ip') return this.hostIp();
        const v = this.o.env[name];
        if (v === undefined) {
          throw new UnsetVariableError(
            name,
            `environment variable ${name} is not set (write $$ for a literal $)`,
          );
        }
        return v;
      },
    );
  }
}

function firstIPv4(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return undefined;
}
