/**
 * The transaction-store contract: where transaction state lives when every worker may handle any
 * message of a transaction (`--transactions shared`, issue 16). Three implementations keep it:
 * MemoryTransactionStore (a Map, the event-loop), SabTransactionStore (a SharedArrayBuffer table,
 * the thread-pool) and RedisTransactionStore (the process-pool and several instances), and one
 * conformance suite (transaction-store-conformance.ts) runs on all three.
 *
 * Every operation is one round trip and atomic: a compare-and-set on the record of one key. A
 * caller never reads, decides and writes back; it states what it expects (the state it saw) and
 * what to write, and learns whether it won. Every operation answers with the record as it is
 * after the operation (or as it was, when the comparison failed), so a worker that loses a race
 * already holds what the winner wrote.
 *
 * Times are absolute milliseconds since the epoch, from the caller's clock (hosts sharing a Redis
 * are assumed to keep their clocks in step). A record whose `expiresAt` has passed (by the store's
 * clock: the wall clock, or Redis's own key expiry) is gone for every operation.
 *
 * Failure contract, as for LocationStore: a method that rejects means "the store is unavailable
 * now" (the cluster stores reject with a StateStoreError coded `ERR_SWITCHBOARD_STATE_*`); a store
 * fails within a bounded time rather than hang.
 */

/** Which side of a transaction (RFC 3261 §17.1 client, §17.2 server). */
export type TransactionSide = 'server' | 'client';

/** Who runs a transaction's timers, and until when (absolute ms) unless renewed. */
export interface TransactionLease {
  readonly owner: string;
  readonly until: number;
}

/**
 * One client branch of a forking INVITE (or of any forwarded request): its branch id, where it
 * went, its client transaction state and the best final status it got (0 before one).
 */
export interface BranchRecord {
  readonly branch: string;
  readonly target: string;
  readonly state: string;
  readonly status: number;
}

/** A transaction as stored. */
export interface TransactionRecord {
  /** The §17.2.3 server key or the §17.1.3 client key (keys.ts). */
  readonly key: string;
  readonly side: TransactionSide;
  /** INVITE (timers A-D, G-I, L, M) or non-INVITE (E, F, J, K). */
  readonly invite: boolean;
  /** The state machine's state (ServerTransactionState or ClientTransactionState). */
  readonly state: string;
  /** The top Via branch of the request. */
  readonly branch: string;
  /**
   * The request as received (server) or as sent (client), set at create: what a worker that
   * adopts a client transaction retransmits (timers A, E) and builds its CANCEL and ACK from.
   */
  readonly request: Buffer | undefined;
  /** A client transaction's server transaction key: where a response read by any worker is forwarded. */
  readonly parent: string | undefined;
  /**
   * A server transaction's response target (§18.2.2: the connection or address its request came
   * from; formatRespondTo), so that any worker can answer on it; undefined when not given.
   */
  readonly respondTo: string | undefined;
  /** Raised by every successful write: a record read twice with one version did not change. */
  readonly version: number;
  /** Status of the last response sent (server) or received (client); 0 before any. */
  readonly status: number;
  /** The last response's bytes, replayed to a retransmitted request by whichever worker reads it. */
  readonly response: Buffer | undefined;
  /** Client branches in the order they were added. */
  readonly branches: readonly BranchRecord[];
  /** Timer deadlines by letter (absolute ms): re-armed from here by a worker that adopts the transaction. */
  readonly timers: Readonly<Record<string, number>>;
  readonly lease: TransactionLease | undefined;
  /** When the record may be dropped: its longest timer (Redis: the key's PEXPIREAT). */
  readonly expiresAt: number;
}

/** What `create` writes. */
export interface NewTransaction {
  readonly key: string;
  readonly side: TransactionSide;
  readonly invite: boolean;
  readonly state: string;
  readonly branch: string;
  readonly request?: Buffer;
  readonly parent?: string;
  readonly respondTo?: string;
  readonly timers?: Readonly<Record<string, number>>;
  /** The creator's lease, taken in the same round trip. */
  readonly lease?: TransactionLease;
  readonly expiresAt: number;
}

