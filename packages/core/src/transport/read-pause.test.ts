import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_PAUSE_FACTOR, nextReadPause } from './read-pause.js';

const BUFFER = 65_536;

test('the first pause is the one asked for', () => {
  assert.equal(nextReadPause(0, 5, 100, BUFFER), 5);
});

test('reads short of a quarter of the buffer double the pause, up to MAX_PAUSE_FACTOR times the one asked for', () => {
  let pause = nextReadPause(0, 5, 6_000, BUFFER);
  const seen = [pause];
  for (let n = 0; n < 5; n++) seen.push((pause = nextReadPause(pause, 5, 6_000, BUFFER)));
  assert.deepEqual(seen, [5, 10, 20, 20, 20, 20]);
  assert.equal(5 * MAX_PAUSE_FACTOR, 20);
});

test('between a quarter and half of the buffer the pause holds; past half it halves, never below the one asked for', () => {
  assert.equal(nextReadPause(10, 5, 20_000, BUFFER), 10);
  assert.equal(nextReadPause(20, 5, 40_000, BUFFER), 10);
  assert.equal(nextReadPause(10, 5, 40_000, BUFFER), 5);
  assert.equal(nextReadPause(5, 5, BUFFER, BUFFER), 5);
});

test('a pause asked for anew bounds the one kept (overload control may ask for another)', () => {
  assert.equal(nextReadPause(20, 2, 20_000, BUFFER), 8);
  assert.equal(nextReadPause(4, 10, 20_000, BUFFER), 10);
});
