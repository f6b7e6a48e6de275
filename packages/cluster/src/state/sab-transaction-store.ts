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
import { SabSlotTable, allocateSlotMemory, hashBytes, type SabSlotShape } from './sab-slot-table.js';
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
  /**
   * Bytes of one record at most, its request and last response included (32768 by default: a
   * 12 KB request and an answer its size fit; 16384 slots of it are 512 MiB of address space, of
   * which only the bytes records use become resident).
   */
  readonly recordBytes?: number;
  /** Lock wait limit (2000 ms by default). */
  readonly lockWaitMs?: number;
}

/** Header words after the table's state and key hash. */
const KEY_LENGTH = 2;
const FIELDS_LENGTH = 3;
const RESPONSE_LENGTH = 4;
const REQUEST_LENGTH = 5;
/** The numbers of a slot. */
const EXPIRES = 0;
const LEASE_UNTIL = 1;
/** A response or request length meaning "none". */
const NONE = -1;
const WHAT = 'transaction table';

/** Bytes of a record: key, fields, and the response and request when there are. */
function recordLength(slots: Int32Array, header: number): number {
  const bodies = Math.max(0, slots[header + RESPONSE_LENGTH]!) + Math.max(0, slots[header + REQUEST_LENGTH]!);
  return slots[header + KEY_LENGTH]! + slots[header + FIELDS_LENGTH]! + bodies;
}

const SHAPE: SabSlotShape = { slotWords: 6, numbersPerSlot: 2, expiryNumber: EXPIRES, recordLength, what: WHAT };

