import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallAffinity } from './call-affinity.js';

test('a call stays on its worker while it has messages outstanding there, and is free once they are done', () => {
  const calls = new CallAffinity(2, 0);
  calls.sent(0, 'a');
  calls.sent(0, undefined);
  calls.sent(1, 'b');
  calls.sent(0, 'a');
  assert.equal(calls.slotOf('a'), 0);
  assert.equal(calls.slotOf('b'), 1);
  assert.equal(calls.slotOf(undefined), undefined);
  calls.done(0, 2);
  assert.equal(calls.slotOf('a'), 0, 'one of its two messages is still outstanding');
  calls.done(0, 1);
  assert.equal(calls.slotOf('a'), undefined);
  assert.equal(calls.size, 1);
  calls.clear(1);
  assert.equal(calls.slotOf('b'), undefined, 'a worker gone frees its calls');
  calls.done(1, 5);
  assert.equal(calls.size, 0);
  // Many messages: the queue is compacted and the counts stay right.
  for (let i = 0; i < 5000; i++) calls.sent(1, `c${i % 10}`);
  calls.done(1, 4990);
  assert.equal(calls.size, 10);
  calls.done(1, 10);
  assert.equal(calls.size, 0);
});

test('a call lingers with its worker for a while after its last message is done', () => {
  let now = 1000;
  const calls = new CallAffinity(2, 500, () => now);
  calls.sent(1, 'a');
  calls.done(1, 1);
  now += 499;
  assert.equal(calls.slotOf('a'), 1, 'still lingering');
  calls.sent(1, 'a');
  calls.done(1, 1);
  now += 400;
  assert.equal(calls.slotOf('a'), 1, 'the linger starts again from its latest message');
  now += 101;
  assert.equal(calls.slotOf('a'), undefined);
  assert.equal(calls.size, 0);
});
