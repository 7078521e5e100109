// The agent's own server as an attack surface, over real sockets: Host allowlist (DNS rebinding),
// the lifecycle switch and cross-origin posts, TLS and basic auth from a web config, and a flood
// of requests that must neither be served all at once nor render the same answer over and over.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { createLogger } from '../log.js';
import { selfSignedCert } from '../testing/net.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentServer, MAX_CONCURRENT, type AgentView, type ServerConfig } from './server.js';

const log = createLogger('silent', 'text');

function view(): AgentView & { reloaded: number; statusRenders: number } {
  const v = {
    ready: true,
    targets: [],
    writers: [],
    scrapedSamples: 0,
    reloads: 0,
    reloadFailures: 0,
    lastReloadOk: true,
    reloaded: 0,
    statusRenders: 0,
    async reload() {
      v.reloaded++;
    },
  };
  return v;
}

interface Answer {
  status: number;
  body: string;
}

/** One request with exactly the headers given (fetch would set Host and Origin itself). */
function send(
  port: number,
  path: string,
  o: { method?: string; headers?: Record<string, string>; tls?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = (o.tls ? httpsRequest : httpRequest)(
      {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? 'GET',
        headers: o.headers,
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function serve(config: Partial<ServerConfig> = {}) {
  const rt = view();
  const server = new AgentServer(rt, log, { address: '127.0.0.1:0', ...config });
  await server.listen('127.0.0.1:0');
  const port = Number(server.address.split(':').pop());
  return { rt, server, port };
}

test('Host: IP literals, localhost and allowed_hosts pass; any other name (DNS rebinding) is refused', async () => {
  const { server, port } = await serve({ allowedHosts: ['node-7.internal'] });
  try {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      '10.1.2.3:9101',
      'node-7.internal:9101',
    ]) {
      assert.equal((await send(port, '/api/status', { headers: { host } })).status, 200, host);
    }
    for (const host of [`attacker.example:${port}`, 'localhost.attacker.example', 'node-8.internal']) {
      const r = await send(port, '/api/status', { headers: { host } });
      assert.equal(r.status, 403, host);
      assert.match(r.body, /allowed_hosts/);
    }
  } finally {
    await server.close();
  }
});

test('POST /-/reload is off unless enable_lifecycle; with it, Origin null and other origins are refused', async () => {
  const off = await serve();
  try {
    const r = await send(off.port, '/-/reload', {
      method: 'POST',
      headers: { host: `127.0.0.1:${off.port}` },
    });
    assert.equal(r.status, 403);
    assert.match(r.body, /enable_lifecycle/);
    assert.equal(off.rt.reloaded, 0);
  } finally {
    await off.server.close();
  }
  const on = await serve({ enableLifecycle: true });
  try {
    const host = `127.0.0.1:${on.port}`;
    for (const origin of [
      'null',
      'http://attacker.example',
      `http://127.0.0.1:${on.port + 1}`,
      'not a url',
    ]) {
      const r = await send(on.port, '/-/reload', { method: 'POST', headers: { host, origin } });
      assert.equal(r.status, 403, `Origin ${origin}`);
    }
    assert.equal(on.rt.reloaded, 0);
    assert.equal((await send(on.port, '/-/reload', { method: 'POST', headers: { host } })).status, 200);
    const same = await send(on.port, '/-/reload', {
      method: 'POST',
      headers: { host, origin: `http://${host}` },
    });
    assert.equal(same.status, 200, 'the own page may post');
    assert.equal(on.rt.reloaded, 2);
  } finally {
    await on.server.close();
  }
});

test('TLS and basic auth from a Prometheus-style web config; /healthz and /readyz stay open for probes', async (t) => {
  const cert = selfSignedCert();
  const hash = bcrypt.hashSync('s3cret', 4);
  const { server, port } = await serve({
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
    basicAuthUsers: { admin: hash },
  });
  t.after(() => server.close());
  const auth = (u: string, p: string) => ({
    authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64'),
  });
  assert.equal((await send(port, '/api/status', { tls: true })).status, 401);
  assert.equal((await send(port, '/api/status', { tls: true, headers: auth('admin', 'wrong') })).status, 401);
  assert.equal(
    (await send(port, '/api/status', { tls: true, headers: auth('nobody', 's3cret') })).status,
    401,
  );
  assert.equal(
    (await send(port, '/api/status', { tls: true, headers: auth('admin', 's3cret') })).status,
    200,
  );
  assert.equal((await send(port, '/metrics', { tls: true, headers: auth('admin', 's3cret') })).status, 200);
  assert.equal((await send(port, '/healthz', { tls: true })).status, 200);
  assert.equal((await send(port, '/readyz', { tls: true })).status, 200);
  await assert.rejects(send(port, '/healthz'), 'plain HTTP is not served on the TLS port');
});

test(`a flood of concurrent requests: at most ${MAX_CONCURRENT} are handled at once, the rest get 503; answers are rendered once per second`, async () => {
  const { server, port } = await serve();
  let renders = 0;
  let inRender = 0;
  let maxInRender = 0;
  // count how often /metrics is rendered, and hold each rendering a moment so requests overlap
  const registry = server.metrics.registry;
  const orig = registry.metrics.bind(registry);
  registry.metrics = async () => {
    renders++;
    maxInRender = Math.max(maxInRender, ++inRender);
    await new Promise((r) => setTimeout(r, 50));
    inRender--;
    return orig();
  };
  try {
    const flood = Promise.all(
      Array.from({ length: 400 }, (_, i) => send(port, i % 2 ? '/metrics' : '/api/status')),
    );
    // the kubelet's probes are answered whatever the load
    const probes = await Promise.all(Array.from({ length: 20 }, () => send(port, '/healthz')));
    assert.deepEqual(new Set(probes.map((p) => p.status)), new Set([200]));
    const answers = await flood;
    const ok = answers.filter((a) => a.status === 200).length;
    const busy = answers.filter((a) => a.status === 503).length;
    assert.equal(ok + busy, 400);
    assert.ok(ok >= MAX_CONCURRENT, `${ok} served`);
    assert.ok(busy > 0, 'some were turned away');
    assert.ok(renders <= 3, `/metrics rendered ${renders} times for ${answers.length / 2} requests`);
    assert.equal(maxInRender, 1);
    console.log(
      `# 400 concurrent requests: ${ok} served, ${busy} answered 503, /metrics rendered ${renders} time(s)`,
    );
  } finally {
    await server.close();
  }
});

test('the web config file: bcrypt users and TLS files are read by check; a bad hash names the file and user', async (t) => {
  const { loadConfig } = await import('../config/load.js');
  const dir = mkdtempSync(join(tmpdir(), 'nodegraf-web-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'config.toml'), '[http]\nweb_config_file = "web.yml"\n');
  writeFileSync(join(dir, 'web.yml'), `basic_auth_users:\n  admin: ${bcrypt.hashSync('x', 4)}\n`);
  const { config } = loadConfig(dir);
  assert.deepEqual(Object.keys(config.http.basicAuthUsers ?? {}), ['admin']);
  writeFileSync(join(dir, 'web.yml'), 'basic_auth_users:\n  admin: plaintext\n');
  assert.throws(
    () => loadConfig(dir),
    /config\.toml:2: http\.web_config_file: .*web\.yml: basic_auth_users\.admin: expected a bcrypt hash/,
  );
});
