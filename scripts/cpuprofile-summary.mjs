#!/usr/bin/env node
/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): busy time, then the functions with the
 * most self time, as a share of busy time (idle excluded). Used to read a profile of
 * `switchboard serve` under SIPp load (issue 15, the hot path).
 *
 *   node scripts/cpuprofile-summary.mjs <file.cpuprofile | directory> [rows]
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const [target, rowsText = '40'] = process.argv.slice(2);
if (target === undefined) {
  process.stderr.write('usage: cpuprofile-summary.mjs <file.cpuprofile | directory> [rows]\n');
  process.exit(2);
}
const file = statSync(target).isDirectory()
  ? join(target, readdirSync(target).filter((name) => name.endsWith('.cpuprofile')).sort().pop() ?? '')
  : target;
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const selfById = new Map();
profile.samples.forEach((id, index) => selfById.set(id, (selfById.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
const selfByName = new Map();
let idle = 0;
let total = 0;
for (const [id, micros] of selfById) {
  const frame = nodes.get(id).callFrame;
  total += micros;
  if (frame.functionName === '(idle)') {
    idle += micros;
    continue;
  }
  const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
  selfByName.set(name, (selfByName.get(name) ?? 0) + micros);
}
const busy = total - idle;
process.stdout.write(`${file}\ntotal ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms, busy ${(busy / 1000).toFixed(0)} ms\n`);
for (const [name, micros] of [...selfByName].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsText))) {
  process.stdout.write(`${((100 * micros) / busy).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${name}\n`);
}
