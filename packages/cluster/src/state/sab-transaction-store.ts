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
import { SabSlotTable, allocateSlotMemory, hashBytes, type SabSlotMemory, type SabSlotShape } from './sab-slot-table.js';
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
  /** A second table of fewer, larger slots for the records that outgrow the first (a long request or response). */
  readonly large: SabSlotMemory;
  readonly lockWaitMs: number;
}

export interface SabTransactionStoreOptions {
  /**
   * Slots, one transaction each (65536 by default): transactions alive at once, lingering ones
   * included (over UDP a call leaves about three for 32 s: 400 calls/s hold about 38,000).
   */
  readonly capacity?: number;
  /** Bytes of a record in those slots, its request and last response included (4096 by default: an ordinary call's). */
  readonly recordBytes?: number;
  /** Slots of the table for larger records (1024 by default). */
  readonly largeCapacity?: number;
  /**
   * Bytes of a record at most (65536 by default: a 12 KB request and an answer its size fit).
   * Together the defaults are 320 MiB of address space, of which only the bytes records use
   * become resident.
   */
  readonly largeRecordBytes?: number;
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
type EncodedFields = [side: 0 | 1, invite: 0 | 1, state: string, branch: string, version: number, status: number, branches: Array<[string, string, string, number]>, timers: Record<string, number>, owner: string | null, until: number | null, expiresAt: number, parent: string | null, respondTo: string | null];

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
    record.respondTo ?? null,
  ];
  return encoder.encode(JSON.stringify(fields));
}

