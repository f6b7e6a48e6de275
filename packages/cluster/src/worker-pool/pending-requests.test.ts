import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PendingRequests } from './pending-requests.js';

test('requests to one key join the one waiting; an answer settles them together', () => {
  const pending = new PendingRequests<string>();
  const first = pending.open('r:a:1', 'one');
  assert.equal(typeof first, 'number');
  assert.equal(pending.open('r:a:1', 'two'), undefined, 'joined');
  const other = pending.open('r:b:2', 'three');
  assert.notEqual(other, first);
  const settled = pending.settle(first as number);
  assert.deepEqual(settled?.items, ['one', 'two']);
  assert.equal(settled?.key, 'r:a:1');
  assert.equal(pending.settle(first as number), undefined, 'answered once');
  assert.equal(typeof pending.open('r:a:1', 'four'), 'number', 'a later send asks again');
  assert.equal(pending.size, 2);
});

test('requests without a key never join', () => {
  const pending = new PendingRequests<number>();
  const a = pending.open(undefined, 1);
  const b = pending.open(undefined, 2);
  assert.ok(a !== undefined && b !== undefined && a !== b);
  assert.deepEqual(pending.get(a)?.items, [1]);
  assert.deepEqual(pending.settle(b)?.items, [2]);
});
