import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryTransactionStore } from '../transaction/memory-transaction-store.js';
import type { NewTransaction, TransactionRecord } from '../transaction/transaction-store.js';
import { LeaseTicker, type LeaseHandlers } from './lease-ticker.js';
import { newProxyCounters, type ProxyCounters } from './proxy-counters.js';

/** When adoption is searched (issue 16): at a death notice, and by the slow sweep; never on every renewal tick. */

const HOUR = 3_600_000;

function transaction(key: string, owner: string, until: number, extra: Partial<NewTransaction> = {}): NewTransaction {
  return { key, side: 'server', invite: true, state: 'proceeding', branch: `z9hG4bK-${key}`, expiresAt: Date.now() + 2 * HOUR, lease: { owner, until }, ...extra };
}

/** Handlers that keep every record they are given (a client one only when its parent was adopted here first). */
function keeper(adopted: string[]): LeaseHandlers {
  return {
    adopted: (record: TransactionRecord) => {
      if (record.side === 'client' && !adopted.includes(record.parent ?? '')) return false;
      adopted.push(record.key);
      return true;
    },
    lost: () => undefined,
  };
}

function ticker(store: MemoryTransactionStore, owner: string, counters: ProxyCounters, tickMs = HOUR, sweepMs = HOUR, leaseMs = 3000): LeaseTicker {
  return new LeaseTicker({ store, owner, leaseMs, tickMs, sweepMs, counters });
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

test('a dead sibling\'s transactions are taken over at its death notice, leases unexpired, each by exactly one of two survivors, with no search', async () => {
  const store = new MemoryTransactionStore();
  const now = Date.now();
  // Leases an hour long: neither a sweep nor a renewal tick would ever find them lapsed.
  await store.create(transaction('s1', 'w0.dead', now + HOUR));
  await store.create(transaction('c1', 'w0.dead', now + HOUR, { side: 'client', parent: 's1', branch: 'z9hG4bK-c1' }));
  await store.create(transaction('s2', 'w0.dead', now + HOUR));
  await store.create(transaction('alive', 'w1.alive', now + HOUR));
  const counters = [newProxyCounters(), newProxyCounters()];
  const adopted: string[][] = [[], []];
  const tickers = [ticker(store, 'w1.b', counters[0]!), ticker(store, 'w2.c', counters[1]!)];
  tickers.forEach((each, i) => each.start(keeper(adopted[i]!)));
  try {
    await Promise.all(tickers.map((each) => each.ownerDied('w0.dead')));
    await Promise.all(tickers.map((each) => each.adoptions()));
    // A client transaction taken by the survivor that lacks its parent is given back; the death
    // notice's follow-up searches (every tick for a while) let the parent's holder take it.
    await Promise.all(tickers.map((each) => each.tick()));
    const all = adopted.flat().sort();
    assert.deepEqual(all, ['c1', 's1', 's2'], `each of the dead worker's transactions adopted once (${JSON.stringify(adopted)})`);
    for (const key of ['s1', 'c1', 's2']) assert.match((await store.get(key))?.lease?.owner ?? '', /^w[12]\./, `${key} is a survivor's now`);
    assert.equal((await store.get('alive'))?.lease?.owner, 'w1.alive', 'a live sibling\'s lease is left alone');
    const holder = adopted.findIndex((keys) => keys.includes('s1'));
    assert.ok(adopted[holder]?.includes('c1'), 'the client transaction runs beside its server one');
    assert.equal(counters.reduce((sum, each) => sum + each.transactionsTakenOver, 0) >= 2, true, 'the server transactions were taken over at the notice');
    assert.deepEqual(counters.map((each) => each.transactionOwnerDeaths), [1, 1]);
  } finally {
    for (const each of tickers) each.stop();
  }
});

test('a foreign owner\'s lapsed lease is adopted by the slow sweep, not by the renewal ticks; a death notice makes every tick search for a lease and two ticks', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'], now: 1_000_000 });
  t.mock.method(Math, 'random', () => 0);
  const store = new MemoryTransactionStore();
  // Another instance's worker on the same store: no death notice will ever name it.
  await store.create(transaction('foreign', 'i2.w0.gone', 999_000));
  const counters = newProxyCounters();
  const adopted: string[] = [];
  const leases = ticker(store, 'w0.here', counters, 100, 1000, 300);
  leases.start(keeper(adopted));
  try {
    for (let i = 0; i < 4; i++) {
      t.mock.timers.tick(100);
      await flush();
    }
    assert.deepEqual(adopted, [], 'renewal ticks do not search');
    assert.equal(counters.transactionAdoptionSearches, 0);
    t.mock.timers.tick(100); // the first sweep: half a period in (Math.random is 0 here)
    await flush();
    assert.deepEqual(adopted, ['foreign'], 'the sweep adopts it');
    assert.equal(counters.transactionAdoptionSearches, 1);
    assert.equal((await store.get('foreign'))?.lease?.owner, 'w0.here');
    for (let i = 0; i < 10; i++) {
      t.mock.timers.tick(100);
      await flush();
    }
    assert.equal(counters.transactionAdoptionSearches, 2, 'then one sweep a period; its ten renewal ticks searched nothing');

    await leases.ownerDied('w5.gone'); // at +1500: every tick searches until +1500 + 300 + 2 * 100
    const before = counters.transactionAdoptionSearches;
    for (let i = 0; i < 5; i++) {
      t.mock.timers.tick(100);
      await flush();
    }
    assert.equal(counters.transactionAdoptionSearches - before, 4, 'after a death notice the ticks at +100 to +400 search');
    for (let i = 0; i < 4; i++) {
      t.mock.timers.tick(100);
      await flush();
    }
    assert.equal(counters.transactionAdoptionSearches - before, 4, 'and then no more (until the next sweep, at +2500)');
    t.mock.timers.tick(100);
    await flush();
    assert.equal(counters.transactionAdoptionSearches - before, 5);
  } finally {
    leases.stop();
  }
});
