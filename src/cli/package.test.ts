// What the image contains, proven without a container engine: the project packed as npm would
// publish it (`npm pack`, the files the Dockerfile copies: dist, conf, package.json), installed
// with production dependencies only into an empty folder, and the installed command run: its
// version, `check` on the shipped configuration and the deploy kit's, and `--test --once` against
// the node simulator with pod metadata on.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type Simulator } from '../sim/simulator.js';
import { KIT_ONCE_EXPECTATIONS, kitConfForSimulator } from '../testing/kit-conf.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('the packed and installed nodegraf', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nodegraf-pack-'));
  let bin = '';
  let sim: Simulator;

  before(async () => {
    const out = execFileSync('npm', ['pack', '--pack-destination', dir, '--silent'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const tgz = join(dir, out.trim().split('\n').at(-1)!);
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), '{"name":"image","private":true}');
    execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tgz], {
      cwd: app,
      stdio: 'ignore',
    });
    bin = join(app, 'node_modules', '.bin', 'nodegraf');
    sim = await startSimulator({ tokens: ['tok'], kubeProxyPort: 0, kubeProxyHealthPort: 0, kubeletPort: 0 });
  });

  after(() => sim?.close());

  test('the package holds the agent, not the tooling: every module in it is one the commands load', () => {
    const pkg = join(dir, 'app', 'node_modules', 'nodegraf');
    const files = execFileSync('find', ['dist', '-name', '*.js'], { cwd: pkg, encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((f) => f.replace(/^dist\//, ''))
      .sort();
    for (const f of files)
      assert.doesNotMatch(f, /^(bench|testing|soak|kit)\/|\.test\.js$/, `tooling shipped: dist/${f}`);
    // reachable from the command line's entry through static and dynamic imports
    const seen = new Set<string>();
    const visit = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      const text = readFileSync(join(pkg, 'dist', f), 'utf8');
      // static and dynamic imports, and files read beside a module (new URL('./x.js', import.meta.url))
      for (const m of text.matchAll(/(?:from\s*|import\s*\(\s*|new URL\(\s*)['"](\.{1,2}\/[^'"]+\.js)['"]/g))
        visit(posix.normalize(posix.join(posix.dirname(f), m[1])));
    };
    visit('cli/main.js');
    // an interface-only module (a contract between stages) compiles to `export {};`: nothing to load
    const typeOnly = (f: string) =>
      readFileSync(join(pkg, 'dist', f), 'utf8')
        .replace(/^\/\/.*$/gm, '')
        .trim() === 'export {};';
    assert.deepEqual(
      files.filter((f) => !seen.has(f) && !typeOnly(f)),
      [],
      'modules no command loads',
    );
    assert.ok(seen.size > 40, `${seen.size} modules`);
  });

  test("the agent's modules load neither Node's bundled undici nor undici's fetch and WebSocket code (lean-imports.ts)", () => {
    const pkg = join(dir, 'app', 'node_modules', 'nodegraf');
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createRequire } from 'node:module';
         await import(${JSON.stringify(join(pkg, 'dist', 'cli', 'runtime.js'))});
         await import(${JSON.stringify(join(pkg, 'dist', 'cli', 'program.js'))});
         const cache = Object.keys(createRequire(import.meta.url).cache);
         console.log(JSON.stringify({
           builtin: process.moduleLoadList.filter((m) => m.includes('deps/undici')),
           web: cache.filter((f) => /undici[\\/](index\\.js|lib[\\/](web|mock|cache)[\\/])/.test(f)),
           undici: cache.filter((f) => f.includes('undici')).length,
         }));`,
      ],
      { encoding: 'utf8' },
    );
    const r = JSON.parse(out) as { builtin: string[]; web: string[]; undici: number };
    assert.deepEqual(
      r.builtin,
      [],
      'Node.js bundled undici loaded (an ESM import of node:http, or a web global)',
    );
    assert.deepEqual(
      r.web,
      [],
      "undici's index or web code loaded (import from 'undici' instead of lean-imports.ts)",
    );
    assert.ok(r.undici > 10, `undici's dispatcher loaded (${r.undici} files)`);
  });

  // asynchronous: the simulator runs in this process and must answer while the command runs
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((done) => {
      execFile(
        bin,
        args,
        { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 256 << 20 },
        (err, stdout, stderr) =>
          done({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  test('--version, and no development dependency installed', async () => {
    const r = await run(['--version']);
    assert.equal(r.stdout.trim(), VERSION, r.stderr);
    const installed = JSON.parse(
      execFileSync('npm', ['ls', '--all', '--json', '--omit=dev'], {
        cwd: join(dir, 'app'),
        encoding: 'utf8',
      }),
    ) as { dependencies: Record<string, { dependencies?: Record<string, unknown> }> };
    const deps = Object.keys(installed.dependencies.nodegraf.dependencies ?? {});
    for (const dev of ['typescript', 'tsx', 'eslint', 'kubernetes-models'])
      assert.ok(!deps.includes(dev), dev);
  });

  test('check on the shipped configuration and on the deploy kit', async () => {
    const shipped = join(dir, 'app', 'node_modules', 'nodegraf', 'conf');
    let r = await run(['check', '--configs', shipped]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    r = await run(['check', '--configs', join(ROOT, 'deploy', 'kubernetes', 'conf')], {
      HOSTNAME: 'node-1',
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
    });
    assert.equal(r.status, 0, r.stderr + r.stdout);
  });

  test('--test --once against the simulator: enriched container series and pod health series', async () => {
    const conf = join(dir, 'conf');
    const token = join(dir, 'token');
    writeFileSync(token, 'tok\n');
    kitConfForSimulator(sim, conf, token, join(dir, 'queue'));
    const r = await run(['--configs', conf, '--test', '--once'], { HOSTNAME: 'node-1' });
    assert.equal(r.status, 0, r.stderr);
    for (const re of KIT_ONCE_EXPECTATIONS.stderr) assert.match(r.stderr, re);
    for (const re of KIT_ONCE_EXPECTATIONS.stdout) assert.match(r.stdout, re);
  });
});
