import {
  acquireLeaseMutation,
  addBranchMutation,
  createMutation,
  releaseLeaseMutation,
  renewLeaseMutation,
  transitionMutation,
  updateBranchMutation,
  type BranchChange,
  type BranchRecord,
  type Mutation,
  type NewTransaction,
  type TransactionChange,
  type TransactionOutcome,
  type TransactionRecord,
  type TransactionStore,
} from '@switchboard/core';
import { SabLock, positiveInteger } from './sab-lock.js';
import { StateStoreError } from './state-store-error.js';

/** The memory of a SabTransactionStore: plain data (structured-cloneable), posted to the threads that attach to it. */
export interface SabTransactionStoreShared {
  /** One Int32 word: the lock (see SabLock). */
  readonly control: SharedArrayBuffer;
  /** Int32 words per slot: state (0 empty, 1 used), key hash, key length, fields length, response length and request length (-1: none). */
  readonly slots: SharedArrayBuffer;
  /** Two Float64 per slot: the record's expiresAt and its lease's until (-Infinity: no lease), read without decoding. */
  readonly numbers: SharedArrayBuffer;
  /** `recordBytes` per slot: the key (UTF-8), the other fields (UTF-8 JSON), the last response's bytes, the request's bytes. */
  readonly records: SharedArrayBuffer;
  readonly capacity: number;
  readonly recordBytes: number;
  readonly lockWaitMs: number;
}

export interface SabTransactionStoreOptions {
  /** Slots, one transaction each (16384 by default): transactions alive at once, with room to spare. */
  readonly capacity?: number;
  /** Bytes of one record at most, the last response included (4096 by default). */
  readonly recordBytes?: number;
  /** Lock wait limit (2000 ms by default). */
  readonly lockWaitMs?: number;
}

const SLOT_WORDS = 6;
const STATE = 0;
const HASH = 1;
const KEY_LENGTH = 2;
const FIELDS_LENGTH = 3;
const RESPONSE_LENGTH = 4;
const REQUEST_LENGTH = 5;
const EMPTY = 0;
const USED = 1;
const EXPIRES = 0;
const LEASE_UNTIL = 1;
/** A response or request length meaning "none". */
const NONE = -1;

/** A record's fields but its key and response, as a JSON array (shorter than an object). */
type EncodedFields = [side: 0 | 1, invite: 0 | 1, state: string, branch: string, version: number, status: number, branches: Array<[string, string, string, number]>, timers: Record<string, number>, owner: string | null, until: number | null, expiresAt: number, parent: string | null];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function hashOf(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash | 0;
}

function encodeFields(record: TransactionRecord): Uint8Array {
  const fields: EncodedFields = [
    record.side === 'server' ? 0 : 1,
    record.invite ? 1 : 0,
    record.state,
    record.branch,
    record.version,
    record.status,
    record.branches.map((branch) => [branch.branch, branch.target, branch.state, branch.status]),
    record.timers,
    record.lease?.owner ?? null,
    record.lease?.until ?? null,
    record.expiresAt,
    record.parent ?? null,
  ];
  return encoder.encode(JSON.stringify(fields));
}

function decodeRecord(key: string, fieldsText: string, response: Buffer | undefined, request: Buffer | undefined): TransactionRecord {
  const [side, invite, state, branch, version, status, branches, timers, owner, until, expiresAt, parent] = JSON.parse(fieldsText) as EncodedFields;
  return {
    key,
    side: side === 0 ? 'server' : 'client',
    invite: invite === 1,
    state,
    branch,
    request,
    parent: parent ?? undefined,
    version,
    status,
    response,
    branches: branches.map(([id, target, branchState, branchStatus]): BranchRecord => ({ branch: id, target, state: branchState, status: branchStatus })),
    timers,
    lease: owner === null || until === null ? undefined : { owner, until },
    expiresAt,
  };
}

