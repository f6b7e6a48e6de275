import { detachedString, type SipMessage } from '@switchboard/sip';
import { responseTarget } from '../response-target.js';
import { serverTransactionKey } from '../transaction/keys.js';
import { ServerTransaction, type ServerTransactionOptions, type ServerTransactionState, type TerminationReason } from '../transaction/server-transaction.js';
import { PendingTally } from '../transaction/pending-tally.js';
import type { TransactionRecord } from '../transaction/transaction-store.js';
import type { TimerSettings } from '../transaction/timers.js';
import type { MessageSender, TransportAddress } from '../transport-address.js';
import { reportInternalError } from './internal-errors.js';
import type { ProxyCounters } from './proxy-counters.js';
import type { TransactionMirror } from './transaction-mirror.js';

export interface ServerTransactionsOptions {
  /** A sender that never throws (countingSender). */
  readonly sender: MessageSender;
  readonly timers: TimerSettings;
  readonly counters: ProxyCounters;
  /** `--transactions shared` (first step): every server transaction is also written to a store. */
  readonly mirror?: TransactionMirror;
}

/**
 * The proxy's server transactions (RFC 3261 §17.2) by key: made for each new request, matched by
 * retransmissions and by the ACK of a failure, each removed when it terminates.
 */
export class ServerTransactions {
  readonly #options: ServerTransactionsOptions;
  readonly #byKey = new Map<string, ServerTransaction>();
  readonly #pending = new PendingTally();
  readonly #onTerminated = (transaction: ServerTransaction, reason: TerminationReason): void => {
    this.#byKey.delete(transaction.key);
    this.#options.mirror?.terminated(transaction);
    if (reason === 'timeout') this.#options.counters.transactionTimeouts++;
  };
  readonly #onInternalError = (error: unknown): void => reportInternalError(this.#options.counters, error);
  readonly #onResponded: ServerTransactionOptions['onResponded'];

  constructor(options: ServerTransactionsOptions) {
    this.#options = options;
    const mirror = options.mirror;
    this.#onResponded = mirror === undefined ? undefined : (transaction, status, bytes, before) => mirror.responded(transaction, status, bytes, before);
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** Transactions with no final response yet (not those only absorbing retransmissions); kept as they change state. */
  get pendingCount(): number {
    return this.#pending.count;
  }

  get(key: string): ServerTransaction | undefined {
    return this.#byKey.get(key);
  }

  /** A new server transaction for `request` under `key`; `stored`: its record is in the mirror's store already (shared mode's claim). */
  create(key: string, request: SipMessage, source: TransportAddress, stored = false): ServerTransaction {
    const transaction = new ServerTransaction({
      // Kept as long as the transaction (32 s after a final response over UDP): detached from
      // the request's text, which it would otherwise keep alive (detached-string.ts).
      key: detachedString(key),
      request,
      source,
      responseTarget: responseTarget(request, source),
      sender: this.#options.sender,
      timers: this.#options.timers,
      onTerminated: this.#onTerminated,
      onInternalError: this.#onInternalError,
      onPendingChanged: this.#pending.changed,
      ...(this.#onResponded === undefined ? {} : { onResponded: this.#onResponded }),
    });
    this.#byKey.set(transaction.key, transaction);
    this.#options.counters.serverTransactions++;
    if (!stored) this.#options.mirror?.created(transaction);
    return transaction;
  }

  /**
   * `--transactions shared`: a transaction adopted from the store (its worker died), made here in
   * the stored `state` with the stored last response and its timers re-armed from the stored
   * deadlines (ServerTransaction.resume). Its record is in the store already.
   */
  adopt(key: string, request: SipMessage, source: TransportAddress, record: TransactionRecord, now: number): ServerTransaction {
    this.#byKey.get(key)?.abandon();
    const transaction = this.create(key, request, source, true);
    this.#options.counters.serverTransactions--;
    transaction.resume(record.state as ServerTransactionState, record.status, record.response, record.timers, now);
    return transaction;
  }

  /** `--transactions shared`: another worker took this transaction over: its timers stop here, and nothing is written. */
  forget(key: string): void {
    const transaction = this.#byKey.get(key);
    if (transaction === undefined) return;
    this.#byKey.delete(key);
    transaction.abandon();
  }

  /** Hands a retransmitted request to its transaction; false when it is not a retransmission. */
  absorbRetransmission(key: string): boolean {
    const existing = this.#byKey.get(key);
    if (existing === undefined) return false;
    this.#options.counters.retransmissionsAbsorbed++;
    existing.receiveRetransmission();
    return true;
  }

  /**
   * Hands the ACK of a failure to its INVITE transaction (§17.2.1); false for any other ACK (of a
   * 2xx: a request of its own, §13.2.2.4).
   */
  absorbAck(ack: SipMessage): boolean {
    const server = this.#byKey.get(serverTransactionKey(ack));
    if (server === undefined || !server.isInvite || server.lastStatus < 300) return false;
    this.#options.counters.retransmissionsAbsorbed++;
    server.receiveAck();
    this.#options.mirror?.acknowledged(server);
    return true;
  }

  /** Ends every transaction and its timers (shutdown). */
  close(): void {
    for (const transaction of [...this.#byKey.values()]) transaction.terminate();
  }
}
