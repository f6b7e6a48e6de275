import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capacitySourceKey } from './capacity-source.js';
import { pointKey } from './experiment-matrix.js';
import type { ExperimentPoint } from './experiment-record.js';

const point = (overload: string): ExperimentPoint => ({ model: 'event-loop', workers: 1, state: 'local', fdCache: 0, idleStrategy: 'heap', transport: 'udp', connection: 'persistent', calleeConnection: 'persistent', clients: 3000, extra: { overload } }) as ExperimentPoint;

test('a point with the named settings is its own capacity source; one that differs takes the matching point\'s', () => {
  assert.equal(capacitySourceKey(point('off'), { overload: 'off' }), undefined);
  assert.equal(capacitySourceKey(point('on'), { overload: 'off' }), pointKey(point('off')));
  assert.equal(capacitySourceKey(point('on'), undefined), undefined, 'without capacity-of every point runs its ladder');
});

test('settings that mean nothing at the source are not looked for there: an overload setting with control off', () => {
  const withFilter = (overload: string, filter: string): ExperimentPoint => ({ ...point(overload), extra: { overload, 'overload-kernel-filter': filter } }) as ExperimentPoint;
  assert.equal(capacitySourceKey(withFilter('on', 'off'), { overload: 'off' }), pointKey(point('off')));
  assert.equal(capacitySourceKey(withFilter('on', 'on'), { overload: 'off' }), pointKey(point('off')));
});
