import type { Binding, LocationStore } from '@switchboard/core';
import { StateStoreError } from './state-store-error.js';

/** The memory of a SabLocationStore, posted to threads that attach to it. */
export interface SabLocationStoreShared {
  readonly control: SharedArrayBuffer;
  readonly slots: SharedArrayBuffer;
  readonly records: SharedArrayBuffer;
  readonly capacity: number;
  readonly recordBytes: number;
}

const EMPTY = 0;
const USED = 1;
const DELETED = 2;
/** Slot words: state, hash of the AOR, record length. */
const SLOT_WORDS = 3;
const LOCK = 0;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function aorHash(aor: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < aor.length; i++) {
    hash ^= aor.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/**
 * Location bindings in SharedArrayBuffers, so every thread of a thread pool sees the same
 * registrations with no messages. An open-addressing table hashed by AOR: all contacts of an AOR
 * lie on one probe sequence, so a lookup walks it until an empty slot. Each slot holds the binding
 * as UTF-8 JSON (at most `recordBytes`). One lock word guards the table: Atomics.compareExchange
 * to take it, Atomics.wait while another thread holds it, Atomics.notify to release. Deleted and
 * lapsed slots become tombstones that later puts reuse.
 */
export class SabLocationStore implements LocationStore {
  readonly shared: SabLocationStoreShared;
  readonly #control: Int32Array;
  readonly #slots: Int32Array;
  readonly #records: Uint8Array;

  private constructor(shared: SabLocationStoreShared) {
    this.shared = shared;
    this.#control = new Int32Array(shared.control);
    this.#slots = new Int32Array(shared.slots);
    this.#records = new Uint8Array(shared.records);
  }

  /** Allocates a table of `capacity` slots of `recordBytes` each (16384 x 512 bytes by default). */
  static create(options: { capacity?: number; recordBytes?: number } = {}): SabLocationStore {
    const capacity = options.capacity ?? 16_384;
    const recordBytes = options.recordBytes ?? 512;
    return new SabLocationStore({
      control: new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT),
      slots: new SharedArrayBuffer(capacity * SLOT_WORDS * Int32Array.BYTES_PER_ELEMENT),
      records: new SharedArrayBuffer(capacity * recordBytes),
      capacity,
      recordBytes,
    });
  }

  /** A store over memory another thread allocated. */
  static attach(shared: SabLocationStoreShared): SabLocationStore {
    return new SabLocationStore(shared);
  }

  async lookup(aor: string, now: number): Promise<Binding[]> {
    const live: Binding[] = [];
    this.#locked(() => {
      this.#walk(aor, (slot, binding) => {
        if (binding.aor !== aor) return;
        if (binding.expiresAt > now) live.push(binding);
        else this.#delete(slot);
      });
    });
    return live.sort((a, b) => b.q - a.q);
  }

  async put(binding: Binding): Promise<void> {
    const bytes = encoder.encode(JSON.stringify(binding));
    if (bytes.length > this.shared.recordBytes) {
      throw new StateStoreError('ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE', `binding of ${binding.aor} takes ${bytes.length} bytes; slots hold ${this.shared.recordBytes}`);
    }
    this.#locked(() => {
      let free = -1;
      let existing = -1;
      const now = Date.now();
      const end = this.#walk(binding.aor, (slot, stored) => {
        if (stored.aor === binding.aor && stored.contact === binding.contact) existing = slot;
        else if (stored.expiresAt <= now) {
          this.#delete(slot);
          if (free < 0) free = slot;
        }
      }, (slot) => {
        if (free < 0) free = slot;
      });
      const target = existing >= 0 ? existing : free >= 0 ? free : end;
      if (target < 0) throw new StateStoreError('ERR_SWITCHBOARD_STATE_FULL', `the location table is full (${this.shared.capacity} slots)`);
      this.#write(target, aorHash(binding.aor), bytes);
    });
  }

  async remove(aor: string, contact: string): Promise<void> {
    this.#locked(() => {
      this.#walk(aor, (slot, binding) => {
        if (binding.aor === aor && binding.contact === contact) this.#delete(slot);
      });
    });
  }

  async removeAll(aor: string): Promise<void> {
    this.#locked(() => {
      this.#walk(aor, (slot, binding) => {
        if (binding.aor === aor) this.#delete(slot);
      });
    });
  }

  async size(now: number): Promise<number> {
    let count = 0;
    this.#locked(() => {
      for (let slot = 0; slot < this.shared.capacity; slot++) {
        if (this.#slots[slot * SLOT_WORDS] !== USED) continue;
        if (this.#read(slot).expiresAt > now) count++;
        else this.#delete(slot);
      }
    });
    return count;
  }

  async close(): Promise<void> {
    // The memory goes when the last thread holding it lets go.
  }

  /**
   * Visits the used slots on `aor`'s probe sequence (`visit`) and its tombstones (`onTombstone`),
   * up to the first empty slot, whose index it returns (-1 when the table has none).
   */
  #walk(aor: string, visit: (slot: number, binding: Binding) => void, onTombstone?: (slot: number) => void): number {
    const hash = aorHash(aor);
    const capacity = this.shared.capacity;
    const start = (hash >>> 0) % capacity;
    for (let step = 0; step < capacity; step++) {
      const slot = (start + step) % capacity;
      const state = this.#slots[slot * SLOT_WORDS];
      if (state === EMPTY) return slot;
      if (state === DELETED) onTombstone?.(slot);
      else if (this.#slots[slot * SLOT_WORDS + 1] === hash) visit(slot, this.#read(slot));
    }
    return -1;
  }

  #read(slot: number): Binding {
    const length = this.#slots[slot * SLOT_WORDS + 2] as number;
    const offset = slot * this.shared.recordBytes;
    // TextDecoder cannot read shared memory directly: copy the record out first.
    return JSON.parse(decoder.decode(this.#records.slice(offset, offset + length))) as Binding;
  }

  #write(slot: number, hash: number, bytes: Uint8Array): void {
    this.#records.set(bytes, slot * this.shared.recordBytes);
    this.#slots[slot * SLOT_WORDS + 1] = hash;
    this.#slots[slot * SLOT_WORDS + 2] = bytes.length;
    this.#slots[slot * SLOT_WORDS] = USED;
  }

  #delete(slot: number): void {
    this.#slots[slot * SLOT_WORDS] = DELETED;
  }

  #locked<T>(work: () => T): T {
    const control = this.#control;
    while (Atomics.compareExchange(control, LOCK, 0, 1) !== 0) Atomics.wait(control, LOCK, 1, 5);
    try {
      return work();
    } finally {
      Atomics.store(control, LOCK, 0);
      Atomics.notify(control, LOCK, 1);
    }
  }
}
