import type { BranchChange, BranchRecord, NewTransaction, TransactionChange, TransactionOutcome, TransactionRecord } from './transaction-store.js';

/**
 * The compare-and-set operations of the transaction-store contract as pure functions of the
 * record found under the key (undefined: none live): what the operation answers and, when it
 * writes, the new record. MemoryTransactionStore and SabTransactionStore apply them to what they
 * hold (the SAB table under its lock); RedisTransactionStore restates them in Lua.
 */
export interface Mutation extends TransactionOutcome {
  /** True when `record` is to be written back. */
  readonly write: boolean;
}

function refused(record: TransactionRecord | undefined): Mutation {
  return { ok: false, record, write: false };
}

function written(record: TransactionRecord): Mutation {
  return { ok: true, record, write: true };
}

export function createMutation(current: TransactionRecord | undefined, transaction: NewTransaction): Mutation {
  if (current !== undefined) return refused(current);
  return written({
    key: transaction.key,
    side: transaction.side,
    invite: transaction.invite,
    state: transaction.state,
    branch: transaction.branch,
    request: transaction.request,
    parent: transaction.parent,
    respondTo: transaction.respondTo,
    version: 1,
    status: 0,
    response: undefined,
    branches: [],
    timers: { ...transaction.timers },
    lease: transaction.lease === undefined ? undefined : { owner: transaction.lease.owner, until: transaction.lease.until },
    expiresAt: transaction.expiresAt,
  });
}

export function transitionMutation(current: TransactionRecord | undefined, from: readonly string[], change: TransactionChange): Mutation {
  if (current === undefined || !from.includes(current.state)) return refused(current);
  const timers: Record<string, number> = { ...current.timers };
  for (const [letter, deadline] of Object.entries(change.timers ?? {})) {
    if (deadline === null) delete timers[letter];
    else timers[letter] = deadline;
  }
  return written({
    ...current,
    state: change.state ?? current.state,
    version: current.version + 1,
    status: change.response?.status ?? current.status,
    response: change.response === undefined ? current.response : change.response.bytes,
    timers,
    expiresAt: change.expiresAt ?? current.expiresAt,
    lease:
      change.takeLease !== undefined
        ? { owner: change.takeLease.owner, until: change.takeLease.until }
        : change.lease !== undefined && current.lease?.owner === change.lease.owner
          ? { owner: change.lease.owner, until: change.lease.until }
          : current.lease,
  });
}

export function addBranchMutation(current: TransactionRecord | undefined, branch: BranchRecord): Mutation {
  if (current === undefined || current.branches.some((existing) => existing.branch === branch.branch)) return refused(current);
  const added: BranchRecord = { branch: branch.branch, target: branch.target, state: branch.state, status: branch.status };
  return written({ ...current, version: current.version + 1, branches: [...current.branches, added] });
}

export function updateBranchMutation(current: TransactionRecord | undefined, branch: string, from: readonly string[], change: BranchChange): Mutation {
  const index = current?.branches.findIndex((existing) => existing.branch === branch) ?? -1;
  if (current === undefined || index < 0) return refused(current);
  const old = current.branches[index] as BranchRecord;
  if (!from.includes(old.state)) return refused(current);
  const branches = [...current.branches];
  branches[index] = { ...old, state: change.state, status: change.status ?? old.status };
  return written({ ...current, version: current.version + 1, branches });
}

export function acquireLeaseMutation(current: TransactionRecord | undefined, owner: string, until: number, now: number, from?: string): Mutation {
  if (current === undefined) return refused(current);
  const lease = current.lease;
  if (lease !== undefined && lease.owner !== owner && lease.owner !== from && lease.until > now) return refused(current);
  return written({ ...current, version: current.version + 1, lease: { owner, until } });
}

export function renewLeaseMutation(current: TransactionRecord | undefined, owner: string, until: number): Mutation {
  if (current === undefined || current.lease?.owner !== owner) return refused(current);
  return written({ ...current, version: current.version + 1, lease: { owner, until } });
}

export function releaseLeaseMutation(current: TransactionRecord | undefined, owner: string): Mutation {
  if (current === undefined || current.lease?.owner !== owner) return refused(current);
  return written({ ...current, version: current.version + 1, lease: undefined });
}

/** Whether a live record is up for adoption at `now`: no lease, or a lapsed one. */
export function leaseLapsed(record: TransactionRecord, now: number): boolean {
  return record.lease === undefined || record.lease.until <= now;
}
