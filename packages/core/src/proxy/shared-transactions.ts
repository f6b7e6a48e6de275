import type { SipMessage } from '@switchboard/sip';
import { responseTarget } from '../response-target.js';
import { serverTransactionKey } from '../transaction/keys.js';
import type { TransactionStore } from '../transaction/transaction-store.js';
import type { MessageSender, TransportAddress } from '../transport-address.js';
import { answerStatelessly } from './local-answers.js';
import type { ProxyCounters } from './proxy-counters.js';
import { TransactionMirror } from './transaction-mirror.js';
import type { TimerSettings } from '../transaction/timers.js';
import { formatStoredTarget } from './stored-response-target.js';
import { DEFAULT_TRANSACTION_LEASE_MS, DEFAULT_TRANSACTION_LEASE_TICK_MS, LeaseTicker } from './lease-ticker.js';

/** Proxy timer C (§16.8) plus 64*T1: the longest a server INVITE record may live before its first write. */
const TIMER_C = 181_000;

export interface SharedTransactionsOptions {
  readonly store: TransactionStore;
  /** This worker's lease owner id (unique among the workers sharing `store`). */
  readonly owner: string;
  /** How long a lease lasts before another worker may adopt the transaction (`--transaction-lease-ms`, 3000 ms by default). */
  readonly leaseMs?: number;
  /** How often this worker renews its leases (`--transaction-lease-tick-ms`, 1000 ms by default). */
  readonly leaseTickMs?: number;
  /** How often this worker searches for lapsed leases of any owner (`--transaction-adoption-sweep-ms`; ten lease ticks by default). */
  readonly adoptionSweepMs?: number;
  /**
   * Passes a message to the worker whose lease owner id is `owner`; false when no live worker has
   * that id (the message is then handled here, as in owned mode).
   */
  readonly handOffTo?: (owner: string, bytes: Buffer, source: TransportAddress) => boolean;
  /**
   * `--shared-responses where-read`: a provisional or 2xx response read by a worker that does not
   * run its client transaction is handled there (ResponsesWhereRead) instead of handed to the
   * lease holder. Off (`by-holder`) by default.
   */
  readonly responsesWhereRead?: boolean;
}

/** Store round trips and what they found (ProxyCounters keeps the ones exposed as metrics). */
export interface SharedTransactionsDependencies {
  readonly timers: TimerSettings;
  /** A sender that never throws (countingSender). */
  readonly sender: MessageSender;
  readonly counters: ProxyCounters;
  readonly storeRetryAfterSeconds: number;
}

/** What `claim` found. */
export type Claim =
  /** The request is new: this worker created its record (with its lease) and runs it. */
  | 'created'
  /** A retransmission of a transaction in the store (another worker's, or one created here a moment ago): answered from the store or dropped. */
  | 'absorbed'
  /** The store failed: answered 503 with Retry-After. */
  | 'failed';

/**
 * `--transactions shared` (issue 16), the message path beside ProxyCore: server transactions are
 * written through to the store (TransactionMirror), and a request that matches no server
 * transaction of this worker is claimed in the store with one `create` (lease and request bytes
 * included) before it is routed. A conflict means another worker (or an earlier copy here) holds
 * it: the request is a retransmission, answered with the stored last response (none stored yet:
 * dropped, the client retransmits). A CANCEL and the ACK of a failure that match no local
 * transaction are handed to the worker holding their INVITE's lease, found in the store.
 */
export class SharedTransactions {
  readonly mirror: TransactionMirror;
  readonly #options: SharedTransactionsOptions;
  readonly #deps: SharedTransactionsDependencies;
  readonly #leaseMs: number;
  /** This worker's lease ticker (renewal and adoption; the core starts it with its handlers). */
  readonly leases: LeaseTicker;

