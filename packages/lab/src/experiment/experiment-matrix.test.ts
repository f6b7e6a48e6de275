import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExperimentConfig } from './experiment-config.js';
import { experimentPoints, pointKey } from './experiment-matrix.js';

const config = (matrix: Record<string, unknown>, extra: Record<string, unknown> = {}) => parseExperimentConfig({ id: 't1', title: 'test', matrix, ...extra }, 't1.yaml');

test('UDP runs once per load, with persistent connections and the first idle strategy', () => {
  const points = experimentPoints(config({ model: ['event-loop'], transport: ['udp', 'tcp'], connection: ['persistent', 'per-ops:50'], 'idle-strategy': ['scan', 'heap'], clients: [10, 20] }));
  const udp = points.filter((point) => point.transport === 'udp');
  assert.equal(udp.length, 2);
  assert.ok(udp.every((point) => point.connection === 'persistent' && point.idleStrategy === 'scan'));
  assert.equal(points.filter((point) => point.transport === 'tcp').length, 2 * 2 * 2);
  assert.equal(new Set(points.map(pointKey)).size, points.length, 'every point once');
});

test('fd cache only in the process-pool, one worker for the event-loop, the model\'s default state', () => {
  const points = experimentPoints(config({ model: ['event-loop', 'process-pool', 'thread-pool'], workers: [1, 2], 'fd-cache': [0, 8], state: ['default'], clients: [5] }));
  assert.deepEqual(
    points.map((point) => `${point.model}/${point.workers}/${point.fdCache}/${point.state}`),
    ['event-loop/1/0/local', 'process-pool/1/0/redis', 'process-pool/1/8/redis', 'process-pool/2/0/redis', 'process-pool/2/8/redis', 'thread-pool/1/0/sab', 'thread-pool/2/0/sab'],
  );
});

test('a state a model cannot use is skipped; callee-connection same follows the caller', () => {
  const points = experimentPoints(config({ model: ['process-pool', 'thread-pool'], state: ['local', 'sab', 'redis'], transport: ['tcp'], connection: ['per-ops:5'], clients: [5] }));
  assert.deepEqual(points.map((point) => `${point.model}/${point.state}`), ['process-pool/redis', 'thread-pool/sab', 'thread-pool/redis']);
  assert.ok(points.every((point) => point.calleeConnection === 'per-ops:5'));
});

test('extra keys are dimensions; tls- keys run UDP and TCP points once, with the first value', () => {
  const points = experimentPoints(config({ transport: ['udp', 'tcp', 'tls'], connection: ['per-ops:2'], clients: [5] }, { extra: { 'tls-resumption': ['on', 'off'], auth: ['off', 'all'] } }));
  const describe = (transport: string): string[] => points.filter((point) => point.transport === transport).map((point) => `${point.extra?.['tls-resumption']}/${point.extra?.auth}`);
  assert.deepEqual(describe('udp'), ['on/off', 'on/all']);
  assert.deepEqual(describe('tcp'), ['on/off', 'on/all']);
  assert.deepEqual(describe('tls'), ['on/off', 'on/all', 'off/off', 'off/all']);
  assert.equal(new Set(points.map(pointKey)).size, points.length, 'every point once');
});

test('TLS handshake options run once where no handshake happens in the window', () => {
  const points = experimentPoints(
    config({ transport: ['tls'], connection: ['persistent', 'per-ops:2'], 'callee-connection': ['persistent', 'per-ops:2'], clients: [5] }, { extra: { 'tls-resumption': ['on', 'off'], 'tls-verify-client': ['off', 'on'] } }),
  );
  const modes = points.map((point) => `${point.connection}>${point.calleeConnection} ${point.extra?.['tls-resumption']}/${point.extra?.['tls-verify-client']}`);
  assert.deepEqual(modes.filter((mode) => mode.startsWith('persistent>persistent')), ['persistent>persistent on/off'], 'the chain runs once');
  assert.equal(modes.filter((mode) => mode.startsWith('persistent>per-ops:2')).length, 2, 'inbound: resumption varies, client verification does not');
  assert.equal(modes.filter((mode) => mode.startsWith('per-ops:2>')).length, 8, 'outbound and local: both vary');
});

