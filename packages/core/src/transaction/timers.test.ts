import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { mockedTimerQueue } from './test-support.js';
import type { TimerQueue } from './timer-queue.js';
import { TransactionTimers } from './timers.js';

let queue: TimerQueue;
beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  queue = mockedTimerQueue();
});
afterEach(() => mock.timers.reset());

/** Timers whose owner records each letter fired (and the time it fired at); `throwing`: letters whose handling throws. */
function recorded(throwing: readonly string[] = []) {
  const fired: string[] = [];
  const at: number[] = [];
  const errors: unknown[] = [];
  const owner = { fired, at };
  const timers = new TransactionTimers(
    owner,
    (who, letter) => {
      who.fired.push(letter);
      who.at.push(Date.now());
      if (throwing.includes(letter)) throw new Error(`bug in ${letter}`);
    },
    (error) => errors.push(error),
    queue,
  );
  return { timers, fired, at, errors };
}

test('timers: each letter fires once at its time; a restart replaces the running one; stop and clearAll cancel', () => {
  const { timers, fired, at } = recorded();
  timers.start('A', 500);
  timers.start('B', 1000);
  timers.start('A', 700);
  assert.ok(timers.isRunning('A') && timers.isRunning('B'));
  mock.timers.tick(600);
  assert.equal(fired.length, 0, 'the first A was replaced');
  mock.timers.tick(100);
  assert.deepEqual(fired, ['A']);
  assert.deepEqual(at, [700], 'on time to the millisecond');
  assert.equal(timers.isRunning('A'), false, 'a fired timer is no longer running');
  assert.ok(timers.isRunning('B'));
  timers.stop('B');
  assert.equal(timers.isRunning('B'), false);
  assert.equal(queue.size, 0, 'nothing running: out of the queue');
  timers.start('C', 2000);
  timers.start('D', 100);
  timers.clearAll();
  assert.equal(queue.size, 0);
  mock.timers.tick(5000);
  assert.deepEqual(fired, ['A']);
  assert.equal(timers.isRunning('C') || timers.isRunning('D'), false);
});

test('timers: two running fire in due order; a handler may restart its own letter', () => {
  const fired: string[] = [];
  const timers: TransactionTimers<{ restarts: number }> = new TransactionTimers(
    { restarts: 0 },
    (owner, letter) => {
      fired.push(`${letter}@${Date.now()}`);
      if (letter === 'G' && owner.restarts++ < 2) timers.start('G', 400);
    },
    undefined,
    queue,
  );
  timers.start('H', 1000);
  timers.start('G', 500);
  for (let now = 0; now < 2000; now += 100) mock.timers.tick(100);
  assert.deepEqual(fired, ['G@500', 'G@900', 'H@1000', 'G@1300']);
  assert.equal(queue.size, 0);
});

test('timers: what a handler throws goes to onError, and the other timer still fires', () => {
  const { timers, fired, errors } = recorded(['G']);
  timers.start('G', 100);
  timers.start('H', 200);
  mock.timers.tick(300);
  assert.equal((errors[0] as Error).message, 'bug in G');
  assert.deepEqual(fired, ['G', 'H']);
  assert.equal(timers.isRunning('G') || timers.isRunning('H'), false);
});

test('timers: a third timer at once is a bug and says so; the two running are kept', () => {
  const { timers, fired } = recorded();
  timers.start('A', 100);
  timers.start('B', 200);
  assert.throws(() => timers.start('C', 300), RangeError);
  mock.timers.tick(300);
  assert.deepEqual(fired, ['A', 'B']);
});
