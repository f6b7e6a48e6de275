import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BenchResult } from '@switchboard/bench';
import { parseExperimentConfig } from '../experiment/experiment-config.js';
import { pointKey } from '../experiment/experiment-matrix.js';
import type { ExperimentPoint, ExperimentRecord } from '../experiment/experiment-record.js';
import type { LadderStep } from '../experiment/peak-ladder.js';
import type { OverloadStep } from '../experiment/overload-steps.js';
import { loadReportData } from './report-data.js';
import { goodputOfServable, servedBest, withSourceServedBest } from './served-best.js';

const MACHINE = { cpu: 'Test CPU', cores: 2, memoryGiB: 8, node: 'v20.0.0', platform: 'linux test', cpusAllowed: '0-1', date: '2026-12-01T00:00:00.000Z' };
const point = (overload: string): ExperimentPoint => ({ model: 'event-loop', workers: 1, state: 'local', fdCache: 0, idleStrategy: 'heap', transport: 'udp', connection: 'persistent', calleeConnection: 'persistent', clients: 100, extra: { overload } });
const pass = (rate: number, achieved = rate): LadderStep => ({ rate, outcome: 'pass', successRatio: 1, achievedCallsPerSecond: achieved });
const fail = (rate: number): LadderStep => ({ rate, outcome: 'fail', successRatio: 1, achievedCallsPerSecond: rate });
const step = (factor: number, goodputPerSecond: number, extra: Partial<OverloadStep> = {}): OverloadStep => ({ factor, offeredRate: factor * 1500, attempted: 1, completed: 1, goodputPerSecond, goodputRatio: goodputPerSecond / 1000, successRatio: 1, failures: {}, ...extra });

function result(callsPerSecond: number): BenchResult {
  return {
    schema: 'switchboard-bench/1',
    startedAt: MACHINE.date,
    settings: { proxy: '127.0.0.1:5060', domain: 'bench.test', transport: 'udp', clients: 100, pairs: 100, callerConnection: 'persistent', calleeConnection: 'persistent', durationSeconds: 10, warmupSeconds: 2, holdMs: 0, timeoutMs: 32000, procs: 1 },
    machine: MACHINE,
    windowSeconds: 10,
    operations: { invite: 0, bye: 0, total: callsPerSecond * 10, perSecond: callsPerSecond },
    calls: { attempted: callsPerSecond * 10, completed: callsPerSecond * 10, failed: 0, perSecond: callsPerSecond, successRatio: 1 },
    registrations: { attempted: 100, completed: 100, failed: 0 },
    failures: {},
    latencyMs: {},
    generator: { processes: [{ pid: 1, role: 'generator', cpuPercent: 40, cpuPercentMax: 40, rssBytesMax: 1 }], saturated: false, thresholdPercent: 90, cpuPercentTotal: 40, budgetCores: 1 },
    proxy: { processes: [{ pid: 2, role: 'main', cpuPercent: 15, cpuPercentMax: 15, rssBytesMax: 1 }], cpuPercentTotal: 15 },
  } as BenchResult;
}

/** A control-off run (its own ladder, peak 1,000/s) and its control-on twin, each offered multiples of 1,500/s. */
function runs(repeat: number, offServed: number, onGoodput: number): ExperimentRecord[] {
  const off = point('off');
  const on = point('on');
  const base = { schema: 'switchboard-experiment/2' as const, experiment: 'served', repeat, quick: false, machine: MACHINE, serveArgs: [] };
  return [
    { ...base, pointKey: pointKey(off), point: off, result: result(1000), peak: { search: { from: 100, to: 6000, factor: 1.5, refine: 1, success: 1, achieved: 0.95, arrivals: 'deterministic', seed: true, p99Ms: 500 }, rate: 1000, steps: [pass(1000, 998), fail(1500)] }, overload: [step(2, offServed), step(4, offServed * 0.9)] },
    { ...base, pointKey: pointKey(on), point: on, result: result(onGoodput), capacity: { rate: 1000, of: pointKey(off) }, overload: [step(2, onGoodput), step(4, onGoodput, { invalid: ['generator: out of CPU'] })] },
  ];
}

