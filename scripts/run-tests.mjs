#!/usr/bin/env node
// Runs every compiled test file (`*.test.js` under packages/*/dist and test/dist) with node:test.
// Node 20's runner takes no globs, so the files are listed here. Extra arguments are passed on
// (for example `npm test -- --test-name-pattern=framer`).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const roots = [
  ...readdirSync('packages').map((name) => join('packages', name, 'dist')),
  join('test', 'dist'),
];

function collect(dir, out) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (entry.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = roots.flatMap((root) => collect(root, [])).sort();
if (files.length === 0) {
  console.error('run-tests: no compiled test files found; run `npm run build` first');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', ...process.argv.slice(2), ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
