import { isReliable } from '../transport-address.js';
import type { ServerTransaction, ServerTransactionState } from '../transaction/server-transaction.js';
import type { TimerSettings } from '../transaction/timers.js';
import type { TransactionStore } from '../transaction/transaction-store.js';

/** Proxy timer C (§16.8), the longest a server INVITE may wait in Proceeding for its branches. */
const TIMER_C = 181_000;

/** What a TransactionMirror did: store writes made and failed (a failure leaves the local transaction as it was). */
export interface TransactionMirrorStats {
  writes: number;
  failures: number;
}

export interface TransactionMirrorOptions {
  readonly store: TransactionStore;
  /** This worker's lease owner id. */
  readonly owner: string;
  /** How long a lease lasts before another worker may adopt the transaction (5000 ms by default). */
  readonly leaseMs?: number;
  readonly timers: TimerSettings;
  /** Where each write is also counted (`--transactions shared`: the proxy's counters). */
  readonly counters?: { transactionStoreRoundTrips: number };
}

/**
 * The first step of `--transactions shared` (issue 16), behind the server-transaction layer: each
 * server transaction, still run by the worker that made it, is written through to a
 * TransactionStore as it changes: created with this worker's lease, its state, last response and
 * timer deadlines after every response it sends and after the ACK of a failure, and deleted when
 * it terminates. Writes of one transaction are chained, so each compare-and-set expects the state
 * the previous one wrote. Nothing reads the store yet (no other worker matches from it, nothing is
 * adopted); a failed write is counted and the call goes on as in owned mode.
 */
export class TransactionMirror {
  readonly stats: TransactionMirrorStats = { writes: 0, failures: 0 };
  readonly #options: TransactionMirrorOptions;
  readonly #leaseMs: number;
  /** The last write queued per transaction key. */
  readonly #pending = new Map<string, Promise<void>>();

  constructor(options: TransactionMirrorOptions) {
    this.#options = options;
    this.#leaseMs = options.leaseMs ?? 5000;
  }

  /** Settles once every write queued so far has (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending.values()]);
  }

  created(transaction: ServerTransaction): void {
    const now = Date.now();
    const state: ServerTransactionState = transaction.isInvite ? 'proceeding' : 'trying';
    const { expiresAt } = this.#deadlines(transaction, state, now);
    // Read now: the transaction releases its request at its final response, maybe before this write.
    const branch = transaction.request?.topVia?.branch ?? '';
    this.#queue(transaction.key, (store) =>
      store.create({
        key: transaction.key,
        side: 'server',
        invite: transaction.isInvite,
        state,
        branch,
        lease: { owner: this.#options.owner, until: now + this.#leaseMs },
        expiresAt,
      }),
    );
  }

  responded(transaction: ServerTransaction, status: number, bytes: Buffer, before: ServerTransactionState): void {
    const state = transaction.state;
    if (state === 'terminated') return;
    const { timers, expiresAt } = this.#deadlines(transaction, state, Date.now());
    this.#queue(transaction.key, (store) => store.transition(transaction.key, [before], { state, response: { status, bytes }, timers, expiresAt }));
  }

  acknowledged(transaction: ServerTransaction): void {
    if (transaction.state !== 'confirmed') return;
    const { timers, expiresAt } = this.#deadlines(transaction, 'confirmed', Date.now());
    this.#queue(transaction.key, (store) => store.transition(transaction.key, ['completed'], { state: 'confirmed', timers, expiresAt }));
  }

  terminated(transaction: ServerTransaction): void {
    this.#queue(transaction.key, (store) => store.delete(transaction.key));
  }

  #queue(key: string, write: (store: TransactionStore) => Promise<unknown>): void {
    const previous = this.#pending.get(key) ?? Promise.resolve();
    const next = previous.then(async () => {
      this.stats.writes++;
      if (this.#options.counters !== undefined) this.#options.counters.transactionStoreRoundTrips++;
      try {
        await write(this.#options.store);
      } catch {
        this.stats.failures++;
      }
    });
    this.#pending.set(key, next);
    void next.then(() => {
      if (this.#pending.get(key) === next) this.#pending.delete(key);
    });
  }

  /**
   * The deadlines of the timers a server transaction runs in `state` (§17.2, RFC 6026), as the
   * transaction set them: what an adopting worker re-arms. The record expires with the longest.
   */
  #deadlines(transaction: ServerTransaction, state: ServerTransactionState, now: number): { timers: Record<string, number | null>; expiresAt: number } {
    const { t1 } = this.#options.timers;
    const reliable = isReliable(transaction.source.protocol);
    const timers: Record<string, number | null> = {};
    let longest = now + 64 * t1;
    if (state === 'proceeding' && transaction.isInvite) longest = now + TIMER_C + 64 * t1;
    if (state === 'completed' && transaction.isInvite) {
      if (!reliable) timers.G = now + t1;
      timers.H = now + 64 * t1;
    } else if (state === 'completed') {
      if (!reliable) timers.J = now + 64 * t1;
    } else if (state === 'accepted') {
      timers.L = now + 64 * t1;
    } else if (state === 'confirmed') {
      timers.G = null;
      timers.H = null;
      if (!reliable) timers.I = now + this.#options.timers.t4;
    }
    for (const deadline of Object.values(timers)) if (deadline !== null && deadline > longest) longest = deadline;
    return { timers, expiresAt: longest + 1000 };
  }
}
