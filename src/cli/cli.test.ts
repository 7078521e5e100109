// The command line as an operator uses it: the article's configuration pointed at loopback servers
// serving the real captures, `--test --once`, `check` on good and broken configurations.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAll } from '../parse/parse-all.js';
import { startFixtureServer, type FixtureServer } from '../testing/fixture-server.js';
import { freePort, selfSignedCert } from '../testing/net.js';
import { fixture, fixturesMissing } from '../testing/shared.js';
import { nodegraf } from '../testing/cli.js';
import { articleConfigToml, articleInputToml } from './demo.js';

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
