#!/usr/bin/env node
// Runs every compiled test file (`*.test.js` under packages/*/dist and test/dist) with node:test.
// Node 20's runner takes no globs, so the files are listed here. Extra arguments are passed on
// (for example `npm test -- --test-name-pattern=framer`).
//
// Files run two at a time (SWITCHBOARD_TEST_CONCURRENCY, default 2; Node's own default is one
// fewer than the CPUs, so one on a 2-core machine): most of the time goes to SIPp calls at
// modest rates, timers and process start-ups, which overlap well. Every test listens on port 0
// (or a port it was just given), names its temporary files and cgroups uniquely and asserts no
// timing, so two files never meet.
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
const concurrency = Number(process.env.SWITCHBOARD_TEST_CONCURRENCY ?? 2);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`run-tests: SWITCHBOARD_TEST_CONCURRENCY must be a whole number of files, not ${process.env.SWITCHBOARD_TEST_CONCURRENCY}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...process.argv.slice(2), ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
