// The command line as an operator uses it: the article's configuration pointed at loopback servers
// serving the real captures, `--test --once`, `check` on good and broken configurations.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAll } from '../testing/parse-all.js';
import { startFixtureServer, type FixtureServer } from '../testing/fixture-server.js';
import { freePort, selfSignedCert, waitFor } from '../testing/net.js';
import { startWriteReceiver } from '../testing/receiver.js';
import { fixture, fixturesMissing } from '../testing/shared.js';
import { nodegraf } from '../testing/cli.js';
import { articleConfigToml, articleInputToml } from './demo.js';

const MAIN = join(import.meta.dirname, 'main.ts');

function writeConf(dir: string, config: string, input: string): string {
  const conf = join(dir, 'conf');
  mkdirSync(join(conf, 'input.prometheus'), { recursive: true });
  writeFileSync(join(conf, 'config.toml'), config);
  writeFileSync(join(conf, 'input.prometheus', 'prometheus.toml'), input);
  return conf;
}

const ARTICLE_INPUT = (proxy: string, kubelet: string, token: string) =>
  articleInputToml(`${proxy}/metrics`, kubelet, token);

describe(
  "--test --once with the article's configuration and the real captures",
  { skip: fixturesMissing() },
  () => {
    let proxy: FixtureServer;
    let kubelet: FixtureServer;
    let conf: string;
    const files = {
      'kube-proxy': fixture('kube-proxy', 'beats-k8s-v1_30-kube-proxy-metrics.txt'),
      kubelet: fixture('kubelet', 'dd-k8s-v1_21_2-kubelet-metrics.txt'),
      cadvisor: fixture('cadvisor', 'nri-k8s-1_35-metrics-cadvisor.txt'),
    };
    before(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nodegraf-cli-'));
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, 'article-token\n');
      proxy = await startFixtureServer({ routes: { '/metrics': readFileSync(files['kube-proxy']) } });
      kubelet = await startFixtureServer({
        tls: selfSignedCert(),
        tokens: ['article-token'],
        gzip: true,
        routes: {
          '/metrics': readFileSync(files.kubelet),
          '/metrics/cadvisor': readFileSync(files.cadvisor),
        },
      });
      const deadWriter = `http://127.0.0.1:${await freePort()}/prometheus/v1/write`;
      conf = writeConf(dir, articleConfigToml(deadWriter), ARTICLE_INPUT(proxy.url, kubelet.url, tokenFile));
    });
    after(async () => {
      await proxy.close();
      await kubelet.close();
    });

    for (const format of ['categraf', 'prom'] as const) {
      test(`prints every series of every capture with job and ident (--format ${format})`, async () => {
        const r = await nodegraf(
          ['--test', '--inputs', 'prometheus', '--once', '--configs', conf, '--format', format],
          { HOSTNAME: 'worker-7' },
        );
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split('\n');
        for (const [job, file] of Object.entries(files)) {
          const expected = parseAll(readFileSync(file), { openMetrics: false }).samples;
          const mine = lines.filter((l) =>
            format === 'prom' ? l.includes(`job="${job}"`) : l.includes(` job=${job} `),
          );
          const payload = mine.filter((l) => !/ (up|scrape_[a-z_]+) |^(up|scrape_[a-z_]+)\{/.test(l));
          assert.equal(
            payload.length,
            expected.length,
            `${job}: ${payload.length} lines printed, ${expected.length} samples in the capture`,
          );
          assert.ok(
            mine.every((l) =>
              format === 'prom' ? l.includes('ident="worker-7"') : l.includes(' ident=worker-7 '),
            ),
          );
        }
        assert.match(r.stderr, /kube-proxy\): up, \d+ samples/);
        if (format === 'categraf') {
          // unix_ts HH:MM:SS metric k=v ... value
          assert.match(lines[0], /^\d{10} \d\d:\d\d:\d\d [a-zA-Z_:][a-zA-Z0-9_:]* (\S+=\S* )*\S+$/);
        }
      });
    }

    test('a target down: its error on stderr, the others still printed, exit 1', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nodegraf-cli-'));
      const port = await freePort();
      const c = writeConf(
        dir,
        articleConfigToml('http://127.0.0.1:1/write'),
        `[[instances]]
urls = ["http://127.0.0.1:${port}/metrics", "${proxy.url}/metrics"]
labels = { job="kube-proxy" }
`,
      );
      const r = await nodegraf(['--test', '--once', '--configs', c], { HOSTNAME: 'w' });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(`127\\.0\\.0\\.1:${port}/metrics \\(job kube-proxy\\): DOWN: connection refused`),
      );
      assert.match(r.stdout, /kubeproxy_sync_proxy_rules_duration_seconds_bucket/);
    });
  },
);

