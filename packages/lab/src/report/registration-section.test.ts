import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registrationSection } from './registration-section.js';
import { REGISTRATION_METRICS } from './registration-metrics.js';
import type { Block } from './report-document.js';

const point = (overload: string) => ({ model: 'event-loop', workers: 1, state: 'local', fdCache: 0, idleStrategy: 'heap', transport: 'udp', connection: 'persistent', calleeConnection: 'persistent', clients: 3000, extra: { overload } });
const key = (overload: string) => `model=event-loop;workers=1;state=local;fd-cache=0;idle-strategy=heap;transport=udp;connection=persistent;callee-connection=persistent;clients=3000;overload=${overload}`;
const result = { calls: { attempted: 100, completed: 100, successRatio: 1, perSecond: 1000 }, latencyMs: { register: { p50: 1, p99: 4 } }, proxy: { cpuPercentTotal: 60, processes: [{ rssBytesMax: 1048576 }] }, registration: { workload: 'registration', mode: 'udp', clients: 3000 }, failures: {} };
const step = (factor: number, ratio: number, extra: object = {}) => ({ factor, offeredRate: factor * 1000, attempted: 1, completed: 1, goodputPerSecond: ratio * 1000, goodputRatio: ratio, successRatio: 1, failures: {}, ...extra });
const off = { schema: 2, experiment: 'e6', pointKey: key('off'), point: point('off'), repeat: 0, quick: false, serveArgs: [], result, peak: { search: { p99Ms: 500 }, rate: 1000, steps: [{ rate: 1000, outcome: 'pass', p99Ms: 4 }] }, overload: [step(2, 0.5)], invalid: [] };
const on = { schema: 2, experiment: 'e6', pointKey: key('on'), point: point('on'), repeat: 0, quick: false, serveArgs: [], result, capacity: { rate: 1000, of: key('off') }, overload: [step(2, 0.95, { proxyRun: { seconds: 50, requestsReceived: 50_000, overloadShed: 10_000, overloadRejected: 5_000, overloadDropped: 5_000, overloadReadsHeld: 2_500, overloadSeconds: 40, overloadEntered: 1 } }), step(8, 0.3, { invalid: ['generator: out of CPU'] })], invalid: ['peak: the top'] };

const tables = (blocks: Block[]) => blocks.filter((block): block is Extract<Block, { kind: 'table' }> => block.kind === 'table');

test('a point without a ladder shows the capacity it was given and where from; an invalid overload step says so and gives no figure to verdicts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'registration-section-'));
  try {
    await writeFile(join(dir, 'results.jsonl'), `${JSON.stringify(off)}\n${JSON.stringify(on)}\n`);
    const blocks = await registrationSection(dir);
    assert.ok(blocks.some((block) => block.kind === 'text' && /with REGISTER p99 within 500 ms\./.test(block.text)), 'the prose names the ladder\'s p99 bound');
    const [peaks, , goodput] = tables(blocks);
    assert.match(peaks!.rows[0]![2]!, /^1,000 \(5,300\)$/);
    assert.match(peaks!.rows[1]![2]!, /^no ladder: 1,000 of overload off, figures at 2x \(5,300\) — invalid, left out of the verdicts: peak: the top$/);
    assert.deepEqual(goodput!.rows.map((row) => [row[1], row[4], row[5], row[8], row[9]]), [['2x', '0.500', '0.500', '–', ''], ['2x', '0.950', '0.950', '1,000 · 100 · 100 · 50', ''], ['8x', '0.300', '–', '–', 'invalid: generator: out of CPU']], 'what control did over the run, per second, where the proxy logged it; goodput over the most the source served (its ladder\'s 1,000/s)');
    const measured = on as unknown as Parameters<(typeof REGISTRATION_METRICS)['goodputRatioAt2x']>[0];
    assert.equal(REGISTRATION_METRICS.goodputRatioAt2x!(measured), 0.95);
    assert.equal(REGISTRATION_METRICS.goodputRatioAt8x!(measured), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('goodput over the repeats: the median of the valid steps of valid runs with its interval, per configuration and factor', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'registration-section-'));
  try {
    const repeats = [0.5, 0.6, 0.7].map((ratio, repeat) => ({ ...off, repeat, overload: [step(2, ratio), step(4, ratio / 2, repeat === 0 ? { invalid: ['generator: out of CPU'] } : {})] }));
    const invalidRun = { ...off, repeat: 3, overload: [step(2, 9)], invalid: ['foreign load'] };
    await writeFile(join(dir, 'results.jsonl'), [...repeats, invalidRun].map((record) => JSON.stringify(record)).join('\n'));
    const summary = tables(await registrationSection(dir)).at(-2);
    assert.deepEqual(summary?.header, ['configuration', '2x', '4x']);
    assert.equal(summary?.rows.length, 1);
    assert.match(summary!.rows[0]![1]!, /^0\.60 \[0\.\d\d–0\.\d\d\]/, 'three valid runs: a median with an interval, the invalid run left out');
    assert.match(summary!.rows[0]![2]!, /^0\.3[23] /, 'the median of 0.30 and 0.35: the invalid step (0.25) left out');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the knee is read from ladders that started at `from`; a seeded ladder (started near an earlier peak) has none', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'registration-section-'));
  try {
    const steps = (rates: number[]) => rates.map((rate, index) => ({ rate, outcome: 'pass', p99Ms: index === 0 ? 4 : 20 }));
    const fromStart = { ...off, overload: [], peak: { search: { from: 100, p99Ms: 500 }, rate: 338, steps: steps([100, 150, 225, 338]) } };
    const seeded = { ...off, repeat: 1, overload: [], peak: { search: { from: 100, p99Ms: 500 }, rate: 338, steps: steps([225, 338]) } };
    await writeFile(join(dir, 'results.jsonl'), `${JSON.stringify(fromStart)}\n${JSON.stringify(seeded)}\n`);
    const [peaks] = tables(await registrationSection(dir));
    assert.deepEqual(peaks!.rows.map((row) => row.at(-1)), ['150', '– (seeded ladder)']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
