import type { Binding, LocationStore, TransportAddress, TransportProtocol } from '@switchboard/core';
import { SabLock, positiveInteger } from './sab-lock.js';
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
  /** Slots, one binding each (16384 by default). */
  readonly capacity?: number;
  /** Bytes of one encoded binding at most (512 by default). */
  readonly recordBytes?: number;
  /** Lock wait limit (2000 ms by default): a thread stopped while holding the lock must not hang the others. */
  readonly lockWaitMs?: number;
}

const SLOT_WORDS = 4;
const STATE = 0;
const AOR_HASH = 1;
const CONTACT_HASH = 2;
const LENGTH = 3;
const EMPTY = 0;
const USED = 1;

/** What a walk does after visiting a slot: go on, look at the same slot again (it was deleted), or stop. */
type Step = 'next' | 'again' | 'stop';

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

/** FNV-1a over UTF-16 code units. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/**
 * Location bindings in SharedArrayBuffers, so every thread of a thread pool sees the same
 * registrations with no messages.
 *
 * An open-addressing table with linear probing, hashed by AOR: all contacts of an AOR lie in the
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
  readonly #slots: Int32Array;
  readonly #expiries: Float64Array;
  readonly #records: Uint8Array;
  readonly #capacity: number;
  readonly #recordBytes: number;

  private constructor(shared: SabLocationStoreShared) {
    this.shared = shared;
    this.#lock = new SabLock(shared.control, shared.lockWaitMs, 'location table');
    this.#slots = new Int32Array(shared.slots);
    this.#expiries = new Float64Array(shared.expiries);
    this.#records = new Uint8Array(shared.records);
    this.#capacity = shared.capacity;
    this.#recordBytes = shared.recordBytes;
  }

  /** Allocates an empty table. */
  static create(options: SabLocationStoreOptions = {}): SabLocationStore {
    const capacity = positiveInteger('capacity', options.capacity ?? 16_384);
    const recordBytes = positiveInteger('recordBytes', options.recordBytes ?? 512);
    const lockWaitMs = positiveInteger('lockWaitMs', options.lockWaitMs ?? 2000);
    return new SabLocationStore({
      control: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
      slots: new SharedArrayBuffer(capacity * SLOT_WORDS * Int32Array.BYTES_PER_ELEMENT),
      expiries: new SharedArrayBuffer(capacity * Float64Array.BYTES_PER_ELEMENT),
      records: new SharedArrayBuffer(capacity * recordBytes),
      capacity,
      recordBytes,
      lockWaitMs,
    });
  }

  /** A store over the memory of another thread's store (its `shared`). */
  static attach(shared: SabLocationStoreShared): SabLocationStore {
    return new SabLocationStore(shared);
  }

  async lookup(aor: string, now: number): Promise<Binding[]> {
    const aorHash = hashOf(aor);
    const live: Binding[] = [];
    this.#locked(() => {
      this.#walk(aorHash, (slot) => {
        if (this.#expiresAt(slot) > now || !this.#holds(slot, aorHash, aor)) return 'next';
        this.#delete(slot);
        return 'again';
      });
      this.#walk(aorHash, (slot) => {
        if (this.#slots[slot * SLOT_WORDS + AOR_HASH] !== aorHash) return 'next';
        const binding = this.#read(slot);
        if (binding.aor === aor) live.push(binding);
        return 'next';
      });
    });
    return live.sort((a, b) => b.q - a.q);
  }

  async put(binding: Binding): Promise<void> {
    const bytes = encodeBinding(binding);
    if (bytes.length > this.#recordBytes) {
      throw new StateStoreError('ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE', `the binding of ${binding.contact} to ${binding.aor} takes ${bytes.length} bytes; a slot holds ${this.#recordBytes}`);
    }
    const aorHash = hashOf(binding.aor);
    const contactHash = hashOf(binding.contact);
    this.#locked(() => {
      const clock = Date.now();
      this.#walk(aorHash, (slot) => {
        if (this.#expiresAt(slot) > clock) return 'next';
        this.#delete(slot);
        return 'again';
      });
      // The slot of the same contact, else the empty slot ending the run.
      const target = this.#walk(aorHash, (slot) => (this.#holds(slot, aorHash, binding.aor, contactHash, binding.contact) ? 'stop' : 'next'));
      if (target < 0) throw new StateStoreError('ERR_SWITCHBOARD_STATE_FULL', `the location table is full (${this.#capacity} slots)`);
      this.#write(target, aorHash, contactHash, bytes, binding.expiresAt);
    });
  }

  async remove(aor: string, contact: string): Promise<void> {
    const aorHash = hashOf(aor);
    const contactHash = hashOf(contact);
    this.#locked(() => {
      this.#walk(aorHash, (slot) => {
        if (!this.#holds(slot, aorHash, aor, contactHash, contact)) return 'next';
        this.#delete(slot);
        return 'stop';
      });
    });
  }

  async removeAll(aor: string): Promise<void> {
    const aorHash = hashOf(aor);
    this.#locked(() => {
      this.#walk(aorHash, (slot) => {
        if (!this.#holds(slot, aorHash, aor)) return 'next';
        this.#delete(slot);
        return 'again';
      });
    });
  }

  /** Reclaims every binding lapsed at `now` and counts the others. */
  async size(now: number): Promise<number> {
    return this.#locked(() => {
      // A delete may shift an entry into the slot it emptied (look again) or, past the table's end,
      // back to an already swept slot (counted by the second pass, never twice).
      for (let slot = 0; slot < this.#capacity; ) {
        if (this.#isUsed(slot) && this.#expiresAt(slot) <= now) this.#delete(slot);
        else slot++;
      }
      let count = 0;
      for (let slot = 0; slot < this.#capacity; slot++) if (this.#isUsed(slot)) count++;
      return count;
    });
  }

  /** Nothing to release: the memory goes when no thread holds it any more. */
  async close(): Promise<void> {}

  /**
   * Calls `visit` on each used slot of the run starting at the home slot of `aorHash`, and returns
   * the slot the walk ended at: the first empty one, the one `visit` stopped at, or -1 when it went
   * round a full table.
   */
  #walk(aorHash: number, visit: (slot: number) => Step): number {
    let slot = (aorHash >>> 0) % this.#capacity;
    for (let steps = 0; steps < this.#capacity; ) {
      if (!this.#isUsed(slot)) return slot;
      const step = visit(slot);
      if (step === 'stop') return slot;
      if (step === 'next') {
        slot = slot + 1 === this.#capacity ? 0 : slot + 1;
        steps++;
      }
    }
    return -1;
  }

  /** Whether `slot` holds a binding of `aor` (and of `contact`, when given); decodes only on equal hashes. */
  #holds(slot: number, aorHash: number, aor: string, contactHash?: number, contact?: string): boolean {
    const header = slot * SLOT_WORDS;
    if (this.#slots[header + AOR_HASH] !== aorHash) return false;
    if (contactHash !== undefined && this.#slots[header + CONTACT_HASH] !== contactHash) return false;
    const binding = this.#read(slot);
    return binding.aor === aor && (contact === undefined || binding.contact === contact);
  }

  #isUsed(slot: number): boolean {
    return this.#slots[slot * SLOT_WORDS + STATE] === USED;
  }

  #expiresAt(slot: number): number {
    return this.#expiries[slot] as number;
  }

  #read(slot: number): Binding {
    const start = slot * this.#recordBytes;
    const length = this.#slots[slot * SLOT_WORDS + LENGTH] as number;
    // Copied out first: TextDecoder does not read shared memory in every Node version.
    return decodeBinding(decoder.decode(this.#records.slice(start, start + length)));
  }

  #write(slot: number, aorHash: number, contactHash: number, bytes: Uint8Array, expiresAt: number): void {
    const header = slot * SLOT_WORDS;
    this.#records.set(bytes, slot * this.#recordBytes);
    this.#slots[header + AOR_HASH] = aorHash;
    this.#slots[header + CONTACT_HASH] = contactHash;
    this.#slots[header + LENGTH] = bytes.length;
    this.#slots[header + STATE] = USED;
    this.#expiries[slot] = expiresAt;
  }

  /**
   * Empties `slot` and moves later entries of its run back into the hole, each as far as its home
   * slot allows, so that every entry stays reachable from its home slot without tombstones.
   */
  #delete(slot: number): void {
    const capacity = this.#capacity;
    let hole = slot;
    this.#slots[hole * SLOT_WORDS + STATE] = EMPTY;
    for (let next = hole + 1 === capacity ? 0 : hole + 1; this.#isUsed(next); next = next + 1 === capacity ? 0 : next + 1) {
      const home = ((this.#slots[next * SLOT_WORDS + AOR_HASH] as number) >>> 0) % capacity;
      const homeBetween = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (homeBetween) continue;
      this.#move(next, hole);
      hole = next;
    }
  }

  #move(from: number, to: number): void {
    this.#slots.copyWithin(to * SLOT_WORDS, from * SLOT_WORDS, (from + 1) * SLOT_WORDS);
    this.#expiries[to] = this.#expiries[from] as number;
    const start = from * this.#recordBytes;
    this.#records.copyWithin(to * this.#recordBytes, start, start + (this.#slots[to * SLOT_WORDS + LENGTH] as number));
    this.#slots[from * SLOT_WORDS + STATE] = EMPTY;
  }

  #locked<T>(work: () => T): T {
    return this.#lock.locked(work);
  }
}
