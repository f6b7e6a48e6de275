import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExperimentConfig } from './experiment-config.js';
import { experimentPoints, pointKey } from './experiment-matrix.js';
import { reusableRuns, reusedPointKeys, siblingDirectory } from './reused-runs.js';
import { EXPERIMENT_RECORD_SCHEMA } from './experiment-record.js';

const base = { title: 't', bench: { duration: 8, warmup: 2 }, peak: { from: 100, to: 800 }, matrix: { model: ['process-pool'], transport: ['udp', 'tcp'], clients: [10] } };
const e1 = parseExperimentConfig({ ...base, id: 'e1' }, 'e1.yaml');
const e2 = parseExperimentConfig({ ...base, id: 'e2', reuse: ['e1'], matrix: { ...base.matrix, 'fd-cache': [0, 8] } }, 'e2.yaml');

async function withE1Results(config: typeof e1, body: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'reuse-'));
  try {
    await mkdir(join(root, 'e1'));
    await writeFile(join(root, 'e1', 'experiment.json'), JSON.stringify(config));
    const records = experimentPoints(config).flatMap((point) => [0, 1].map((repeat) => ({ schema: EXPERIMENT_RECORD_SCHEMA, experiment: 'e1', pointKey: pointKey(point), point, repeat, quick: false, serveArgs: [], invalid: [], result: { calls: { perSecond: 100 } } })));
    await writeFile(join(root, 'e1', 'results.jsonl'), `${records.map((record) => JSON.stringify(record)).join('\n')}\n{"cut short`);
    await body(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('runs of the same point, repeat and settings are taken from the sibling result set', async () => {
  await withE1Results(e1, async (root) => {
    const { runs, refused } = await reusableRuns(e2, join(root, 'e2'), false);
    assert.deepEqual(refused, []);
    const withoutCache = experimentPoints(e2).filter((point) => point.fdCache === 0);
    assert.equal(runs.size, withoutCache.length * 2, 'every no-cache point, both repeats');
    for (const point of withoutCache) assert.equal(runs.get(`${pointKey(point)}#1`)?.reusedFrom, 'e1');
    assert.ok(experimentPoints(e2).filter((point) => point.fdCache > 0).every((point) => !runs.has(`${pointKey(point)}#0`)), 'points e1 never ran are measured');
  });
});

test('other settings, or no sibling, and nothing is taken', async () => {
  const longer = parseExperimentConfig({ ...base, id: 'e1', bench: { duration: 10, warmup: 2 } }, 'e1.yaml');
  await withE1Results(longer, async (root) => {
    const { runs, refused } = await reusableRuns(e2, join(root, 'e2'), false);
    assert.equal(runs.size, 0);
    assert.match(refused[0]!.reason, /other settings/);
    assert.equal((await reusableRuns(e2, join(root, 'elsewhere'), false)).refused[0]?.id, 'e1');
  });
  assert.equal(siblingDirectory('experiments/e2-quick', e2, 'e1'), join('experiments', 'e1-quick'));
});

test('the estimate leaves out the points the reused experiment measures', () => {
  const keys = reusedPointKeys(e2, [e1]);
  assert.equal(keys.size, experimentPoints(e2).filter((point) => point.fdCache === 0).length);
  assert.equal(reusedPointKeys(e2, [parseExperimentConfig({ ...base, id: 'e1', bench: { duration: 9 } }, 'e1.yaml')]).size, 0);
});
