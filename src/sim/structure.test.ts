// The simulator stays data-driven: no function in src/sim/ grows past ~80 lines (a new family or
// endpoint is a table row, a new situation a scenario template, not a longer renderer).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const MAX_LINES = 80;

test(`no function in src/sim/ is longer than ${MAX_LINES} lines`, () => {
  const dir = import.meta.dirname;
  const long: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts') && !x.endsWith('.test.ts'))) {
    const src = ts.createSourceFile(f, readFileSync(join(dir, f), 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node) => {
      if (ts.isFunctionLike(n) && 'body' in n && n.body) {
        const from = src.getLineAndCharacterOfPosition(n.getStart()).line;
        const to = src.getLineAndCharacterOfPosition(n.getEnd()).line;
        if (to - from + 1 > MAX_LINES) long.push(`${f}:${from + 1} (${to - from + 1} lines)`);
      }
      ts.forEachChild(n, visit);
    };
    visit(src);
  }
  assert.deepEqual(long, []);
});
