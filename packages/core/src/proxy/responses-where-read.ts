import type { ClientTransaction } from '../transaction/client-transaction.js';
import type { TimerSettings } from '../transaction/timers.js';
import type { TransactionChange, TransactionStore } from '../transaction/transaction-store.js';
import type { TransportAddress } from '../transport-address.js';
import type { ProxyCounters } from './proxy-counters.js';
import { parseStoredTarget } from './stored-response-target.js';
import { serverDeadlines } from './transaction-mirror.js';

/** Proxy timer C (§16.8). */
const TIMER_C = 181_000;

/** Client transaction states that still wait for a final response. */
const PENDING: readonly string[] = ['calling', 'trying', 'proceeding'];
const BEFORE_PROVISIONAL: readonly string[] = ['calling', 'trying'];
const SERVER_WAITING: readonly string[] = ['trying', 'proceeding'];

export interface ResponsesWhereReadOptions {
  readonly store: TransactionStore;
  /** This worker's lease owner id. */
  readonly owner: string;
  readonly timers: TimerSettings;
  readonly counters: ProxyCounters;
  /** Another worker holds `key` now (TransactionAdoption.lost): its timers stop here, nothing more is written. */
  readonly lost: (key: string) => void;
}

/** What to do with a response read where its client transaction is not run. */
export type WhereReadDecision =
  /** Send `bytes` (the response without our Via) upstream to `target` (undefined: by its next Via). */
  | { readonly kind: 'send'; readonly target: TransportAddress | undefined }
  /** Absorbed: a 100 (hop by hop), a provisional after the final one, or a retransmitted final other than an INVITE's 2xx. */
  | { readonly kind: 'drop' }
  /** Not for this path (a failure, no record here): hand it to the lease holder, or forward it by its Via. */
  | { readonly kind: 'elsewhere' };

/**
 * `--transactions shared` with `--shared-responses where-read` (issue 16): a provisional or 2xx
 * response (a 100 included: it only moves the record) read by a worker that does not run its
 * client transaction is handled there, with no
 * hand-off, as any OpenSER process handled any message of a transaction in shared memory:
 *
 * 1. the client record is moved by compare-and-set (to Proceeding; to Accepted or Completed for a
 *    final response, taking its lease to the record's end: the holder's next renewal finds it
 *    lost and its timers stop there);
 * 2. the parent server record takes the response as its last one (the bytes sent upstream, which
 *    any worker then replays to a retransmitted request), refused when another worker sent the
 *    final one meanwhile: a provisional is then dropped (§16.7 step 5), a 2xx still goes
 *    (every 2xx goes upstream, retransmissions included);
 * 3. the response goes upstream to the target the server record names (`respondTo`: the request's
 *    connection or address, §18.2.2), through this worker's sender (an fd request in the
 *    process-pool when another worker holds the connection).
 *
 * Two store round trips per response, against the hand-off's one lookup and one IPC message.
 * Failures and their best-response choice (§16.7 step 6), ACKs of failures and CANCELs still go
 * to the lease holder. The holder learns of what happened here from the store: at its next lease
 * renewal (lost), before any of its client timers acts (`confirmTimer`), and before it sends a
 * response of its own (TransactionMirror.admit: the write comes before the send).
 */
export class ResponsesWhereRead {
  readonly #options: ResponsesWhereReadOptions;

  constructor(options: ResponsesWhereReadOptions) {
    this.#options = options;
  }

