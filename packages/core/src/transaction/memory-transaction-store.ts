import {
  acquireLeaseMutation,
  addBranchMutation,
  createMutation,
  leaseLapsed,
  releaseLeaseMutation,
  renewLeaseMutation,
  transitionMutation,
  updateBranchMutation,
  type Mutation,
} from './transaction-mutations.js';
import type { BranchChange, BranchRecord, NewTransaction, TransactionChange, TransactionOutcome, TransactionRecord, TransactionStore } from './transaction-store.js';

/**
 * Transactions in a Map, for one process (the event-loop): the transaction-store contract with no
 * sharing. Records are immutable objects replaced on every write; a record past its `expiresAt`
 * (wall clock) is dropped when met. Operations complete synchronously (the promises are already
 * settled).
 */
export class MemoryTransactionStore implements TransactionStore {
  readonly #records = new Map<string, TransactionRecord>();

  #live(key: string): TransactionRecord | undefined {
    const record = this.#records.get(key);
    if (record === undefined) return undefined;
    if (record.expiresAt > Date.now()) return record;
    this.#records.delete(key);
    return undefined;
  }

  #apply(key: string, mutate: (current: TransactionRecord | undefined) => Mutation): Promise<TransactionOutcome> {
    const mutation = mutate(this.#live(key));
    if (mutation.write && mutation.record !== undefined) this.#records.set(key, mutation.record);
    return Promise.resolve({ ok: mutation.ok, record: mutation.record });
  }

  create(transaction: NewTransaction): Promise<TransactionOutcome> {
    return this.#apply(transaction.key, (current) => createMutation(current, transaction));
  }

  get(key: string): Promise<TransactionRecord | undefined> {
    return Promise.resolve(this.#live(key));
  }

  transition(key: string, from: readonly string[], change: TransactionChange): Promise<TransactionOutcome> {
    return this.#apply(key, (current) => transitionMutation(current, from, change));
  }

  addBranch(key: string, branch: BranchRecord): Promise<TransactionOutcome> {
    return this.#apply(key, (current) => addBranchMutation(current, branch));
  }

  updateBranch(key: string, branch: string, from: readonly string[], change: BranchChange): Promise<TransactionOutcome> {
    return this.#apply(key, (current) => updateBranchMutation(current, branch, from, change));
  }

  acquireLease(key: string, owner: string, until: number, now: number, from?: string): Promise<TransactionOutcome> {
    return this.#apply(key, (current) => acquireLeaseMutation(current, owner, until, now, from));
  }

  renewLease(key: string, owner: string, until: number): Promise<TransactionOutcome> {
    return this.#apply(key, (current) => renewLeaseMutation(current, owner, until));
  }

  releaseLease(key: string, owner: string): Promise<TransactionOutcome> {
    return this.#apply(key, (current) => releaseLeaseMutation(current, owner));
  }

  expiredLeases(now: number, limit: number): Promise<string[]> {
    const keys: string[] = [];
    for (const key of [...this.#records.keys()]) {
      if (keys.length >= limit) break;
      const record = this.#live(key);
      if (record !== undefined && leaseLapsed(record, now)) keys.push(key);
    }
    return Promise.resolve(keys);
  }

  leasesHeldBy(owner: string, limit: number): Promise<string[]> {
    const keys: string[] = [];
    for (const key of [...this.#records.keys()]) {
      if (keys.length >= limit) break;
      const record = this.#live(key);
      if (record?.lease?.owner === owner && record.lease.until < record.expiresAt) keys.push(key);
    }
    return Promise.resolve(keys);
  }

  delete(key: string): Promise<boolean> {
    const existed = this.#live(key) !== undefined;
    this.#records.delete(key);
    return Promise.resolve(existed);
  }

  size(): Promise<number> {
    for (const key of [...this.#records.keys()]) this.#live(key);
    return Promise.resolve(this.#records.size);
  }

  close(): Promise<void> {
    this.#records.clear();
    return Promise.resolve();
  }
}
