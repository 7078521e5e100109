// How the image and the bin launch nodegraf (the first line of src/cli/main.ts: malloc setting and
// node flags, measured in docs/performance.md), for tests and the soak that start the agent
// themselves, so that what they measure is what runs on the nodes.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export function agentLaunch(): { env: Record<string, string>; flags: string[] } {
  const first = readFileSync(resolve(import.meta.dirname, '..', 'cli', 'main.ts'), 'utf8').split('\n')[0]!;
  const words = first.replace('#!/usr/bin/env -S ', '').split(' ');
  const node = words.indexOf('node');
  const env = Object.fromEntries(words.slice(0, node).map((w) => w.split('=') as [string, string]));
  return { env, flags: words.slice(node + 1) };
}