  constructor(options: SharedTransactionsOptions, deps: SharedTransactionsDependencies) {
    this.#options = options;
    this.#deps = deps;
    this.#leaseMs = options.leaseMs ?? DEFAULT_TRANSACTION_LEASE_MS;
    this.leases = new LeaseTicker({ store: options.store, owner: options.owner, leaseMs: this.#leaseMs, tickMs: options.leaseTickMs ?? DEFAULT_TRANSACTION_LEASE_TICK_MS, sweepMs: options.adoptionSweepMs, counters: deps.counters });
    this.mirror = new TransactionMirror({ store: options.store, owner: options.owner, leaseMs: this.#leaseMs, timers: deps.timers, counters: deps.counters, leases: this.leases });
  }

  /**
   * A response for a client transaction this worker does not run: handed to the worker holding
   * its lease in the store (after a failover, the adopter of the dead worker's branch). Resolves
   * false when it stays here (no record, ours, nobody's, no hand-off, or the store failed): it is
   * then forwarded upstream by its Via as before.
   */
  async handOffResponse(clientKey: string, bytes: Buffer, source: TransportAddress): Promise<boolean> {
    const handOffTo = this.#options.handOffTo;
    if (handOffTo === undefined) return false;
    this.#deps.counters.transactionStoreRoundTrips++;
    let record;
    try {
      record = await this.#options.store.get(clientKey);
    } catch {
      return false;
    }
    const holder = record?.lease?.owner;
    if (holder === undefined || holder === this.#options.owner || (record?.lease?.until ?? 0) <= Date.now()) return false;
    return handOffTo(holder, bytes, source);
  }

  /** The store (adoption reads a client transaction's parent record from it). */
  get store(): TransactionStore {
    return this.#options.store;
  }

  /** Deletes a record (an orphaned client transaction); failures ignored (it expires). */
  discard(key: string): void {
    this.leases.drop(key);
    this.#options.store.delete(key).catch(() => undefined);
  }

  get owner(): string {
    return this.#options.owner;
  }

  /** Whether provisional and 2xx responses are handled by the worker that reads them (`--shared-responses where-read`). */
  get responsesWhereRead(): boolean {
    return this.#options.responsesWhereRead === true && this.#options.handOffTo !== undefined;
  }

  /** Whether messages can be handed to other workers (the pools; not the event-loop). */
  get handsOff(): boolean {
    return this.#options.handOffTo !== undefined;
  }

  /**
   * Claims `request`'s server transaction `key` in the store. Never rejects: a store failure is
   * answered 503 with Retry-After and counted.
   */
  async claim(key: string, request: SipMessage, bytes: Buffer, source: TransportAddress): Promise<Claim> {
    const now = Date.now();
    const counters = this.#deps.counters;
    const invite = request.method === 'INVITE';
    let outcome;
    counters.transactionStoreRoundTrips++;
    try {
      outcome = await this.#options.store.create({
        key,
        side: 'server',
        invite,
        state: invite ? 'proceeding' : 'trying',
        branch: request.topVia?.branch ?? '',
        request: bytes,
        respondTo: formatStoredTarget(responseTarget(request, source)),
        lease: { owner: this.#options.owner, until: now + this.#leaseMs },
        expiresAt: now + (invite ? TIMER_C : 0) + 64 * this.#deps.timers.t1 + 1000,
      });
    } catch {
      counters.stateStoreFailures++;
      answerStatelessly(this.#deps.sender, counters, request, source, 503, 'Service Unavailable (Transaction Store)', [['Retry-After', String(this.#deps.storeRetryAfterSeconds)]]);
      return 'failed';
    }
    if (outcome.ok) {
      this.leases.hold(key);
      return 'created';
    }
    counters.retransmissionsAbsorbed++;
    const stored = outcome.record?.response;
    if (stored === undefined) {
      counters.sharedRetransmissionsDropped++;
    } else {
      counters.sharedRetransmissionsReplayed++;
      this.#deps.sender.send(responseTarget(request, source), stored);
    }
    return 'absorbed';
  }

  /**
   * A CANCEL, or an ACK that is no request of its own, that matches no local transaction: handed
   * to the worker holding its INVITE's lease, when that is another live worker. Resolves true
   * when it was handed off; false: handle it here (no record, our own, or the store failed).
   */
  async handOffToHolder(request: SipMessage, bytes: Buffer, source: TransportAddress): Promise<boolean> {
    const handOffTo = this.#options.handOffTo;
    if (handOffTo === undefined) return false;
    this.#deps.counters.transactionStoreRoundTrips++;
    let record;
    try {
      record = await this.#options.store.get(serverTransactionKey(request, 'INVITE'));
    } catch {
      return false;
    }
    const holder = record?.lease?.owner;
    if (holder === undefined || holder === this.#options.owner) return false;
    return handOffTo(holder, bytes, source);
  }
}
