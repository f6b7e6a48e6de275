import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GROWTH, MAX_SHRINK, ReceiveQueueBound } from './receive-queue-bound.js';

const SETTINGS = { boundMs: 200, minBytes: 32 * 1024, maxBytes: 512 * 1024 };

test('a delay above the bound shrinks the buffer in proportion, by half at most, down to the minimum', () => {
  assert.equal(new ReceiveQueueBound(SETTINGS).next(400_000, 250, 0), 320_000, '200/250 of it');
  assert.equal(new ReceiveQueueBound(SETTINGS).next(400_000, 1000, 0), 400_000 * MAX_SHRINK, 'five times the bound: halved');
  assert.equal(new ReceiveQueueBound(SETTINGS).next(40_000, 1000, 0), SETTINGS.minBytes);
  assert.equal(new ReceiveQueueBound(SETTINGS).next(SETTINGS.minBytes, 1000, 0), SETTINGS.minBytes);
});

test('after a shrink, no second one until what was queued then has been read (its delay has passed)', () => {
  const bound = new ReceiveQueueBound(SETTINGS);
  assert.equal(bound.next(512 * 1024, 1000, 0), 256 * 1024);
  // The probes read in the next second waited behind the larger buffer's queue.
  for (const now of [100, 500, 999]) assert.equal(bound.next(256 * 1024, 900, now), 256 * 1024, `at ${now} ms`);
  assert.equal(bound.next(256 * 1024, 400, 1000), 128 * 1024, 'the queue has turned over');
});

test('a delay between a quarter of the bound and the bound keeps the buffer; below a quarter it grows back to the maximum', () => {
  const bound = new ReceiveQueueBound(SETTINGS);
  assert.equal(bound.next(100_000, 200, 0), 100_000, 'at the bound');
  assert.equal(bound.next(100_000, 50, 0), 100_000, 'at a quarter');
  assert.equal(bound.next(100_000, 49, 0), 100_000 * GROWTH);
  let bytes = SETTINGS.minBytes;
  for (let n = 0; n < 40; n++) bytes = bound.next(bytes, 1, n * 100);
  assert.equal(bytes, SETTINGS.maxBytes);
});

test('a sample that measured nothing leaves the buffer as it is', () => {
  assert.equal(new ReceiveQueueBound(SETTINGS).next(100_000, null, 0), 100_000);
});
