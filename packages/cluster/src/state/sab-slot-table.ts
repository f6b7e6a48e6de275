import { StateStoreError } from './state-store-error.js';

/** Header word 0 of every slot: EMPTY or USED. */
export const SLOT_STATE = 0;
/** Header word 1 of every slot: the hash its home slot comes from. A store's own words follow it. */
export const SLOT_HASH = 1;
const EMPTY = 0;
const USED = 1;

/** What a walk does after visiting a slot: go on, look at the same slot again (it was deleted), or stop. */
export type WalkStep = 'next' | 'again' | 'stop';

/** What a store fixes about its slots, the same for every table it makes. */
export interface SabSlotShape {
  /** Int32 header words per slot: SLOT_STATE and SLOT_HASH, then the store's own. */
  readonly slotWords: number;
  /** Float64 numbers per slot. */
  readonly numbersPerSlot: number;
  /** Which of a slot's numbers is its expiry (ms): an entry is lapsed at `now` when `expiry <= now`. */
  readonly expiryNumber: number;
  /** Bytes of a slot's record in use, from its header words (`header` is the slot's first word): what a shift copies. */
  readonly recordLength: (slots: Int32Array, header: number) => number;
  /** The table's name in errors ("location table"). */
  readonly what: string;
}

/** The shared memory of one table, and its sizes. */
export interface SabSlotMemory {
  /** `slotWords` Int32 per slot. */
  readonly slots: SharedArrayBuffer;
  /** `numbersPerSlot` Float64 per slot. */
  readonly numbers: SharedArrayBuffer;
  /** `recordBytes` per slot. */
  readonly records: SharedArrayBuffer;
  readonly capacity: number;
  readonly recordBytes: number;
}

/** Allocates the zeroed (all EMPTY) memory of a table of `capacity` slots. */
export function allocateSlotMemory(shape: SabSlotShape, capacity: number, recordBytes: number): SabSlotMemory {
  return {
    slots: new SharedArrayBuffer(capacity * shape.slotWords * Int32Array.BYTES_PER_ELEMENT),
    numbers: new SharedArrayBuffer(capacity * shape.numbersPerSlot * Float64Array.BYTES_PER_ELEMENT),
    records: new SharedArrayBuffer(capacity * recordBytes),
    capacity,
    recordBytes,
  };
}

/** FNV-1a over bytes (UTF-8 keys). */
export function hashBytes(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash | 0;
}

/** FNV-1a over UTF-16 code units (a key hashed without encoding it). */
export function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/**
 * The slots of an open-addressing hash table in SharedArrayBuffers, as the SAB stores share them:
 * an entry's home slot is its hash modulo the capacity, linear probing from there, and
 * backward-shift deletion (no tombstones): deleting moves later entries of the run back into the
 * hole, each as far as its home slot allows, so every entry stays reachable from its home slot
 * and runs stay as short as the live entries make them. Every slot has Int32 header words
 * (state, hash, then the store's), Float64 numbers (one of them the expiry) and a record of
 * `recordBytes`; a shift moves all three.
 *
 * The table knows nothing of keys and records beyond that: a store says which entries match, and
 * reads and writes its own header words, numbers and record bytes. No locking either: the caller
 * holds its table's SabLock around every call.
 */
export class SabSlotTable {
  readonly slots: Int32Array;
  readonly numbers: Float64Array;
  readonly records: Uint8Array;
  readonly capacity: number;
  readonly recordBytes: number;
  readonly #slotWords: number;
  readonly #numbersPerSlot: number;
  readonly #expiryNumber: number;
  readonly #recordLength: (slots: Int32Array, header: number) => number;
  readonly #what: string;

  constructor(shape: SabSlotShape, memory: SabSlotMemory) {
    this.slots = new Int32Array(memory.slots);
    this.numbers = new Float64Array(memory.numbers);
    this.records = new Uint8Array(memory.records);
    this.capacity = memory.capacity;
    this.recordBytes = memory.recordBytes;
    this.#slotWords = shape.slotWords;
    this.#numbersPerSlot = shape.numbersPerSlot;
    this.#expiryNumber = shape.expiryNumber;
    this.#recordLength = shape.recordLength;
    this.#what = shape.what;
  }

  /** The index in `slots` of a slot's first header word. */
  header(slot: number): number {
    return slot * this.#slotWords;
  }

  /** The index in `records` of a slot's first record byte. */
  recordStart(slot: number): number {
    return slot * this.recordBytes;
  }

