// Where the shared test data lives (../shared beside the repository), and skip helpers.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SHARED = resolve(
  process.env.NODEGRAF_SHARED ?? join(import.meta.dirname, '..', '..', '..', 'shared'),
);
export const FIXTURES = join(SHARED, 'fixtures', 'real');
export const PEERS = process.env.NODEGRAF_PEERS ?? '/opt/peers';

/** A reason to skip, or undefined when the real captures are present. */
export function fixturesMissing(): string | undefined {
  return existsSync(FIXTURES) ? undefined : `real captures not found at ${FIXTURES} (set NODEGRAF_SHARED)`;
}

export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}
