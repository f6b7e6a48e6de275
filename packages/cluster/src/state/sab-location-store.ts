import type { Binding, LocationStore, TransportAddress, TransportProtocol } from '@switchboard/core';
import { SabLock, positiveInteger } from './sab-lock.js';
import { SLOT_HASH, SabSlotTable, allocateSlotMemory, hashText, type SabSlotShape } from './sab-slot-table.js';
import { StateStoreError } from './state-store-error.js';

/**
 * The memory of a SabLocationStore: plain data (structured-cloneable), posted to the threads that
 * attach to it.
 */
export interface SabLocationStoreShared {
  /** One Int32 word: the lock (0 free, 1 held, 2 held with threads waiting). */
  readonly control: SharedArrayBuffer;
  /** Int32 words per slot: state (0 empty, 1 used), AOR hash, contact hash, record length. */
  readonly slots: SharedArrayBuffer;
  /** One Float64 per slot: the binding's expiresAt, read without decoding the record. */
  readonly expiries: SharedArrayBuffer;
  /** `recordBytes` per slot: the binding as UTF-8 JSON. */
  readonly records: SharedArrayBuffer;
  readonly capacity: number;
  readonly recordBytes: number;
  /** How long a thread waits for the lock before giving up with ERR_SWITCHBOARD_STATE_UNAVAILABLE. */
  readonly lockWaitMs: number;
}

/** Sizes of a new table. */
export interface SabLocationStoreOptions {
  /** Slots, one binding each (65536 by default, as `--sab-bindings`). */
  readonly capacity?: number;
  /** Bytes of one encoded binding at most (512 by default). */
  readonly recordBytes?: number;
  /** Lock wait limit (2000 ms by default): a thread stopped while holding the lock must not hang the others. */
  readonly lockWaitMs?: number;
}

/** Header words after the table's state and AOR hash (SLOT_HASH). */
const CONTACT_HASH = 2;
const LENGTH = 3;
const WHAT = 'location table';
const SHAPE: SabSlotShape = { slotWords: 4, numbersPerSlot: 1, expiryNumber: 0, recordLength: (slots, header) => slots[header + LENGTH]!, what: WHAT };

/** A binding as stored: a JSON array, shorter than an object with its keys. */
type EncodedBinding = [aor: string, contact: string, expiresAt: number, q: number, callId: string, cseq: number, protocol: TransportProtocol, address: string, port: number, connectionId?: number];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeBinding(binding: Binding): Uint8Array {
  const { source } = binding;
  const encoded: EncodedBinding = [binding.aor, binding.contact, binding.expiresAt, binding.q, binding.callId, binding.cseq, source.protocol, source.address, source.port];
  if (source.connectionId !== undefined) encoded.push(source.connectionId);
  return encoder.encode(JSON.stringify(encoded));
}

function decodeBinding(text: string): Binding {
  const [aor, contact, expiresAt, q, callId, cseq, protocol, address, port, connectionId] = JSON.parse(text) as EncodedBinding;
  const source: TransportAddress = connectionId === undefined ? { protocol, address, port } : { protocol, address, port, connectionId };
  return { aor, contact, expiresAt, q, callId, cseq, source };
}

/**
 * Location bindings in SharedArrayBuffers, so every thread of a thread pool sees the same
 * registrations with no messages.
 *
 * An open-addressing table with linear probing (SabSlotTable), hashed by AOR: all contacts of an AOR lie in the
 * run of used slots that starts at the AOR's home slot, so a lookup walks that run to the first
 * empty slot. A slot's header (hashes, length, expiry) is read without decoding its record; the
 * record is the binding as UTF-8 JSON of at most `recordBytes`. Deletion shifts later entries of the
 * run back (no tombstones), so runs stay as short as the live bindings make them. A new contact
 * goes to the end of its AOR's entries and shifts keep their order, so a walk meets them in the
 * order they were first put: equal-q contacts come out as from MemoryLocationStore. Lapsed bindings
 * are reclaimed by `lookup` (that AOR, at its `now`), by `put` on the run it probes (at the wall
 * clock) and by `size` (the whole table, at its `now`).
 *
 * One lock word guards the table (SabLock: Atomics.compareExchange to take it, a short spin, then
 * Atomics.wait while it is held). The methods are async for the interface but do their work
 * synchronously.
 */
export class SabLocationStore implements LocationStore {
  /** Post this to a thread, which calls `SabLocationStore.attach` on it. */
  readonly shared: SabLocationStoreShared;
  readonly #lock: SabLock;
  readonly #table: SabSlotTable;

  private constructor(shared: SabLocationStoreShared) {
    this.shared = shared;
    this.#lock = new SabLock(shared.control, shared.lockWaitMs, WHAT);
    this.#table = new SabSlotTable(SHAPE, { ...shared, numbers: shared.expiries });
  }