describe('check', () => {
  test("the article's files parse unchanged; secrets are redacted", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodegraf-cli-'));
    const c = writeConf(
      dir,
      articleConfigToml('http://127.0.0.1:19000/prometheus/v1/write') +
        'basic_auth_user = "u"\nbasic_auth_pass = "s3cret-pass"\n',
      ARTICLE_INPUT(
        'http://127.0.0.1:10249',
        'https://127.0.0.1:10250',
        '/var/run/secrets/kubernetes.io/serviceaccount/token',
      ) + 'bearer_token_string = "s3cret-token"\n',
    );
    const r = await nodegraf(['check', '--configs', c], { HOSTNAME: 'worker-7' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /worker-7/);
    assert.match(r.stdout, /10250\/metrics\/cadvisor/);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret/);
    assert.match(r.stderr, /configuration OK: 3 target/);
  });

  test('a type error names file, line and key, exit 2, no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodegraf-cli-'));
    const c = writeConf(
      dir,
      '[global]\nhostname = "x"\ninterval = "soon"\n',
      '[[instances]]\nurls = ["http://127.0.0.1:1/metrics"]\n',
    );
    const r = await nodegraf(['check', '--configs', c]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /config\.toml:3: .*interval/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test('an unset $VAR is an error naming the variable; an unknown key a warning with a suggestion', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodegraf-cli-'));
    const c = writeConf(
      dir,
      '[global]\nhostname = "x"\n',
      '[[instances]]\nurls = ["http://$NODEGRAF_TEST_UNSET_VAR:1/metrics"]\n',
    );
    const r = await nodegraf(['check', '--configs', c]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /prometheus\.toml:2: .*urls.*NODEGRAF_TEST_UNSET_VAR/);
    const d2 = mkdtempSync(join(tmpdir(), 'nodegraf-cli-'));
    const c2 = writeConf(
      d2,
      '[global]\nhostname = "x"\n',
      '[[instances]]\nurls = ["http://127.0.0.1:1/metrics"]\nbearer_token_fil = "/t"\n',
    );
    const r2 = await nodegraf(['check', '--configs', c2]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, /prometheus\.toml:3: .*bearer_token_fil.*did you mean bearer_token_file/);
  });

  test('Categraf single-dash flags work: -test -inputs prometheus', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodegraf-cli-'));
    const port = await freePort();
    const c = writeConf(
      dir,
      '[global]\nhostname = "x"\n',
      `[[instances]]\nurls = ["http://127.0.0.1:${port}/metrics"]\n`,
    );
    const r = await nodegraf(['-test', '-inputs', 'prometheus', '-once', '-configs', c]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /DOWN: connection refused/);
  });
});