/** A record's fields but its key and response, as a JSON array (shorter than an object). */
type EncodedFields = [side: 0 | 1, invite: 0 | 1, state: string, branch: string, version: number, status: number, branches: Array<[string, string, string, number]>, timers: Record<string, number>, owner: string | null, until: number | null, expiresAt: number, parent: string | null];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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
 * An open-addressing table with linear probing (SabSlotTable), hashed by transaction key, as
 * SabLocationStore's: fixed slots of `recordBytes` each, a slot's header (key hash and lengths, the
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
  readonly #table: SabSlotTable;

  private constructor(shared: SabTransactionStoreShared) {
    this.shared = shared;
    this.#lock = new SabLock(shared.control, shared.lockWaitMs, WHAT);
    this.#table = new SabSlotTable(SHAPE, shared);
  }

  /** Allocates an empty table. */
  static create(options: SabTransactionStoreOptions = {}): SabTransactionStore {
    const capacity = positiveInteger('capacity', options.capacity ?? 16_384);
    const recordBytes = positiveInteger('recordBytes', options.recordBytes ?? 32_768);
    const lockWaitMs = positiveInteger('lockWaitMs', options.lockWaitMs ?? 2000);
    return new SabTransactionStore({ control: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT), ...allocateSlotMemory(SHAPE, capacity, recordBytes), lockWaitMs });
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
      const slot = this.#find(keyBytes, hashBytes(keyBytes), Date.now());
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
      const table = this.#table;
      const keys: string[] = [];
      for (let slot = 0; slot < table.capacity && keys.length < limit; slot++) {
        if (!table.isUsed(slot) || table.expiresAt(slot) <= clock || table.numberAt(slot, LEASE_UNTIL) > now) continue;
        keys.push(this.#keyAt(slot));
      }
      return keys;
    });
  }

  async delete(key: string): Promise<boolean> {
    const keyBytes = encoder.encode(key);
    return this.#lock.locked(() => {
      const slot = this.#find(keyBytes, hashBytes(keyBytes), Date.now());
      if (slot < 0) return false;
      this.#table.delete(slot);
      return true;
    });
  }

  /** Reclaims every record past its expiry and counts the others. */
  async size(): Promise<number> {
    return this.#lock.locked(() => {
      this.#table.sweep(Date.now());
      return this.#table.countUsed();
    });
  }

  /** Nothing to release: the memory goes when no thread holds it any more. */
  async close(): Promise<void> {}

  /** Finds the key's live record, applies `mutate` and writes what it returns, all under the lock. */
  #apply(key: string, mutate: (current: TransactionRecord | undefined) => Mutation): TransactionOutcome {
    const keyBytes = encoder.encode(key);
    const hash = hashBytes(keyBytes);
    return this.#lock.locked(() => {
      const clock = Date.now();
      const slot = this.#find(keyBytes, hash, clock);
      const mutation = mutate(slot < 0 ? undefined : this.#read(slot, key));
      if (mutation.write && mutation.record !== undefined) {
        const fields = encodeFields(mutation.record);
        const { response, request } = mutation.record;
        const length = keyBytes.length + fields.length + (response?.length ?? 0) + (request?.length ?? 0);
        if (length > this.#table.recordBytes) {
          throw new StateStoreError('ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE', `transaction ${key} takes ${length} bytes; a slot of the transaction table holds ${this.#table.recordBytes}`);
        }
        // An empty slot ending the run of `hash` (#find found no record there), sweeping once when the table is full.
        const target = slot >= 0 ? slot : this.#table.claim(hash, clock);
        this.#write(target, hash, keyBytes, fields, response, request, mutation.record);
      }
      return { ok: mutation.ok, record: mutation.record };
    });
  }

  /** The slot holding `keyBytes` live at `clock`, or -1; lapsed records met on the way are deleted. */
  #find(keyBytes: Uint8Array, hash: number, clock: number): number {
    const table = this.#table;
    return table.find(hash, clock, (slot) => table.slots[table.header(slot) + KEY_LENGTH] === keyBytes.length && table.recordStartsWith(slot, keyBytes));
  }

  #keyAt(slot: number): string {
    const table = this.#table;
    const start = table.recordStart(slot);
    // Copied out first: TextDecoder does not read shared memory in every Node version.
    return decoder.decode(table.records.slice(start, start + table.slots[table.header(slot) + KEY_LENGTH]!));
  }

  #read(slot: number, key: string): TransactionRecord {
    const { slots, records } = this.#table;
    const header = this.#table.header(slot);
    const fieldsStart = this.#table.recordStart(slot) + slots[header + KEY_LENGTH]!;
    const fieldsEnd = fieldsStart + slots[header + FIELDS_LENGTH]!;
    const responseLength = slots[header + RESPONSE_LENGTH]!;
    const response = responseLength === NONE ? undefined : Buffer.from(records.slice(fieldsEnd, fieldsEnd + responseLength));
    const requestStart = fieldsEnd + Math.max(0, responseLength);
    const requestLength = slots[header + REQUEST_LENGTH]!;
    const request = requestLength === NONE ? undefined : Buffer.from(records.slice(requestStart, requestStart + requestLength));
    return decodeRecord(key, decoder.decode(records.slice(fieldsStart, fieldsEnd)), response, request);
  }

  #write(slot: number, hash: number, keyBytes: Uint8Array, fields: Uint8Array, response: Buffer | undefined, request: Buffer | undefined, record: TransactionRecord): void {
    const table = this.#table;
    const { slots, records } = table;
    const header = table.header(slot);
    const start = table.recordStart(slot);
    const responseStart = start + keyBytes.length + fields.length;
    records.set(keyBytes, start);
    records.set(fields, start + keyBytes.length);
    if (response !== undefined) records.set(response, responseStart);
    if (request !== undefined) records.set(request, responseStart + (response?.length ?? 0));
    slots[header + KEY_LENGTH] = keyBytes.length;
    slots[header + FIELDS_LENGTH] = fields.length;
    slots[header + RESPONSE_LENGTH] = response === undefined ? NONE : response.length;
    slots[header + REQUEST_LENGTH] = request === undefined ? NONE : request.length;
    table.setNumber(slot, EXPIRES, record.expiresAt);
    table.setNumber(slot, LEASE_UNTIL, record.lease === undefined ? -Infinity : record.lease.until);
    table.occupy(slot, hash);
  }
}
