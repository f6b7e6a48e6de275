import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { TransactionTimers } from './timers.js';

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

test('timers: each letter fires once at its time; a restart replaces the running one; stop and clearAll cancel', () => {
  const timers = new TransactionTimers();
  const fired: string[] = [];
  timers.start('A', 500, () => fired.push('A'));
  timers.start('B', 1000, () => fired.push('B'));
  timers.start('C', 2000, () => fired.push('C'));
  timers.start('A', 700, () => fired.push('A2'));
  assert.ok(timers.isRunning('A') && timers.isRunning('B') && timers.isRunning('C'));
  mock.timers.tick(600);
  assert.equal(fired.length, 0, 'the first A was replaced');
  mock.timers.tick(100);
  assert.deepEqual(fired, ['A2']);
  assert.equal(timers.isRunning('A'), false, 'a fired timer is no longer running');
  assert.ok(timers.isRunning('B') && timers.isRunning('C'));
  timers.stop('B');
  assert.equal(timers.isRunning('B'), false);
  assert.ok(timers.isRunning('C'));
  timers.start('D', 100, () => fired.push('D'));
  timers.clearAll();
  mock.timers.tick(5000);
  assert.deepEqual(fired, ['A2']);
  assert.equal(timers.isRunning('C') || timers.isRunning('D'), false);
});

test('timers: what a callback throws goes to onError, and the other timers still run', () => {
  const errors: unknown[] = [];
  const timers = new TransactionTimers((error) => errors.push(error));
  const fired: string[] = [];
  timers.start('G', 100, () => {
    throw new Error('bug');
  });
  timers.start('H', 200, () => fired.push('H'));
  mock.timers.tick(300);
  assert.equal((errors[0] as Error).message, 'bug');
  assert.deepEqual(fired, ['H']);
  assert.equal(timers.isRunning('G') || timers.isRunning('H'), false);
});

test('timers: more than two at once (the third and later kept apart) run, stop and clear like the first two', () => {
  const timers = new TransactionTimers();
  const fired: string[] = [];
  for (const [letter, at] of [['A', 100], ['B', 200], ['C', 300], ['D', 400], ['E', 500]] as const) timers.start(letter, at, () => fired.push(letter));
  timers.stop('D');
  timers.stop('A');
  timers.start('F', 50, () => fired.push('F'));
  assert.ok(['B', 'C', 'E', 'F'].every((letter) => timers.isRunning(letter)));
  assert.equal(timers.isRunning('A') || timers.isRunning('D'), false);
  mock.timers.tick(350);
  assert.deepEqual(fired, ['F', 'B', 'C']);
  assert.ok(timers.isRunning('E'));
  timers.clearAll();
  mock.timers.tick(1000);
  assert.deepEqual(fired, ['F', 'B', 'C']);
});
