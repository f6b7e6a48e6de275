import assert from 'node:assert/strict';
import type net from 'node:net';
import { test } from 'node:test';
import { FdCache } from './fd-cache.js';

function fakeSocket(): net.Socket & { destroyedByCache: boolean } {
  const socket = { destroyedByCache: false, destroy() { socket.destroyedByCache = true; } };
  return socket as unknown as net.Socket & { destroyedByCache: boolean };
}

test('the fd cache keeps the most recently used handles, closes what it evicts or invalidates', () => {
  const cache = new FdCache(2);
  const [a, b, c] = [fakeSocket(), fakeSocket(), fakeSocket()];
  cache.put(1, '127.0.0.1:1', a);
  cache.put(2, '127.0.0.1:2', b);
  assert.equal(cache.get(1, 'ignored'), a);
  assert.equal(cache.get(undefined, '127.0.0.1:2'), b);
  assert.equal(cache.get(1, ''), a); // 1 is now the most recent
  cache.put(3, '127.0.0.1:3', c);
  assert.equal(b.destroyedByCache, true, 'the least recently used is closed');
  assert.equal(cache.get(2, '127.0.0.1:2'), undefined);
  cache.invalidate(1);
  assert.equal(a.destroyedByCache, true);
  assert.equal(cache.get(undefined, '127.0.0.1:1'), undefined);
  assert.equal(cache.size, 1);
  cache.clear();
  assert.equal(c.destroyedByCache, true);
});
