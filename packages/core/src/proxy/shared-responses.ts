import { buildAckForFailure, isSipError, parseMessage, type SipLimits, type SipMessage } from '@switchboard/sip';
import { WAITING_STATES, type ClientTransactionState } from '../transaction/client-transaction.js';
import { clientTransactionKey } from '../transaction/keys.js';
import type { TimerSettings } from '../transaction/timers.js';
import type { TransactionOutcome, TransactionRecord } from '../transaction/transaction-store.js';
import { isReliable, type TransportAddress } from '../transport-address.js';
import { BRANCH_ID_PREFIX } from './branch-id.js';
import type { Forwarder } from './forwarding.js';
import { reportInternalError } from './internal-errors.js';
import { isOurSentBy } from './listeners.js';
import { receiveResponse, type ResponsePathOptions } from './response-path.js';
import type { SharedTransactions } from './shared-transactions.js';
import { transportAddressFrom } from './transaction-adoption.js';
import { clientTransactionChange, serverTransactionDeadlines } from './transaction-mirror.js';
import { viaTarget } from './via-addressing.js';

export interface SharedResponsesContext {
  readonly shared: SharedTransactions;
  readonly forwarder: Forwarder;
  /** The response path's listeners, sender (never throws) and counters. */
  readonly outbound: ResponsePathOptions;
  readonly timers: TimerSettings;
  readonly limits: Partial<SipLimits> | undefined;
}


/**
 * `--transactions shared` in the pools (issue 16, "any worker handles any message"): a response
 * is handled by the worker that read it, with no hand-off, whichever worker runs its client
 * transaction. Its client transaction's record is the arbiter, moved by compare-and-set:
 *
 * - A provisional read where its client transaction does not run moves the record to Proceeding
 *   (one round trip; the holder's timers A and B read the store before they act and stop), and,
 *   unless it is a 100, is forwarded upstream unless its branch has its final response already,
 *   then written as the parent's last response (a second round trip, the write the holder would
 *   have made, for a retransmitted request). A provisional of one branch after another branch's
 *   final response is not held back (§16.7 across workers is not built).
 * - A final response, wherever it is read (here or not), is acted on only by the worker that wins
 *   the record's move from Calling/Trying/Proceeding to Completed/Accepted: the first final wins.
 *   Where the client transaction runs, that compare-and-set replaces the write-through it would
 *   have made (same round trips). Elsewhere the winner records the branch's outcome in the parent
 *   (updateBranch: it answers the branch count and target), acknowledges a failure from the
 *   request bytes stored, writes the parent's final state with the response's bytes and timers,
 *   and forwards it. A loser forwards only a retransmitted 2xx of an INVITE (§17.1.1.2, RFC 6026)
 *   and acknowledges a retransmitted failure again.
 * - Not done across workers: §16.7's choice among the finals of a request forked to several
 *   targets, and its 503-to-500 rule: such a final is handed to the parent's lease holder
 *   (`shared_response_hand_offs`).
 *
 * The holder learns of it from the store: its timers read the record before they act, and its
 * lease renewals answer the record (TransactionAdoption.renewed).
 */
export class SharedResponses {
  readonly #context: SharedResponsesContext;

  constructor(context: SharedResponsesContext) {
    this.#context = context;
  }

  /** One response from a transport (or handed here by the winner of its compare-and-set). Never throws for anything the peer sent. */
  receive(response: SipMessage, bytes: Buffer, source: TransportAddress, handedOff: boolean): void {
    const { forwarder, outbound } = this.#context;
    const top = response.topVia;
    const branch = top?.branch;
    if (top === undefined || branch === undefined || !branch.startsWith(BRANCH_ID_PREFIX) || !isOurSentBy(outbound.listeners, top)) {
      receiveResponse(response, forwarder, outbound);
      return;
    }
    const method = response.cseq?.method ?? '';
    const key = clientTransactionKey(branch, method);
    const status = response.status ?? 0;
    const local = forwarder.hasClient(key);
    // A CANCEL's client transaction is not stored: its answer is absorbed where it runs, dropped elsewhere (it has nothing to go upstream by).
    if (handedOff || (local && (status < 200 || method === 'CANCEL'))) {
      receiveResponse(response, forwarder, outbound);
      return;
    }
    if (method === 'CANCEL') {
      outbound.counters.responsesReceived++;
      outbound.counters.messagesDropped++;
      return;
    }
    if (local) this.#finalHere(response, key, status);
    else if (status >= 200) this.#finalElsewhere(response, bytes, source, key, status);
    else this.#provisionalElsewhere(response, key, status).catch((error: unknown) => reportInternalError(outbound.counters, error));
  }

