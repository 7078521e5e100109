// Each configuration key is declared once (src/config/keys.ts): the loader reads exactly the
// declared keys of every section, and docs/configuration.md shows the declared tables.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { CONFIG_KEYS, DEFAULTS, renderKeyTables, type Section } from './keys.js';
import { renderEffectiveConfig } from './effective.js';
import { loadConfig } from './load.js';
import { ConfigError } from './types.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** The keys the loader knows, by section, for a configuration with every kind of table present. */
function loaderKeys(): Map<string, Set<string>> {
  const dir = mkdtempSync(join(tmpdir(), 'nodegraf-keys-'));
  writeFileSync(join(dir, 'config.toml'), '[[writers]]\nurl = "http://127.0.0.1:8428/api/v1/write"\n');
  for (const [input, text] of [
    [
      'prometheus',
      '[[instances]]\nurls = ["http://127.0.0.1:9100/metrics"]\n[[instances.relabel_configs]]\naction = "keep"\n',
    ],
    ['kube_proxy', '# defaults\n'],
    ['kubelet', '# defaults\n'],
  ]) {
    mkdirSync(join(dir, `input.${input}`));
    writeFileSync(join(dir, `input.${input}`, `${input}.toml`), text);
  }
  const readKeys = new Map<string, Set<string>>();
  loadConfig(dir, { env: {}, readKeys });
  return readKeys;
}

const declared = (s: Section) => new Set(CONFIG_KEYS[s].flatMap((k) => k.keys));

test('the loader reads exactly the keys src/config/keys.ts declares, section by section', () => {
  const read = loaderKeys();
  const instanceKeys = declared('instances');
  for (const section of Object.keys(CONFIG_KEYS) as Section[]) {
    const got = read.get(section);
    assert.ok(got, `the loader never finished a ${section} table`);
    const want = declared(section);
    if (section.startsWith('input.')) {
      // a preset: its own keys, and every [[instances]] key
      for (const k of want) assert.ok(got.has(k), `${section}: declared ${k} is not read`);
      for (const k of got)
        assert.ok(want.has(k) || instanceKeys.has(k), `${section}: ${k} is read but not declared`);
    } else {
      assert.deepEqual(
        {
          readNotDeclared: [...got].filter((k) => !want.has(k)),
          declaredNotRead: [...want].filter((k) => !got.has(k)),
        },
        { readNotDeclared: [], declaredNotRead: [] },
        section,
      );
    }
  }
});

test("check's dump shows only declared keys, and every section", () => {
  const dir = mkdtempSync(join(tmpdir(), 'nodegraf-keys-dump-'));
  mkdirSync(join(dir, 'input.prometheus'));
  writeFileSync(join(dir, 'config.toml'), '[[writers]]\nurl = "http://127.0.0.1:8428/api/v1/write"\n');
  writeFileSync(
    join(dir, 'input.prometheus', 'p.toml'),
    '[[instances]]\nurls = ["http://127.0.0.1:9100/metrics"]\n[[instances.relabel_configs]]\naction = "keep"\n',
  );
  const dump = renderEffectiveConfig(loadConfig(dir, { env: {} }).config);
  let section = '';
  const seen = new Set<string>();
  for (const line of dump.split('\n')) {
    const head = /^\[\[?([a-z_.]+)\]\]?$/.exec(line);
    if (head) {
      section = head[1]!;
      seen.add(section);
      continue;
    }
    const key = /^([a-z_]+) = /.exec(line)?.[1];
    if (!key) continue;
    // an instance's interval is its effective one (global interval × interval_times), shown for reading
    if (section === 'instances' && key === 'interval') continue;
    assert.ok(declared(section as Section).has(key), `[${section}] ${key} is shown but not declared`);
  }
  for (const s of Object.keys(CONFIG_KEYS).filter((x) => !x.startsWith('input.')))
    assert.ok(seen.has(s), `check's dump has no [${s}]`);
});

test('docs/configuration.md shows the declared key tables (npm run kit regenerates them)', () => {
  const doc = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
  assert.equal(renderKeyTables(doc), doc, 'docs/configuration.md is stale: run npm run kit');
  for (const section of Object.keys(CONFIG_KEYS))
    assert.match(
      doc,
      new RegExp(`<!-- keys ${section.replace('.', '\\.')}: generated`),
      `no table for ${section}`,
    );
});