test('budget, peak, window and tolerance keys; pin reads as a budget', () => {
  const parsed = config({ clients: [100] }, { repeats: 3, budget: { 'proxy-cpus': '0', 'proxy-quota': 1, 'generator-cpus': '1' }, peak: { from: 100, to: 800 }, window: { max: 30 }, tolerance: 2 });
  assert.deepEqual(parsed.budget, { proxyCpus: '0', proxyQuota: 1, generatorCpus: '1' });
  assert.deepEqual(parsed.peak, { from: 100, to: 800, factor: 1.5, refine: 2, success: 0.999, achieved: 0.95, arrivals: 'deterministic', seed: true });
  assert.deepEqual(parsed.window, { maxSeconds: 30, reconnections: 50 });
  assert.equal(parsed.tolerance, 2);
  assert.deepEqual(config({ clients: [1] }, { pin: { proxy: '0', generator: '1' } }).budget, { proxyCpus: '0', generatorCpus: '1' });
  assert.equal(config({ clients: [1] }).tolerance, 1.5);
});

test('quick swaps in its own loads', () => {
  const parsed = config({ clients: [100, 1000] }, { quick: { clients: [3], duration: 1 } });
  assert.deepEqual(experimentPoints(parsed, true).map((point) => point.clients), [3]);
  assert.deepEqual(experimentPoints(parsed).map((point) => point.clients), [100, 1000]);
  assert.equal(parsed.quick.durationSeconds, 1);
});

test('config errors name the file and the key', () => {
  const refuses = (raw: unknown, key: RegExp): void => {
    assert.throws(() => parseExperimentConfig(raw, 'bad.yaml'), (error: Error & { code?: string }) => error.code === 'ERR_SWITCHBOARD_EXPERIMENT_CONFIG' && /^bad\.yaml: /.test(error.message) && key.test(error.message));
  };
  refuses({ title: 'x', matrix: { clients: [1] } }, /id:/);
  refuses({ id: 'x', title: 'x', matrix: { clients: [1], rate: [2] } }, /matrix: give exactly one/);
  refuses({ id: 'x', title: 'x', matrix: { clients: [1], transport: ['sctp'] } }, /matrix\.transport/);
  refuses({ id: 'x', title: 'x', matrix: { clients: [1], connection: ['sometimes'] } }, /matrix\.connection/);
  refuses({ id: 'x', title: 'x', matrix: { clients: [1], colour: ['red'] } }, /matrix\.colour: unknown dimension/);
  refuses({ id: 'x', title: 'x', matrix: { clients: [1] }, serve: { model: 'event-loop' } }, /serve\.model/);
  refuses({ id: 'x', title: 'x', matrix: { clients: [1] }, bench: { duration: -1 } }, /bench\.duration/);
  refuses({ id: 'x', title: 'x', matrix: { clients: [1] }, surprise: 1 }, /surprise: unknown key/);
  refuses({ id: 'x', title: 'x', matrix: { clients: [1] }, budget: { 'proxy-cpus': 'first' } }, /budget\.proxy-cpus/);
  refuses({ id: 'x', title: 'x', matrix: { clients: [1] }, peak: { from: 100 } }, /peak: give from and to/);
  refuses({ id: 'x', title: 'x', matrix: { clients: [1] }, peak: { from: 100, to: 50 } }, /peak\.to/);
  refuses({ id: 'x', title: 'x', matrix: { clients: [1] }, peak: { from: 100, to: 500, 'p99-ms': -5 } }, /peak\.p99-ms/);
  assert.equal(config({ clients: [100] }, { peak: { from: 100, to: 800, 'p99-ms': 500 } }).peak?.p99Ms, 500);
  assert.equal(config({ clients: [100] }, { peak: { from: 100, to: 800, floor: 25 } }).peak?.floor, 25, 'how far below from the ladder may go');
  assert.equal(config({ clients: [100] }, { peak: { from: 100, to: 800 } }).peak?.floor, undefined, 'absent: the ladder\'s default');
  refuses({ id: 'x', title: 'x', matrix: { clients: [1] }, peak: { from: 100, to: 500, floor: 150 } }, /peak\.floor: must be at most from/);
  refuses({ id: 'x', title: 'x', matrix: { rate: [1] }, peak: { from: 1, to: 2 } }, /peak: a peak search sets the rates/);
  refuses({ id: 'x', title: 'x', matrix: { clients: [1] }, tolerance: 1 }, /tolerance/);
  refuses({ id: 'x', title: 'x', matrix: { clients: [1] }, published_figures: [{ label: 'a', value: 2, range: [3] }] }, /published_figures\[0\]\.range/);
});

