import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { MemoryLocationStore, type Binding, type LocationStore } from '@switchboard/core';
import { SHARED_AOR, STOP, isWhole, type FixtureData, type FixtureReport } from './sab-location-store.fixture.js';
import { SabLocationStore } from './sab-location-store.js';
import { StateStoreError } from './state-store-error.js';

const udp = { protocol: 'udp' as const, address: '192.0.2.1', port: 5060 };
const tcp = { protocol: 'tcp' as const, address: '2001:db8::1', port: 5070, connectionId: 42 };

/**
 * Times of the scripted tests are offsets from an instant an hour ahead: `put` reclaims bindings
 * lapsed by the wall clock, which none of these are.
 */
const BASE = Date.now() + 3_600_000;

function binding(aor: string, contact: string, expiresIn: number, q = 1, source: Binding['source'] = udp): Binding {
  return { aor, contact, expiresAt: BASE + expiresIn, q, callId: `${contact}@call`, cseq: 7, source };
}

async function script(store: LocationStore): Promise<unknown[]> {
  const seen: unknown[] = [];
  const look = async (aor: string, at: number): Promise<void> => {
    seen.push(await store.lookup(aor, BASE + at));
  };
  await store.put(binding('sip:a@x', 'sip:1@h', 1000, 0.5));
  await store.put(binding('sip:a@x', 'sip:2@h', 2000, 0.9, tcp));
  await store.put(binding('sip:a@x', 'sip:3@h', 3000, 0.5));
  await store.put(binding('sip:b@x', 'sip:4@h', 3000));
  await look('sip:a@x', 0);
  seen.push(await store.size(BASE));
  // Replacing keeps the contact's place among equal q; removing and adding again moves it last.
  await store.put(binding('sip:a@x', 'sip:1@h', 5000, 0.5));
  await look('sip:a@x', 0);
  await store.remove('sip:a@x', 'sip:1@h');
  await store.put(binding('sip:a@x', 'sip:1@h', 5000, 0.5));
  await look('sip:a@x', 0);
  // Lapsed at 2500: contact 2 is dropped, and stays dropped when looked up at an earlier time.
  await look('sip:a@x', 2500);
  await look('sip:a@x', 0);
  await store.remove('sip:a@x', 'sip:none@h');
  await store.remove('sip:none@x', 'sip:1@h');
  await store.removeAll('sip:b@x');
  await look('sip:b@x', 0);
  seen.push(await store.size(BASE + 2500), await store.size(BASE + 5000));
  await look('sip:a@x', 0);
  return seen;
}

test('a scripted sequence gives what the in-memory store gives', async () => {
  const expected = await script(new MemoryLocationStore(0));
  const actual = await script(SabLocationStore.create({ capacity: 64 }));
  assert.deepEqual(actual, expected);
  const contacts = (bindings: unknown): string[] => (bindings as Binding[]).map((entry) => entry.contact);
  assert.deepEqual(contacts(expected[0]), ['sip:2@h', 'sip:1@h', 'sip:3@h']);
  assert.deepEqual(contacts(expected[2]), ['sip:2@h', 'sip:1@h', 'sip:3@h']);
  assert.deepEqual(contacts(expected[3]), ['sip:2@h', 'sip:3@h', 'sip:1@h']);
  assert.deepEqual(contacts(expected[5]), ['sip:3@h', 'sip:1@h']);
  assert.deepEqual(expected.slice(-3), [2, 0, []]);
});

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('random operations on a crowded table agree with the in-memory store', async () => {
  // 8 AORs x 5 contacts in 48 slots: long runs that wrap past the end and deletes in their middle.
  const memory = new MemoryLocationStore(0);
  const sab = SabLocationStore.create({ capacity: 48 });
  const next = random(3261);
  const pick = (n: number): number => Math.floor(next() * n);
  let clock = 0;
  for (let op = 0; op < 6000; op++) {
    const aor = `sip:user${pick(8)}@example.com`;
    const roll = next();
    if (roll < 0.5) {
      const entry = binding(aor, `sip:c${pick(5)}@198.51.100.7`, clock + pick(400), pick(4) / 4, pick(2) === 0 ? udp : tcp);
      await Promise.all([memory.put(entry), sab.put(entry)]);
    } else if (roll < 0.6) {
      const contact = `sip:c${pick(5)}@198.51.100.7`;
      await Promise.all([memory.remove(aor, contact), sab.remove(aor, contact)]);
    } else if (roll < 0.63) {
      await Promise.all([memory.removeAll(aor), sab.removeAll(aor)]);
    } else if (roll < 0.97) {
      assert.deepEqual(await sab.lookup(aor, BASE + clock), await memory.lookup(aor, BASE + clock), `lookup ${aor} at op ${op}`);
    } else {
      assert.equal(await sab.size(BASE + clock), await memory.size(BASE + clock), `size at op ${op}`);
    }
    clock += pick(3);
  }
  for (let user = 0; user < 8; user++) {
    const aor = `sip:user${user}@example.com`;
    assert.deepEqual(await sab.lookup(aor, BASE + clock), await memory.lookup(aor, BASE + clock));
  }
});

