import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { transactionStoreConformance } from '@switchboard/core/transaction-store-conformance';
import { WON_BRANCH, WON_CREATE, WON_LEASE, WON_TRANSITION, type TransactionFixtureData, type TransactionFixtureReport } from './sab-transaction-store.fixture.js';
import { SabTransactionStore } from './sab-transaction-store.js';
import { StateStoreError } from './state-store-error.js';

// A small table, so runs wrap past its end and deletes shift entries back.
transactionStoreConformance(
  'SharedArrayBuffer table (thread-pool)',
  {
    open: async () => SabTransactionStore.create({ capacity: 64, recordBytes: 1024, largeCapacity: 8, largeRecordBytes: 8192 }),
    peer: async (store) => SabTransactionStore.attach((store as SabTransactionStore).shared),
  },
  { runs: 200 },
);

const expiresAt = (): number => Date.now() + 600_000;

test('a record larger than the largest slot is refused with a coded error and leaves the slot as it was', async () => {
  const store = SabTransactionStore.create({ capacity: 8, recordBytes: 512, largeRecordBytes: 512 });
  await store.create({ key: 'k', side: 'server', invite: false, state: 'trying', branch: 'b', expiresAt: expiresAt() });
  await assert.rejects(store.transition('k', ['trying'], { state: 'completed', response: { status: 200, bytes: Buffer.alloc(600, 0x41) } }), (error: StateStoreError) => error.code === 'ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE');
  const record = await store.get('k');
  assert.equal(record?.state, 'trying');
  assert.equal(record?.version, 1);
  const fits = await store.transition('k', ['trying'], { state: 'completed', response: { status: 200, bytes: Buffer.alloc(300, 0x41) } });
  assert.equal(fits.ok, true);
});

test('a record that outgrows an ordinary slot moves to the table of large ones, and back when it shrinks, keeping its key, version and lease', async () => {
  const store = SabTransactionStore.create({ capacity: 8, recordBytes: 512, largeCapacity: 2, largeRecordBytes: 4096 });
  await store.create({ key: 'k', side: 'server', invite: true, state: 'proceeding', branch: 'b', request: Buffer.alloc(200, 0x52), lease: { owner: 'w0', until: Date.now() + 60_000 }, expiresAt: expiresAt() });
  const grown = await store.transition('k', ['proceeding'], { state: 'completed', response: { status: 486, bytes: Buffer.alloc(3000, 0x41) } });
  assert.equal(grown.ok, true);
  const large = await store.get('k');
  assert.equal(large?.response?.length, 3000);
  assert.equal(large?.request?.length, 200);
  assert.equal(large?.version, 2);
  assert.deepEqual(await store.expiredLeases(Date.now() + 120_000, 10), ['k'], 'leases are found in the large table too');
  assert.equal(await store.size(), 1, 'in one table only');
  const shrunk = await store.transition('k', ['completed'], { state: 'confirmed', response: { status: 486, bytes: Buffer.alloc(10, 0x41) } });
  assert.equal(shrunk.ok, true);
  assert.equal((await store.get('k'))?.response?.length, 10);
  assert.equal(await store.size(), 1);
  assert.equal(await store.delete('k'), true);
  assert.equal(await store.get('k'), undefined);
  await assert.rejects(store.create({ key: 'huge', side: 'server', invite: false, state: 'trying', branch: 'b', request: Buffer.alloc(5000), expiresAt: expiresAt() }), (error: StateStoreError) => error.code === 'ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE');
});

test('a full table is a coded error; expired records are swept to make room', async () => {
  const store = SabTransactionStore.create({ capacity: 4, recordBytes: 256 });
  for (let i = 0; i < 3; i++) await store.create({ key: `long${i}`, side: 'server', invite: false, state: 'trying', branch: 'b', expiresAt: expiresAt() });
  await store.create({ key: 'short', side: 'server', invite: false, state: 'trying', branch: 'b', expiresAt: Date.now() + 50 });
  await assert.rejects(store.create({ key: 'more', side: 'server', invite: false, state: 'trying', branch: 'b', expiresAt: expiresAt() }), (error: StateStoreError) => error.code === 'ERR_SWITCHBOARD_STATE_FULL');
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal((await store.create({ key: 'more', side: 'server', invite: false, state: 'trying', branch: 'b', expiresAt: expiresAt() })).ok, true, 'the lapsed one made room');
  assert.equal(await store.size(), 4);
});

test('four threads racing behind a barrier before every round: exactly one wins each compare-and-set of every round', async (t) => {
  const store = SabTransactionStore.create({ capacity: 4096 });
  const threads = 4;
  const rounds = 150;
  const barrier = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  const workers = Array.from({ length: threads }, (_, thread) => new Worker(new URL('./sab-transaction-store.fixture.js', import.meta.url), { workerData: { shared: store.shared, thread, threads, rounds, barrier } satisfies TransactionFixtureData }));
  const reports = (await Promise.all(workers.map((worker) => once(worker, 'message')))).map(([report]) => report as TransactionFixtureReport);
  for (const report of reports) assert.equal(report.error, undefined);
  let contested = 0;
  for (let round = 0; round < rounds; round++) {
    const wins = reports.map((report) => report.wins[round] ?? 0);
    for (const bit of [WON_CREATE, WON_TRANSITION, WON_LEASE, WON_BRANCH]) {
      assert.equal(wins.filter((won) => (won & bit) !== 0).length, 1, `round ${round}, operation ${bit}: ${wins.join(',')}`);
    }
    if (wins.filter((won) => won !== 0).length > 1) contested++;
    const record = await store.get(`z9hG4bK-race-${round}|192.0.2.1:5060|INVITE`);
    assert.equal(record?.version, 4);
    assert.equal(record?.state, 'completed');
    assert.equal(record?.branches.length, 1);
  }
  assert.equal(await store.size(), rounds);
  // How often the wins of one round were split between threads (no assertion: it depends on scheduling).
  t.diagnostic(`rounds whose wins went to more than one thread: ${contested} of ${rounds}`);
});