test('published figures\' filters use the point\'s field names', () => {
  const parsed = config({ clients: [1] }, { published_figures: [{ label: 'a', value: 2, ours: { metric: 'operationsPerSecond', numerator: { 'fd-cache': 8 }, denominator: { 'idle-strategy': 'scan' } } }] });
  assert.deepEqual((parsed.publishedFigures[0] as unknown as { ours: unknown }).ours, { metric: 'operationsPerSecond', numerator: { fdCache: 8 }, denominator: { idleStrategy: 'scan' } });
});

test('implied flags join the points whose extra value implies them, and only the process-pool takes fd-request-wait', () => {
  const points = experimentPoints(config(
    { model: ['process-pool', 'thread-pool'], transport: ['tcp'], clients: [5] },
    { extra: { transactions: ['owned', 'shared'] }, implies: { 'transactions=shared': { 'fd-request-wait': true } } },
  ));
  assert.deepEqual(points.map((point) => `${point.model}/${JSON.stringify(point.extra)}`), [
    'process-pool/{"transactions":"owned"}',
    'process-pool/{"transactions":"shared","fd-request-wait":"true"}',
    'thread-pool/{"transactions":"owned"}',
    'thread-pool/{"transactions":"shared"}',
  ]);
  assert.throws(() => config({ clients: [5] }, { extra: { transactions: ['owned'] }, implies: { 'transactions=shared': { 'fd-request-wait': true } } }), /extra.transactions has no value shared/);
  assert.throws(() => config({ clients: [5] }, { implies: { shared: {} } }), /expected an extra key and value/);
});

test('quick.extra narrows extra keys for the smoke run only', () => {
  const withQuick = config({ model: ['process-pool'], transport: ['tcp'], clients: [5] }, { extra: { transactions: ['owned', 'shared'] }, quick: { clients: [2], extra: { transactions: ['shared'] } } });
  assert.equal(experimentPoints(withQuick).length, 2);
  assert.deepEqual(experimentPoints(withQuick, true).map((point) => point.extra?.transactions), ['shared']);
  assert.throws(() => config({ clients: [5] }, { extra: { transactions: ['owned'] }, quick: { extra: { transactions: ['shared'] } } }), /quick.extra.transactions: extra.transactions has no value shared/);
});

test('exclude drops the points that match one of its entries on every key it names', () => {
  const points = experimentPoints(config(
    { model: ['event-loop', 'thread-pool'], workers: [1, 2, 4], transport: ['udp'], clients: [5] },
    { extra: { transactions: ['owned', 'shared'] }, exclude: [{ transactions: 'shared', workers: 1 }, { transactions: 'shared', workers: 4 }] },
  ));
  assert.deepEqual(points.map((point) => `${point.model}/${point.workers}/${point.extra?.transactions}`), [
    'event-loop/1/owned',
    'thread-pool/1/owned',
    'thread-pool/2/owned',
    'thread-pool/2/shared',
    'thread-pool/4/owned',
  ], 'the event-loop has one worker, so its shared point is excluded with workers: 1');
  assert.throws(() => config({ clients: [5] }, { exclude: [{ colour: 'red' }] }), /exclude\[0\]\.colour: not a matrix or extra key/);
});

test('overload control\'s settings run only with control on: without it the points are one', () => {
  const points = experimentPoints(config(
    { model: ['process-pool'], transport: ['udp'], clients: [5] },
    { extra: { overload: ['off', 'on'], 'overload-kernel-filter': ['on', 'off'] } },
  ));
  assert.deepEqual(points.map((point) => JSON.stringify(point.extra)), [
    '{"overload":"off"}',
    '{"overload":"on","overload-kernel-filter":"on"}',
    '{"overload":"on","overload-kernel-filter":"off"}',
  ]);
});

test('io-dispatch runs with shared transactions only, added when the matrix does not vary them', () => {
  const varied = experimentPoints(config({ model: ['io-dispatch'], transport: ['tcp'], clients: [5] }, { extra: { transactions: ['owned', 'shared'] } }));
  assert.deepEqual(varied.map((point) => `${point.model}/${point.state}/${point.extra?.transactions}`), ['io-dispatch/redis/shared']);
  const unvaried = experimentPoints(config({ model: ['io-dispatch', 'event-loop'], transport: ['udp'], clients: [5] }));
  assert.deepEqual(unvaried.map((point) => point.extra?.transactions), ['shared', undefined]);
});
