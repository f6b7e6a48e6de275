import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { batchMeans } from './batch-means.js';
import { simulateMg1 } from './mg1-simulation.js';
import { fileURLToPath } from 'node:url';
import { loadQueueingConfig, parseQueueingConfig } from './queueing-config.js';
import { writeQueueingReport } from './queueing-report.js';
import { QUEUEING_RECORD_SCHEMA, type QueueingRecord } from './run-queueing.js';
import { momentsByKind } from './service-moments.js';

const MACHINE = { cpu: 'test', cores: 2, memoryGiB: 1, node: 'v20', platform: 'linux', cpusAllowed: '0-1', date: '2026-12-02T00:00:00Z' };

/** A record as `switchboard model run` writes it, from a simulated queue (every message one type). */
function record(rate: number, messagesPerCall: number): QueueingRecord {
  const lambda = rate * messagesPerCall;
  const { waits, services } = simulateMg1({ lambda, customers: 40_000, seed: rate, service: (random) => -Math.log(random()) * 100e-6 });
  const service = momentsByKind(services.map((serviceSeconds, i) => ({ kind: ['INVITE', '180', '200', 'ACK', 'BYE', '200-BYE'][i % 6] as string, serviceSeconds })));
  return {
    schema: QUEUEING_RECORD_SCHEMA,
    key: `exponential@${rate}`,
    quick: false,
    machine: MACHINE,
    windowSeconds: 20,
    measurement: { arrivals: 'exponential', offeredCallsPerSecond: rate, achievedCallsPerSecond: rate, successRatio: 1, lambda, service, waiting: batchMeans(waits, 20), residenceMean: Number.NaN, matched: waits.length, traced: waits.length, waitingByKind: {} },
  };
}

test('switchboard model report: Table II, where the model holds, a chart, saturation from the service times', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-e9-report-'));
  try {
    await writeFile(join(dir, 'model.json'), JSON.stringify({ title: 'E9 test', study: '003', published: 'published text', traceSample: 1, pairs: 10 }));
    await writeFile(join(dir, 'points.jsonl'), `${[record(200, 6), record(800, 6)].map((r) => JSON.stringify(r)).join('\n')}\n`);
    const written = await writeQueueingReport(dir, { efficiencyFile: join(dir, 'none.json'), modelsFile: join(dir, 'none.json'), note: 'A test run.' });
    const markdown = await readFile(written.markdown, 'utf8');
    assert.match(markdown, /## Table II/);
    assert.match(markdown, /\| exponential \| 200 \| 200 \| 100\.00% \| 1200 \|/);
    assert.match(markdown, /the model holds at every load measured/);
    // 6 messages of 100 µs per call: ρ = 1 at about 1,667 calls/s.
    assert.match(markdown, /\| event-loop \| E9 --timing, exponential, Σ E\[X\] of INVITE, 180, 200, ACK, BYE, 200-BYE at 200 calls\/s \| (59\d|60\d|61\d) \| 1 \| 1[67]\d\d \| 800 \|/);
    assert.ok(existsSync(join(dir, 'charts', 'waiting.svg')));
    assert.match(await readFile(join(dir, 'charts', 'waiting.svg'), 'utf8'), /<svg/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('switchboard model report without results, and a bad config: coded errors', async () => {
  await assert.rejects(writeQueueingReport('/nonexistent/e9'), { code: 'ERR_SWITCHBOARD_MODEL_NO_RESULTS' });
  assert.throws(() => parseQueueingConfig({ id: 'e9', runner: 'experiment' }, 'e9.yaml'), { code: 'ERR_SWITCHBOARD_MODEL_CONFIG', message: /runner/ });
  assert.throws(() => parseQueueingConfig({ id: 'e9', runner: 'model', title: 't', study: 's', published: 'p', rates: [100], window: 10, arrivals: ['pareto'] }, 'e9.yaml'), { message: /arrivals/ });
  const config = parseQueueingConfig({ id: 'e9', runner: 'model', title: 't', study: 's', published: 'p', rates: [100, 200], window: 10, 'proxy-nice': -10 }, 'e9.yaml');
  assert.deepEqual([config.arrivals, config.proxyNice, config.quick.rates], [['exponential'], -10, [100, 200]]);
});

test('configs/experiments/e9.yaml is a valid queueing config, low load to past saturation, both arrival processes', async () => {
  const config = await loadQueueingConfig(fileURLToPath(new URL('../../../../configs/experiments/e9.yaml', import.meta.url)));
  assert.deepEqual([...config.arrivals].sort(), ['deterministic', 'exponential']);
  assert.ok(config.rates.length >= 5 && config.budget?.proxyCpus !== undefined);
});
