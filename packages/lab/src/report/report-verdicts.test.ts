import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BenchResult } from '@switchboard/bench';
import { parseExperimentConfig } from '../experiment/experiment-config.js';
import { pointKey } from '../experiment/experiment-matrix.js';
import type { ExperimentPoint, ExperimentRecord } from '../experiment/experiment-record.js';
import { loadReportData } from './report-data.js';

/**
 * A synthetic result set built so that each published figure gets one verdict: every point runs
 * three times with ±1% noise, at a chosen throughput (the `extra.case` names the point).
 */
const MACHINE = { cpu: 'Test CPU', cores: 2, memoryGiB: 8, node: 'v20.0.0', platform: 'linux test', cpusAllowed: '0-1', date: '2026-12-01T00:00:00.000Z' };

/** Calls/s of each case's three runs. */
const CASES: Record<string, { rates: number[]; success?: number; generator?: number }> = {
  base: { rates: [1000, 1010, 990] },
  double: { rates: [2000, 2020, 1980] }, // base × 2: reproduces a published 2 (band 1.33–3)
  slight: { rates: [1080, 1090, 1070] }, // base × 1.08: right side of 1 for a published 3, far below it
  lower: { rates: [900, 910, 890] }, // base × 0.9: wrong side of 1 for a published 2
  noisy: { rates: [700, 1300, 1000] }, // spans 1 against base
  failing: { rates: [3000, 3000, 3000], success: 0.95 }, // below 99.9%: never compared
  generatorBound: { rates: [3000, 3000, 3000], generator: 99 }, // invalid: the generator ran out
};

function result(point: ExperimentPoint, callsPerSecond: number, success: number, generator: number): BenchResult {
  return {
    schema: 'switchboard-bench/1',
    startedAt: MACHINE.date,
    settings: { proxy: '127.0.0.1:5060', domain: 'bench.test', transport: 'udp', clients: 100, pairs: 100, callerConnection: 'persistent', calleeConnection: 'persistent', durationSeconds: 8, warmupSeconds: 2, holdMs: 0, timeoutMs: 5000, procs: 1 },
    machine: MACHINE,
    windowSeconds: 8,
    operations: { invite: callsPerSecond * 8, bye: callsPerSecond * 8, total: callsPerSecond * 16, perSecond: callsPerSecond * 2 },
    calls: { attempted: callsPerSecond * 8, completed: callsPerSecond * 8, failed: 0, perSecond: callsPerSecond, successRatio: success },
    registrations: { attempted: 100, completed: 100, failed: 0 },
    failures: {},
    latencyMs: {},
    generator: { processes: [{ pid: 1, role: 'generator', cpuPercent: generator, cpuPercentMax: generator, rssBytesMax: 1 }], saturated: generator > 90, thresholdPercent: 90, cpuPercentTotal: generator, budgetCores: 1 },
    proxy: { processes: [{ pid: 2, role: 'main', cpuPercent: 90, cpuPercentMax: 90, rssBytesMax: 1 }], cpuPercentTotal: 90 },
  } as BenchResult;
}

const ratioFigure = (label: string, value: number, numerator: string, extra: Record<string, unknown> = {}) => ({ label, value, ours: { metric: 'callsPerSecond', numerator: { case: numerator }, denominator: { case: 'base' } }, ...extra });

test('a synthetic result set gets each verdict right', async () => {
  const config = parseExperimentConfig(
    {
      id: 'verdicts',
      title: 'Every verdict',
      tolerance: 1.5,
      published_figures: [
        ratioFigure('reproduced', 2, 'double'),
        ratioFigure('direction only', 3, 'slight'),
        ratioFigure('not reproduced', 2, 'lower'),
        ratioFigure('inconclusive', 2, 'noisy'),
        ratioFigure('below 99.9% success', 3, 'failing'),
        ratioFigure('generator out of budget', 3, 'generatorBound'),
        ratioFigure('target met', 0.85, 'lower', { compare: 'at-least' }),
        ratioFigure('target missed', 1.5, 'slight', { compare: 'at-least' }),
        { label: 'observation', kind: 'observation', ours: { metric: 'callsPerSecond', numerator: { case: 'double' } } },
      ],
      matrix: { model: ['event-loop'], transport: ['udp'], clients: [100] },
      extra: { case: Object.keys(CASES) },
    },
    'verdicts.yaml',
  );
  const records: ExperimentRecord[] = [];
  for (const [name, spec] of Object.entries(CASES)) {
    const point: ExperimentPoint = { model: 'event-loop', workers: 1, state: 'local', fdCache: 0, idleStrategy: 'heap', transport: 'udp', connection: 'persistent', calleeConnection: 'persistent', clients: 100, extra: { case: name } };
    spec.rates.forEach((rate, repeat) => {
      records.push({ schema: 'switchboard-experiment/2', experiment: 'verdicts', pointKey: pointKey(point), point, repeat, quick: false, machine: MACHINE, serveArgs: [], result: result(point, rate, spec.success ?? 1, spec.generator ?? 40) });
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'verdicts-'));
  try {
    await writeFile(join(dir, 'experiment.json'), JSON.stringify(config));
    await writeFile(join(dir, 'results.jsonl'), `${records.map((record) => JSON.stringify(record)).join('\n')}\n`);
    const data = await loadReportData(dir);
    const verdicts = Object.fromEntries(data.published.map((row) => [row.label, row.verdict]));
    assert.deepEqual(verdicts, {
      reproduced: 'reproduced',
      'direction only': 'direction only',
      'not reproduced': 'not reproduced',
      inconclusive: 'inconclusive',
      'below 99.9% success': 'no valid data',
      'generator out of budget': 'no valid data',
      'target met': 'target met',
      'target missed': 'target missed',
      observation: 'observation',
    });
    const reproduced = data.published.find((row) => row.label === 'reproduced')!;
    assert.equal(reproduced.kind, 'published');
    assert.deepEqual(reproduced.band, [1.3333, 3]);
    assert.ok(reproduced.ours!.low! < 2 && reproduced.ours!.high! > 2);
    assert.equal(data.published.find((row) => row.label === 'target met')!.kind, 'target');
    assert.equal(data.published.find((row) => row.label === 'target met')!.band, undefined, 'a target has no tolerance band');
    assert.ok(!data.points.find((point) => point.point.extra?.case === 'generatorBound')!.valid);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
