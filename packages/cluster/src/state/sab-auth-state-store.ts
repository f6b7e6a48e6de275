import type { AttemptSlot, AuthStateStore } from '@switchboard/core';
import { SabLock, positiveInteger } from './sab-lock.js';
import { SabSlotTable, allocateSlotMemory, hashBytes, type SabSlotShape } from './sab-slot-table.js';
import { StateStoreError } from './state-store-error.js';

/**
 * The memory of a SabAuthStateStore: plain data (structured-cloneable), posted to the threads
 * that attach to it.
 */
export interface SabAuthStateShared {
  /** One Int32 word: the lock (see SabLock). */
  readonly control: SharedArrayBuffer;
  /** Int32 words per slot: state (0 empty, 1 used), key hash, key length. */
  readonly slots: SharedArrayBuffer;
  /** Two Float64 per slot: the value (a nonce count or a failure count) and its expiry (ms). */
  readonly numbers: SharedArrayBuffer;
  /** `keyBytes` per slot: the key as UTF-8. */
  readonly keys: SharedArrayBuffer;
  readonly capacity: number;
  readonly keyBytes: number;
  readonly lockWaitMs: number;
}

export interface SabAuthStateOptions {
  /** Slots: nonces in use within a nonce lifetime plus sources with recent failures (65536 by default). */
  readonly capacity?: number;
  /** Longest key in bytes (96 by default; a nonce key takes 50). */
  readonly keyBytes?: number;
  readonly lockWaitMs?: number;
}

/** Header word after the table's state and key hash: the key's length. */
const LENGTH = 2;
/** The numbers of a slot. */
const VALUE = 0;
const EXPIRES = 1;
const WHAT = 'auth state table';
const SHAPE: SabSlotShape = { slotWords: 3, numbersPerSlot: 2, expiryNumber: EXPIRES, recordLength: (slots, header) => slots[header + LENGTH]!, what: WHAT };

const encoder = new TextEncoder();

/**
 * Nonce counts and failure counts in SharedArrayBuffers, so every thread of a thread pool
 * checks replays and counts failures in one place with no messages (`--state sab`).
 *
 * One open-addressing table with linear probing (SabSlotTable) for both kinds of entry (keys `n:<nonce>` and
 * `f:<source>`), each a number with an expiry. Expired entries are deleted where a walk meets
 * them, with backward-shift deletion (no tombstones), and the whole table is swept before it is
 * declared full. A compare-and-set of a nonce count or the check-and-increment of a failure count
 * happens under the lock, so two threads can never both accept one nonce count, nor both take
 * the last attempt slot of a source.
 */
export class SabAuthStateStore implements AuthStateStore {
  readonly shared: SabAuthStateShared;
  readonly #lock: SabLock;
  readonly #table: SabSlotTable;

  private constructor(shared: SabAuthStateShared) {
    this.shared = shared;
    this.#lock = new SabLock(shared.control, shared.lockWaitMs, WHAT);
    this.#table = new SabSlotTable(SHAPE, { ...shared, records: shared.keys, recordBytes: shared.keyBytes });
  }

  static create(options: SabAuthStateOptions = {}): SabAuthStateStore {
    const capacity = positiveInteger('capacity', options.capacity ?? 65_536);
    const keyBytes = positiveInteger('keyBytes', options.keyBytes ?? 96);
    const lockWaitMs = positiveInteger('lockWaitMs', options.lockWaitMs ?? 2000);
    const { slots, numbers, records } = allocateSlotMemory(SHAPE, capacity, keyBytes);
    return new SabAuthStateStore({ control: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT), slots, numbers, keys: records, capacity, keyBytes, lockWaitMs });
  }

  static attach(shared: SabAuthStateShared): SabAuthStateStore {
    return new SabAuthStateStore(shared);
  }

  async acceptNonceCount(nonce: string, nc: number, expiresAt: number): Promise<boolean> {
    const key = this.#encode(`n:${nonce}`);
    return this.#lock.locked(() => {
      const slot = this.#find(key, Date.now());
      if (slot >= 0 && nc <= this.#table.numberAt(slot, VALUE)) return false;
      this.#write(slot >= 0 ? slot : this.#claim(key), key, nc, expiresAt);
      return true;
    });
  }

  async tryAttempt(source: string, now: number, windowMs: number, maxFailures: number): Promise<AttemptSlot> {
    const key = this.#encode(`f:${source}`);
    return this.#lock.locked(() => {
      const slot = this.#find(key, now);
      if (slot >= 0) {
        const count = this.#table.numberAt(slot, VALUE);
        const windowLeftMs = this.#table.expiresAt(slot) - now;
        if (count >= maxFailures) return { granted: false, windowLeftMs };
        this.#table.setNumber(slot, VALUE, count + 1);
        return { granted: true, windowLeftMs };
      }
      if (maxFailures < 1) return { granted: false, windowLeftMs: windowMs };
      this.#write(this.#claim(key), key, 1, now + windowMs);
      return { granted: true, windowLeftMs: windowMs };
    });
  }

  async releaseAttempt(source: string, now: number): Promise<void> {
    const key = this.#encode(`f:${source}`);
    this.#lock.locked(() => {
      const slot = this.#find(key, now);
      const count = slot >= 0 ? this.#table.numberAt(slot, VALUE) : 0;
      if (count > 0) this.#table.setNumber(slot, VALUE, count - 1);
    });
  }

  async failures(source: string, now: number): Promise<number> {
    const key = this.#encode(`f:${source}`);
    return this.#lock.locked(() => {
      const slot = this.#find(key, now);
      return slot >= 0 ? this.#table.numberAt(slot, VALUE) : 0;
    });
  }

  /** Entries in use (for tests and metrics); expired ones are swept first. */
  async size(now: number): Promise<number> {
    return this.#lock.locked(() => {
      this.#table.sweep(now);
      return this.#table.countUsed();
    });
  }

  async close(): Promise<void> {}

  #encode(text: string): Uint8Array {
    const bytes = encoder.encode(text);
    const keyBytes = this.#table.recordBytes;
    if (bytes.length > keyBytes) throw new StateStoreError('ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE', `an auth state key of ${bytes.length} bytes does not fit a slot of ${keyBytes}`);
    return bytes;
  }

  /** The slot holding `key` unexpired at `now`, or -1; expired entries met on the way are deleted. */
  #find(key: Uint8Array, now: number): number {
    const table = this.#table;
    return table.find(hashBytes(key), now, (slot) => table.slots[table.header(slot) + LENGTH] === key.length && table.recordStartsWith(slot, key));
  }

  /** An empty slot on `key`'s run (after `#find` missed it): the first empty one after its home, sweeping once when the table is full. */
  #claim(key: Uint8Array): number {
    return this.#table.claim(hashBytes(key), Date.now());
  }

  #write(slot: number, key: Uint8Array, value: number, expiresAt: number): void {
    const table = this.#table;
    table.records.set(key, table.recordStart(slot));
    table.slots[table.header(slot) + LENGTH] = key.length;
    table.setNumber(slot, VALUE, value);
    table.setNumber(slot, EXPIRES, expiresAt);
    table.occupy(slot, hashBytes(key));
  }
}
