// Secrets render themselves redacted on every output path, and give their value only to reveal().
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { format, inspect } from 'node:util';
import pino from 'pino';
import { loadConfig } from './load.js';
import { Secret, SecretUrl } from './secret.js';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PASS = 'hunter2-PASSWORD';
const TOKEN = 'tok-SECRET-42';

/** Every way a value reaches an output: String, template, JSON, inspect, format, a pino line. */
function outputs(v: unknown): string[] {
  const lines: string[] = [];
  const log = pino(
    { base: undefined },
    new Writable({
      write(c: Buffer, _e, cb) {
        lines.push(c.toString());
        cb();
      },
    }),
  );
  log.info({ v }, 'x');
  return [
    String(v),
    `${v as string}`,
    JSON.stringify(v),
    JSON.stringify({ v }),
    inspect(v),
    inspect({ v }, { depth: 9 }),
    format('%s %o %j', v, v, v),
    ...lines,
  ];
}

test('a Secret shows <secret> through String, templates, JSON, util.inspect, util.format and pino; reveal() gives the value', () => {
  const s = new Secret(PASS);
  for (const out of outputs(s)) {
    assert.ok(!out.includes(PASS), out);
    assert.match(out, /<secret>/, out);
  }
  assert.equal(s.reveal(), PASS);
});

test('a SecretUrl shows its password and token query values as <secret>, the rest as is', () => {
  const u = new SecretUrl(`https://writer:${PASS}@vm.example/api/v1/write?access_token=${TOKEN}&db=x`);
  for (const out of outputs(u)) {
    assert.ok(!out.includes(PASS) && !out.includes(TOKEN), out);
    assert.match(
      out,
      /https:\/\/writer:<secret>@vm\.example\/api\/v1\/write\?access_token=<secret>&db=x/,
      out,
    );
  }
  assert.equal(new URL(u.reveal()).password, PASS);
});

test('the loaded configuration holds every credential as a Secret: dumping the whole Config leaks none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nodegraf-secret-'));
  mkdirSync(join(dir, 'input.prometheus'));
  writeFileSync(
    join(dir, 'config.toml'),
    `[[writers]]\nurl = "https://w:${PASS}@vm.example/api/v1/write?token=${TOKEN}"\nbasic_auth_user = "u"\nbasic_auth_pass = "${PASS}"\nheaders = ["Authorization", "Bearer ${TOKEN}", "X-Scope-OrgID", "tenant-1"]\n`,
  );
  writeFileSync(
    join(dir, 'input.prometheus', 'p.toml'),
    `[[instances]]\nurls = ["http://u:${PASS}@127.0.0.1:9100/metrics?api_key=${TOKEN}"]\nbearer_token_string = "${TOKEN}"\nusername = "u"\npassword = "${PASS}"\nheaders = ["X-Api-Key", "${TOKEN}"]\n`,
  );
  const { config } = loadConfig(dir, { env: {} });
  for (const out of outputs(config))
    assert.ok(!out.includes(PASS) && !out.includes(TOKEN), out.slice(0, 400));
  // a header that is not a credential stays readable
  assert.match(inspect(config, { depth: 9 }), /X-Scope-OrgID.*tenant-1/s);
});
