import { isSipError, parseMessage, type SipLimits } from '@switchboard/sip';
import { WAITING_STATES } from '../transaction/client-transaction.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import type { TimerSettings } from '../transaction/timers.js';
import type { TransactionRecord } from '../transaction/transaction-store.js';
import type { Forwarder } from './forwarding.js';
import { answer } from './local-answers.js';
import type { ProxyCounters } from './proxy-counters.js';
import type { SharedTransactions } from './shared-transactions.js';
import { transportAddressFrom } from './transaction-adoption.js';

export interface SharedCancelContext {
  readonly shared: SharedTransactions;
  readonly forwarder: Forwarder;
  readonly counters: ProxyCounters;
  readonly timers: TimerSettings;
  readonly limits: Partial<SipLimits> | undefined;
}

const FINAL = ['completed', 'confirmed', 'accepted', 'terminated'];

/**
 * `--transactions shared` in the pools: a CANCEL (RFC 3261 §16.10) is carried out by the worker
 * that read it, with no hand-off, wherever its INVITE runs (or ran: a dead worker's branches are
 * cancelled the same way, from the store). The INVITE's record (one `get`) gives its branches;
 * each branch's client record (one `get` each) gives its state and the INVITE as sent, from which
 * the CANCEL is built and sent to the branch's target. The CANCEL is answered 200 at once (481
 * when the INVITE has no record). A branch that has had no provisional response yet is not
 * cancelled until it has one (§9.1), nor is an INVITE whose branches are not recorded yet (its
 * routing is still deciding): the records are read again every T1 until then, for 64*T1 at most.
 * The 487 the callee then sends is a response like any other (shared-responses.ts). The CANCEL's
 * own 200 may be read by another worker, where it is dropped (it has no Via to go up by): before
 * it retransmits over UDP, the CANCEL reads its INVITE's client record and stops once that has its
 * final response (CANCEL client transactions are not stored themselves).
 */
export class SharedCancel {
  readonly #context: SharedCancelContext;

  constructor(context: SharedCancelContext) {
    this.#context = context;
  }

  /** The CANCEL on its own server transaction `server`, for the INVITE whose server key is `inviteKey`. Never rejects. */
  async cancel(server: ServerTransaction, inviteKey: string): Promise<void> {
    const { counters, timers } = this.#context;
    let invite = await this.#get(inviteKey);
    if (invite === 'failed') {
      answer(server, counters, 503, 'Service Unavailable (Transaction Store)');
      return;
    }
    if (invite === undefined || invite.side !== 'server') {
      answer(server, counters, 481);
      return;
    }
    answer(server, counters, 200);
    const done = new Set<string>();
    const deadline = Date.now() + 64 * timers.t1;
    for (;;) {
      if (invite === undefined || invite === 'failed' || invite.status >= 200 || FINAL.includes(invite.state)) return;
      for (const branch of invite.branches) {
        if (done.has(branch.branch)) continue;
        const client = await this.#get(branch.branch);
        if (client === 'failed') continue;
        if (client === undefined || !WAITING_STATES.includes(client.state)) {
          done.add(branch.branch);
          continue;
        }
        if (client.state !== 'proceeding') continue;
        done.add(branch.branch);
        this.#send(client, branch.target);
      }
      if (invite.branches.length > 0 && invite.branches.every((branch) => done.has(branch.branch))) return;
      if (Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, timers.t1));
      invite = await this.#get(inviteKey);
    }
  }

  /** Sends the CANCEL of one branch, built from its INVITE as sent. */
  #send(client: TransactionRecord, target: string): void {
    const to = transportAddressFrom(target);
    if (client.request === undefined || to === undefined) return;
    let sent;
    try {
      sent = parseMessage(client.request, { limits: this.#context.limits });
    } catch (error) {
      if (!isSipError(error)) throw error;
      return;
    }
    this.#context.counters.sharedCancelsSent++;
    // Its 200 may be read by another worker: before it retransmits, the CANCEL reads its INVITE's state (a 487 there ends it).
    this.#context.forwarder.sendCancel(sent, to, async () => {
      const record = await this.#get(client.key);
      if (record === 'failed') throw new Error('transaction store unavailable');
      return record?.state === 'proceeding' || record?.state === 'calling' ? 'trying' : record?.state;
    });
  }

  async #get(key: string): Promise<TransactionRecord | undefined | 'failed'> {
    this.#context.counters.transactionStoreRoundTrips++;
    try {
      return await this.#context.shared.store.get(key);
    } catch {
      return 'failed';
    }
  }
}