test("the loader's defaults (DEFAULTS) are declared keys and what the docs say they are", () => {
  for (const [section, defaults] of Object.entries(DEFAULTS) as Array<[Section, Record<string, unknown>]>) {
    for (const [key, value] of Object.entries(defaults)) {
      const doc = CONFIG_KEYS[section].find((k) => k.keys.includes(key));
      assert.ok(doc, `DEFAULTS.${section}.${key} is not a declared key`);
      // the docs write durations in seconds unless the key's numbers are milliseconds
      const shown =
        typeof value === 'number' && /duration/.test(doc.type) && !/\*\*ms\*\*/.test(doc.type)
          ? String(value / 1000)
          : Array.isArray(value)
            ? JSON.stringify(value).replace(/,/g, ', ')
            : String(value);
      assert.ok(
        doc.default.includes(shown),
        `[${section}] ${key}: the docs say ${doc.default}, the loader uses ${shown}`,
      );
    }
  }
});

test('credentials are declared secret, and a reload leaves the restart-only sections alone', () => {
  const secrets = Object.values(CONFIG_KEYS)
    .flat()
    .filter((k) => k.secret)
    .flatMap((k) => k.keys)
    .sort();
  assert.deepEqual(secrets, ['basic_auth_pass', 'bearer_token_string', 'password']);
  for (const s of ['http', 'log', 'pod_metadata', 'derive'] as Section[])
    assert.ok(
      CONFIG_KEYS[s].every((k) => k.reload === 'restart'),
      s,
    );
});

/** A configuration folder with `key = value` in one table of `section`. */
function configWith(section: Section, line: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nodegraf-keys-check-'));
  const writer = '[[writers]]\nurl = "http://127.0.0.1:8428/api/v1/write"\n';
  const instance = '[[instances]]\nurls = ["http://127.0.0.1:9100/metrics"]\n';
  const files: Record<string, string> = { 'config.toml': writer };
  const relabel = '[[instances.relabel_configs]]\nsource_labels = ["a"]\ntarget_label = "b"\n';
  if (section === 'writers') files['config.toml'] = `${writer}${line}\n`;
  else if (section === 'instances') files['input.prometheus/p.toml'] = `${instance}${line}\n`;
  else if (section === 'instances.relabel_configs')
    files['input.prometheus/p.toml'] = `${instance}${relabel}${line}\n`;
  else if (section === 'input.prometheus') files['input.prometheus/p.toml'] = `${line}\n${instance}`;
  else if (section.startsWith('input.'))
    files[`${section}/${section.slice('input.'.length)}.toml`] = `${line}\n`;
  else files['config.toml'] = `${writer}[${section}]\n${line}\n`;
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

test('the checks keys.ts declares (min, oneOf) are what the loader enforces, with file, line and key', () => {
  const cases: Array<{ section: Section; key: string; bad: string; good: string }> = [];
  for (const [section, docs] of Object.entries(CONFIG_KEYS) as Array<
    [Section, (typeof CONFIG_KEYS)[Section]]
  >) {
    for (const doc of docs) {
      for (const key of doc.keys) {
        if (doc.oneOf) {
          const good = doc.ignoreCase ? doc.oneOf.at(-1)!.toUpperCase() : doc.oneOf.at(-1)!;
          cases.push({ section, key, bad: `${key} = "not-a-${key}"`, good: `${key} = "${good}"` });
        }
        if (doc.min !== undefined) {
          const duration = /duration/.test(doc.type);
          cases.push({
            section,
            key,
            bad: duration ? `${key} = "${doc.min - 1 || 0.5}ms"` : `${key} = ${doc.min - 1}`,
            good: duration ? `${key} = "${doc.min}ms"` : `${key} = ${doc.min}`,
          });
        }
      }
    }
  }
  assert.ok(cases.length >= 15, `only ${cases.length} declared checks`);
  for (const c of cases) {
    const good = configWith(c.section, c.good);
    assert.doesNotThrow(() => loadConfig(good, { env: {} }), `${c.section} ${c.good} is refused`);
    const bad = configWith(c.section, c.bad);
    assert.throws(
      () => loadConfig(bad, { env: {} }),
      (err: Error) => {
        assert.ok(err instanceof ConfigError, `${c.section} ${c.bad}: ${String(err)}`);
        assert.ok(err.key.endsWith(c.key), `${c.section} ${c.bad}: error names ${err.key}`);
        assert.ok(err.line > 0, `${c.section} ${c.bad}: no line`);
        return true;
      },
      `${c.section} ${c.bad} is accepted`,
    );
  }
});
