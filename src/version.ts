// The agent's version, read once from package.json (one source of truth for `--version`, the
// User-Agent of scrapes and remote write, and the status page).
import { readFileSync } from 'node:fs';

// src/version.ts (tsx) and dist/version.js are both one folder below the package root.
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export const VERSION: string = pkg.version;
