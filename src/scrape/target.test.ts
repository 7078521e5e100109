// Scraping over real loopback sockets: HTTP and HTTPS, tokens, slow and hung servers, gzip, limits,
// and the error messages an SRE gets for each failure.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { startFixtureServer, type FixtureServer } from '../testing/fixture-server.js';
import { freePort, selfSignedCert, type TestCert } from '../testing/net.js';
import { testGlobal, testInstance, testWriterOpt, type TestInstance } from '../testing/config.js';
import { decodeChunk, type DecodedSample } from '../prompb/decode.js';
import type { Chunk, SampleSink } from '../prompb/chunk.js';
import { ScrapeTarget, expandUrlTemplate } from './target.js';

const PAYLOAD = '# HELP a A.\n# TYPE a counter\na{x="1"} 1\na{x="2"} 2\nb 3\n';

class Collect implements SampleSink {
  chunks: Chunk[] = [];
  push(c: Chunk): void {
    this.chunks.push(c);
  }
  get samples(): DecodedSample[] {
    return this.chunks.flatMap((c) => decodeChunk(c.body));
  }
  named(n: string): DecodedSample[] {
    return this.samples.filter((s) => s.labels.some(([k, v]) => k === '__name__' && v === n));
  }
}

async function scrapeOnce(url: string, inst: TestInstance = {}, global = testGlobal()) {
  const t = new ScrapeTarget(testInstance({ urls: [url], ...inst }), url, global, testWriterOpt);
  const sink = new Collect();
  try {
    const report = await t.scrape(sink);
    return { report, sink, target: t };
  } finally {
    await t.stop();
  }
}

let cert: TestCert;
before(() => {
  cert = selfSignedCert();
});

