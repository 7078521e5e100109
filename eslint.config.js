import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The stages and what each may import (docs/architecture.md). Data flows one way: config -> scrape
// (parse, relabel) -> queue -> write, with server and cli on top. Every folder may import only the
// folders listed for it (and the neutral top-level modules log.ts, version.ts and prompb/), so the
// allowed edges form a DAG: no import cycle between folders can come back, and no lower stage can
// import cli/ or server/. Tests are exempt: an integration test may wire several stages together.
const FOLDERS = [
  'prompb',
  'parse',
  'relabel',
  'config',
  'scrape',
  'kube',
  'derive',
  'queue',
  'write',
  'server',
  'sim',
  'cli',
  'testing',
  'bench',
  'soak',
  'kit',
];
const ALLOWED = {
  prompb: [],
  parse: [],
  relabel: [],
  config: ['relabel'],
  scrape: ['prompb', 'parse', 'relabel', 'config'],
  kube: ['prompb', 'config', 'scrape'],
  derive: ['config', 'scrape'],
  queue: ['prompb'],
  write: ['prompb', 'config', 'queue'],
  server: ['prompb', 'config', 'scrape', 'kube', 'derive', 'queue', 'write'],
  sim: [],
  cli: ['prompb', 'parse', 'relabel', 'config', 'scrape', 'kube', 'derive', 'queue', 'write', 'server', 'sim'],
  // test infrastructure on top of everything (backfill drives the whole agent); nothing but tests import it
  testing: ['prompb', 'parse', 'config', 'sim', 'cli'],
  // benchmarks: the stages they measure, and test infrastructure (the pod view of the enrichment run)
  bench: ['prompb', 'parse', 'relabel', 'config', 'scrape', 'kube', 'derive', 'testing'],
  // the soak drives the whole agent as a process, with the simulator and the test peers
  soak: ['sim', 'testing'],
  // the dashboards, rules and their generator: data; it reads the configuration's key table for the docs
  kit: ['config'],
};
const NEUTRAL = ['log', 'version', 'errno', 'histogram', 'text-format'];

const layering = FOLDERS.map((folder) => {
  const forbidden = FOLDERS.filter((f) => f !== folder && !ALLOWED[folder].includes(f));
  return {
    files: [`src/${folder}/**/*.ts`],
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: forbidden.map((f) => `../${f}/*`),
              message: `src/${folder}/ may import only ${[...ALLOWED[folder].map((f) => f + '/'), ...NEUTRAL.map((n) => n + '.ts')].join(', ') || 'nothing of the project'} (see docs/architecture.md)`,
            },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  // The status page's script runs in the browser (server/status-page.ts inlines it).
  {
    files: ['src/server/status-client.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { document: 'readonly', Node: 'readonly', fetch: 'readonly', setTimeout: 'readonly' },
    },
  },
  // The neutral modules import no stage at all.
  {
    files: ['src/log.ts', 'src/version.ts', 'src/errno.ts', 'src/histogram.ts', 'src/text-format.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['./*/*'], message: 'the neutral modules import no stage' }] },
      ],
    },
  },
  ...layering,
);