/** What a transition writes besides the state; fields left out stay as they are. */
export interface TransactionChange {
  readonly state?: string;
  /** The response just sent (server) or received (client): replaces the last one. */
  readonly response?: { readonly status: number; readonly bytes?: Buffer };
  /** Deadlines to set; `null` stops a timer. Other timers stay. */
  readonly timers?: Readonly<Record<string, number | null>>;
  readonly expiresAt?: number;
  /**
   * The lease to write with the transition, when `lease.owner` holds the current one (else the
   * lease stays as it is and the transition is made all the same): a worker extends its lease to
   * the record's end in the same round trip as the write that makes the transaction linger.
   */
  readonly lease?: TransactionLease;
  /**
   * A lease to write with the transition whoever holds the current one: a worker that moves
   * another worker's transaction to its end (a response read where the transaction is not run,
   * `--transactions shared`) takes it over in the same round trip, so the holder's next renewal
   * finds it lost and its timers stop there. Wins over `lease`.
   */
  readonly takeLease?: TransactionLease;
}

/** A branch's transition. */
export interface BranchChange {
  readonly state: string;
  readonly status?: number;
}

/** What an operation answers: whether its comparison held (and it wrote), and the record after it. */
export interface TransactionOutcome {
  readonly ok: boolean;
  /** The record after the operation, or as it stands when `ok` is false; undefined when there is none. */
  readonly record: TransactionRecord | undefined;
}

export interface TransactionStore {
  /**
   * Create-if-absent. `ok` false when a live record has the key: then `record` is that record
   * (a retransmission: replay its `response`).
   */
  create(transaction: NewTransaction): Promise<TransactionOutcome>;
  get(key: string): Promise<TransactionRecord | undefined>;
  /** Transition-if-state: writes `change` when the record's state is one of `from`. */
  transition(key: string, from: readonly string[], change: TransactionChange): Promise<TransactionOutcome>;
  /** Adds a client branch when the record has none with that branch id. */
  addBranch(key: string, branch: BranchRecord): Promise<TransactionOutcome>;
  /** Moves a branch when its state is one of `from`. */
  updateBranch(key: string, branch: string, from: readonly string[], change: BranchChange): Promise<TransactionOutcome>;
  /**
   * Takes the lease for `owner` until `until` when nobody holds it, when its holder's lapsed at
   * `now` (adoption), or when `owner` holds it already (renewal). Exactly one of several racing
   * owners wins. With `from`, also when `from` holds it, lapsed or not: a survivor takes over the
   * leases of a worker it was told died (exactly one of several survivors wins each).
   */
  acquireLease(key: string, owner: string, until: number, now: number, from?: string): Promise<TransactionOutcome>;
  /** Extends `owner`'s lease to `until`; fails when another owner holds it or nobody does. */
  renewLease(key: string, owner: string, until: number): Promise<TransactionOutcome>;
  /** Gives the lease up (the transaction is adoptable at once); fails unless `owner` holds it. */
  releaseLease(key: string, owner: string): Promise<TransactionOutcome>;
  /** Keys of up to `limit` live transactions whose lease lapsed at `now`, or that have none: to adopt. */
  expiredLeases(now: number, limit: number): Promise<string[]>;
  /**
   * Keys of up to `limit` live transactions whose lease `owner` holds, lapsed or not, and ends
   * before the record does: a dead worker's, taken over with `acquireLease(..., from)` at its
   * death notice. A lease that runs to its record's end is left out: it is what a transaction that
   * only lingers is given (TransactionMirror), with no timer to run but its end, so nobody need
   * hold it. A scan (a death is rare), never the message path; optional, for a store that cannot
   * list them (adoption then waits for the leases to lapse).
   */
  leasesHeldBy?(owner: string, limit: number): Promise<string[]>;
  /** Removes a record; true when there was a live one. */
  delete(key: string): Promise<boolean>;
  /** Live records (a scan: for tests and metrics, not the message path). */
  size(): Promise<number>;
  close(): Promise<void>;
}
