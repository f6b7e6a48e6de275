#!/usr/bin/env node
// `npm run experiments:reference [-- e1 e3 ...] [-- --fresh] [-- --estimate] [-- --summary]`: the committed
// reference runs. Runs each experiment config (default: every configs/experiments/*.yaml) into
// experiments/<id>/ and writes its report there.
//
// - Resumable: a result set made under the current rules (schema 2) is resumed, so a long set can
//   be finished over several sittings (stop with Ctrl-C; run the same command again). A result
//   set from before the rules (schema 1) is replaced. `--fresh` starts every chosen experiment over.
// - Duration: the whole set takes many hours on a 2-core machine (see docs/lab.md). `--estimate`
//   prints the estimate per experiment and runs nothing; every run prints it first. Peaks are
//   guessed from the committed results (scaled to a proxy on one CPU), else the ladder's middle.
// - Run on a quiet machine: the figures are only as good as the CPUs are the experiment's own.
// - Closing note: experiments/verdicts.md lists every published figure of every experiment with
//   our interval and verdict beside the earlier runs' answer (experiments/earlier-verdicts.json)
//   and what changed; it is rewritten after the runs, or alone with `--summary`.
// - One at a time: it refuses to start while another experiment run is measuring on the machine
//   (two would share the CPUs each budgets for itself), and an unknown flag or experiment is an
//   error, never a run of everything (`--help` prints this).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { estimateDuration, loadExperimentConfig, loadReportData, reusedPointKeys, verdictSummary } from '@switchboard/lab';

const args = process.argv.slice(2);
const FLAGS = ['--fresh', '--estimate', '--summary', '--help'];
const fresh = args.includes('--fresh');
const estimateOnly = args.includes('--estimate');
const summaryOnly = args.includes('--summary');
const chosen = args.filter((arg) => !arg.startsWith('--'));
// Configs with `runner: model` (E9) are run by `switchboard model run`, not here.
const allIds = readdirSync('configs/experiments').filter((file) => file.endsWith('.yaml') && !/^runner: model$/m.test(readFileSync(join('configs/experiments', file), 'utf8'))).map((file) => file.replace(/\.yaml$/, '')).sort();
const ids = chosen.length > 0 ? chosen : allIds;

/** The comment at the head of this file. */
function usage() {
  const lines = readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1);
  return lines.slice(0, lines.findIndex((line) => !line.startsWith('//'))).map((line) => line.replace(/^\/\/ ?/, '')).join('\n');
}
const unknownFlags = args.filter((arg) => arg.startsWith('--') && !FLAGS.includes(arg));
const unknownIds = chosen.filter((id) => !allIds.includes(id));
if (args.includes('--help') || unknownFlags.length > 0 || unknownIds.length > 0) {
  if (unknownFlags.length > 0 || unknownIds.length > 0) console.error(`unknown ${[...unknownFlags.map((flag) => `flag ${flag}`), ...unknownIds.map((id) => `experiment ${id} (configs/experiments has ${allIds.join(', ')})`)].join('; ')}\n`);
  console.error(usage());
  process.exit(args.includes('--help') && unknownFlags.length === 0 && unknownIds.length === 0 ? 0 : 2);
}

/** Other experiment runs measuring on this machine: `switchboard experiment run` or this script, with their pid and directory. */
function otherExperimentRuns() {
  if (!existsSync('/proc')) return [];
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid && Number(entry) !== process.ppid).flatMap((pid) => {
    let argv;
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      return [];
    }
    const script = argv.findIndex((arg) => arg.endsWith('switchboard.js'));
    const running = argv.some((arg) => arg.endsWith('reference-experiments.mjs')) || (script >= 0 && argv[script + 1] === 'experiment' && argv[script + 2] === 'run');
    if (!running) return [];
    let cwd = '?';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // Ended meanwhile, or not ours to read.
    }
    return [`pid ${pid} in ${cwd}`];
  });
}

async function writeSummary() {
  const reports = [];
  for (const id of allIds) if (existsSync(join('experiments', id, 'results.jsonl'))) reports.push({ id, data: await loadReportData(join('experiments', id)) });
  const earlier = JSON.parse(readFileSync(join('experiments', 'earlier-verdicts.json'), 'utf8')).experiments;
  writeFileSync(join('experiments', 'verdicts.md'), verdictSummary(reports, earlier));
  console.error('experiments/verdicts.md written');
}
if (summaryOnly) {
  await writeSummary();
  process.exit(0);
}
const bin = join('packages', 'cli', 'bin', 'switchboard.js');
// The committed schema-1 runs shared two cores between proxy and generator; a proxy on one CPU
// of its own reaches roughly this share of their rates (a guess for the estimate only).
const ONE_CPU_SCALE = 0.6;

function records(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '').flatMap((line) => {
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });
}

const hours = (seconds) => `${(seconds / 3600).toFixed(1)} h`;
let total = 0;
for (const id of ids) {
  const config = await loadExperimentConfig(join('configs', 'experiments', `${id}.yaml`));
  const earlier = new Map(records(join('experiments', id, 'results.jsonl')).filter((record) => record.result !== undefined).map((record) => [record.pointKey, record.result.calls.perSecond * (record.schema === 'switchboard-experiment/1' ? ONE_CPU_SCALE : 1)]));
  const others = await Promise.all(config.reuse.map((other) => loadExperimentConfig(join('configs', 'experiments', `${other}.yaml`))));
  const estimate = estimateDuration(config, (_point, key) => earlier.get(key), reusedPointKeys(config, others));
  total += estimate.seconds;
  console.error(`${id}: ${estimate.points} points × ${config.repeats} repeats, about ${estimate.measurements} measurements, about ${hours(estimate.seconds)}`);
}
console.error(`total: about ${hours(total)}`);
if (estimateOnly) process.exit(0);
const others = otherExperimentRuns();
if (others.length > 0) {
  console.error(`another experiment run is measuring on this machine (${others.join('; ')}): two runs would share the CPUs each gives its proxy and generator. Stop it first (it finishes its run in progress on SIGINT).`);
  process.exit(1);
}

for (const id of ids) {
  const out = join('experiments', id);
  const results = join(out, 'results.jsonl');
  const legacy = records(results).some((record) => record.schema === 'switchboard-experiment/1');
  if (existsSync(results) && (fresh || legacy)) rmSync(results);
  for (const command of [['experiment', 'run', join('configs', 'experiments', `${id}.yaml`), '--out', out], ['report', out]]) {
    const result = spawnSync(process.execPath, [bin, ...command], { stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}
await writeSummary();