  /** A final response of a client transaction that runs here: acted on once this worker has won its record's compare-and-set. */
  #finalHere(response: SipMessage, key: string, status: number): void {
    const { shared, forwarder, outbound, timers } = this.#context;
    const transaction = forwarder.client(key);
    const invite = transaction?.isInvite ?? response.cseq?.method === 'INVITE';
    const state: ClientTransactionState = invite && status < 300 ? 'accepted' : 'completed';
    const reliable = isReliable(transaction?.target.protocol ?? 'udp');
    const change = clientTransactionChange(invite, reliable, state, status, Date.now(), timers);
    shared.mirror.claimClientFinal(key, change, true, (outcome) => this.#guard(() => this.#afterClaimHere(response, key, status, invite, outcome)));
  }

  #afterClaimHere(response: SipMessage, key: string, status: number, invite: boolean, outcome: TransactionOutcome | undefined): void {
    const { shared, forwarder, outbound } = this.#context;
    const record = outcome?.record;
    // Won; a retransmitted 2xx of an INVITE (forwarded again); the store failed or holds no record (its writes failed): handled here, as in owned mode.
    if (outcome === undefined || outcome.ok || record === undefined || (invite && status < 300 && record.state === 'accepted')) {
      receiveResponse(response, forwarder, outbound);
      return;
    }
    outbound.counters.responsesReceived++;
    outbound.counters.sharedFinalsAbsorbed++;
    const target = forwarder.client(key)?.target;
    if (forwarder.forgetClient(key)) {
      outbound.counters.sharedTransactionsMovedOn++;
      shared.lingers(key, record.expiresAt);
    }
    if (invite && status >= 300 && record.state === 'completed' && target !== undefined) this.#acknowledge(record, response, target);
  }

  /** Runs `action`; a bug in it is counted, never thrown into the store's write chain. */
  #guard(action: () => void | Promise<void>): void {
    try {
      const result = action();
      if (result instanceof Promise) result.catch((error: unknown) => reportInternalError(this.#context.outbound.counters, error));
    } catch (error) {
      reportInternalError(this.#context.outbound.counters, error);
    }
  }

  /** A provisional response of a client transaction another worker runs. */
  async #provisionalElsewhere(response: SipMessage, key: string, status: number): Promise<void> {
    const { shared, outbound, timers } = this.#context;
    const counters = outbound.counters;
    counters.responsesReceived++;
    const invite = response.cseq?.method === 'INVITE';
    const now = Date.now();
    counters.transactionStoreRoundTrips++;
    let record: TransactionRecord | undefined;
    try {
      record = (await shared.store.transition(key, ['calling', 'trying'], clientTransactionChange(invite, false, 'proceeding', 0, now, timers))).record;
    } catch {
      record = undefined;
    }
    if (status === 100) return;
    // No record (the store failed, or the transaction is gone): forwarded by its Via, as a stateless proxy would.
    if (record === undefined) {
      this.#forwardUpstream(response);
      return;
    }
    // Its branch has its final response already (read by any worker): not forwarded after it.
    if (!WAITING_STATES.includes(record.state)) return;
    const forwarded = this.#stripOurVia(response);
    if (forwarded === undefined) return;
    // Sent at once, one round trip after it was read: waiting for the parent's write as well let the
    // 200 its callee sent after it overtake it (read and forwarded by the worker running the branch).
    this.#send(forwarded);
    if (record.parent === undefined) return;
    // The parent's last response, for a retransmitted request (refused once it has its final one).
    const { timers: deadlines, expiresAt } = serverTransactionDeadlines(invite, true, 'proceeding', now, timers);
    counters.transactionStoreRoundTrips++;
    await shared.store.transition(record.parent, ['trying', 'proceeding'], { state: 'proceeding', response: { status, bytes: forwarded.bytes }, timers: deadlines, expiresAt }).catch(() => undefined);
  }

  /** A final response of a client transaction another worker runs: the first final wins. */
  #finalElsewhere(response: SipMessage, bytes: Buffer, source: TransportAddress, key: string, status: number): void {
    const { shared, outbound, timers } = this.#context;
    const counters = outbound.counters;
    counters.responsesReceived++;
    const invite = response.cseq?.method === 'INVITE';
    const state: ClientTransactionState = invite && status < 300 ? 'accepted' : 'completed';
    const now = Date.now();
    const change = clientTransactionChange(invite, isReliable(source.protocol), state, status, now, timers);
    shared.mirror.claimClientFinal(key, change, false, (outcome) => this.#guard(() => this.#afterClaimElsewhere(response, bytes, source, key, status, state, now, outcome)));
  }

  async #afterClaimElsewhere(response: SipMessage, bytes: Buffer, source: TransportAddress, key: string, status: number, state: ClientTransactionState, now: number, outcome: TransactionOutcome | undefined): Promise<void> {
    const { shared, outbound, timers } = this.#context;
    const counters = outbound.counters;
    const invite = response.cseq?.method === 'INVITE';
    if (outcome === undefined) {
      this.#forwardUpstream(response);
      return;
    }
    const record = outcome.record;
    if (!outcome.ok) {
      // No record: a response after its transaction ended (a late 2xx), forwarded by its Via as before.
      if (record === undefined || (invite && status < 300 && record.state === 'accepted')) {
        this.#forwardUpstream(response);
        return;
      }
      counters.sharedFinalsAbsorbed++;
      if (invite && status >= 300 && record.state === 'completed') this.#acknowledge(record, response, source);
      return;
    }
    // Finished here, its holder's lease runs on to the record's end: nobody adopts what only lingers
    // (the holder, if alive, learns at its renewal; a dead holder's would lapse and clog adoption).
    this.#extendHolderLease(record, record?.expiresAt);
    const parentKey = record?.parent;
    if (parentKey === undefined) {
      this.#forwardUpstream(response);
      return;
    }
    counters.transactionStoreRoundTrips++;
    let parent: TransactionRecord | undefined;
    try {
      parent = (await shared.store.updateBranch(parentKey, key, WAITING_STATES, { state, status })).record;
    } catch {
      parent = undefined;
    }
    const holder = parent?.lease?.owner;
    if (parent !== undefined && (parent.branches.length > 1 || status === 503) && holder !== undefined && holder !== shared.owner && shared.handOff(holder, bytes, source)) {
      // §16.7 across workers is not built: the holder's Forwarder chooses among the branches' finals.
      counters.sharedResponseHandOffs++;
      return;
    }
    if (invite && status >= 300 && record !== undefined) {
      const branch = parent?.branches.find((candidate) => candidate.branch === key);
      this.#acknowledge(record, response, transportAddressFrom(branch?.target) ?? source);
    }
    const forwarded = this.#stripOurVia(response);
    if (forwarded === undefined) return;
    const upstream = viaTarget(forwarded.next);
    const parentState = invite && status < 300 ? 'accepted' : 'completed';
    const { timers: deadlines, expiresAt } = serverTransactionDeadlines(invite, isReliable(upstream.protocol), parentState, now, timers);
    counters.transactionStoreRoundTrips++;
    let written = true;
    try {
      const answered = await shared.store.transition(parentKey, ['trying', 'proceeding'], { state: parentState, response: { status, bytes: forwarded.bytes }, timers: deadlines, expiresAt });
      written = answered.ok;
      // A completed INVITE still has work (G, H, the ACK): its holder, or an adopter, runs it. What only lingers is not adopted.
      if (written && !(invite && parentState === 'completed')) this.#extendHolderLease(answered.record, expiresAt);
    } catch {
      written = true;
    }
    // The parent answered already (a CANCEL's 487, a timeout's 408): only a 2xx of an INVITE still goes up (§16.7 step 5).
    if (written || (invite && status < 300)) this.#send(forwarded);
    else counters.sharedFinalsAbsorbed++;
  }

  /** Extends the lease of the record's holder (another worker, maybe dead) to `until`: one write, not awaited. */
  #extendHolderLease(record: TransactionRecord | undefined, until: number | undefined): void {
    const holder = record?.lease?.owner;
    if (record === undefined || holder === undefined || until === undefined || holder === this.#context.shared.owner) return;
    this.#context.outbound.counters.transactionStoreRoundTrips++;
    this.#context.shared.store.renewLease(record.key, holder, until).catch(() => undefined);
  }

  /** Acknowledges a failure of an INVITE (§17.1.1.3) from the request as its client transaction sent it. */
  #acknowledge(record: TransactionRecord, response: SipMessage, target: TransportAddress): void {
    if (record.request === undefined) return;
    try {
      const sent = parseMessage(record.request, { limits: this.#context.limits });
      this.#context.outbound.sender.send(target, buildAckForFailure(sent, response));
    } catch (error) {
      if (!isSipError(error)) throw error;
    }
  }

  /** The response without our Via, as it goes upstream, and the Via it goes by; undefined (dropped) when it has none left. */
  #stripOurVia(response: SipMessage): { bytes: Buffer; next: NonNullable<SipMessage['topVia']> } | undefined {
    response.removeTopVia();
    const next = response.topVia;
    if (next === undefined) {
      this.#context.outbound.counters.messagesDropped++;
      return undefined;
    }
    return { bytes: response.serialize(), next };
  }

  #send(forwarded: { bytes: Buffer; next: NonNullable<SipMessage['topVia']> }): void {
    const counters = this.#context.outbound.counters;
    counters.responsesForwarded++;
    counters.sharedResponsesForwarded++;
    this.#context.outbound.sender.send(viaTarget(forwarded.next), forwarded.bytes);
  }

  /** Forwarded by its Via with no transaction, as the owned response path does for a response it cannot match. */
  #forwardUpstream(response: SipMessage): void {
    const forwarded = this.#stripOurVia(response);
    if (forwarded === undefined) return;
    this.#context.outbound.counters.responsesForwarded++;
    this.#context.outbound.sender.send(viaTarget(forwarded.next), forwarded.bytes);
  }
}