function decodeRecord(key: string, fieldsText: string, response: Buffer | undefined, request: Buffer | undefined): TransactionRecord {
  const [side, invite, state, branch, version, status, branches, timers, owner, until, expiresAt, parent, respondTo] = JSON.parse(fieldsText) as EncodedFields;
  return {
    key,
    side: side === 0 ? 'server' : 'client',
    invite: invite === 1,
    state,
    branch,
    request,
    parent: parent ?? undefined,
    respondTo: respondTo ?? undefined,
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
 * `create` sweeps the whole table once before declaring it full (ERR_SWITCHBOARD_STATE_FULL).
 * Slots are of two sizes, in two tables under the one lock: a record that outgrows an ordinary
 * slot (a long request or response, many branches) moves to the table of large ones, and back
 * when it shrinks; one larger than a large slot is ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE and
 * leaves the record as it was.
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
  /** The table of ordinary records, then the one of large records; a record lives in one of them. */
  readonly #tables: readonly [SabSlotTable, SabSlotTable];

  private constructor(shared: SabTransactionStoreShared) {
    this.shared = shared;
    this.#lock = new SabLock(shared.control, shared.lockWaitMs, WHAT);
    this.#tables = [new SabSlotTable(SHAPE, shared), new SabSlotTable(SHAPE, shared.large)];
  }

  /** Allocates an empty table. */
  static create(options: SabTransactionStoreOptions = {}): SabTransactionStore {
    const capacity = positiveInteger('capacity', options.capacity ?? 65_536);
    const recordBytes = positiveInteger('recordBytes', options.recordBytes ?? 4096);
    const largeCapacity = positiveInteger('largeCapacity', options.largeCapacity ?? 1024);
    const largeRecordBytes = positiveInteger('largeRecordBytes', Math.max(options.largeRecordBytes ?? 65_536, recordBytes));
    const lockWaitMs = positiveInteger('lockWaitMs', options.lockWaitMs ?? 2000);
    return new SabTransactionStore({
      control: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
      ...allocateSlotMemory(SHAPE, capacity, recordBytes),
      large: allocateSlotMemory(SHAPE, largeCapacity, largeRecordBytes),
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
      const found = this.#find(keyBytes, hashBytes(keyBytes), Date.now());
      return found === undefined ? undefined : this.#read(found.table, found.slot, key);
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

  async acquireLease(key: string, owner: string, until: number, now: number, from?: string): Promise<TransactionOutcome> {
    return this.#apply(key, (current) => acquireLeaseMutation(current, owner, until, now, from));
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
      for (const table of this.#tables) {
        for (let slot = 0; slot < table.capacity && keys.length < limit; slot++) {
          if (!table.isUsed(slot) || table.expiresAt(slot) <= clock || table.numberAt(slot, LEASE_UNTIL) > now) continue;
          keys.push(this.#keyAt(table, slot));
        }
      }
      return keys;
    });
  }

  /** A scan of every slot with a lease (its record decoded to read the owner): a death notice's, not the message path's. */
  async leasesHeldBy(owner: string, limit: number): Promise<string[]> {
    return this.#lock.locked(() => {
      const clock = Date.now();
      const keys: string[] = [];
      for (const table of this.#tables) {
        for (let slot = 0; slot < table.capacity && keys.length < limit; slot++) {
          // No lease, or one to the record's end (a lingering transaction's: nothing to take over).
          if (!table.isUsed(slot) || table.expiresAt(slot) <= clock || table.numberAt(slot, LEASE_UNTIL) === -Infinity || table.numberAt(slot, LEASE_UNTIL) >= table.expiresAt(slot)) continue;
          const key = this.#keyAt(table, slot);
          if (this.#read(table, slot, key).lease?.owner === owner) keys.push(key);
        }
      }
      return keys;
    });
  }

  async delete(key: string): Promise<boolean> {
    const keyBytes = encoder.encode(key);
    return this.#lock.locked(() => {
      const found = this.#find(keyBytes, hashBytes(keyBytes), Date.now());
      if (found === undefined) return false;
      found.table.delete(found.slot);
      return true;
    });
  }

  /** Reclaims every record past its expiry and counts the others. */
  async size(): Promise<number> {
    return this.#lock.locked(() => {
      const clock = Date.now();
      let used = 0;
      for (const table of this.#tables) {
        table.sweep(clock);
        used += table.countUsed();
      }
      return used;
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
      const found = this.#find(keyBytes, hash, clock);
      const mutation = mutate(found === undefined ? undefined : this.#read(found.table, found.slot, key));
      if (mutation.write && mutation.record !== undefined) {
        const fields = encodeFields(mutation.record);
        const { response, request } = mutation.record;
        const length = keyBytes.length + fields.length + (response?.length ?? 0) + (request?.length ?? 0);
        const [ordinary, large] = this.#tables;
        const table = length <= ordinary.recordBytes ? ordinary : length <= large.recordBytes ? large : undefined;
        if (table === undefined) {
          throw new StateStoreError('ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE', `transaction ${key} takes ${length} bytes; the largest slot of the transaction table holds ${large.recordBytes}`);
        }
        if (found !== undefined && found.table === table) this.#write(table, found.slot, hash, keyBytes, fields, response, request, mutation.record);
        else {
          // New, or moving between the tables (grown past an ordinary slot, or shrunk back):
          // claimed in its table first (sweeping once when full), so a full table leaves the record where it was.
          const target = table.claim(hash, clock);
          this.#write(table, target, hash, keyBytes, fields, response, request, mutation.record);
          if (found !== undefined) found.table.delete(found.slot);
        }
      }
      return { ok: mutation.ok, record: mutation.record };
    });
  }

  /** The table and slot holding `keyBytes` live at `clock`; lapsed records met on the way are deleted. */
  #find(keyBytes: Uint8Array, hash: number, clock: number): { table: SabSlotTable; slot: number } | undefined {
    for (const table of this.#tables) {
      const slot = table.find(hash, clock, (candidate) => table.slots[table.header(candidate) + KEY_LENGTH] === keyBytes.length && table.recordStartsWith(candidate, keyBytes));
      if (slot >= 0) return { table, slot };
    }
    return undefined;
  }

  #keyAt(table: SabSlotTable, slot: number): string {
    const start = table.recordStart(slot);
    // Copied out first: TextDecoder does not read shared memory in every Node version.
    return decoder.decode(table.records.slice(start, start + table.slots[table.header(slot) + KEY_LENGTH]!));
  }

  #read(table: SabSlotTable, slot: number, key: string): TransactionRecord {
    const { slots, records } = table;
    const header = table.header(slot);
    const fieldsStart = table.recordStart(slot) + slots[header + KEY_LENGTH]!;
    const fieldsEnd = fieldsStart + slots[header + FIELDS_LENGTH]!;
    const responseLength = slots[header + RESPONSE_LENGTH]!;
    const response = responseLength === NONE ? undefined : Buffer.from(records.slice(fieldsEnd, fieldsEnd + responseLength));
    const requestStart = fieldsEnd + Math.max(0, responseLength);
    const requestLength = slots[header + REQUEST_LENGTH]!;
    const request = requestLength === NONE ? undefined : Buffer.from(records.slice(requestStart, requestStart + requestLength));
    return decodeRecord(key, decoder.decode(records.slice(fieldsStart, fieldsEnd)), response, request);
  }

  #write(table: SabSlotTable, slot: number, hash: number, keyBytes: Uint8Array, fields: Uint8Array, response: Buffer | undefined, request: Buffer | undefined, record: TransactionRecord): void {
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
