import { isReliable } from '../transport-address.js';
import type { ServerTransaction, ServerTransactionState } from '../transaction/server-transaction.js';
import type { ClientTransaction, ClientTransactionState } from '../transaction/client-transaction.js';
import type { TimerSettings } from '../transaction/timers.js';
import type { TransactionStore } from '../transaction/transaction-store.js';

/** Client transaction states that still wait for a final response. */
const PENDING_CLIENT_STATES: readonly ClientTransactionState[] = ['calling', 'trying', 'proceeding'];

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
  /** Where each write is also counted (`--transactions shared`: the proxy's counters); and, with `admit`, the provisionals it refused. */
  readonly counters?: { transactionStoreRoundTrips: number; sharedLateProvisionalsDropped?: number };
  /** The leases this worker renews (`--transactions shared`): told of each transaction created here and of each that ends. */
  readonly leases?: { hold(key: string): void; drop(key: string): void };
}

/**
 * The first step of `--transactions shared` (issue 16), behind the server-transaction layer: each
 * server transaction, still run by the worker that made it, is written through to a
 * TransactionStore as it changes: created with this worker's lease, its state, last response and
 * timer deadlines after every response it sends and after the ACK of a failure, each client branch
 * as it goes out, and deleted when it terminates. Writes of one transaction are chained, so each
 * compare-and-set expects the state the previous one wrote. Other workers replay the stored
 * response to retransmissions and adopt the record when this worker's lease lapses
 * (SharedTransactions); a failed write is counted and the call goes on as in owned mode.
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
    this.#options.leases?.hold(transaction.key);
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
    const lease = this.#lingering(transaction, state, expiresAt);
    this.#queue(transaction.key, (store) => store.transition(transaction.key, [before], { state, response: { status, bytes }, timers, expiresAt, ...lease }));
  }

  /**
   * `--shared-responses where-read`: the response `status` (`bytes`) the server transaction is
   * about to send, written first (queued behind its other writes, as `responded` would write it
   * after the send); resolves whether to send it: yes when the store took it, or when a 2xx
   * found a final one there already (every 2xx goes upstream); no when another worker sent a
   * final response meanwhile (no provisional after a final, §16.7 step 5; no failure after a
   * 2xx). A store that fails, or holds no record, lets it go, as in owned mode. The caller then
   * sends it with `respond(..., stored)`, so it is not written twice.
   */
  admit(transaction: ServerTransaction, status: number, bytes: Buffer): Promise<boolean> {
    const state: ServerTransactionState = status < 200 ? 'proceeding' : transaction.isInvite && status < 300 ? 'accepted' : 'completed';
    const { timers, expiresAt } = this.#deadlines(transaction, state, Date.now());
    const lease = this.#lingering(transaction, state, expiresAt);
    return new Promise((resolve) => {
      this.#queue(transaction.key, async (store) => {
        let outcome;
        try {
          outcome = await store.transition(transaction.key, ['trying', 'proceeding'], { state, response: { status, bytes }, timers, expiresAt, ...lease });
        } catch (error) {
          resolve(true);
          throw error;
        }
        const admitted = outcome.ok || outcome.record === undefined || (status >= 200 && status < 300);
        const counters = this.#options.counters;
        if (!admitted && status < 200 && counters?.sharedLateProvisionalsDropped !== undefined) counters.sharedLateProvisionalsDropped++;
        resolve(admitted);
      });
    });
  }

  acknowledged(transaction: ServerTransaction): void {
    if (transaction.state !== 'confirmed') return;
    const { timers, expiresAt } = this.#deadlines(transaction, 'confirmed', Date.now());
    const lease = this.#lingering(transaction, 'confirmed', expiresAt);
    this.#queue(transaction.key, (store) => store.transition(transaction.key, ['completed'], { state: 'confirmed', timers, expiresAt, ...lease }));
  }

  /**
   * A transaction that only lingers now (Accepted, Confirmed, a completed non-INVITE: its timer
   * L, I or J just ends it, and any worker replays its stored response) needs nobody to run its
   * timers: its lease is extended to the record's end with the transition that makes it linger
   * (no round trip of its own) and no longer renewed, so a worker renews only what waits for a
   * response or retransmits one (Proceeding, Trying, a completed INVITE), and survivors adopt only
   * that. Answers the lease to write with the transition, if any.
   */
  #lingering(transaction: ServerTransaction, state: ServerTransactionState, expiresAt: number): { lease?: { owner: string; until: number } } {
    const lingers = state === 'accepted' || state === 'confirmed' || (state === 'completed' && !transaction.isInvite);
    const leases = this.#options.leases;
    if (!lingers || leases === undefined) return {};
    leases.drop(transaction.key);
    return { lease: { owner: this.#options.owner, until: expiresAt } };
  }

  terminated(transaction: ServerTransaction): void {
    this.#options.leases?.drop(transaction.key);
    this.#queue(transaction.key, (store) => store.delete(transaction.key));
  }

  /**
   * A client branch of `transaction` is about to go out (branch id and target): recorded in its
   * record, so a worker that adopts the transaction knows the request was forwarded (and does not
   * route it again). Sent at once, not queued behind the transaction's other writes (it compares
   * no state): the store call is written to its socket before the request leaves, so a worker
   * killed right after forwarding has recorded the branch. Only for a record that exists already
   * (shared mode's claim).
   */
  branchStarted(transaction: ServerTransaction, branch: string, target: string): void {
    const state = transaction.isInvite ? 'calling' : 'trying';
    this.stats.writes++;
    if (this.#options.counters !== undefined) this.#options.counters.transactionStoreRoundTrips++;
    let written: Promise<unknown>;
    try {
      written = this.#options.store.addBranch(transaction.key, { branch, target, state, status: 0 });
    } catch {
      this.stats.failures++;
      return;
    }
    written.catch(() => {
      this.stats.failures++;
    });
  }

  /**
   * Client transactions (`--transactions shared`): created in the store as their request is about
   * to leave (the call is written before the request is sent), with the request's bytes, the
   * parent server transaction's key and this worker's lease; written through as they move;
   * deleted when they end. A survivor adopts them from here (ProxyCore, Forwarder.adoptBranches).
   */
  clientStarted(parent: ServerTransaction, transaction: ClientTransaction, bytes: Buffer): void {
    const now = Date.now();
    const { t1 } = this.#options.timers;
    const reliable = isReliable(transaction.target.protocol);
    const invite = transaction.isInvite;
    const timers: Record<string, number> = {};
    if (!reliable) timers[invite ? 'A' : 'E'] = now + t1;
    timers[invite ? 'B' : 'F'] = now + 64 * t1;
    const key = transaction.key;
    this.#options.leases?.hold(key);
    this.#queue(
      key,
      (store) =>
        store.create({
          key,
          side: 'client',
          invite,
          state: transaction.state,
          branch: key.slice(0, key.lastIndexOf('|')),
          request: bytes,
          parent: parent.key,
          timers,
          lease: { owner: this.#options.owner, until: now + this.#leaseMs },
          expiresAt: now + (invite ? TIMER_C : 0) + 64 * t1 + 1000,
        }),
      true,
    );
  }

  clientChanged(transaction: ClientTransaction, before: ClientTransactionState): void {
    const key = transaction.key;
    const state = transaction.state;
    if (state === 'terminated') {
      this.#options.leases?.drop(key);
      this.#queue(key, (store) => store.delete(key));
      return;
    }
    const now = Date.now();
    const { t1, t4 } = this.#options.timers;
    const reliable = isReliable(transaction.target.protocol);
    let timers: Record<string, number | null>;
    let expiresAt: number;
    if (state === 'proceeding') {
      timers = transaction.isInvite ? { A: null, B: null, C: now + TIMER_C } : {};
      expiresAt = now + (transaction.isInvite ? TIMER_C : 0) + 64 * t1 + 1000;
    } else {
      const linger = state === 'accepted' ? 64 * t1 : reliable ? 0 : transaction.isInvite ? 32_000 : t4;
      timers = { A: null, B: null, C: null, E: null, F: null, [state === 'accepted' ? 'M' : transaction.isInvite ? 'D' : 'K']: now + linger };
      expiresAt = now + linger + 1000;
    }
    const final = state === 'completed' || state === 'accepted';
    // A final state only lingers: nobody need run it elsewhere (see #lingering).
    if (final) this.#options.leases?.drop(key);
    const extra = final ? { response: { status: transaction.finalStatus }, lease: { owner: this.#options.owner, until: expiresAt } } : {};
    // From any pending state, not only the one this worker saw last: with --shared-responses
    // where-read another worker may have moved the record ahead (a provisional it read), and a
    // refused write would leave the lease unextended and no longer renewed, to lapse and be adopted.
    const from = state === 'proceeding' || final ? PENDING_CLIENT_STATES : [before];
    this.#queue(key, (store) => store.transition(key, from, { state, timers, expiresAt, ...extra }));
  }

  #queue(key: string, write: (store: TransactionStore) => Promise<unknown>, atOnce = false): void {
    const previous = this.#pending.get(key);
    const run = async (): Promise<void> => {
      this.stats.writes++;
      if (this.#options.counters !== undefined) this.#options.counters.transactionStoreRoundTrips++;
      try {
        await write(this.#options.store);
      } catch {
        this.stats.failures++;
      }
    };
    // At once (the store call issued before this returns) when nothing of this key is queued.
    const next = previous === undefined && atOnce ? run() : (previous ?? Promise.resolve()).then(run);
    this.#pending.set(key, next);
    void next.then(() => {
      if (this.#pending.get(key) === next) this.#pending.delete(key);
    });
  }

  #deadlines(transaction: ServerTransaction, state: ServerTransactionState, now: number): { timers: Record<string, number | null>; expiresAt: number } {
    return serverDeadlines(transaction.isInvite, isReliable(transaction.source.protocol), state, now, this.#options.timers);
  }
}

/**
 * The deadlines of the timers a server transaction runs in `state` (§17.2, RFC 6026), as the
 * transaction sets them: what an adopting worker re-arms. The record expires with the longest.
 */
export function serverDeadlines(isInvite: boolean, reliable: boolean, state: string, now: number, settings: TimerSettings): { timers: Record<string, number | null>; expiresAt: number } {
  const { t1 } = settings;
  const timers: Record<string, number | null> = {};
  let longest = now + 64 * t1;
  if (state === 'proceeding' && isInvite) longest = now + TIMER_C + 64 * t1;
  if (state === 'completed' && isInvite) {
    if (!reliable) timers.G = now + t1;
    timers.H = now + 64 * t1;
  } else if (state === 'completed') {
    if (!reliable) timers.J = now + 64 * t1;
  } else if (state === 'accepted') {
    timers.L = now + 64 * t1;
  } else if (state === 'confirmed') {
    timers.G = null;
    timers.H = null;
    if (!reliable) timers.I = now + settings.t4;
  }
  for (const deadline of Object.values(timers)) if (deadline !== null && deadline > longest) longest = deadline;
  return { timers, expiresAt: longest + 1000 };
}