/**
 * Transactions in SharedArrayBuffers, so every thread of a thread pool matches, advances and
 * adopts any transaction with no messages (`--transactions shared` with `--state sab`).
 *
 * An open-addressing table with linear probing, hashed by transaction key, in the style of
 * SabLocationStore: fixed slots of `recordBytes` each, a slot's header (key hash and lengths, the
 * expiry and the lease's until as floats) read without decoding, backward-shift deletion (no
 * tombstones). A record past its expiresAt (wall clock) is deleted where an operation meets it;
 * `create` sweeps the whole table once before declaring it full (ERR_SWITCHBOARD_STATE_FULL); a
 * record larger than a slot (a long request or response, many branches) is ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE
 * and leaves the slot as it was.
 *
 * Each operation decodes the record under the lock, applies the contract's pure mutation
 * (transaction-mutations.ts in core) and writes the result back before releasing it, so racing
 * threads serialise on the lock and exactly one wins each compare-and-set. One lock word guards the
 * table (SabLock: bounded wait, then ERR_SWITCHBOARD_STATE_UNAVAILABLE).
 */
export class SabTransactionStore implements TransactionStore {
  /** Post this to a thread, which calls `SabTransactionStore.attach` on it. */
  readonly shared: SabTransactionStoreShared;
  readonly #lock: SabLock;
  readonly #slots: Int32Array;
  readonly #numbers: Float64Array;
  readonly #records: Uint8Array;
  readonly #capacity: number;
  readonly #recordBytes: number;

  private constructor(shared: SabTransactionStoreShared) {
    this.shared = shared;
    this.#lock = new SabLock(shared.control, shared.lockWaitMs, 'transaction table');
    this.#slots = new Int32Array(shared.slots);
    this.#numbers = new Float64Array(shared.numbers);
    this.#records = new Uint8Array(shared.records);
    this.#capacity = shared.capacity;
    this.#recordBytes = shared.recordBytes;
  }

  /** Allocates an empty table. */
  static create(options: SabTransactionStoreOptions = {}): SabTransactionStore {
    const capacity = positiveInteger('capacity', options.capacity ?? 16_384);
    const recordBytes = positiveInteger('recordBytes', options.recordBytes ?? 4096);
    const lockWaitMs = positiveInteger('lockWaitMs', options.lockWaitMs ?? 2000);
    return new SabTransactionStore({
      control: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
      slots: new SharedArrayBuffer(capacity * SLOT_WORDS * Int32Array.BYTES_PER_ELEMENT),
      numbers: new SharedArrayBuffer(capacity * 2 * Float64Array.BYTES_PER_ELEMENT),
      records: new SharedArrayBuffer(capacity * recordBytes),
      capacity,
      recordBytes,
      lockWaitMs,
    });
  }

  /** A store over the memory of another thread's store (its `shared`). */
  static attach(shared: SabTransactionStoreShared): SabTransactionStore {
    return new SabTransactionStore(shared);
  }

  async create(transaction: NewTransaction): Promise<TransactionOutcome> {
    return this.#apply(transaction.key, (current) => createMutation(current, transaction));
  }

