// `nodegraf demo --store`: a local VictoriaMetrics (from scripts/install-peers.sh's unpack) for the
// demo to write into, and the article's container recipes evaluated by it once a minute of data
// is in: the whole job, scrape to PromQL, on one machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RECIPES, type RecipeWindows } from './recipes.js';

export const VM_BIN =
  process.env.VM_BIN ??
  join(process.env.NODEGRAF_PEERS ?? '/opt/peers', 'victoria-metrics', 'usr', 'bin', 'victoria-metrics');

export interface LocalStore {
  url: string;
  writeUrl: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Starts VictoriaMetrics on a free loopback port with a temporary data folder. */
export async function startLocalStore(): Promise<LocalStore> {
  if (!existsSync(VM_BIN)) {
    throw new Error(
      `--store needs VictoriaMetrics at ${VM_BIN}: run \`sudo bash scripts/install-peers.sh\` (unpacks Debian's victoria-metrics into /opt/peers), or set VM_BIN`,
    );
  }
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'nodegraf-demo-vm-'));
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    VM_BIN,
    [
      `-storageDataPath=${data}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-loggerLevel=ERROR',
      '-search.latencyOffset=5s',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`VictoriaMetrics exited at start (code ${child.exitCode})`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 100) throw new Error('VictoriaMetrics did not become ready in 20 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    writeUrl: `${url}/api/v1/write`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** The recipes' windows here: a 15 s interval leaves eight samples in two minutes. */
const WINDOWS: RecipeWindows = { rate: '2m', increase: '2m' };

/** The recipes' top five each, as the store evaluates them now. */
export async function recipeReport(storeUrl: string): Promise<string> {
  const lines: string[] = [];
  for (const r of RECIPES) {
    const expr = r.expr(WINDOWS);
    const q = new URLSearchParams({ query: `topk(5, ${expr})` });
    const res = await fetch(`${storeUrl}/api/v1/query?${q}`);
    const body = (await res.json()) as {
      data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
      error?: string;
    };
    lines.push(`  ${r.title}:   ${expr}`);
    const rows = (body.data?.result ?? []).sort((a, b) => Number(b.value[1]) - Number(a.value[1]));
    if (!rows.length) lines.push(`      (no data yet${body.error ? `: ${body.error}` : ''})`);
    for (const s of rows) {
      const who = [s.metric.namespace, s.metric.pod, s.metric.container].filter(Boolean).join('/');
      lines.push(`      ${r.format(Number(s.value[1])).padStart(14)}  ${who}`);
    }
  }
  return lines.join('\n');
}

/** The dashboard files to import, from the installed package or the repository. */
export function dashboardFiles(): string[] {
  const root = resolve(import.meta.dirname, '..', '..');
  const out: string[] = [];
  for (const kind of ['grafana', 'nightingale'])
    for (const d of ['kube-proxy', 'kubelet', 'containers']) {
      const f = join(root, 'dashboards', kind, `nodegraf-${d}.json`);
      if (existsSync(f)) out.push(f);
    }
  return out;
}