test('the most a run served: its passing ladder steps\' achieved rates and its valid overload steps\' goodput, nothing it failed or did not measure', () => {
  const [off] = runs(0, 1900, 1000);
  assert.equal(servedBest(off!), 1900, 'the 2x step served more than the ladder\'s peak');
  assert.equal(servedBest({ ...off!, overload: [step(2, 5000, { invalid: ['generator: out of CPU'] }), step(4, 7000, { error: 'proxy did not start' })] }), 998, 'invalid and failed steps are left out; a passing step counts its achieved rate, a failing one (1,500) none');
  assert.equal(servedBest({ ...off!, peak: undefined, overload: [] }), undefined);
});

test('a control-on step is divided by what its control-off twin served in the same repeat (never another repeat\'s), or by its offered rate where that is less', () => {
  const annotated = withSourceServedBest([...runs(0, 1900, 950), ...runs(1, 2400, 1200)]);
  const [off0, on0, off1, on1] = annotated;
  assert.equal(on0!.sourceServedBest, 1900);
  assert.equal(on1!.sourceServedBest, 2400);
  assert.equal(off0!.sourceServedBest, 1900, 'a run with its own ladder is its own source');
  const ratio = goodputOfServable(2);
  assert.equal(ratio(on0 as Parameters<typeof ratio>[0]), 0.5);
  assert.equal(ratio(off1 as Parameters<typeof ratio>[0]), 1);
  assert.equal(goodputOfServable(4)(on1 as Parameters<typeof ratio>[0]), undefined, 'an invalid step has no ratio');
  const [, on] = runs(0, 2400, 1200);
  assert.equal(ratio({ ...on!, sourceServedBest: 5000 } as Parameters<typeof ratio>[0]), 0.4, 'where the proxy served more than was offered, the offered rate (3,000/s) is what could be served');
  const orphan = withSourceServedBest([runs(0, 1900, 950)[1]!])[0]!;
  assert.equal(orphan.sourceServedBest, undefined, 'without its twin in the set there is no denominator');
  assert.equal(ratio(orphan as Parameters<typeof ratio>[0]), undefined);
});

test('a target on goodput / what could be served is judged from the report\'s records: met by the ratio to capacity, missed by this one', async () => {
  const config = parseExperimentConfig(
    {
      id: 'served',
      title: 'Goodput against what could be served',
      published_figures: [
        { label: 'of capacity', value: 0.9, kind: 'target', compare: 'at-least', ours: { metric: 'goodputRatioAt2x', numerator: { overload: 'on' } } },
        { label: 'of what could be served', value: 0.9, kind: 'target', compare: 'at-least', ours: { metric: 'goodputOfServableAt2x', numerator: { overload: 'on' } } },
      ],
      matrix: { model: ['event-loop'], transport: ['udp'], clients: [100] },
      extra: { overload: ['off', 'on'] },
    },
    'served.yaml',
  );
  // Control on serves 1.2-1.3x the ladder's peak, and half of what the proxy served without it.
  const records = [...runs(0, 2400, 1200), ...runs(1, 2500, 1250), ...runs(2, 2600, 1300)];
  const dir = await mkdtemp(join(tmpdir(), 'served-best-'));
  try {
    await writeFile(join(dir, 'experiment.json'), JSON.stringify(config));
    await writeFile(join(dir, 'results.jsonl'), `${records.map((record) => JSON.stringify(record)).join('\n')}\n`);
    const data = await loadReportData(dir);
    const byLabel = Object.fromEntries(data.published.map((row) => [row.label, row]));
    assert.equal(byLabel['of capacity']!.verdict, 'target met');
    assert.equal(byLabel['of what could be served']!.verdict, 'target missed');
    assert.equal(byLabel['of what could be served']!.ours!.estimate, 0.5);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