  async get(key: string): Promise<TransactionRecord | undefined> {
    const keyBytes = encoder.encode(key);
    return this.#lock.locked(() => {
      const slot = this.#find(keyBytes, hashOf(keyBytes), Date.now());
      return slot < 0 ? undefined : this.#read(slot, key);
    });
  }

  async transition(key: string, from: readonly string[], change: TransactionChange): Promise<TransactionOutcome> {
    return this.#apply(key, (current) => transitionMutation(current, from, change));
  }

  async addBranch(key: string, branch: BranchRecord): Promise<TransactionOutcome> {
    return this.#apply(key, (current) => addBranchMutation(current, branch));
  }

  async updateBranch(key: string, branch: string, from: readonly string[], change: BranchChange): Promise<TransactionOutcome> {
    return this.#apply(key, (current) => updateBranchMutation(current, branch, from, change));
  }

  async acquireLease(key: string, owner: string, until: number, now: number): Promise<TransactionOutcome> {
    return this.#apply(key, (current) => acquireLeaseMutation(current, owner, until, now));
  }

  async renewLease(key: string, owner: string, until: number): Promise<TransactionOutcome> {
    return this.#apply(key, (current) => renewLeaseMutation(current, owner, until));
  }

  async releaseLease(key: string, owner: string): Promise<TransactionOutcome> {
    return this.#apply(key, (current) => releaseLeaseMutation(current, owner));
  }

  async expiredLeases(now: number, limit: number): Promise<string[]> {
    return this.#lock.locked(() => {
      const clock = Date.now();
      const keys: string[] = [];
      for (let slot = 0; slot < this.#capacity && keys.length < limit; slot++) {
        if (!this.#isUsed(slot) || this.#numbers[slot * 2 + EXPIRES]! <= clock || this.#numbers[slot * 2 + LEASE_UNTIL]! > now) continue;
        keys.push(this.#keyAt(slot));
      }
      return keys;
    });
  }

  async delete(key: string): Promise<boolean> {
    const keyBytes = encoder.encode(key);
    return this.#lock.locked(() => {
      const slot = this.#find(keyBytes, hashOf(keyBytes), Date.now());
      if (slot < 0) return false;
      this.#delete(slot);
      return true;
    });
  }

  /** Reclaims every record past its expiry and counts the others. */
  async size(): Promise<number> {
    return this.#lock.locked(() => {
      this.#sweep(Date.now());
      let count = 0;
      for (let slot = 0; slot < this.#capacity; slot++) if (this.#isUsed(slot)) count++;
      return count;
    });
  }

  /** Nothing to release: the memory goes when no thread holds it any more. */
  async close(): Promise<void> {}

  /** Finds the key's live record, applies `mutate` and writes what it returns, all under the lock. */
  #apply(key: string, mutate: (current: TransactionRecord | undefined) => Mutation): TransactionOutcome {
    const keyBytes = encoder.encode(key);
    const hash = hashOf(keyBytes);
    return this.#lock.locked(() => {
      const clock = Date.now();
      const slot = this.#find(keyBytes, hash, clock);
      const mutation = mutate(slot < 0 ? undefined : this.#read(slot, key));
      if (mutation.write && mutation.record !== undefined) {
        const fields = encodeFields(mutation.record);
        const { response, request } = mutation.record;
        const length = keyBytes.length + fields.length + (response?.length ?? 0) + (request?.length ?? 0);
        if (length > this.#recordBytes) {
          throw new StateStoreError('ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE', `transaction ${key} takes ${length} bytes; a slot of the transaction table holds ${this.#recordBytes}`);
        }
        const target = slot >= 0 ? slot : this.#freeSlot(hash, clock);
        this.#write(target, hash, keyBytes, fields, response, request, mutation.record);
      }
      return { ok: mutation.ok, record: mutation.record };
    });
  }

  /** The slot holding `keyBytes` live at `clock`, or -1; lapsed records met on the way are deleted. */
  #find(keyBytes: Uint8Array, hash: number, clock: number): number {
    let slot = (hash >>> 0) % this.#capacity;
    for (let steps = 0; steps < this.#capacity; ) {
      if (!this.#isUsed(slot)) return -1;
      if (this.#numbers[slot * 2 + EXPIRES]! <= clock) {
        this.#delete(slot);
        continue;
      }
      if (this.#holds(slot, hash, keyBytes)) return slot;
      slot = slot + 1 === this.#capacity ? 0 : slot + 1;
      steps++;
    }
    return -1;
  }

  /** The empty slot ending the run of `hash` (after #find found no record there), sweeping once when the table is full. */
  #freeSlot(hash: number, clock: number): number {
    for (let attempt = 0; attempt < 2; attempt++) {
      let slot = (hash >>> 0) % this.#capacity;
      for (let steps = 0; steps < this.#capacity; steps++) {
        if (!this.#isUsed(slot)) return slot;
        slot = slot + 1 === this.#capacity ? 0 : slot + 1;
      }
      if (attempt === 0) this.#sweep(clock);
    }
    throw new StateStoreError('ERR_SWITCHBOARD_STATE_FULL', `the transaction table is full (${this.#capacity} slots)`);
  }

  #sweep(clock: number): void {
    // A delete may shift an entry into the slot it emptied (look again) or, past the table's end,
    // back to an already swept slot (met again on the next sweep).
    for (let slot = 0; slot < this.#capacity; ) {
      if (this.#isUsed(slot) && this.#numbers[slot * 2 + EXPIRES]! <= clock) this.#delete(slot);
      else slot++;
    }
  }

  #holds(slot: number, hash: number, keyBytes: Uint8Array): boolean {
    const header = slot * SLOT_WORDS;
    if (this.#slots[header + HASH] !== hash || this.#slots[header + KEY_LENGTH] !== keyBytes.length) return false;
    const start = slot * this.#recordBytes;
    for (let i = 0; i < keyBytes.length; i++) if (this.#records[start + i] !== keyBytes[i]) return false;
    return true;
  }

  #isUsed(slot: number): boolean {
    return this.#slots[slot * SLOT_WORDS + STATE] === USED;
  }

  #keyAt(slot: number): string {
    const start = slot * this.#recordBytes;
    // Copied out first: TextDecoder does not read shared memory in every Node version.
    return decoder.decode(this.#records.slice(start, start + this.#slots[slot * SLOT_WORDS + KEY_LENGTH]!));
  }

  #read(slot: number, key: string): TransactionRecord {
    const header = slot * SLOT_WORDS;
    const fieldsStart = slot * this.#recordBytes + this.#slots[header + KEY_LENGTH]!;
    const fieldsEnd = fieldsStart + this.#slots[header + FIELDS_LENGTH]!;
    const responseLength = this.#slots[header + RESPONSE_LENGTH]!;
    const response = responseLength === NONE ? undefined : Buffer.from(this.#records.slice(fieldsEnd, fieldsEnd + responseLength));
    const requestStart = fieldsEnd + Math.max(0, responseLength);
    const requestLength = this.#slots[header + REQUEST_LENGTH]!;
    const request = requestLength === NONE ? undefined : Buffer.from(this.#records.slice(requestStart, requestStart + requestLength));
    return decodeRecord(key, decoder.decode(this.#records.slice(fieldsStart, fieldsEnd)), response, request);
  }

  #write(slot: number, hash: number, keyBytes: Uint8Array, fields: Uint8Array, response: Buffer | undefined, request: Buffer | undefined, record: TransactionRecord): void {
    const header = slot * SLOT_WORDS;
    const start = slot * this.#recordBytes;
    const responseStart = start + keyBytes.length + fields.length;
    this.#records.set(keyBytes, start);
    this.#records.set(fields, start + keyBytes.length);
    if (response !== undefined) this.#records.set(response, responseStart);
    if (request !== undefined) this.#records.set(request, responseStart + (response?.length ?? 0));
    this.#slots[header + HASH] = hash;
    this.#slots[header + KEY_LENGTH] = keyBytes.length;
    this.#slots[header + FIELDS_LENGTH] = fields.length;
    this.#slots[header + RESPONSE_LENGTH] = response === undefined ? NONE : response.length;
    this.#slots[header + REQUEST_LENGTH] = request === undefined ? NONE : request.length;
    this.#slots[header + STATE] = USED;
    this.#numbers[slot * 2 + EXPIRES] = record.expiresAt;
    this.#numbers[slot * 2 + LEASE_UNTIL] = record.lease === undefined ? -Infinity : record.lease.until;
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
      const home = (this.#slots[next * SLOT_WORDS + HASH]! >>> 0) % capacity;
      const homeBetween = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (homeBetween) continue;
      this.#move(next, hole);
      hole = next;
    }
  }

  #move(from: number, to: number): void {
    const header = from * SLOT_WORDS;
    this.#slots.copyWithin(to * SLOT_WORDS, header, header + SLOT_WORDS);
    this.#numbers.copyWithin(to * 2, from * 2, from * 2 + 2);
    const bodies = Math.max(0, this.#slots[header + RESPONSE_LENGTH]!) + Math.max(0, this.#slots[header + REQUEST_LENGTH]!);
    const length = this.#slots[header + KEY_LENGTH]! + this.#slots[header + FIELDS_LENGTH]! + bodies;
    const start = from * this.#recordBytes;
    this.#records.copyWithin(to * this.#recordBytes, start, start + length);
    this.#slots[header + STATE] = EMPTY;
  }
}
