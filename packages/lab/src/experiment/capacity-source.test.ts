import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CapacityBook, capacitySourceKey } from './capacity-source.js';
import { pointKey } from './experiment-matrix.js';
import type { ExperimentPoint } from './experiment-record.js';

const point = (overload: string): ExperimentPoint => ({ model: 'event-loop', workers: 1, state: 'local', fdCache: 0, idleStrategy: 'heap', transport: 'udp', connection: 'persistent', calleeConnection: 'persistent', clients: 3000, extra: { overload } }) as ExperimentPoint;

test('a point with the named settings is its own capacity source; one that differs takes the matching point\'s', () => {
  assert.equal(capacitySourceKey(point('off'), { overload: 'off' }), undefined);
  assert.equal(capacitySourceKey(point('on'), { overload: 'off' }), pointKey(point('off')));
  assert.equal(capacitySourceKey(point('on'), undefined), undefined, 'without capacity-of every point runs its ladder');
});

test('the book keeps the peaks of valid ladders only, per repeat', () => {
  const book = new CapacityBook();
  const key = pointKey(point('off'));
  book.note({ pointKey: key, repeat: 0, peak: { rate: 1902 }, invalid: [] });
  book.note({ pointKey: key, repeat: 1, peak: { rate: 2853 }, invalid: ['peak: the top of the ladder still passed'] });
  book.note({ pointKey: key, repeat: 2, error: { message: 'x' }, peak: { rate: 100 } });
  assert.equal(book.rate(key, 0), 1902);
  assert.equal(book.rate(key, 1), undefined);
  assert.equal(book.rate(key, 2), undefined);
  book.note({ pointKey: key, repeat: 1, quick: true, peak: { rate: 400 }, invalid: ['peak: the top of the ladder still passed'] });
  assert.equal(book.rate(key, 1), 400, 'a smoke run overloads what its short ladder reached');
});
