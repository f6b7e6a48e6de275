import type { AttemptSlot, AuthStateStore } from '@switchboard/core';
import { SabLock, positiveInteger } from './sab-lock.js';
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

const SLOT_WORDS = 3;
const STATE = 0;
const HASH = 1;
const LENGTH = 2;
const EMPTY = 0;
const USED = 1;
const VALUE = 0;
const EXPIRES = 1;

const encoder = new TextEncoder();

function hashOf(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash | 0;
}

/**
 * Nonce counts and failure counts in SharedArrayBuffers, so every thread of a thread pool
 * checks replays and counts failures in one place with no messages (`--state sab`).
 *
 * One open-addressing table with linear probing for both kinds of entry (keys `n:<nonce>` and
 * `f:<source>`), each a number with an expiry. Expired entries are deleted where a walk meets
 * them, with backward-shift deletion (no tombstones), and the whole table is swept before it is
 * declared full. A compare-and-set of a nonce count or the check-and-increment of a failure count
 * happens under the lock, so two threads can never both accept one nonce count, nor both take
 * the last attempt slot of a source.
 */
export class SabAuthStateStore implements AuthStateStore {
  readonly shared: SabAuthStateShared;
  readonly #lock: SabLock;
  readonly #slots: Int32Array;
  readonly #numbers: Float64Array;
  readonly #keys: Uint8Array;
  readonly #capacity: number;
  readonly #keyBytes: number;

  private constructor(shared: SabAuthStateShared) {
    this.shared = shared;
    this.#lock = new SabLock(shared.control, shared.lockWaitMs, 'auth state table');
    this.#slots = new Int32Array(shared.slots);
    this.#numbers = new Float64Array(shared.numbers);
    this.#keys = new Uint8Array(shared.keys);
    this.#capacity = shared.capacity;
    this.#keyBytes = shared.keyBytes;
  }

  static create(options: SabAuthStateOptions = {}): SabAuthStateStore {
    const capacity = positiveInteger('capacity', options.capacity ?? 65_536);
    const keyBytes = positiveInteger('keyBytes', options.keyBytes ?? 96);
    return new SabAuthStateStore({
      control: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
      slots: new SharedArrayBuffer(capacity * SLOT_WORDS * Int32Array.BYTES_PER_ELEMENT),
      numbers: new SharedArrayBuffer(capacity * 2 * Float64Array.BYTES_PER_ELEMENT),
      keys: new SharedArrayBuffer(capacity * keyBytes),
      capacity,
      keyBytes,
      lockWaitMs: positiveInteger('lockWaitMs', options.lockWaitMs ?? 2000),
    });
  }

  static attach(shared: SabAuthStateShared): SabAuthStateStore {
    return new SabAuthStateStore(shared);
  }

  async acceptNonceCount(nonce: string, nc: number, expiresAt: number): Promise<boolean> {
    const key = this.#encode(`n:${nonce}`);
    return this.#lock.locked(() => {
      const slot = this.#find(key, Date.now());
      if (slot >= 0 && nc <= (this.#numbers[slot * 2 + VALUE] as number)) return false;
      this.#write(slot >= 0 ? slot : this.#claim(key), key, nc, expiresAt);
      return true;
    });
  }

  async tryAttempt(source: string, now: number, windowMs: number, maxFailures: number): Promise<AttemptSlot> {
    const key = this.#encode(`f:${source}`);
    return this.#lock.locked(() => {
      const slot = this.#find(key, now);
      if (slot >= 0) {
        const count = this.#numbers[slot * 2 + VALUE] as number;
        const windowLeftMs = (this.#numbers[slot * 2 + EXPIRES] as number) - now;
        if (count >= maxFailures) return { granted: false, windowLeftMs };
        this.#numbers[slot * 2 + VALUE] = count + 1;
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
      if (slot >= 0 && (this.#numbers[slot * 2 + VALUE] as number) > 0) this.#numbers[slot * 2 + VALUE] = (this.#numbers[slot * 2 + VALUE] as number) - 1;
    });
  }

  async failures(source: string, now: number): Promise<number> {
    const key = this.#encode(`f:${source}`);
    return this.#lock.locked(() => {
      const slot = this.#find(key, now);
      return slot >= 0 ? (this.#numbers[slot * 2 + VALUE] as number) : 0;
    });
  }

  /** Entries in use (for tests and metrics); expired ones are swept first. */
  async size(now: number): Promise<number> {
    return this.#lock.locked(() => {
      this.#sweep(now);
      let count = 0;
      for (let slot = 0; slot < this.#capacity; slot++) if (this.#slots[slot * SLOT_WORDS + STATE] === USED) count++;
      return count;
    });
  }

