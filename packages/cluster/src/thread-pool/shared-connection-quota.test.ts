import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocateConnectionQuota, connectionsTaken, releaseThreadPlaces, SharedConnectionQuota } from './shared-connection-quota.js';

test('threads take from one cap whatever their share; a dead thread\'s places go back', () => {
  const memory = allocateConnectionQuota(5, 3);
  const [a, b] = [new SharedConnectionQuota(memory, 0), new SharedConnectionQuota(memory, 1)];
  // Thread 0 gets four of the five (the kernel gave it most accepts): no share stops it.
  assert.deepEqual([a.tryTake(), a.tryTake(), a.tryTake(), a.tryTake(), b.tryTake()], [true, true, true, true, true]);
  assert.equal(b.tryTake(), false, 'the cap is over all threads');
  assert.equal(a.tryTake(), false);
  b.give();
  assert.equal(connectionsTaken(memory), 4);
  assert.equal(a.tryTake(), true, 'a place given back is anyone\'s');
  assert.equal(releaseThreadPlaces(memory, 0), 5, 'thread 0 died holding five');
  assert.equal(connectionsTaken(memory), 0);
  assert.equal(b.tryTake(), true);
});
