// The backtracking guard: which patterns may run on RegExp and up to what length, and proof that a
// pathological rule on a hostile label value cannot stall scraping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyse, compileAnchored, STEP_BUDGET } from './regex.js';

void analyse;

const guard = (p: string) => {
  const { re } = compileAnchored(p);
  return { ...re.shape, maxFastLength: re.maxFastLength };
};

test('nested repeats, alternations and optional parts under a repeat always run on the linear engine', () => {
  for (const p of ['(.+)+x', '(a|aa)*b', '(?:x*y){2,}', '(?:ab?)+', '((a+))*', '(?:(a){0,}){2}']) {
    const g = guard(p);
    assert.equal(g.maxFastLength, -1, p);
    assert.ok(g.nested || g.captureInRepeat, p);
  }
});

test('a capture inside a repeated group runs on the linear engine: Go keeps captures JavaScript forgets', () => {
  const g = guard('(?:(a)|b)+');
  assert.equal(g.captureInRepeat, true);
  // Go: group 1 is the "a" of the first iteration; a RegExp would report undefined
  assert.deepEqual(Array.from(compileAnchored('(?:(a)|b)+').re.exec('ab')!), ['ab', 'a']);
});

test('flat patterns run on RegExp while choices x len^degree stays within the step budget', () => {
  assert.deepEqual(
    [
      guard('(.*)'),
      guard('go_.*|process_.*|rest_client_.*'),
      guard('container_(cpu|memory)_.*'),
      guard('(.+);(.+)'),
      guard('.*a.*b.*c'),
      guard('a{2,5}|foo'),
    ].map((g) => [g.degree, g.choices, g.maxFastLength]),
    [
      [1, 1, STEP_BUDGET],
      [1, 3, 333_333],
      [1, 2, 500_000],
      [2, 1, 1000],
      [3, 1, 100],
      [0, 5, Infinity],
    ],
  );
});

test('many bounded choices in a row count too: they multiply', () => {
  // 17^7 ways to split the value between seven .{0,16}, 2^24 for 24 (a|a): always re2js
  for (const p of ['.{0,16}'.repeat(7) + 'x', '(?:a|a)'.repeat(24)]) {
    const g = guard(p);
    assert.ok(g.choices > STEP_BUDGET, p);
    assert.equal(g.maxFastLength, -1, p);
  }
  // a few are fine
  assert.equal(guard('(?:a|b)(?:c|d)x?').maxFastLength, Infinity);
});

test('long values take the linear engine and give the same groups', () => {
  const { re } = compileAnchored('(.+);(.+)');
  const long = 'a'.repeat(5000) + ';' + 'b'.repeat(5000);
  assert.ok(long.length > re.maxFastLength);
  const m = re.exec(long)!;
  assert.equal(m[1], 'a'.repeat(5000));
  assert.equal(m[2], 'b'.repeat(5000));
  assert.equal(re.test(long + ';'), true);
  assert.equal(re.exec('no-separator'.repeat(1000)), null);
});

/** Run `code` (a TypeScript module) in a child process; fail if it has not finished within `ms`. */
function inChild(code: string, ms: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'nodegraf-regex-'));
  const file = join(dir, 'stall.mts');
  writeFileSync(file, code);
  return new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${ms} ms: the event loop was stalled`));
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`exit ${code}: ${err}`));
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('a pathological relabel rule on a 10 kB hostile label value cannot stall scraping', async () => {
  // A target whose label value is 10,000 "a"s, and a rule Go runs in linear time but a
  // backtracking engine in about 2^10000 steps. The scrape runs in a child process so that a stall
  // fails this test (after a minute) instead of hanging it; a guarded scrape takes milliseconds.
  const at = (rel: string) => JSON.stringify(new URL(rel, import.meta.url).pathname);
  const code = `
    import { startFixtureServer } from ${at('../testing/fixture-server.ts')};
    import { testGlobal, testInstance, testWriterOpt } from ${at('../testing/config.ts')};
    import { ScrapeTarget } from ${at('../scrape/target.ts')};
    const hostile = 'a'.repeat(10000);
    const srv = await startFixtureServer({ routes: { '/metrics': 'evil{v="' + hostile + '"} 1\\nfine 2\\n' } });
    const url = srv.url + '/metrics';
    const rule = { sourceLabels: ['v'], separator: ';', regex: '(.+)+x', modulus: 0, targetLabel: 'w', replacement: '$1', action: 'replace' as const };
    const t = new ScrapeTarget(testInstance({ urls: [url], relabelConfigs: [rule] }), url, testGlobal(), testWriterOpt);
    const r = await t.scrape({ push() {} });
    await t.stop();
    await srv.close();
    process.stdout.write(JSON.stringify({ up: r.up, scraped: r.stats?.scraped }));
  `;
  const out = JSON.parse(await inChild(code, 60_000)) as { up: boolean; scraped: number };
  assert.deepEqual(out, { up: true, scraped: 2 });
});