describe('plain HTTP target', () => {
  let srv: FixtureServer;
  before(async () => {
    srv = await startFixtureServer({ routes: { '/metrics': PAYLOAD }, gzip: true });
  });
  after(() => srv.close());

  test('scrapes, labels with instance/job/ident and adds the synthetic series', async () => {
    const { report, sink } = await scrapeOnce(`${srv.url}/metrics`, { labels: { job: 'kube-proxy' } });
    assert.equal(report.up, true);
    assert.equal(report.stats?.scraped, 3);
    const a = sink.named('a');
    assert.equal(a.length, 2);
    assert.deepEqual(Object.fromEntries(a[0].labels), {
      __name__: 'a',
      ident: 'node-1',
      instance: `127.0.0.1:${srv.port}`,
      job: 'kube-proxy',
      x: '1',
    });
    assert.equal(sink.named('up')[0].value, 1);
    assert.equal(sink.named('scrape_samples_scraped')[0].value, 3);
    assert.equal(sink.named('scrape_series_added')[0].value, 3);
    assert.ok(sink.named('scrape_duration_seconds')[0].value > 0);
    assert.equal(Object.fromEntries(sink.named('up')[0].labels).job, 'kube-proxy');
  });

  test('asks for gzip and the text formats, and says who it is', async () => {
    await scrapeOnce(`${srv.url}/metrics`);
    const req = srv.requests.at(-1)!;
    assert.match(String(req.headers['accept-encoding']), /gzip/);
    assert.match(String(req.headers.accept), /text\/plain;version=0\.0\.4/);
    assert.match(String(req.headers.accept), /application\/openmetrics-text/);
    assert.match(String(req.headers['user-agent']), /^nodegraf\//);
  });

  test('keeps the connection alive between scrapes', async () => {
    const t = new ScrapeTarget(
      testInstance({ urls: [`${srv.url}/metrics`] }),
      `${srv.url}/metrics`,
      testGlobal(),
      testWriterOpt,
    );
    const sink = new Collect();
    const before = srv.requests.length;
    await t.scrape(sink);
    await t.scrape(sink);
    await t.stop();
    const reqs = srv.requests.slice(before);
    assert.equal(reqs.length, 2);
    assert.equal(reqs[0].socket, reqs[1].socket, 'same socket reused');
  });

  test('url_label_key/url_label_value; "-" disables the URL label', async () => {
    const u = new URL('https://user:pw@10.0.0.1:10250/metrics/cadvisor?x=1');
    assert.equal(
      expandUrlTemplate('{{.Scheme}}://{{.Hostname}}:{{.Port}}{{.Path}}?{{.Query}}', u),
      'https://10.0.0.1:10250/metrics/cadvisor?x=1',
    );
    const { sink } = await scrapeOnce(`${srv.url}/metrics`, {
      urlLabelKey: 'target',
      urlLabelValue: '{{.Path}}',
    });
    assert.equal(Object.fromEntries(sink.named('b')[0].labels).target, '/metrics');
    const none = await scrapeOnce(`${srv.url}/metrics`, { urlLabelKey: '' });
    assert.equal(Object.fromEntries(none.sink.named('b')[0].labels).instance, undefined);
  });

  test('global labels fill gaps, hostname_label renames ident, omit_hostname drops it', async () => {
    const g = testGlobal({ labels: { cluster: 'prod' }, hostnameLabel: 'agent_hostname' });
    const { sink } = await scrapeOnce(`${srv.url}/metrics`, {}, g);
    const l = Object.fromEntries(sink.named('b')[0].labels);
    assert.equal(l.cluster, 'prod');
    assert.equal(l.agent_hostname, 'node-1');
    assert.equal(l.ident, undefined);
    const o = await scrapeOnce(`${srv.url}/metrics`, {}, testGlobal({ omitHostname: true }));
    assert.equal(Object.fromEntries(o.sink.named('b')[0].labels).ident, undefined);
  });

  test('metrics_pass / metrics_drop / ignore_metrics globs, ignore_label_keys and relabel_configs are applied', async () => {
    const { sink } = await scrapeOnce(`${srv.url}/metrics`, {
      metricsPass: ['a', 'b*'],
      metricsDrop: ['bb'],
      ignoreMetrics: ['nothing_*'],
      ignoreLabelKeys: ['x'],
      relabelConfigs: [
        {
          sourceLabels: ['__name__'],
          separator: ';',
          regex: 'b',
          modulus: 0,
          targetLabel: 'kind',
          replacement: 'plain',
          action: 'replace',
        },
      ],
    });
    assert.equal(
      sink.named('a').length,
      1,
      'a{x=1} and a{x=2} collapse once x is ignored: the duplicate is dropped',
    );
    assert.equal(Object.fromEntries(sink.named('a')[0].labels).x, undefined);
    assert.equal(Object.fromEntries(sink.named('b')[0].labels).kind, 'plain');
    const dropped = await scrapeOnce(`${srv.url}/metrics`, { metricsDrop: ['a'] });
    assert.equal(dropped.sink.named('a').length, 0);
    assert.equal(dropped.sink.named('scrape_samples_post_metric_relabeling')[0].value, 1);
  });

  test('404 names the path', async () => {
    const { report } = await scrapeOnce(`${srv.url}/nope`);
    assert.equal(report.up, false);
    assert.equal(report.error?.kind, 'not-found');
    assert.match(report.error!.describe(), /404 Not Found: \/nope.*wrong path/);
  });
});

describe('failures', () => {
  test('connection refused: per-target error, up 0, and a hint for the kubelet port', async () => {
    const port = await freePort();
    const { report, sink } = await scrapeOnce(`http://127.0.0.1:${port}/metrics`);
    assert.equal(report.up, false);
    assert.equal(report.error?.kind, 'refused');
    assert.equal(sink.named('up')[0].value, 0);
    assert.equal(sink.named('scrape_samples_scraped')[0].value, 0);
  });

  test('a hung target times out at its timeout and never delays another target', async () => {
    const hung = await startFixtureServer({ routes: { '/metrics': PAYLOAD }, hang: true });
    const fast = await startFixtureServer({ routes: { '/metrics': PAYLOAD } });
    try {
      const done: string[] = [];
      // both scrapes start together; the hung one can only end at its 800 ms timeout
      const slowScrape = scrapeOnce(`${hung.url}/metrics`, { timeoutMs: 800 }).then((r) => {
        done.push('hung');
        return r;
      });
      const fastScrape = scrapeOnce(`${fast.url}/metrics`).then((r) => {
        done.push('fast');
        return r;
      });
      const [slow, quick] = await Promise.all([slowScrape, fastScrape]);
      assert.deepEqual(done, ['fast', 'hung'], 'the fast target finished while the hung one waited');
      assert.equal(quick.report.up, true);
      assert.ok(
        quick.report.durationMs < 800,
        `the fast scrape took ${quick.report.durationMs} ms: it waited for the hung one`,
      );
      assert.equal(slow.report.up, false);
      assert.equal(slow.report.error?.kind, 'timeout');
      assert.match(slow.report.error!.message, /800 ms/);
    } finally {
      await hung.close();
      await fast.close();
    }
  });

  for (const trickle of [false, true]) {
    test(`a target that ${trickle ? 'trickles' : 'stops'} half-way through its body: "timeout … while reading the body (N bytes read)"`, async () => {
      const srv = await startFixtureServer({
        routes: { '/metrics': PAYLOAD },
        stall: true,
        trickleMs: trickle ? 50 : undefined,
      });
      try {
        const { report } = await scrapeOnce(`${srv.url}/metrics`, { timeoutMs: 600 });
        assert.equal(report.up, false);
        assert.equal(report.error?.kind, 'timeout');
        const m = /^timeout after 0\.6 s while reading the body \((\d+) bytes read\)/.exec(
          report.error!.message,
        );
        assert.ok(m, report.error!.message);
        assert.ok(Number(m[1]) >= Buffer.byteLength(PAYLOAD), `bytes read: ${m[1]}`);
      } finally {
        await srv.close();
      }
    });
  }

  test('a scrape that times out half-way sends its synthetic series and markers only for the last good scrape', async () => {
    // 1st scrape: good. 2nd and 3rd: one old and one new series, then the target hangs.
    const srv = await startFixtureServer({
      routes: { '/metrics': (req) => (req === srv.requests[0] ? PAYLOAD : 'a{x="1"} 7\nnew_series 1\n') },
      stall: (i) => i > 0,
    });
    const url = `${srv.url}/metrics`;
    const t = new ScrapeTarget(
      testInstance({ urls: [url], timeoutMs: 500 }),
      url,
      testGlobal(),
      testWriterOpt,
    );
    try {
      assert.equal((await t.scrape(new Collect())).up, true);
      const second = new Collect();
      assert.equal((await t.scrape(second)).up, false);
      const names = (c: Collect) => c.samples.map((s) => Object.fromEntries(s.labels).__name__ as string);
      const synthetic = [
        'scrape_duration_seconds',
        'scrape_samples_post_metric_relabeling',
        'scrape_samples_scraped',
        'scrape_series_added',
        'up',
      ];
      assert.deepEqual(names(second).sort(), ['a', 'a', 'b', ...synthetic]);
      assert.ok(second.named('a').every((s) => s.stale) && second.named('b')[0].stale);
      assert.equal(second.named('new_series').length, 0, 'never sent, so no marker');
      const third = new Collect();
      assert.equal((await t.scrape(third)).up, false);
      assert.deepEqual(names(third).sort(), synthetic, 'markers are sent once');
    } finally {
      await t.stop();
      await srv.close();
    }
  });

  test('body larger than body_size_limit: clear error, plain and gzip', async () => {
    const big = 'x_metric{a="' + 'y'.repeat(100) + '"} 1\n';
    const srv = await startFixtureServer({ routes: { '/metrics': big.repeat(200) } });
    const gz = await startFixtureServer({ routes: { '/metrics': big.repeat(200) }, gzip: true });
    try {
      for (const s of [srv, gz]) {
        const { report } = await scrapeOnce(`${s.url}/metrics`, { bodySizeLimit: 4096 });
        assert.equal(report.up, false);
        assert.equal(report.error?.kind, 'body-too-large');
        assert.match(report.error!.message, /body_size_limit \(4096 bytes\)/);
      }
      const unlimited = await scrapeOnce(`${gz.url}/metrics`, { bodySizeLimit: 0 });
      assert.equal(unlimited.report.up, true, 'body_size_limit = 0 means no limit');
    } finally {
      await srv.close();
      await gz.close();
    }
  });

  test('unparseable payload: up 0 with the line number', async () => {
    const srv = await startFixtureServer({ routes: { '/metrics': '<html>\n<body>hello</body>\n' } });
    try {
      const { report } = await scrapeOnce(`${srv.url}/metrics`);
      assert.equal(report.up, false);
      assert.equal(report.error?.kind, 'parse');
      assert.match(report.error!.message, /line 1: /);
    } finally {
      await srv.close();
    }
  });

  test('a malformed line is reported, the rest is used', async () => {
    const srv = await startFixtureServer({ routes: { '/metrics': 'a 1\nb{ 2\nc 3\n' } });
    try {
      const { report, sink } = await scrapeOnce(`${srv.url}/metrics`);
      assert.equal(report.up, true);
      assert.match(report.warning ?? '', /1 malformed line.*line 2/);
      assert.equal(sink.named('c').length, 1);
    } finally {
      await srv.close();
    }
  });
});

describe('HTTPS and credentials (kubelet-like)', () => {
  let srv: FixtureServer;
  let dir: string;
  before(async () => {
    srv = await startFixtureServer({
      routes: { '/metrics': PAYLOAD },
      tls: cert,
      tokens: ['good-token'],
      forbiddenTokens: ['no-rbac'],
    });
    dir = mkdtempSync(join(tmpdir(), 'nodegraf-token-'));
  });
  after(() => srv.close());

  const tokenFile = (token: string) => {
    const f = join(dir, `token-${Math.random().toString(36).slice(2)}`);
    writeFileSync(f, token + '\n');
    return f;
  };

  test('self-signed certificate: error suggests insecure_skip_verify or tls_ca', async () => {
    const { report } = await scrapeOnce(`${srv.url}/metrics`, { bearerTokenString: 'good-token' });
    assert.equal(report.error?.kind, 'tls-cert');
    assert.match(report.error!.describe(), /insecure_skip_verify.*tls_ca/);
  });

  test('insecure_skip_verify, or tls_ca with tls_server_name, make it work', async () => {
    const a = await scrapeOnce(`${srv.url}/metrics`, {
      bearerTokenFile: tokenFile('good-token'),
      tls: { useTls: true, insecureSkipVerify: true },
    });
    assert.equal(a.report.up, true, a.report.error?.message);
    const b = await scrapeOnce(`${srv.url}/metrics`, {
      bearerTokenString: 'good-token',
      tls: { useTls: true, insecureSkipVerify: false, caFile: cert.certFile, serverName: 'localhost' },
    });
    assert.equal(b.report.up, true, b.report.error?.message);
  });

  test('401: the token is missing or expired; the token file is re-read and the request retried once', async () => {
    const f = tokenFile('stale-token');
    const t = new ScrapeTarget(
      testInstance({
        urls: [`${srv.url}/metrics`],
        bearerTokenFile: f,
        tls: { useTls: true, insecureSkipVerify: true },
      }),
      `${srv.url}/metrics`,
      testGlobal(),
      testWriterOpt,
    );
    const sink = new Collect();
    const before = srv.requests.length;
    const r1 = await t.scrape(sink);
    assert.equal(r1.error?.kind, 'unauthorized');
    assert.match(r1.error!.describe(), /bearer token is missing, invalid or expired/);
    assert.equal(srv.requests.length - before, 2, 'one request, and one retry after re-reading the file');
    const n = srv.requests.length;
    writeFileSync(f, 'good-token'); // the kubelet rotated the projected token
    const r2 = await t.scrape(sink);
    assert.equal(r2.up, true, 'new token read on the next scrape');
    assert.equal(srv.requests.length, n + 1);
    await t.stop();
  });

  test('403 names the missing RBAC rule', async () => {
    const { report } = await scrapeOnce(`${srv.url}/metrics`, {
      bearerTokenString: 'no-rbac',
      tls: { useTls: true, insecureSkipVerify: true },
    });
    assert.equal(report.error?.kind, 'forbidden');
    assert.match(report.error!.describe(), /resources: \["nodes\/metrics"\], verbs: \["get"\]/);
  });

  test('missing token file: clear error naming the file', async () => {
    const { report } = await scrapeOnce(`${srv.url}/metrics`, {
      bearerTokenFile: join(dir, 'absent'),
      tls: { useTls: true, insecureSkipVerify: true },
    });
    assert.equal(report.error?.kind, 'token-file');
    assert.match(report.error!.message, /absent: ENOENT/);
  });

  test('the JWT exp of the token is exposed', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const jwt = `e30.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`;
    const s = await startFixtureServer({ routes: { '/metrics': PAYLOAD }, tokens: [jwt] });
    try {
      const { target, report } = await scrapeOnce(`${s.url}/metrics`, { bearerTokenFile: tokenFile(jwt) });
      assert.equal(report.up, true);
      assert.equal(target.tokenExpiry, exp);
    } finally {
      await s.close();
    }
  });

  test('plain http:// to a TLS port: says the server speaks HTTPS', async () => {
    const { report } = await scrapeOnce(`http://127.0.0.1:${srv.port}/metrics`, { timeoutMs: 2000 });
    assert.equal(report.up, false);
    assert.match(report.error!.describe(), /https/i);
  });

  test('basic auth and custom headers are sent', async () => {
    const s = await startFixtureServer({ routes: { '/metrics': PAYLOAD } });
    try {
      await scrapeOnce(`${s.url}/metrics`, {
        username: 'u',
        password: 'p',
        headers: { 'X-Scope-OrgID': 'team-a' },
      });
      const req = s.requests.at(-1)!;
      assert.equal(req.headers.authorization, 'Basic ' + Buffer.from('u:p').toString('base64'));
      assert.equal(req.headers['x-scope-orgid'], 'team-a');
    } finally {
      await s.close();
    }
  });
});

