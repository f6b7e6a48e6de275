/**
 * A thread attached to a shared SabTransactionStore (sab-transaction-store.test.ts). All threads
 * meet at a barrier before every round (else one thread runs ahead and they take turns), then race
 * for the round's key: each tries to create the round's
 * transaction, to move it out of its first state, to take its lease and to add the one branch, and
 * posts which of those it won. The test checks every round had exactly one winner of each.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SabTransactionStore, type SabTransactionStoreShared } from './sab-transaction-store.js';

export interface TransactionFixtureData {
  readonly shared: SabTransactionStoreShared;
  readonly thread: number;
  readonly threads: number;
  readonly rounds: number;
  /** One Int32 word: arrivals at the barrier, all rounds counted. */
  readonly barrier: SharedArrayBuffer;
}

/** Per round, a bit per operation won: 1 create, 2 transition, 4 lease, 8 branch. */
export interface TransactionFixtureReport {
  readonly wins: number[];
  readonly error?: string;
}

export const WON_CREATE = 1;
export const WON_TRANSITION = 2;
export const WON_LEASE = 4;
export const WON_BRANCH = 8;

const data = workerData as TransactionFixtureData | null;
if (data !== null && parentPort !== null) {
  const { shared, thread, threads, rounds } = data;
  const store = SabTransactionStore.attach(shared);
  const barrier = new Int32Array(data.barrier);
  const wins: number[] = [];
  let error: string | undefined;
  /** Waits until every thread has arrived `round + 1` times. */
  const meet = (round: number): void => {
    const all = threads * (round + 1);
    if (Atomics.add(barrier, 0, 1) + 1 === all) Atomics.notify(barrier, 0);
    for (let arrived = Atomics.load(barrier, 0); arrived < all; arrived = Atomics.load(barrier, 0)) Atomics.wait(barrier, 0, arrived);
  };
  try {
    const expiresAt = Date.now() + 600_000;
    for (let round = 0; round < rounds; round++) {
      meet(round);
      const key = `z9hG4bK-race-${round}|192.0.2.1:5060|INVITE`;
      let won = 0;
      if ((await store.create({ key, side: 'server', invite: true, state: 'proceeding', branch: `t${thread}`, expiresAt, timers: { C: expiresAt } })).ok) won |= WON_CREATE;
      if ((await store.transition(key, ['proceeding'], { state: 'completed', response: { status: 486, bytes: Buffer.from(`486 from thread ${thread}`) } })).ok) won |= WON_TRANSITION;
      if ((await store.acquireLease(key, `thread-${thread}`, Date.now() + 60_000, Date.now())).ok) won |= WON_LEASE;
      if ((await store.addBranch(key, { branch: 'z9hG4bK-only', target: `udp:10.0.0.${thread}:5060`, state: 'calling', status: 0 })).ok) won |= WON_BRANCH;
      wins.push(won);
    }
  } catch (caught) {
    error = (caught as Error).message;
  }
  parentPort.postMessage({ wins, ...(error === undefined ? {} : { error }) } satisfies TransactionFixtureReport);
}
