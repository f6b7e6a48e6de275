/**
 * A thread attached to a shared SabLocationStore (sab-location-store.test.ts). A writer puts
 * `count` bindings of its own AORs and rewrites its first contact of one AOR all writers share;
 * every tenth step it adds a contact to that AOR and reads it back. A reader looks up the shared
 * AOR until the test says stop. All start together (a barrier), check every record they read for
 * tearing, and post what they saw.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Binding } from '@switchboard/core';
import { SabLocationStore, type SabLocationStoreShared } from './sab-location-store.js';

/** What the test passes in `workerData`. */
export interface FixtureData {
  readonly shared: SabLocationStoreShared;
  readonly role: 'writer' | 'reader';
  readonly thread: number;
  readonly count: number;
  /** How many fixture threads wait for each other at the start. */
  readonly threads: number;
  /** Int32 words: ARRIVED (threads at the barrier), STOP (set to 1: readers stop). */
  readonly signals: SharedArrayBuffer;
}

export const ARRIVED = 0;
export const STOP = 1;

/** What a fixture thread posts when done. */
export interface FixtureReport {
  readonly reads: number;
  /** Records that do not hold together (a torn read), or an error message; empty when all is well. */
  readonly torn: string[];
}

/** The AOR every writer adds a contact to. */
export const SHARED_AOR = 'sip:shared@example.com';
const source = { protocol: 'udp' as const, address: '127.0.0.1', port: 5060 };

/** A binding whose every field derives from (aor, contact, cseq), padded to a length that varies with cseq. */
export function fixtureBinding(aor: string, contact: string, cseq: number): Binding {
  return { aor, contact, expiresAt: Date.now() + 600_000, q: (cseq % 10) / 10, callId: `${aor}|${contact}|${cseq}|${'x'.repeat(cseq % 97)}`, cseq, source };
}

/** Whether a binding read back is one fixtureBinding made whole. */
export function isWhole(binding: Binding): boolean {
  const expected = fixtureBinding(binding.aor, binding.contact, binding.cseq);
  return binding.callId === expected.callId && binding.q === expected.q && binding.source.port === source.port;
}

const data = workerData as FixtureData | null;
if (data !== null && parentPort !== null) {
  const { shared, role, thread, count, threads } = data;
  const store = SabLocationStore.attach(shared);
  const signals = new Int32Array(data.signals);
  const torn: string[] = [];
  let reads = 0;
  const readShared = async (): Promise<void> => {
    for (const binding of await store.lookup(SHARED_AOR, Date.now())) {
      reads++;
      if (!isWhole(binding) && torn.length < 5) torn.push(JSON.stringify(binding));
    }
  };
  // Worker start-up takes longer than 2000 puts: without the barrier the threads would take turns.
  if (Atomics.add(signals, ARRIVED, 1) + 1 === threads) Atomics.notify(signals, ARRIVED);
  for (let arrived = Atomics.load(signals, ARRIVED); arrived < threads; arrived = Atomics.load(signals, ARRIVED)) Atomics.wait(signals, ARRIVED, arrived);
  try {
    if (role === 'writer') {
      for (let i = 0; i < count; i++) {
        await store.put(fixtureBinding(`sip:t${thread}-${i}@example.com`, `sip:c${i}@10.0.0.${thread}`, i));
        // Rewrites contact 0 with another cseq and length; every tenth step adds contact i and reads.
        await store.put(fixtureBinding(SHARED_AOR, `sip:t${thread}-0@10.0.0.${thread}`, i));
        if (i % 10 === 0) {
          await store.put(fixtureBinding(SHARED_AOR, `sip:t${thread}-${i}@10.0.0.${thread}`, i));
          await readShared();
        }
      }
    } else {
      while (Atomics.load(signals, STOP) === 0) await readShared();
    }
  } catch (error) {
    torn.push((error as Error).message);
  }
  parentPort.postMessage({ reads, torn } satisfies FixtureReport);
}
