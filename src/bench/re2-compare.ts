// Relabel regex engines side by side: the Go-RE2-to-RegExp translator (relabel/re2.ts) and re2js
// (a pure-JavaScript port of RE2). Measures, for the choice made in relabel/regex.ts:
//   1. agreement with Go on RE2's own search tests (re2-search.txt, and re2-exhaustive.txt.gz when
//      given): the anchored match `^(?:re)$` relabeling uses, with every submatch position;
//   2. speed of what relabeling does on a cache miss: `test` (keep/drop) and `exec` with groups
//      (replace), on typical rules and label values;
//   3. a pathological rule on a hostile value: time as the value grows.
// Run: RE2_CORPUS=/path/to/re2-search.txt node dist/bench/re2-compare.js   (npm run bench:re2)
// The corpus files are RE2's (github.com/google/re2, also in Go's src/regexp/testdata and in
// re2js's src/__fixtures__); they are read from where they are, never copied into this project.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { RE2JS } from 're2js';
import { compileRE2 } from '../relabel/re2.js';
import { compileAnchored } from '../relabel/regex.js';

// ---------------------------------------------------------------------------------------------
// Go string literals (the corpus quotes patterns and inputs as Go does)

function unquoteGo(q: string): Buffer {
  const bytes: number[] = [];
  for (let i = 1; i < q.length - 1; i++) {
    const c = q[i];
    if (c !== '\\') {
      const cp = q.codePointAt(i)!;
      bytes.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
      if (cp > 0xffff) i++;
      continue;
    }
    const d = q[++i];
    const simple: Record<string, number> = {
      a: 7,
      b: 8,
      f: 12,
      n: 10,
      r: 13,
      t: 9,
      v: 11,
      '\\': 92,
      '"': 34,
      "'": 39,
    };
    if (d in simple) bytes.push(simple[d]);
    else if (d === 'x') {
      bytes.push(parseInt(q.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (d === 'u' || d === 'U') {
      const n = d === 'u' ? 4 : 8;
      bytes.push(...Buffer.from(String.fromCodePoint(parseInt(q.slice(i + 1, i + 1 + n), 16)), 'utf8'));
      i += n;
    } else if (d >= '0' && d <= '7') {
      bytes.push(parseInt(q.slice(i, i + 3), 8));
      i += 2;
    } else throw new Error(`bad escape in ${q}`);
  }
  return Buffer.from(bytes);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
function decodeUtf8(b: Buffer): string | undefined {
  try {
    return utf8.decode(b);
  } catch {
    return undefined;
  }
}

interface Case {
  pattern: string;
  input: string;
  /** Expected full (anchored) leftmost-first match: [start, end] byte offsets per group, or null. */
  want: Array<[number, number] | null> | null;
}

/** Parse RE2's test file format (see Go's regexp/exec_test.go). */
function parseCorpus(text: string): { cases: Case[]; skipped: number } {
  const cases: Case[] = [];
  let strings: Array<string | undefined> = [];
  let mode: 'strings' | 'regexps' | '' = '';
  let pattern: string | undefined;
  let next = 0;
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#' || (line[0] >= 'A' && line[0] <= 'Z')) continue;
    if (line === 'strings') {
      mode = 'strings';
      strings = [];
      continue;
    }
    if (line === 'regexps') {
      mode = 'regexps';
      continue;
    }
    if (line[0] === '"') {
      if (mode === 'strings') strings.push(decodeUtf8(unquoteGo(line)));
      else {
        pattern = decodeUtf8(unquoteGo(line));
        next = 0;
      }
      continue;
    }
    // a result line for strings[next]
    const input = strings[next++];
    const full = line.split(';')[0];
    if (pattern === undefined || input === undefined || pattern.includes('\\C')) {
      skipped++;
      continue;
    }
    const want =
      full === '-'
        ? null
        : full.split(' ').map((p): [number, number] | null => {
            if (p === '-') return null;
            const [a, b] = p.split('-').map(Number);
            return [a, b];
          });
    cases.push({ pattern, input, want });
  }
  return { cases, skipped };
}

/** UTF-16 index -> UTF-8 byte offset in s. */
function byteOffset(s: string, i: number): number {
  return Buffer.byteLength(s.slice(0, i), 'utf8');
}

type Got = Array<[number, number] | null> | null;

function viaTranslator(pattern: string): ((s: string) => Got) | string {
  let re: RegExp;
  try {
    const c = compileRE2('^(?:' + pattern + ')$');
    re = new RegExp(c.re.source, c.re.flags + 'd');
  } catch (e) {
    return (e as Error).message;
  }
  return (s) => {
    const m = re.exec(s);
    if (!m) return null;
    return m.indices!.map((ix) => (ix ? [byteOffset(s, ix[0]), byteOffset(s, ix[1])] : null));
  };
}

function viaRe2js(pattern: string): ((s: string) => Got) | string {
  let re: RE2JS;
  try {
    re = RE2JS.compile('^(?:' + pattern + ')$');
  } catch (e) {
    return (e as Error).message;
  }
  return (s) => {
    const m = re.matcher(s);
    if (!m.matches()) return null;
    const out: Got = [];
    for (let g = 0; g <= m.groupCount(); g++) {
      const a = m.start(g);
      out.push(a < 0 ? null : [byteOffset(s, a), byteOffset(s, m.end(g))]);
    }
    return out;
  };
}

/** The engine relabeling uses (relabel/regex.ts). It gives group texts, so those are compared. */
function viaGuarded(pattern: string): ((s: string) => unknown) | string {
  let re: ReturnType<typeof compileAnchored>['re'];
  try {
    re = compileAnchored(pattern).re;
  } catch (e) {
    return (e as Error).message;
  }
  return (s) => {
    const m = re.exec(s);
    return m === null ? null : Array.from(m, (g) => (g === undefined ? null : g));
  };
}

/** Go's expected groups as the texts they cut out of the input. */
function wantTexts(c: Case): unknown {
  if (!c.want) return null;
  const b = Buffer.from(c.input, 'utf8');
  return c.want.map((p) => (p ? b.subarray(p[0], p[1]).toString('utf8') : null));
}

function agreement(
  name: string,
  cases: Case[],
  engine: (p: string) => ((s: string) => unknown) | string,
  want: (c: Case) => unknown = (c) => c.want,
) {
  const compiled = new Map<string, ((s: string) => unknown) | string>();
  let agree = 0;
  let disagree = 0;
  let matchOnlyAgree = 0;
  let rejected = 0;
  const examples: string[] = [];
  for (const c of cases) {
    let run = compiled.get(c.pattern);
    if (run === undefined) compiled.set(c.pattern, (run = engine(c.pattern)));
    if (typeof run === 'string') {
      rejected++;
      continue;
    }
    const got = run(c.input);
    const expected = want(c);
    if (JSON.stringify(got) === JSON.stringify(expected)) agree++;
    else {
      disagree++;
      if ((got === null) === (expected === null)) matchOnlyAgree++;
      if (examples.length < 5)
        examples.push(
          `${JSON.stringify(c.pattern)} on ${JSON.stringify(c.input)}: got ${JSON.stringify(got)}, Go ${JSON.stringify(expected)}`,
        );
    }
  }
  const rejectedPatterns = [...compiled.values()].filter((v) => typeof v === 'string').length;
  console.log(
    `| ${name} | ${cases.length} | ${agree} | ${disagree} (${matchOnlyAgree} of them only in submatches) | ${rejected} cases (${rejectedPatterns} patterns) |`,
  );
  for (const e of examples) console.log(`|   e.g. | ${e} | | | |`);
}

// ---------------------------------------------------------------------------------------------
// speed

interface Rule {
  regex: string;
  values: string[];
  groups: boolean;
}

const RULES: Rule[] = [
  { regex: '(.*)', values: ['container_cpu_usage_seconds_total', 'kubelet_running_pods'], groups: true },
  {
    regex: 'container_(cpu|memory)_.*',
    values: ['container_cpu_usage_seconds_total', 'container_fs_reads_total'],
    groups: false,
  },
  { regex: '(.+);(.+)', values: ['kube-system;coredns-5d78c9869d-abcde', 'default;web-0'], groups: true },
  {
    regex: '__meta_kubernetes_pod_label_(.+)',
    values: ['__meta_kubernetes_pod_label_app', '__name__'],
    groups: true,
  },
  {
    regex: 'go_.*|process_.*|rest_client_.*',
    values: ['go_goroutines', 'kubelet_pleg_relist_duration_seconds_bucket'],
    groups: false,
  },
  { regex: '([^:]+)(?::\\d+)?', values: ['10.0.0.12:10250', 'node-1'], groups: true },
  { regex: '(?i)KUBE_.*', values: ['kube_pod_info', 'container_memory_rss'], groups: false },
  { regex: '.*_bucket', values: ['apiserver_request_duration_seconds_bucket', 'up'], groups: false },
];

function nsPerOp(fn: () => void, minMs = 300): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    t = performance.now();
  }
  return ((t - t0) * 1e6) / n;
}

function speed(): void {
  console.log(
    '\n| rule | op | translator ns | re2js ns | re2js / translator | guarded ns | guarded runs on |',
  );
  console.log('|---|---|---|---|---|---|---|');
  let sumT = 0;
  let sumR = 0;
  let sumG = 0;
  for (const r of RULES) {
    const t = compileRE2('^(?:' + r.regex + ')$').re;
    const j = RE2JS.compile('^(?:' + r.regex + ')$');
    const g = compileAnchored(r.regex).re;
    let k = 0;
    const value = () => r.values[k++ & 1];
    const tOp = r.groups ? () => void t.exec(value()) : () => void t.test(value());
    const jOp = r.groups
      ? () => {
          const m = j.matcher(value());
          if (m.matches()) m.group(1);
        }
      : () => void j.matches(value());
    const gOp = r.groups ? () => void g.exec(value()) : () => void g.test(value());
    const nt = nsPerOp(tOp);
    const nj = nsPerOp(jOp);
    const ng = nsPerOp(gOp);
    sumT += nt;
    sumR += nj;
    sumG += ng;
    const engine = g.maxFastLength < 0 ? 're2js' : `RegExp up to ${g.maxFastLength} chars`;
    console.log(
      `| \`${r.regex}\` | ${r.groups ? 'exec + group' : 'test'} | ${nt.toFixed(0)} | ${nj.toFixed(0)} | ${(nj / nt).toFixed(1)}x | ${ng.toFixed(0)} | ${engine} |`,
    );
  }
  console.log(
    `| all rules | | ${sumT.toFixed(0)} | ${sumR.toFixed(0)} | ${(sumR / sumT).toFixed(1)}x | ${sumG.toFixed(0)} | |`,
  );
}

function pathological(): void {
  const rules = ['(.+)+x', '(a|aa)*b', '.*.*.*.*x'];
  console.log('\n| rule | value ("aaa…", no match) | translator ms | re2js ms | guarded ms |');
  console.log('|---|---|---|---|---|');
  const ms = (f: () => unknown) => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  };
  for (const rule of rules) {
    const t = compileRE2('^(?:' + rule + ')$').re;
    const j = RE2JS.compile('^(?:' + rule + ')$');
    const g = compileAnchored(rule).re;
    let translatorMs = 0;
    for (const n of [16, 20, 24, 1000, 10_000]) {
      const s = 'a'.repeat(n);
      // the translator runs only on short values and while it stays fast (it doubles per character)
      const tt = n <= 24 && translatorMs < 50 ? ms(() => t.exec(s)) : NaN;
      if (!Number.isNaN(tt)) translatorMs = tt;
      const tj = ms(() => j.matcher(s).matches());
      const tg = ms(() => g.exec(s));
      const shown = Number.isNaN(tt) ? '(not run)' : tt.toFixed(1);
      console.log(`| \`${rule}\` | ${n} chars | ${shown} | ${tj.toFixed(2)} | ${tg.toFixed(2)} |`);
    }
  }
}

const corpora = (process.env.RE2_CORPUS ?? '').split(':').filter(Boolean);
if (corpora.length) {
  console.log('| engine | cases | agree with Go | disagree | patterns it rejects |');
  console.log('|---|---|---|---|---|');
  for (const file of corpora) {
    const raw = readFileSync(file);
    const text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    const { cases, skipped } = parseCorpus(text);
    console.log(
      `| **${file.split('/').pop()}** | ${cases.length} (${skipped} skipped: invalid UTF-8 or \\C) | | | |`,
    );
    agreement('translator (RegExp)', cases, viaTranslator);
    agreement('re2js', cases, viaRe2js);
    agreement('guarded (what relabeling runs)', cases, viaGuarded, wantTexts);
  }
} else {
  console.log('(no RE2_CORPUS given: agreement not measured)');
}
speed();
pathological();