  /** Allocates an empty table. */
  static create(options: SabLocationStoreOptions = {}): SabLocationStore {
    const capacity = positiveInteger('capacity', options.capacity ?? 65_536);
    const recordBytes = positiveInteger('recordBytes', options.recordBytes ?? 512);
    const lockWaitMs = positiveInteger('lockWaitMs', options.lockWaitMs ?? 2000);
    const { slots, numbers, records } = allocateSlotMemory(SHAPE, capacity, recordBytes);
    return new SabLocationStore({ control: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT), slots, expiries: numbers, records, capacity, recordBytes, lockWaitMs });
  }

  /** A store over the memory of another thread's store (its `shared`). */
  static attach(shared: SabLocationStoreShared): SabLocationStore {
    return new SabLocationStore(shared);
  }

  async lookup(aor: string, now: number): Promise<Binding[]> {
    const aorHash = hashText(aor);
    const live: Binding[] = [];
    const table = this.#table;
    this.#locked(() => {
      table.walk(aorHash, (slot) => {
        if (table.expiresAt(slot) > now || !this.#holds(slot, aorHash, aor)) return 'next';
        table.delete(slot);
        return 'again';
      });
      table.walk(aorHash, (slot) => {
        if (table.slots[table.header(slot) + SLOT_HASH] !== aorHash) return 'next';
        const binding = this.#read(slot);
        if (binding.aor === aor) live.push(binding);
        return 'next';
      });
    });
    return live.sort((a, b) => b.q - a.q);
  }

  async put(binding: Binding): Promise<void> {
    const bytes = encodeBinding(binding);
    const table = this.#table;
    if (bytes.length > table.recordBytes) {
      throw new StateStoreError('ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE', `the binding of ${binding.contact} to ${binding.aor} takes ${bytes.length} bytes; a slot holds ${table.recordBytes}`);
    }
    const aorHash = hashText(binding.aor);
    const contactHash = hashText(binding.contact);
    this.#locked(() => {
      const clock = Date.now();
      table.walk(aorHash, (slot) => {
        if (table.expiresAt(slot) > clock) return 'next';
        table.delete(slot);
        return 'again';
      });
      // The slot of the same contact, else the empty slot ending the run.
      const target = table.walk(aorHash, (slot) => (this.#holds(slot, aorHash, binding.aor, contactHash, binding.contact) ? 'stop' : 'next'));
      if (target < 0) throw table.fullError();
      this.#write(target, aorHash, contactHash, bytes, binding.expiresAt);
    });
  }

  async remove(aor: string, contact: string): Promise<void> {
    const aorHash = hashText(aor);
    const contactHash = hashText(contact);
    this.#locked(() => {
      this.#table.walk(aorHash, (slot) => {
        if (!this.#holds(slot, aorHash, aor, contactHash, contact)) return 'next';
        this.#table.delete(slot);
        return 'stop';
      });
    });
  }

  async removeAll(aor: string): Promise<void> {
    const aorHash = hashText(aor);
    this.#locked(() => {
      this.#table.walk(aorHash, (slot) => {
        if (!this.#holds(slot, aorHash, aor)) return 'next';
        this.#table.delete(slot);
        return 'again';
      });
    });
  }

  /** Reclaims every binding lapsed at `now` and counts the others. */
  async size(now: number): Promise<number> {
    return this.#locked(() => {
      this.#table.sweep(now);
      return this.#table.countUsed();
    });
  }

  /** Nothing to release: the memory goes when no thread holds it any more. */
  async close(): Promise<void> {}

  /** Whether `slot` holds a binding of `aor` (and of `contact`, when given); decodes only on equal hashes. */
  #holds(slot: number, aorHash: number, aor: string, contactHash?: number, contact?: string): boolean {
    const slots = this.#table.slots;
    const header = this.#table.header(slot);
    if (slots[header + SLOT_HASH] !== aorHash) return false;
    if (contactHash !== undefined && slots[header + CONTACT_HASH] !== contactHash) return false;
    const binding = this.#read(slot);
    return binding.aor === aor && (contact === undefined || binding.contact === contact);
  }

  #read(slot: number): Binding {
    const table = this.#table;
    const start = table.recordStart(slot);
    const length = table.slots[table.header(slot) + LENGTH]!;
    // Copied out first: TextDecoder does not read shared memory in every Node version.
    return decodeBinding(decoder.decode(table.records.slice(start, start + length)));
  }

  #write(slot: number, aorHash: number, contactHash: number, bytes: Uint8Array, expiresAt: number): void {
    const table = this.#table;
    const header = table.header(slot);
    table.records.set(bytes, table.recordStart(slot));
    table.slots[header + CONTACT_HASH] = contactHash;
    table.slots[header + LENGTH] = bytes.length;
    table.setNumber(slot, 0, expiresAt);
    table.occupy(slot, aorHash);
  }

  #locked<T>(work: () => T): T {
    return this.#lock.locked(work);
  }
}