test('AORs and contacts whose hashes collide stay apart', async () => {
  // Pairs with equal 32-bit FNV-1a hashes: the same home slot, the same header words.
  const [aor1, aor2] = ['sip:u179599@example.com', 'sip:u362382@example.com'];
  const [contact1, contact2] = ['sip:c611369@192.0.2.1', 'sip:c1990054@192.0.2.1'];
  const store = SabLocationStore.create({ capacity: 16 });
  for (const aor of [aor1, aor2]) for (const contact of [contact1, contact2]) await store.put(binding(aor, contact, 1000, aor === aor1 ? 1 : 0.5));
  const contacts = async (aor: string): Promise<string[]> => (await store.lookup(aor, BASE)).map((entry) => `${entry.aor} ${entry.contact}`);
  assert.deepEqual(await contacts(aor2), [`${aor2} ${contact1}`, `${aor2} ${contact2}`]);
  await store.remove(aor1, contact2);
  assert.deepEqual(await contacts(aor1), [`${aor1} ${contact1}`]);
  await store.removeAll(aor2);
  assert.deepEqual(await contacts(aor1), [`${aor1} ${contact1}`]);
  assert.deepEqual(await contacts(aor2), []);
});

test('three threads writing at once lose nothing, and readers never see a torn record', async () => {
  // 6600 bindings in 8192 slots: the threads' runs meet, so unguarded inserts would collide.
  const store = SabLocationStore.create({ capacity: 8192 });
  const count = 2000;
  const signals = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  const start = (role: FixtureData['role'], thread: number): Worker =>
    new Worker(new URL('./sab-location-store.fixture.js', import.meta.url), { workerData: { shared: store.shared, role, thread, count, threads: 4, signals } satisfies FixtureData });
  const reader = start('reader', 3);
  const writers = [0, 1, 2].map((thread) => start('writer', thread));
  const readerDone = once(reader, 'message');
  const writerReports = (await Promise.all(writers.map((writer) => once(writer, 'message')))).map(([report]) => report as FixtureReport);
  Atomics.store(new Int32Array(signals), STOP, 1);
  const [readerReport] = (await readerDone) as [FixtureReport];
  for (const report of [...writerReports, readerReport]) {
    assert.deepEqual(report.torn, []);
    assert.ok(report.reads > 0);
  }

  const now = Date.now();
  for (let thread = 0; thread < 3; thread++) {
    for (let i = 0; i < count; i++) {
      const found = await store.lookup(`sip:t${thread}-${i}@example.com`, now);
      assert.deepEqual(found.map((entry) => [entry.contact, entry.cseq]), [[`sip:c${i}@10.0.0.${thread}`, i]]);
    }
  }
  const shared = await store.lookup(SHARED_AOR, now);
  assert.ok(shared.every(isWhole));
  const expected = [0, 1, 2].flatMap((thread) => Array.from({ length: count / 10 }, (_, step) => `sip:t${thread}-${step * 10}@10.0.0.${thread}`));
  assert.deepEqual(shared.map((entry) => entry.contact).sort(), expected.sort());
  for (let thread = 0; thread < 3; thread++) {
    assert.equal(shared.find((entry) => entry.contact === `sip:t${thread}-0@10.0.0.${thread}`)?.cseq, count - 1);
  }
  assert.equal(await store.size(now), 3 * count + 3 * (count / 10));
});

