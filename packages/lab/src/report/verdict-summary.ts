/**
 * The closing note of a reference set: every published figure of every experiment with our
 * interval and verdict, beside what the earlier runs (made before the lab's rules) concluded, and
 * whether that conclusion changed. Written from each experiment's report data and the snapshot of
 * the earlier verdicts (`experiments/earlier-verdicts.json`), never by hand.
 */
import type { ReportData } from './report-data.js';
import { withInterval } from './report-document.js';

export interface EarlierVerdict {
  readonly index: number;
  readonly label: string;
  readonly published?: number;
  readonly ours?: number;
  /** The old rule: `yes` = on the same side of 1. */
  readonly reproduces?: 'yes' | 'no' | 'n/a';
}

/**
 * What became of an earlier conclusion under the rules. `line` is what an inconclusive interval
 * spans: 1 for a study's ratio, the value itself for a target of our own (`the target 0.9`).
 */
export function change(earlier: EarlierVerdict | undefined, now: string, line = '1'): string {
  if (earlier === undefined || earlier.reproduces === undefined || earlier.reproduces === 'n/a') return 'new';
  const supported = now === 'reproduced' || now === 'target met';
  if (earlier.reproduces === 'yes') {
    if (supported) return 'held';
    if (now === 'direction only') return 'weakened: right side of 1, magnitude outside the band';
    if (now === 'not reproduced' || now === 'target missed') return 'reversed';
    if (now === 'inconclusive') return `no longer supported: the interval spans ${line}, or one run gives none`;
    if (now === 'no valid data') return 'no longer supported: no valid point';
    return 'changed';
  }
  if (supported) return 'reversed: now supported';
  if (now === 'direction only') return 'now the right direction, magnitude outside the band';
  if (now === 'not reproduced' || now === 'target missed') return 'held';
  return now === 'observation' ? 'now an observation (no published figure)' : `now ${now}`;
}

export function verdictSummary(reports: ReadonlyArray<{ readonly id: string; readonly data: ReportData }>, earlier: Readonly<Record<string, readonly EarlierVerdict[]>>): string {
  const lines = [
    '# Published figures: our intervals and verdicts',
    '',
    'Every published figure of the reference experiments, with our median and 95% interval and the verdict under the lab\'s rules (docs/lab.md, "Verdicts"), beside the earlier runs\' figure and their "same shape" answer (same side of 1 only, one run per point, no CPU budget). Written by `npm run experiments:reference` from each experiment\'s results and experiments/earlier-verdicts.json.',
    '',
  ];
  const counts = new Map<string, number>();
  const changed: string[] = [];
  for (const { id, data } of reports) {
    lines.push(`## ${id.toUpperCase()}: ${data.experiment.title}`, '');
    if (data.setup.legacy) lines.push('**This result set predates the rules** (not rerun yet).', '');
    const completeness = data.setup.completeness;
    if (completeness !== undefined && completeness.finished < completeness.expected) lines.push(`**Incomplete:** ${completeness.finished} of ${completeness.expected} runs finished; these verdicts may change when the set is finished.`, '');
    lines.push(`Tolerance ×/÷ ${data.setup.tolerance}. ${data.setup.runs} runs, ${data.setup.invalidRuns} invalid.`, '');
    lines.push('| figure | kind | published | ours [95% interval] | verdict | earlier: ours, same shape | change |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    data.published.forEach((row, index) => {
      const before = earlier[id]?.find((entry) => entry.index === index);
      const what = change(before, row.verdict, row.kind === 'target' && row.published !== undefined ? `the target ${row.published}` : '1');
      counts.set(row.verdict, (counts.get(row.verdict) ?? 0) + 1);
      if (what !== 'held' && what !== 'new') changed.push(`${id.toUpperCase()} "${row.label}": earlier ${before?.ours ?? '–'} (${before?.reproduces ?? '–'}), now ${withInterval(row.ours, 3)}: ${row.verdict} (${what}).`);
      const published = row.published === undefined ? '–' : row.range === undefined ? String(row.published) : `${row.range[0]}–${row.range[1]}`;
      lines.push(`| ${row.label.replace(/\|/g, '\\|')} | ${row.kind} | ${published} | ${withInterval(row.ours, 3)} | ${row.verdict} | ${before?.ours ?? '–'}, ${before?.reproduces ?? '–'} | ${what} |`);
    });
    lines.push('');
  }
  lines.push('## Which conclusions changed', '');
  lines.push(changed.length === 0 ? 'None.' : changed.map((line) => `- ${line}`).join('\n'), '');
  lines.push('## Verdicts', '', [...counts].map(([verdict, count]) => `- ${verdict}: ${count}`).join('\n'), '');
  return `${lines.join('\n')}`;
}
