import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detachedBuffer } from './detached-buffer.js';

test('a pooled slice is copied into a block of its own, with the same bytes', () => {
  const pooled = Buffer.from('SIP/2.0 200 OK\r\n\r\n');
  assert.ok(pooled.buffer.byteLength > pooled.length, 'Buffer.from of a short string is a slice of the pool');
  const detached = detachedBuffer(pooled);
  assert.deepEqual(detached, pooled);
  assert.notEqual(detached.buffer, pooled.buffer);
  assert.equal(detached.buffer.byteLength, detached.length);
  assert.equal(detached.byteOffset, 0);
});

test('a slice of a larger buffer is copied; a buffer with a block of its own is returned as it is', () => {
  const chunk = Buffer.allocUnsafeSlow(1000).fill(0x41);
  const slice = chunk.subarray(100, 200);
  const detached = detachedBuffer(slice);
  assert.deepEqual(detached, slice);
  assert.equal(detached.buffer.byteLength, 100);
  assert.equal(detachedBuffer(chunk), chunk);
  assert.equal(detachedBuffer(detached), detached);
});
