import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { MemoryLocationStore, type Binding, type LocationStore } from '@switchboard/core';
import { SabLocationStore } from './sab-location-store.js';

const source = { protocol: 'udp' as const, address: '127.0.0.1', port: 5060 };
const binding = (aor: string, contact: string, expiresAt: number, q = 1): Binding => ({ aor, contact, expiresAt, q, callId: 'c', cseq: 1, source });

/** Times are offsets from one base instant: the SAB table reclaims slots lapsed by the clock. */
const BASE = Date.now() + 60_000;

async function script(store: LocationStore): Promise<unknown[]> {
  const seen: unknown[] = [];
  const binding = (aor: string, contact: string, expiresIn: number, q = 1): Binding => ({ aor, contact, expiresAt: BASE + expiresIn, q, callId: 'c', cseq: 1, source });
  const contacts = async (aor: string, at: number): Promise<string[]> => (await store.lookup(aor, BASE + at)).map((entry) => `${entry.contact}/${entry.q}`);
  await store.put(binding('sip:a@x', 'sip:1@h', 1000, 0.5));
  await store.put(binding('sip:a@x', 'sip:2@h', 2000, 0.9));
  await store.put(binding('sip:b@x', 'sip:3@h', 3000));
  seen.push(await contacts('sip:a@x', 0), await store.size(BASE));
  await store.put(binding('sip:a@x', 'sip:1@h', 5000, 1));
  seen.push(await contacts('sip:a@x', 1500));
  await store.remove('sip:a@x', 'sip:1@h');
  seen.push(await contacts('sip:a@x', 0));
  await store.removeAll('sip:b@x');
  seen.push(await contacts('sip:b@x', 0), await store.size(BASE + 2500));
  return seen;
}

test('the SharedArrayBuffer table behaves as the in-memory store', async () => {
  const expected = await script(new MemoryLocationStore(0));
  assert.deepEqual(await script(SabLocationStore.create({ capacity: 64 })), expected);
  assert.deepEqual(expected[0], ['sip:2@h/0.9', 'sip:1@h/0.5']);
});

test('three threads writing at once lose nothing, and readers never see a torn record', async () => {
  const store = SabLocationStore.create({ capacity: 8192 });
  const count = 2000;
  const threads = [0, 1, 2].map((thread) => new Worker(new URL('./sab-location-store.fixture.js', import.meta.url), { workerData: { shared: store.shared, thread, count } }));
  await Promise.all(threads.map((thread) => once(thread, 'message')));
  await Promise.all(threads.map((thread) => thread.terminate()));
  for (let thread = 0; thread < 3; thread++) {
    for (let i = 0; i < count; i += 97) assert.equal((await store.lookup(`sip:t${thread}-${i}@example.com`, Date.now())).length, 1);
  }
  assert.equal(await store.size(Date.now()), 3 * count + 3 * (count / 10));
  assert.equal((await store.lookup('sip:shared@example.com', Date.now())).length, 3 * (count / 10));
});

test('a full table and an oversized record give coded errors; lapsed slots are reused', async () => {
  const store = SabLocationStore.create({ capacity: 4, recordBytes: 256 });
  for (let i = 0; i < 4; i++) await store.put(binding(`sip:u${i}@x`, 'sip:c@h', 1000));
  await assert.rejects(store.put(binding('sip:new@x', 'sip:c@h', Date.now() + 1000)), { code: 'ERR_SWITCHBOARD_STATE_FULL' });
  await assert.rejects(store.put(binding('sip:big@x', `sip:${'c'.repeat(300)}@h`, 1000)), { code: 'ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE' });
  assert.equal(await store.size(2000), 0);
  await store.put(binding('sip:new@x', 'sip:c@h', Date.now() + 1000));
  assert.equal((await store.lookup('sip:new@x', Date.now())).length, 1);
});
