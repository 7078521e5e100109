// The container image, built and run without a Docker engine: scripts/build-image.sh assembles a
// real OCI image with umoci (the Dockerfile's last stage: Node.js LTS, /app, user 65532) and pushes
// it with skopeo to a real registry (Debian's docker-registry on 127.0.0.1), and runc (the OCI
// runtime under containerd and CRI-O) runs it as the DaemonSet would: host network, a read-only
// root, every capability dropped, the kit's ConfigMaps and the ServiceAccount token mounted. The
// image runs --version, check, and --test --once against the node simulator; the image pulled back
// from the registry is the same and runs too.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { startSimulator, type Simulator } from '../sim/simulator.js';
import { KIT_ONCE_EXPECTATIONS, kitConfForSimulator } from '../testing/kit-conf.js';
import { freePort, waitFor } from '../testing/net.js';
import { peerMissing, REGISTRY_BIN } from '../testing/peers.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const SA = '/var/run/secrets/kubernetes.io/serviceaccount';

function toolsMissing(): string | undefined {
  const missing = ['umoci', 'runc', 'skopeo'].filter((t) => {
    try {
      execFileSync(t, ['--version'], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  const why = missing.length
    ? `${missing.join(' and ')} not found (apt-get install umoci runc skopeo)`
    : process.getuid?.() !== 0
      ? 'runc needs root here'
      : undefined;
  if (why && process.env.CI === 'true') throw new Error(`${why}: the image must be proven in CI`);
  return why;
}

type Mount = { destination: string; source: string; readonly?: boolean; tmpfs?: boolean };
type Spec = {
  process: {
    terminal: boolean;
    args: string[];
    env: string[];
    user: { uid: number; gid: number };
    capabilities: Record<string, string[]>;
  };
  root: { path: string; readonly?: boolean };
  mounts: Array<{ destination: string; type: string; source: string; options: string[] }>;
  linux: { namespaces: Array<{ type: string }> };
};

/** The Dockerfile's stages: FROM images, and the last stage's COPY targets, USER and ENTRYPOINT. */
function dockerfile(): { from: string[]; copies: string[]; user: string; entrypoint: string[] } {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n');
  const from = lines.filter((l) => l.startsWith('FROM ')).map((l) => l.split(/\s+/)[1]);
  const last = lines.slice(lines.findLastIndex((l) => l.startsWith('FROM ')));
  const workdir = last.find((l) => l.startsWith('WORKDIR '))?.split(/\s+/)[1] ?? '/';
  const copies = last
    .filter((l) => l.startsWith('COPY '))
    .map((l) => posix.resolve(workdir, l.trim().split(/\s+/).at(-1)!));
  const user = last.find((l) => l.startsWith('USER '))!.split(/\s+/)[1];
  const entrypoint = JSON.parse(
    last.find((l) => l.startsWith('ENTRYPOINT '))!.slice('ENTRYPOINT '.length),
  ) as string[];
  return { from, copies, user, entrypoint };
}

describe(
  'the container image (OCI, built by umoci, pushed by skopeo, run by runc)',
  { skip: toolsMissing() ?? peerMissing(REGISTRY_BIN) },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodegraf-image-'));
    const image = join(dir, 'oci');
    const bundle = join(dir, 'bundle');
    const state = join(dir, 'runc');
    let spec: Spec;
    let sim: Simulator;
    let registry: ChildProcess | undefined;
    let pushed = '';
    let n = 0;

    before(async () => {
      const port = await freePort();
      const cfg = join(dir, 'registry.yml');
      writeFileSync(
        cfg,
        `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry')}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
      );
      registry = spawn(REGISTRY_BIN, ['serve', cfg], { stdio: 'ignore' });
      await waitFor('the registry', async () => (await fetch(`http://127.0.0.1:${port}/v2/`)).ok, 30_000);
      pushed = `127.0.0.1:${port}/platform/nodegraf:${VERSION}`;
      execFileSync(
        'bash',
        [join(ROOT, 'scripts', 'build-image.sh'), '--push', pushed, '--insecure-registry'],
        {
          env: { ...process.env, OUT: image },
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
      execFileSync('umoci', ['unpack', '--image', `${image}:${VERSION}`, bundle], { stdio: 'ignore' });
      spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as Spec;
      sim = await startSimulator({
        tokens: ['tok'],
        kubeProxyPort: 0,
        kubeProxyHealthPort: 0,
        kubeletPort: 0,
      });
    });

    after(() => {
      registry?.kill();
      sim?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /**
     * Run the image as the DaemonSet runs it; `args` replace the image's CMD, `entrypoint` its
     * ENTRYPOINT; `user` and `caps` as a container's securityContext (default: the image's user, ALL
     * dropped).
     */
    const run = (
      args: string[],
      o: { mounts?: Mount[]; env?: string[]; entrypoint?: string[]; user?: number; caps?: string[] } = {},
    ) => {
      const s = structuredClone(spec);
      s.process.terminal = false;
      s.process.args = [
        ...(o.entrypoint ?? s.process.args.slice(0, dockerfile().entrypoint.length)),
        ...args,
      ];
      s.process.env.push(...(o.env ?? []));
      if (o.user !== undefined) s.process.user = { uid: o.user, gid: o.user };
      // securityContext: readOnlyRootFilesystem, capabilities drop ALL (add: caps); hostNetwork: true
      s.root.readonly = true;
      for (const k of Object.keys(s.process.capabilities)) s.process.capabilities[k] = [...(o.caps ?? [])];
      s.linux.namespaces = s.linux.namespaces.filter((x) => x.type !== 'network');
      for (const m of o.mounts ?? [])
        s.mounts.push(
          m.tmpfs
            ? {
                destination: m.destination,
                type: 'tmpfs',
                source: 'tmpfs',
                options: ['nosuid', 'nodev', 'mode=1777'],
              }
            : {
                destination: m.destination,
                type: 'bind',
                source: m.source,
                options: ['rbind', m.readonly ? 'ro' : 'rw'],
              },
        );
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(s));
      const id = `nodegraf-test-${process.pid}-${++n}`;
      return new Promise<{ status: number; stdout: string; stderr: string }>((done) => {
        execFile(
          'runc',
          ['--root', state, 'run', '--bundle', bundle, id],
          { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 << 20 },
          (err, stdout, stderr) =>
            done({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    };

    test('the image is the Dockerfile: Node.js LTS in both stages, its entrypoint, user and files', async () => {
      const d = dockerfile();
      const r = await run(['--version'], { entrypoint: ['/nodejs/bin/node'] });
      assert.equal(r.status, 0, r.stderr);
      const major = Number(/^v(\d+)\./.exec(r.stdout.trim())![1]);
      // an even major is an LTS line; 20 left support on 2026-04-30
      assert.ok(major >= 22 && major % 2 === 0, `image runs Node.js ${r.stdout.trim()}`);
      assert.equal(d.from.length, 2);
      for (const f of d.from) assert.match(f, new RegExp(`nodejs?${major}\\b|node:${major}-`), f);
      assert.deepEqual(spec.process.args.slice(0, d.entrypoint.length), d.entrypoint);
      assert.equal(`${spec.process.user.uid}:${spec.process.user.gid}`, d.user);
      for (const c of d.copies) assert.ok(existsSync(join(bundle, 'rootfs', c)), `the image lacks ${c}`);
      assert.ok(!existsSync(join(bundle, 'rootfs', 'app', 'node_modules', 'typescript')), 'a dev dependency');
    });

    test('--version, and check on the shipped configuration and on the mounted deploy kit', async () => {
      let r = await run(['--version']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), VERSION);
      r = await run(['check', '--configs', '/etc/nodegraf/conf']);
      assert.equal(r.status, 0, r.stderr + r.stdout);
      r = await run(['check', '--configs', '/etc/nodegraf/conf'], {
        mounts: [
          {
            destination: '/etc/nodegraf/conf',
            source: join(ROOT, 'deploy', 'kubernetes', 'conf'),
            readonly: true,
          },
        ],
        env: ['HOSTNAME=node-1', 'KUBERNETES_SERVICE_HOST=10.96.0.1', 'KUBERNETES_SERVICE_PORT=443'],
      });
      assert.equal(r.status, 0, r.stderr + r.stdout);
    });

    test('--test --once against the simulator as user 65532: enriched container series, pod health', async () => {
      const conf = join(dir, 'conf');
      const sa = join(dir, 'sa');
      mkdirSync(sa);
      writeFileSync(join(sa, 'token'), 'tok\n');
      kitConfForSimulator(sim, conf, `${SA}/token`, '/var/lib/nodegraf/queue');
      for (const p of [dir, sa, conf]) chmodSync(p, 0o755);
      const r = await run(['--configs', '/etc/nodegraf/conf', '--test', '--once'], {
        mounts: [
          { destination: '/etc/nodegraf/conf', source: conf, readonly: true },
          { destination: SA, source: sa, readonly: true },
          { destination: '/var/lib/nodegraf/queue', source: '', tmpfs: true },
        ],
        env: ['HOSTNAME=node-1'],
      });
      assert.equal(r.status, 0, r.stderr);
      for (const re of KIT_ONCE_EXPECTATIONS.stderr) assert.match(r.stderr, re);
      for (const re of KIT_ONCE_EXPECTATIONS.stdout) assert.match(r.stdout, re);
    });

    test("the DaemonSet's init container, run from the image as rendered, hands a root-owned queue folder to 65532", async (t) => {
      let rendered: string;
      try {
        rendered = execFileSync('kubectl', ['kustomize', join(ROOT, 'deploy', 'kubernetes')], {
          encoding: 'utf8',
        });
      } catch {
        if (process.env.CI === 'true') throw new Error('kubectl not found: the kit must be rendered in CI');
        return t.skip('kubectl not found');
      }
      const ds = parseAllDocuments(rendered)
        .map((d) => d.toJS() as { kind: string; spec: { template: { spec: Record<string, never> } } })
        .find((o) => o.kind === 'DaemonSet')!;
      const init = (
        ds.spec.template.spec.initContainers as Array<{
          command: string[];
          securityContext: { runAsUser: number; capabilities: { add: string[] } };
          volumeMounts: Array<{ mountPath: string }>;
        }>
      )[0];
      const queue = join(dir, 'hostpath-queue');
      mkdirSync(queue, { mode: 0o755 }); // as DirectoryOrCreate leaves it: root:root 0755
      chmodSync(dir, 0o755);
      const mounts = [{ destination: init.volumeMounts[0].mountPath, source: queue }];
      let r = await run([], {
        entrypoint: init.command,
        user: init.securityContext.runAsUser,
        caps: init.securityContext.capabilities.add.map((c) => `CAP_${c}`),
        mounts,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(statSync(queue).uid, 65532);
      // the agent's user can now write its queue there, and a second run changes nothing
      r = await run(['-e', `require('fs').writeFileSync('${init.volumeMounts[0].mountPath}/probe', 'x')`], {
        entrypoint: ['/nodejs/bin/node'],
        mounts,
      });
      assert.equal(r.status, 0, r.stderr);
      r = await run([], { entrypoint: init.command, user: 0, caps: [], mounts });
      assert.equal(r.status, 0, `without CHOWN, on a folder already owned: ${r.stderr}`);
    });

    test('pushed to a registry: the image pulled back is the one built, and it runs', async () => {
      const inspect = JSON.parse(
        execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${pushed}`], { encoding: 'utf8' }),
      ) as { Labels: Record<string, string>; Architecture: string; Os: string; Layers: string[] };
      assert.equal(inspect.Labels['org.opencontainers.image.version'], VERSION);
      assert.deepEqual([inspect.Os, inspect.Architecture], ['linux', 'amd64']);
      const pulled = join(dir, 'pulled');
      execFileSync('skopeo', [
        'copy',
        '--quiet',
        '--src-tls-verify=false',
        `docker://${pushed}`,
        `oci:${pulled}:${VERSION}`,
      ]);
      const layers = (p: string) =>
        (
          JSON.parse(execFileSync('skopeo', ['inspect', `oci:${p}:${VERSION}`], { encoding: 'utf8' })) as {
            Layers: string[];
          }
        ).Layers;
      assert.deepEqual(layers(pulled), layers(image));
      const other = join(dir, 'pulled-bundle');
      execFileSync('umoci', ['unpack', '--image', `${pulled}:${VERSION}`, other], { stdio: 'ignore' });
      const s = JSON.parse(readFileSync(join(other, 'config.json'), 'utf8')) as Spec;
      s.process.terminal = false;
      s.process.args = [...s.process.args.slice(0, dockerfile().entrypoint.length), '--version'];
      writeFileSync(join(other, 'config.json'), JSON.stringify(s));
      const out = execFileSync(
        'runc',
        ['--root', state, 'run', '--bundle', other, `nodegraf-pulled-${process.pid}`],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      assert.equal(out.trim(), VERSION);
    });
  },
);
