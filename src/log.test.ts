import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from './log.js';

function capture(format: 'json' | 'text') {
  let out = '';
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      out += chunk.toString();
      cb();
    },
  });
  return { log: createLogger('info', format, stream), text: () => out };
}

test('JSON logs name their level; text logs print it in capitals', () => {
  const j = capture('json');
  j.log.warn({ writer: 'w' }, 'remote write failed');
  assert.equal(JSON.parse(j.text()).level, 'warn');
  const t = capture('text');
  t.log.warn({ writer: 'w' }, 'remote write failed');
  assert.match(t.text(), /^\S+ WARN remote write failed writer=w\n$/);
});

test('credentials are redacted by key wherever they appear', () => {
  const j = capture('json');
  j.log.info({ headers: { authorization: 'Bearer secret-token' }, password: 'p' }, 'x');
  assert.doesNotMatch(j.text(), /secret-token|"p"/);
});
