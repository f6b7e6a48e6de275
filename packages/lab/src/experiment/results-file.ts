/**
 * An experiment's `results.jsonl`: one record per run, appended as each run ends, so a line cut
 * short by an interruption is skipped (that run is simply run again).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ExperimentRecord } from './experiment-record.js';

/** The records of `file` in the order written; none when there is no file. */
export async function readResultsFile(file: string): Promise<ExperimentRecord[]> {
  if (!existsSync(file)) return [];
  const records: ExperimentRecord[] = [];
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line) as ExperimentRecord);
    } catch {
      // A line cut short by an interruption.
    }
  }
  return records;
}

/** Measured, or found invalid without a measurement (no ladder step could run): either way the run is done. */
export function isFinalRecord(record: ExperimentRecord): boolean {
  return record.result !== undefined || (record.invalid?.length ?? 0) > 0;
}
