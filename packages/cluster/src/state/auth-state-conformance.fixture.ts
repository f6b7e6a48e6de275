import assert from 'node:assert/strict';
import type { AuthStateStore } from '@switchboard/core';

/**
 * What every auth state store (Map, SharedArrayBuffer table, one Redis, a Redis Cluster) must do
 * with nonce counts and failure counts: run by auth-state-stores.test.ts and
 * redis-cluster-stores.test.ts.
 */
export async function authStateConformance(store: AuthStateStore): Promise<void> {
  const now = Date.now();
  const expiresAt = now + 60_000;
  assert.equal(await store.acceptNonceCount('n1', 1, expiresAt), true, 'first use');
  assert.equal(await store.acceptNonceCount('n1', 1, expiresAt), false, 'the same count again is a replay');
  assert.equal(await store.acceptNonceCount('n1', 3, expiresAt), true, 'a higher count, even skipping one');
  assert.equal(await store.acceptNonceCount('n1', 2, expiresAt), false, 'a lower count is a replay');
  assert.equal(await store.acceptNonceCount('n2', 1, expiresAt), true, 'nonces are independent');
  assert.equal(await store.acceptNonceCount('short', 5, Date.now() + 500), true);
  assert.equal(await store.failures('192.0.2.1', now), 0);
  assert.deepEqual(await store.tryAttempt('192.0.2.1', now, 600, 2), { granted: true, windowLeftMs: 600 });
  const second = await store.tryAttempt('192.0.2.1', now + 10, 600, 2);
  assert.equal(second.granted, true);
  assert.ok(second.windowLeftMs > 500 && second.windowLeftMs <= 600, `the window runs from the first attempt (${second.windowLeftMs} ms left)`);
  const refused = await store.tryAttempt('192.0.2.1', now + 20, 600, 2);
  assert.equal(refused.granted, false, 'the limit reached');
  assert.ok(refused.windowLeftMs > 400 && refused.windowLeftMs <= 600, `${refused.windowLeftMs} ms left`);
  assert.equal((await store.tryAttempt('2001:db8::/64', now, 600, 2)).granted, true);
  assert.equal(await store.failures('192.0.2.1', now + 20), 2);
  await store.releaseAttempt('192.0.2.1', now + 30);
  assert.equal(await store.failures('192.0.2.1', now + 30), 1, 'a released slot is no failure');
  assert.equal((await store.tryAttempt('192.0.2.1', now + 40, 600, 2)).granted, true, 'and can be taken again');
  assert.equal(await store.failures('192.0.2.1', now + 40), 2);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, now + 700 - Date.now())));
  assert.equal(await store.acceptNonceCount('short', 1, Date.now() + 60_000), true, 'a count is forgotten with its nonce');
  assert.equal(await store.failures('192.0.2.1', Date.now()), 0, 'the failure window ended');
  assert.equal((await store.tryAttempt('192.0.2.1', Date.now(), 600, 2)).granted, true, 'a new window starts');
  assert.equal(await store.failures('192.0.2.1', Date.now()), 1);
  assert.equal(await store.acceptNonceCount('n1', 3, expiresAt), false, 'unexpired counts are kept');
}