  /**
   * Decides a response of the client transaction `clientKey` (of method `method`) read here;
   * `upstream` is the response as it would leave (our Via removed). Rejects when the store fails.
   */
  async decide(clientKey: string, method: string, status: number, upstream: Buffer): Promise<WhereReadDecision> {
    if (status >= 300 || status < 100) return { kind: 'elsewhere' };
    const { store, owner, counters } = this.#options;
    const { t1, t4 } = this.#options.timers;
    const invite = method === 'INVITE';
    const final = status >= 200;
    const now = Date.now();
    let clientChange: TransactionChange;
    if (final) {
      const linger = invite ? 64 * t1 : t4;
      const end = now + linger + 1000;
      clientChange = { state: invite ? 'accepted' : 'completed', response: { status }, timers: { A: null, B: null, C: null, E: null, F: null, [invite ? 'M' : 'K']: now + linger }, expiresAt: end, takeLease: { owner, until: end } };
    } else {
      clientChange = invite ? { state: 'proceeding', timers: { A: null, B: null, C: now + TIMER_C }, expiresAt: now + TIMER_C + 64 * t1 + 1000 } : { state: 'proceeding' };
    }
    const from = final ? PENDING : BEFORE_PROVISIONAL;
    counters.transactionStoreRoundTrips++;
    let client = await store.transition(clientKey, from, clientChange);
    if (client.record === undefined) {
      // The holder writes the record as its request leaves, on a connection of its own: an answer
      // at once (a 100) can reach the store first. One more try, a round trip later.
      counters.transactionStoreRoundTrips++;
      client = await store.transition(clientKey, from, clientChange);
    }
    const record = client.record;
    // Still none: a 100 is dropped (the holder's retransmission brings another answer); anything
    // else goes to the lease holder, or by its Via.
    if (record === undefined && status === 100) return { kind: 'drop' };
    if (record === undefined || record.side !== 'client' || record.parent === undefined) return { kind: 'elsewhere' };
    // A 100 goes no further (§16.7 step 4): it has moved the record to Proceeding, or found it there or beyond.
    if (status === 100) return { kind: 'drop' };
    const retransmitted2xx = invite && final && !client.ok;
    if (!client.ok && record.state !== 'proceeding' && !retransmitted2xx) {
      if (!final) counters.sharedLateProvisionalsDropped++;
      return { kind: 'drop' };
    }
    counters.transactionStoreRoundTrips++;
    if (retransmitted2xx) {
      // Sent upstream again without moving anything (§16.7 step 5; RFC 6026).
      const parent = await store.get(record.parent);
      return parent === undefined ? { kind: 'elsewhere' } : { kind: 'send', target: parseStoredTarget(parent.respondTo) };
    }
    const serverState = !final ? 'proceeding' : invite ? 'accepted' : 'completed';
    let serverChange: TransactionChange = { state: serverState, response: { status, bytes: upstream } };
    if (final) {
      // The record only lingers now (any worker replays its response): its lease runs to its end, here.
      const { timers, expiresAt } = serverDeadlines(invite, false, serverState, now, this.#options.timers);
      serverChange = { ...serverChange, timers, expiresAt, takeLease: { owner, until: expiresAt } };
    }
    const server = await store.transition(record.parent, SERVER_WAITING, serverChange);
    if (server.record === undefined) return { kind: 'elsewhere' };
    if (!server.ok && !(invite && final)) {
      if (!final) counters.sharedLateProvisionalsDropped++;
      return { kind: 'drop' };
    }
    counters.sharedResponsesHandledHere++;
    return { kind: 'send', target: parseStoredTarget(server.record.respondTo) };
  }

  /** ForwarderOptions.provisionalElsewhere: the client record is in Proceeding (a store failure: no). */
  async provisionalElsewhere(key: string): Promise<boolean> {
    this.#options.counters.transactionStoreRoundTrips++;
    try {
      return (await this.#options.store.get(key))?.state === 'proceeding';
    } catch {
      return false;
    }
  }

  /**
   * ClientTransactionOptions.confirm: before a client timer acts here, one read of its record.
   * Another worker took it (it handled the final response): dropped here (`lost`). Another worker
   * saw a provisional: moved to Proceeding here, and the timer acts only if it still applies
   * there. The store failed or has no record: the timer acts, as in owned mode.
   */
  confirmTimer(transaction: ClientTransaction, letter: string): void {
    const { store, owner, counters } = this.#options;
    counters.transactionStoreRoundTrips++;
    let reading;
    try {
      reading = store.get(transaction.key);
    } catch {
      transaction.confirmedTimer(letter);
      return;
    }
    reading.then(
      (record) => {
        if (record !== undefined && record.lease !== undefined && record.lease.owner !== owner) {
          counters.transactionLeasesLost++;
          this.#options.lost(transaction.key);
          return;
        }
        if (record?.state === 'proceeding' && (transaction.state === 'calling' || transaction.state === 'trying')) {
          transaction.proceedElsewhere();
          // An INVITE's A and B stop in Proceeding; a non-INVITE's E goes on at T2, and F applies still.
          if (transaction.isInvite && letter !== 'C') return;
        }
        transaction.confirmedTimer(letter);
      },
      () => transaction.confirmedTimer(letter),
    );
  }
}