  isUsed(slot: number): boolean {
    return this.slots[slot * this.#slotWords + SLOT_STATE] === USED;
  }

  /** The home slot of `hash`. */
  home(hash: number): number {
    return (hash >>> 0) % this.capacity;
  }

  numberAt(slot: number, index: number): number {
    return this.numbers[slot * this.#numbersPerSlot + index]!;
  }

  setNumber(slot: number, index: number, value: number): void {
    this.numbers[slot * this.#numbersPerSlot + index] = value;
  }

  expiresAt(slot: number): number {
    return this.numberAt(slot, this.#expiryNumber);
  }

  /** Marks `slot` used by an entry of `hash`; the store writes its own words, numbers and record. */
  occupy(slot: number, hash: number): void {
    const header = slot * this.#slotWords;
    this.slots[header + SLOT_HASH] = hash;
    this.slots[header + SLOT_STATE] = USED;
  }

  /** Whether the record of `slot` starts with `bytes`. */
  recordStartsWith(slot: number, bytes: Uint8Array): boolean {
    const start = slot * this.recordBytes;
    for (let i = 0; i < bytes.length; i++) if (this.records[start + i] !== bytes[i]) return false;
    return true;
  }

  /**
   * Calls `visit` on each used slot of the run starting at the home slot of `hash`, and returns
   * the slot the walk ended at: the first empty one, the one `visit` stopped at, or -1 when it went
   * round a full table. A `visit` that deletes its slot returns 'again': a shift may have moved the
   * next entry into it.
   */
  walk(hash: number, visit: (slot: number) => WalkStep): number {
    const capacity = this.capacity;
    let slot = this.home(hash);
    for (let steps = 0; steps < capacity; ) {
      if (!this.isUsed(slot)) return slot;
      const step = visit(slot);
      if (step === 'stop') return slot;
      if (step === 'next') {
        slot = slot + 1 === capacity ? 0 : slot + 1;
        steps++;
      }
    }
    return -1;
  }

  /**
   * The slot of `hash`'s run whose entry is unexpired at `now` and `matches`, or -1. Entries of the
   * run lapsed at `now` that the walk meets on the way are deleted (whatever their key).
   */
  find(hash: number, now: number, matches: (slot: number) => boolean): number {
    let found = -1;
    this.walk(hash, (slot) => {
      if (this.expiresAt(slot) <= now) {
        this.delete(slot);
        return 'again';
      }
      if (this.slots[slot * this.#slotWords + SLOT_HASH] !== hash || !matches(slot)) return 'next';
      found = slot;
      return 'stop';
    });
    return found;
  }

  /** The first empty slot from the home slot of `hash` (the end of its run), or -1 when the table is full. */
  freeSlot(hash: number): number {
    const capacity = this.capacity;
    let slot = this.home(hash);
    for (let steps = 0; steps < capacity; steps++) {
      if (!this.isUsed(slot)) return slot;
      slot = slot + 1 === capacity ? 0 : slot + 1;
    }
    return -1;
  }

  /**
   * The first empty slot from the home slot of `hash`; when the table is full, sweeps the entries
   * lapsed at `sweepAt` once and looks again, then gives up with ERR_SWITCHBOARD_STATE_FULL.
   */
  claim(hash: number, sweepAt: number): number {
    const slot = this.freeSlot(hash);
    if (slot >= 0) return slot;
    this.sweep(sweepAt);
    const swept = this.freeSlot(hash);
    if (swept >= 0) return swept;
    throw this.fullError();
  }

  fullError(): StateStoreError {
    return new StateStoreError('ERR_SWITCHBOARD_STATE_FULL', `the ${this.#what} is full (${this.capacity} slots)`);
  }

  /**
   * Empties `slot` and moves later entries of its run back into the hole, each as far as its home
   * slot allows, so that every entry stays reachable from its home slot without tombstones.
   */
  delete(slot: number): void {
    const capacity = this.capacity;
    const words = this.#slotWords;
    let hole = slot;
    this.slots[hole * words + SLOT_STATE] = EMPTY;
    for (let next = hole + 1 === capacity ? 0 : hole + 1; this.isUsed(next); next = next + 1 === capacity ? 0 : next + 1) {
      const home = this.home(this.slots[next * words + SLOT_HASH]!);
      const homeBetween = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (homeBetween) continue;
      this.#move(next, hole);
      hole = next;
    }
  }

  /** Deletes every entry lapsed at `now`. */
  sweep(now: number): void {
    // A delete may shift an entry into the slot it emptied (look again) or, past the table's end,
    // back to an already swept slot (it was live when swept there).
    for (let slot = 0; slot < this.capacity; ) {
      if (this.isUsed(slot) && this.expiresAt(slot) <= now) this.delete(slot);
      else slot++;
    }
  }

  /** Used slots, lapsed or not. */
  countUsed(): number {
    let count = 0;
    for (let slot = 0; slot < this.capacity; slot++) if (this.isUsed(slot)) count++;
    return count;
  }

  #move(from: number, to: number): void {
    const words = this.#slotWords;
    const perSlot = this.#numbersPerSlot;
    const header = from * words;
    this.slots.copyWithin(to * words, header, header + words);
    this.numbers.copyWithin(to * perSlot, from * perSlot, (from + 1) * perSlot);
    const start = from * this.recordBytes;
    this.records.copyWithin(to * this.recordBytes, start, start + this.#recordLength(this.slots, header));
    this.slots[header + SLOT_STATE] = EMPTY;
  }
}