  async close(): Promise<void> {}

  #encode(text: string): Uint8Array {
    const bytes = encoder.encode(text);
    if (bytes.length > this.#keyBytes) throw new StateStoreError('ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE', `an auth state key of ${bytes.length} bytes does not fit a slot of ${this.#keyBytes}`);
    return bytes;
  }

  /** The slot holding `key` unexpired at `now`, or -1; expired entries met on the way are deleted. */
  #find(key: Uint8Array, now: number): number {
    const hash = hashOf(key);
    let slot = (hash >>> 0) % this.#capacity;
    for (let steps = 0; steps < this.#capacity; ) {
      const header = slot * SLOT_WORDS;
      if (this.#slots[header + STATE] !== USED) return -1;
      if ((this.#numbers[slot * 2 + EXPIRES] as number) <= now) {
        this.#delete(slot);
        continue;
      }
      if (this.#slots[header + HASH] === hash && this.#holds(slot, key)) return slot;
      slot = slot + 1 === this.#capacity ? 0 : slot + 1;
      steps++;
    }
    return -1;
  }

  /** An empty slot on `key`'s run (after `#find` missed it): the first empty one after its home. */
  #claim(key: Uint8Array): number {
    for (let attempt = 0; attempt < 2; attempt++) {
      let slot = (hashOf(key) >>> 0) % this.#capacity;
      for (let steps = 0; steps < this.#capacity; steps++) {
        if (this.#slots[slot * SLOT_WORDS + STATE] !== USED) return slot;
        slot = slot + 1 === this.#capacity ? 0 : slot + 1;
      }
      this.#sweep(Date.now());
    }
    throw new StateStoreError('ERR_SWITCHBOARD_STATE_FULL', `the auth state table is full (${this.#capacity} slots)`);
  }

  #holds(slot: number, key: Uint8Array): boolean {
    if (this.#slots[slot * SLOT_WORDS + LENGTH] !== key.length) return false;
    const start = slot * this.#keyBytes;
    for (let i = 0; i < key.length; i++) if (this.#keys[start + i] !== key[i]) return false;
    return true;
  }

  #write(slot: number, key: Uint8Array, value: number, expiresAt: number): void {
    const header = slot * SLOT_WORDS;
    this.#keys.set(key, slot * this.#keyBytes);
    this.#slots[header + HASH] = hashOf(key);
    this.#slots[header + LENGTH] = key.length;
    this.#numbers[slot * 2 + VALUE] = value;
    this.#numbers[slot * 2 + EXPIRES] = expiresAt;
    this.#slots[header + STATE] = USED;
  }

  #sweep(now: number): void {
    for (let slot = 0; slot < this.#capacity; ) {
      if (this.#slots[slot * SLOT_WORDS + STATE] === USED && (this.#numbers[slot * 2 + EXPIRES] as number) <= now) this.#delete(slot);
      else slot++;
    }
  }

  /** Empties `slot` and shifts later entries of its run back, as SabLocationStore does. */
  #delete(slot: number): void {
    const capacity = this.#capacity;
    let hole = slot;
    this.#slots[hole * SLOT_WORDS + STATE] = EMPTY;
    for (let next = hole + 1 === capacity ? 0 : hole + 1; this.#slots[next * SLOT_WORDS + STATE] === USED; next = next + 1 === capacity ? 0 : next + 1) {
      const home = ((this.#slots[next * SLOT_WORDS + HASH] as number) >>> 0) % capacity;
      const homeBetween = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (homeBetween) continue;
      this.#slots.copyWithin(hole * SLOT_WORDS, next * SLOT_WORDS, (next + 1) * SLOT_WORDS);
      this.#numbers.copyWithin(hole * 2, next * 2, next * 2 + 2);
      this.#keys.copyWithin(hole * this.#keyBytes, next * this.#keyBytes, next * this.#keyBytes + (this.#slots[hole * SLOT_WORDS + LENGTH] as number));
      this.#slots[next * SLOT_WORDS + STATE] = EMPTY;
      hole = next;
    }
  }
}
