/**
 * A thread attached to a shared SabAuthStateStore (auth-state-stores.test.ts). All threads wait at
 * a barrier, then each presents count 1 of the same `nonces` nonces and records a failure for the
 * same source `failures` times, up to `maxFailures` in all; each posts which nonces it was granted
 * and how many attempt slots it got.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SabAuthStateStore, type SabAuthStateShared } from './sab-auth-state-store.js';

export interface AuthFixtureData {
  readonly shared: SabAuthStateShared;
  readonly threads: number;
  readonly nonces: number;
  readonly failures: number;
  readonly maxFailures: number;
  /** One Int32 word: threads arrived at the barrier. */
  readonly barrier: SharedArrayBuffer;
}

export interface AuthFixtureReport {
  readonly granted: number[];
  readonly attempts: number;
  readonly error?: string;
}

const data = workerData as AuthFixtureData | null;
if (data !== null && parentPort !== null) {
  const store = SabAuthStateStore.attach(data.shared);
  const barrier = new Int32Array(data.barrier);
  if (Atomics.add(barrier, 0, 1) + 1 === data.threads) Atomics.notify(barrier, 0);
  for (let arrived = Atomics.load(barrier, 0); arrived < data.threads; arrived = Atomics.load(barrier, 0)) Atomics.wait(barrier, 0, arrived);
  const granted: number[] = [];
  let attempts = 0;
  let error: string | undefined;
  try {
    const expiresAt = Date.now() + 60_000;
    for (let i = 0; i < Math.max(data.nonces, data.failures); i++) {
      if (i < data.nonces && (await store.acceptNonceCount(`nonce-${i}`, 1, expiresAt))) granted.push(i);
      if (i < data.failures && (await store.tryAttempt('192.0.2.66', Date.now(), 60_000, data.maxFailures)).granted) attempts++;
    }
  } catch (caught) {
    error = (caught as Error).message;
  }
  parentPort.postMessage({ granted, attempts, ...(error === undefined ? {} : { error }) } satisfies AuthFixtureReport);
}
