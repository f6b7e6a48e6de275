#!/usr/bin/env node
// `npm run experiments:reference [-- e1 e3 ...] [-- --resume]`: the committed reference runs.
// Runs each experiment config (default: every configs/experiments/*.yaml) afresh into
// experiments/<id>/ and writes its report there. `--resume` keeps the runs already recorded.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const resume = args.includes('--resume');
const chosen = args.filter((arg) => !arg.startsWith('--'));
const ids = chosen.length > 0 ? chosen : readdirSync('configs/experiments').filter((file) => file.endsWith('.yaml')).map((file) => file.replace(/\.yaml$/, '')).sort();
const bin = join('packages', 'cli', 'bin', 'switchboard.js');

for (const id of ids) {
  const out = join('experiments', id);
  if (!resume && existsSync(join(out, 'results.jsonl'))) rmSync(join(out, 'results.jsonl'));
  for (const command of [['experiment', 'run', join('configs', 'experiments', `${id}.yaml`), '--out', out], ['report', out]]) {
    const result = spawnSync(process.execPath, [bin, ...command], { stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}
