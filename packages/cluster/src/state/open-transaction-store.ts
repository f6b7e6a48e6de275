import { randomBytes } from 'node:crypto';
import { MemoryTransactionStore, type TransactionStore } from '@switchboard/core';
import type { ProxySettings } from '../proxy-settings.js';
import { RedisTransactionStore } from './redis-transaction-store.js';
import { SabTransactionStore, type SabTransactionStoreShared } from './sab-transaction-store.js';

/**
 * The transaction store a worker uses with `--transactions shared`, beside its location store and
 * of the same `--state`: its own Map (`local`), the SharedArrayBuffer table its parent allocated
 * (`sab`, `shared` given), or Redis. Undefined with `--transactions owned`.
 */
export async function openTransactionStore(settings: ProxySettings, shared?: SabTransactionStoreShared): Promise<TransactionStore | undefined> {
  if (settings.transactions !== 'shared') return undefined;
  switch (settings.state) {
    case 'local':
      return new MemoryTransactionStore();
    case 'sab':
      return shared === undefined ? SabTransactionStore.create() : SabTransactionStore.attach(shared);
    case 'redis':
      if (settings.redisUrl === undefined) throw new Error('--state redis needs --redis-url');
      return RedisTransactionStore.connect(settings.redisUrl, { prefix: settings.redisPrefix });
  }
}

/**
 * A lease owner id for the worker in `slot`: `w<slot>.` then random hex, so a replacement in the
 * same slot is another owner (it adopts its predecessor's transactions rather than renewing them)
 * and the slot is read back with `ownerIdSlot`.
 */
export function transactionOwnerId(slot: number): string {
  return `w${slot}.${randomBytes(4).toString('hex')}`;
}

/** The worker slot a lease owner id names (the inverse of transactionOwnerId), or undefined. */
export function ownerIdSlot(owner: string): number | undefined {
  const match = /^w(\d{1,4})\./.exec(owner);
  return match === null ? undefined : Number(match[1]);
}

/** The lease length, renewal tick and adoption sweep a worker's SharedTransactions run with (`--transaction-lease-ms`, `--transaction-lease-tick-ms`, `--transaction-adoption-sweep-ms`). */
export function transactionLeaseOptions(settings: ProxySettings): { leaseMs?: number; leaseTickMs?: number; adoptionSweepMs?: number } {
  const lease = settings.transactionLease;
  if (lease === undefined) return {};
  return { leaseMs: lease.leaseMs, leaseTickMs: lease.tickMs, ...(lease.sweepMs === undefined ? {} : { adoptionSweepMs: lease.sweepMs }) };
}