describe('small things a first day of use runs into', () => {
  let target: FixtureServer;
  let authed: FixtureServer;
  let dir: string;
  before(async () => {
    target = await startFixtureServer({ routes: { '/metrics': 'first_day_metric{a="1"} 1\n' } });
    authed = await startFixtureServer({ routes: { '/metrics': 'x 1\n' }, tokens: ['the-right-token'] });
    dir = mkdtempSync(join(tmpdir(), 'nodegraf-cli-'));
  });
  after(async () => {
    await target.close();
    await authed.close();
  });
  const conf = (name: string, config: string, input = `[[instances]]\nurls = ["${target.url}/metrics"]\n`) =>
    writeConf(join(dir, name), config, input);
  const sub = (name: string) => {
    mkdirSync(join(dir, name), { recursive: true });
    return name;
  };

  test('every [log] level is a --log-level too; --once without --test is refused', async () => {
    const c = conf(sub('levels'), '[log]\nformat = "json"\n[foo]\nx = 1\n');
    for (const level of ['silent', 'fatal', 'debug']) {
      const r = await nodegraf(['check', '--configs', c, '--log-level', level]);
      assert.equal(r.code, 0, `${level}: ${r.stderr}`);
    }
    const r = await nodegraf(['--once', '--configs', c]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--once works with --test only/);
  });

  test('check: no suggestion for a far-off section, a pointer for writer_opt keys, a ms timeout warned', async () => {
    const c = conf(
      sub('hints'),
      '[foo]\nx = 1\n[[writers]]\nurl = "http://127.0.0.1:1/api/v1/write"\nbatch = 500\ntimeout = 5\n',
    );
    const r = await nodegraf(['check', '--configs', c]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /config\.toml:1: foo: unknown key \(ignored\)/);
    assert.doesNotMatch(r.stderr, /did you mean log/);
    assert.match(r.stderr, /config\.toml:5: writers\.batch: batch is a \[writer_opt\] setting/);
    assert.match(
      r.stderr,
      /config\.toml:6: writers\.timeout: timeout = 5 means 5 milliseconds.*5000 or "5s"/,
    );
  });

  test('an empty configuration folder: check warns, run refuses to start', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const c = await nodegraf(['check', '--configs', empty]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, /warning: no targets: /);
    const r = await nodegraf(['run', '--configs', empty]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no targets: .*nothing to do/);
  });

  test('--inputs with an input nodegraf does not have says so', async () => {
    const r = await nodegraf(['--test', '--inputs', 'mysql', '--configs', conf(sub('mysql'), '')]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /--inputs mysql: nodegraf has no such input \(it has prometheus, kube_proxy, kubelet/,
    );
  });

  test('a 401 with a token that is not a JWT names the token file and says so', async () => {
    const d = sub('jwt');
    const c = conf(d, '', `[[instances]]\nurls = ["${authed.url}/metrics"]\nbearer_token_file = "token"\n`);
    writeFileSync(join(c, 'token'), 'not-the-right-one\n');
    const r = await nodegraf(['--test', '--once', '--configs', c]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`token in ${join(c, 'token')} \\(17 characters\\) is not a JWT`));
  });

  test('a relative bearer_token_file is read from the configuration folder, whatever the working directory', async () => {
    const d = sub('relative');
    const c = conf(
      d,
      '',
      `[[instances]]\nurls = ["${authed.url}/metrics"]\nbearer_token_file = "secrets/token"\n`,
    );
    mkdirSync(join(c, 'secrets'));
    writeFileSync(join(c, 'secrets', 'token'), 'the-right-token\n');
    const r = await nodegraf(['--test', '--once', '--configs', c], {}, 60_000, tmpdir());
    assert.equal(r.code, 0, r.stderr);
  });

  test('an instance without a job label: the same in --test, doctor and what is sent (no job)', async () => {
    const c = conf(sub('nojob'), '');
    const t = await nodegraf(['--test', '--once', '--format', 'prom', '--configs', c]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stderr, /\(no job label\): up/);
    assert.match(t.stdout, /^first_day_metric\{a="1",ident="[^"]+",instance="127\.0\.0\.1:\d+"\} 1 \d+$/m);
    const d = await nodegraf(['doctor', '--configs', c]);
    assert.match(d.stdout, /^OK +target \(no job label\) http:\/\/127\.0\.0\.1:\d+\/metrics/m);
  });

  test('--log-level debug logs every scrape and every request', async () => {
    const rx = await startWriteReceiver();
    const c = conf(
      sub('debug'),
      `[global]\ninterval = 1\n[[writers]]\nurl = "${rx.url}"\n[queue]\ndir = ""\n[http]\naddress = "127.0.0.1:0"\n`,
    );
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'run', '--configs', c, '--log-level', 'debug'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d));
    try {
      await waitFor(
        'a scrape and a request logged',
        () => /DEBUG scraped/.test(log) && /DEBUG sent/.test(log),
        20_000,
      );
    } finally {
      child.kill('SIGTERM');
      await rx.close();
    }
    assert.match(log, /DEBUG scraped target=http:\/\/127\.0\.0\.1:\d+\/metrics .*up=true .*samples=1/);
  });
});