test('a full table and an oversized record give coded errors', async () => {
  const store = SabLocationStore.create({ capacity: 4, recordBytes: 200 });
  for (let i = 0; i < 4; i++) await store.put(binding(`sip:u${i}@x`, 'sip:c@h', 1000));
  const full = await store.put(binding('sip:new@x', 'sip:c@h', 1000)).then(() => undefined, (error: unknown) => error);
  assert.ok(full instanceof StateStoreError);
  assert.deepEqual(full.toJSON(), { code: 'ERR_SWITCHBOARD_STATE_FULL', message: full.message });
  // A full table still takes a binding that replaces one.
  await store.put(binding('sip:u2@x', 'sip:c@h', 2000, 0.3));
  assert.deepEqual((await store.lookup('sip:u2@x', BASE)).map((entry) => entry.q), [0.3]);
  await assert.rejects(store.put(binding('sip:big@x', `sip:${'c'.repeat(200)}@h`, 1000)), { name: 'StateStoreError', code: 'ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE' });
  assert.deepEqual(await store.lookup('sip:big@x', BASE), []);
  assert.equal(await store.size(BASE), 4);
});

test('lapsed bindings make room again: by size, by lookup of their AOR, and by put', async () => {
  const store = SabLocationStore.create({ capacity: 4 });
  const fill = async (expiresAt: number): Promise<void> => {
    for (let i = 0; i < 4; i++) await store.put({ ...binding(`sip:u${i}@x`, 'sip:c@h', 0), expiresAt });
  };
  const fits = (aor: string): Promise<void> => store.put(binding(aor, 'sip:c@h', 1000));

  await fill(BASE + 1000);
  await assert.rejects(fits('sip:new@x'), { code: 'ERR_SWITCHBOARD_STATE_FULL' });
  assert.equal(await store.size(BASE + 1000), 0);
  await fits('sip:new@x');
  await store.removeAll('sip:new@x');

  await fill(BASE + 1000);
  await assert.rejects(fits('sip:new@x'), { code: 'ERR_SWITCHBOARD_STATE_FULL' });
  assert.deepEqual(await store.lookup('sip:u2@x', BASE + 1000), []);
  await fits('sip:new@x');
  assert.equal(await store.size(BASE), 4);
  await store.removeAll('sip:new@x');

  // Lapsed by the wall clock: a put reclaims them on its way.
  await fill(Date.now() + 40);
  await new Promise((resolve) => setTimeout(resolve, 60));
  for (let i = 0; i < 4; i++) await fits(`sip:new${i}@x`);
  assert.equal(await store.size(BASE), 4);
});

test('a lock held by a thread that stopped gives ERR_SWITCHBOARD_STATE_UNAVAILABLE instead of a hang', async () => {
  const store = SabLocationStore.create({ capacity: 8, lockWaitMs: 50 });
  const attached = SabLocationStore.attach(structuredClone(store.shared));
  await attached.put(binding('sip:a@x', 'sip:c@h', 1000));
  const lock = new Int32Array(store.shared.control, 0, 1);
  Atomics.store(lock, 0, 1);
  await assert.rejects(store.lookup('sip:a@x', BASE), { code: 'ERR_SWITCHBOARD_STATE_UNAVAILABLE' });
  Atomics.store(lock, 0, 0);
  assert.equal((await store.lookup('sip:a@x', BASE)).length, 1);
});

test('sizes must be positive integers', () => {
  assert.throws(() => SabLocationStore.create({ capacity: 0 }), RangeError);
  assert.throws(() => SabLocationStore.create({ recordBytes: 1.5 }), RangeError);
});
