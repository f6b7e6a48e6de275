/**
 * Runs one experiment may take from another instead of measuring them again (`reuse: [e1]`):
 * E2's runs without the fd cache are E1's runs, point for point, when both were made under the
 * same settings. A run is taken when the other experiment's result directory (the sibling of this
 * one's: `results/e1` beside `results/e2`, `experiments/e1` beside `experiments/e2`) holds a
 * final record of the same point key and repeat, and the two configs agree on everything that
 * shapes a run (`reusableSettings`). Anything else is measured as usual.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ExperimentConfig } from './experiment-config.js';
import { EXPERIMENT_RECORD_SCHEMA, type ExperimentRecord } from './experiment-record.js';
import { experimentPoints, pointKey } from './experiment-matrix.js';
import { isFinalRecord, readResultsFile } from './results-file.js';

/** What two experiments must share for a run of one to stand for a run of the other. */
export function reusableSettings(config: ExperimentConfig, quick: boolean): string {
  return JSON.stringify({
    bench: config.bench,
    serve: config.serve,
    budget: config.budget ?? null,
    pin: config.pin ?? null,
    window: config.window,
    implies: config.implies,
    workload: config.workload ?? null,
    peak: (quick ? config.quick.peak : config.peak) ?? null,
    quick: quick ? { durationSeconds: config.quick.durationSeconds, warmupSeconds: config.quick.warmupSeconds } : null,
  });
}

/** The result directory of experiment `id` beside `outDir` (the one of `config`), if the name says which. */
export function siblingDirectory(outDir: string, config: ExperimentConfig, id: string): string | undefined {
  const name = basename(outDir);
  if (!name.includes(config.id)) return undefined;
  return join(dirname(outDir), name.replace(config.id, id));
}

export interface ReusableRuns {
  /** `pointKey#repeat` → the other experiment's record. */
  readonly runs: ReadonlyMap<string, ExperimentRecord>;
  /** Experiments named in `reuse` whose runs could not be taken, and why. */
  readonly refused: ReadonlyArray<{ readonly id: string; readonly reason: string }>;
}

export async function reusableRuns(config: ExperimentConfig, outDir: string, quick: boolean): Promise<ReusableRuns> {
  const runs = new Map<string, ExperimentRecord>();
  const refused: Array<{ id: string; reason: string }> = [];
  const mine = reusableSettings(config, quick);
  for (const id of config.reuse) {
    const dir = siblingDirectory(outDir, config, id);
    if (dir === undefined || !existsSync(join(dir, 'experiment.json')) || !existsSync(join(dir, 'results.jsonl'))) {
      refused.push({ id, reason: `no results of ${id} beside ${outDir}` });
      continue;
    }
    let other: ExperimentConfig;
    try {
      other = JSON.parse(await readFile(join(dir, 'experiment.json'), 'utf8')) as ExperimentConfig;
    } catch (error) {
      refused.push({ id, reason: `${join(dir, 'experiment.json')}: ${(error as Error).message}` });
      continue;
    }
    if (reusableSettings(other, quick) !== mine) {
      refused.push({ id, reason: `${id} was run under other settings (bench, serve, budget, window, implies, workload or peak differ)` });
      continue;
    }
    for (const record of await readResultsFile(join(dir, 'results.jsonl'))) {
      if (record.schema !== EXPERIMENT_RECORD_SCHEMA || record.quick !== quick || !isFinalRecord(record) || record.reusedFrom !== undefined) continue;
      const key = `${record.pointKey}#${record.repeat}`;
      if (!runs.has(key)) runs.set(key, { ...record, reusedFrom: id });
    }
  }
  return { runs, refused };
}

/** The point keys of `config` that the experiments it reuses (given as configs) run under the same settings. */
export function reusedPointKeys(config: ExperimentConfig, others: readonly ExperimentConfig[], quick = false): Set<string> {
  const mine = reusableSettings(config, quick);
  const theirs = new Set(others.filter((other) => config.reuse.includes(other.id) && reusableSettings(other, quick) === mine).flatMap((other) => experimentPoints(other, quick).map(pointKey)));
  return new Set(experimentPoints(config, quick).map(pointKey).filter((key) => theirs.has(key)));
}
