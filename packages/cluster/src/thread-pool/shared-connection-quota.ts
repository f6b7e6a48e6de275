/**
 * The thread-pool's `--max-connections`: one count of accepted connections in a SharedArrayBuffer
 * that every thread takes from (Atomics compare-and-swap, no lock), with a count per thread beside
 * it so that a thread's places can be given back when it dies (its connections die with it).
 */
import type { ConnectionQuota } from '@switchboard/core';

/** The memory of a quota: plain data, posted to the threads. */
export interface SharedConnectionQuotaMemory {
  /** Int32: [0] connections open over all threads, [1 + slot] those of thread `slot`. */
  readonly counts: SharedArrayBuffer;
  readonly limit: number;
}

export function allocateConnectionQuota(limit: number, slots: number): SharedConnectionQuotaMemory {
  return { counts: new SharedArrayBuffer((1 + slots) * Int32Array.BYTES_PER_ELEMENT), limit };
}

/** Thread `slot`'s view of the shared quota. */
export class SharedConnectionQuota implements ConnectionQuota {
  readonly #counts: Int32Array;
  readonly #limit: number;
  readonly #slot: number;

  constructor(memory: SharedConnectionQuotaMemory, slot: number) {
    this.#counts = new Int32Array(memory.counts);
    this.#limit = memory.limit;
    this.#slot = slot;
  }

  tryTake(): boolean {
    const counts = this.#counts;
    for (;;) {
      const open = Atomics.load(counts, 0);
      if (open >= this.#limit) return false;
      if (Atomics.compareExchange(counts, 0, open, open + 1) === open) {
        Atomics.add(counts, 1 + this.#slot, 1);
        return true;
      }
    }
  }

  give(): void {
    Atomics.sub(this.#counts, 0, 1);
    Atomics.sub(this.#counts, 1 + this.#slot, 1);
  }
}

/** Gives back every place thread `slot` held (it died, and its connections with it); how many. */
export function releaseThreadPlaces(memory: SharedConnectionQuotaMemory, slot: number): number {
  const counts = new Int32Array(memory.counts);
  const held = Atomics.exchange(counts, 1 + slot, 0);
  Atomics.sub(counts, 0, held);
  return held;
}

/** Connections open over all threads. */
export function connectionsTaken(memory: SharedConnectionQuotaMemory): number {
  return Atomics.load(new Int32Array(memory.counts), 0);
}