/**
 * A target that streams forever (or until the client goes): `piece(i)` is written as fast as the
 * socket takes it; `status` and a trickle make the hostile variants. Counts the bytes it wrote.
 */
async function endlessTarget(
  piece: (i: number) => string,
  o: { status?: number; trickleMs?: number } = {},
): Promise<{ url: string; written: () => number; close: () => Promise<void> }> {
  let written = 0;
  const sockets = new Set<Socket>();
  const server = createServer((_req, res: ServerResponse) => {
    res.writeHead(o.status ?? 200, { 'content-type': 'text/plain; version=0.0.4' });
    let i = 0;
    const pump = () => {
      while (!res.destroyed) {
        const p = piece(i++);
        written += p.length;
        if (o.trickleMs) {
          res.write(p);
          setTimeout(pump, o.trickleMs);
          return;
        }
        if (!res.write(p)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`,
    written: () => written,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Fails the test when `p` has not settled within `ms` (a hang detector, not a timing assertion). */
function orHang<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>(
      (_, reject) => (t = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms)),
    ),
  ]);
}

describe('hostile targets: memory and time stay bounded', () => {
  test('a line without a newline fails the scrape at line_size_limit, not at the body limit', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const t = await endlessTarget(() => chunk);
    try {
      const { report } = await scrapeOnce(t.url, { lineSizeLimit: 1 << 20, timeoutMs: 30_000 });
      assert.equal(report.up, false);
      assert.equal(report.error?.kind, 'limit');
      assert.match(report.error!.describe(), /line 1 is longer than line_size_limit \(1048576 bytes\)/);
      assert.ok(t.written() < 32 << 20, `the target wrote ${t.written()} bytes before the scrape stopped`);
      console.log(
        `# endless line: the scrape stopped after the target wrote ${(t.written() / 1048576).toFixed(1)} MiB`,
      );
    } finally {
      await t.close();
    }
  });

  test('sample_limit stops reading as soon as it is passed (an endless body of unique series)', async () => {
    const t = await endlessTarget((i) => `s{i="${i}"} 1\n`);
    try {
      const { report, sink } = await scrapeOnce(t.url, { sampleLimit: 1000, timeoutMs: 30_000 });
      assert.equal(report.up, false);
      assert.equal(report.error?.kind, 'limit');
      assert.match(report.error!.describe(), /sample_limit exceeded: 1001 samples > 1000/);
      assert.ok(
        t.written() < 16 << 20,
        `the target wrote ${t.written()} bytes: the body was read past the limit`,
      );
      console.log(
        `# endless series, sample_limit 1000: the scrape stopped after the target wrote ${(t.written() / 1024).toFixed(0)} KiB`,
      );
      assert.equal(sink.named('s').length, 0, 'nothing of the failed scrape is sent');
      assert.equal(sink.named('up')[0].value, 0);
    } finally {
      await t.close();
    }
  });

  test('a 401 whose body trickles ends within the timeout as a 401, and shutdown does not wait for it', async () => {
    const t = await endlessTarget(() => 'unauthorized\n', { status: 401, trickleMs: 50 });
    const dir = mkdtempSync(join(tmpdir(), 'nodegraf-token-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'not-a-jwt');
    try {
      const { report } = await orHang(
        scrapeOnce(t.url, { bearerTokenFile: tokenFile, timeoutMs: 1000 }),
        20_000,
        'the scrape of a trickling 401',
      );
      assert.equal(report.up, false);
      assert.equal(report.error?.kind, 'unauthorized');
      // a scrape in flight against it is cut short by stop(true)
      const target = new ScrapeTarget(
        testInstance({ urls: [t.url], bearerTokenFile: tokenFile, timeoutMs: 60_000 }),
        t.url,
        testGlobal(),
        testWriterOpt,
      );
      const running = target.scrape(new Collect());
      await new Promise((r) => setTimeout(r, 200));
      await orHang(target.stop(true), 5000, 'stop(true) during a trickling 401');
      await orHang(running, 5000, 'the aborted scrape');
    } finally {
      await t.close();
    }
  });
});

describe('hints that point at the right fix', () => {
  test('a connection closed half-way through the body says so, not "use https://"', async () => {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a 1\nb 2\n');
      setTimeout(() => req.socket.destroy(), 50);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
      const { report } = await scrapeOnce(url);
      assert.equal(report.error?.kind, 'reset');
      assert.match(report.error!.describe(), /while reading the body \(\d+ bytes read\).*half-way/);
      assert.doesNotMatch(report.error!.describe(), /https/);
    } finally {
      server.close();
    }
  });

  test('a redirect loop is named as one, in our words', async () => {
    const server = createServer((req, res) => {
      res.writeHead(302, { location: req.url === '/a' ? '/b' : '/a' });
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { report } = await scrapeOnce(`http://127.0.0.1:${(server.address() as AddressInfo).port}/a`);
      assert.match(report.error!.describe(), /redirect loop at 127\.0\.0\.1:\d+\/a.*final address/);
      assert.doesNotMatch(report.error!.describe(), /UND_ERR|Agent/);
    } finally {
      server.close();
    }
  });

  test('a certificate for another name suggests tls_server_name, not insecure_skip_verify', async () => {
    const srv = await startFixtureServer({ routes: { '/metrics': PAYLOAD }, tls: cert });
    try {
      const { report } = await scrapeOnce(`${srv.url}/metrics`, {
        tls: {
          useTls: true,
          caFile: cert.certFile,
          serverName: 'kubelet.other.example',
          insecureSkipVerify: false,
        },
      });
      assert.equal(report.error?.kind, 'tls-cert');
      assert.match(report.error!.describe(), /for another name.*set tls_server_name/);
    } finally {
      await srv.close();
    }
  });
});

/**
 * Scrapes of a fast target over `ms` under mock timers, while Date.now() runs `stale(n)` ms ahead
 * of the timers' clock after the n-th scrape (setTimeout counts from the event loop's time, cached
 * when the loop iteration began, and Date.now() is read later in it), the clock moved `step` ms at a
 * time (a timer fires up to step - 1 ms late, as behind a busy event loop).
 */
async function scrapesWithStaleLoopTime(
  t: TestContext,
  intervalMs: number,
  ms: number,
  stale: (n: number) => number,
  step = 1,
): Promise<number> {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  const loopTime = Date.now;
  let ahead = 0;
  Date.now = () => loopTime() + ahead;
  t.after(() => {
    Date.now = loopTime;
  });
  let scrapes = 0;
  const source = {
    stream: async (start: (format: 'text') => (piece: Buffer) => void) => {
      ahead = stale(++scrapes);
      start('text')(Buffer.from('a 1\n'));
    },
    abort: () => undefined,
    close: async () => undefined,
    tokenExpiry: NaN,
  };
  const url = 'nodegraf://test/fast';
  const inst = testInstance({ urls: [url], intervalMs });
  const target = new ScrapeTarget(inst, url, testGlobal(), testWriterOpt, { source });
  target.start(new Collect(), () => undefined);
  for (let i = 0; i < ms; i += step) {
    t.mock.timers.tick(step);
    await new Promise((r) => setImmediate(r));
  }
  await target.stop();
  return scrapes;
}

test('a tick whose timer fires early by the wall clock (a stale event-loop time) scrapes once, not twice', async (t) => {
  // every other tick fires 5 ms before its slot by Date.now()
  const n = await scrapesWithStaleLoopTime(t, 1000, 10_000, (i) => (i % 2 ? 5 : 0));
  assert.equal(n, 10, 'one scrape per 1 s interval over 10 s');
});

test('a tick that fires late, even by more than half a short interval, skips no slot', async (t) => {
  // 100 ms interval (the shortest allowed), the clock moved 70 ms at a time: ticks 0-69 ms late
  const n = await scrapesWithStaleLoopTime(t, 100, 10_010, () => 0, 70);
  assert.ok(n >= 99 && n <= 100, `${n} scrapes for 100 slots`);
});
