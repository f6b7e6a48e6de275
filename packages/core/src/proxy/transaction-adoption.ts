import { isSipError, parseMessage, type SipLimits, type SipMessage } from '@switchboard/sip';
import type { ClientTransactionState } from '../transaction/client-transaction.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import type { TransactionRecord } from '../transaction/transaction-store.js';
import type { TransportAddress } from '../transport-address.js';
import type { Forwarder } from './forwarding.js';
import { answerInternalError } from './internal-errors.js';
import { answer } from './local-answers.js';
import type { ProxyCounters } from './proxy-counters.js';
import type { ServerTransactions } from './server-transactions.js';
import type { LeaseHandlers } from './lease-ticker.js';
import type { SharedTransactions } from './shared-transactions.js';
import { viaTarget } from './via-addressing.js';

export interface TransactionAdoptionContext {
  readonly shared: SharedTransactions;
  readonly server: ServerTransactions;
  readonly forwarder: Forwarder;
  readonly counters: ProxyCounters;
  readonly limits: Partial<SipLimits> | undefined;
  /** Routes a request on its server transaction as a new one is (ProxyCore's CANCEL, 100 Trying, routing steps). */
  readonly handleNew: (server: ServerTransaction, request: SipMessage, source: TransportAddress) => void;
}

/**
 * `--transactions shared`: what a worker does with the transactions its lease ticker adopts (their
 * worker died, or stalled past its lease) and with those whose lease it lost (SharedTransactions
 * calls it; see docs/architecture.md, "Leases and adoption").
 */
export class TransactionAdoption implements LeaseHandlers {
  readonly #context: TransactionAdoptionContext;

  constructor(context: TransactionAdoptionContext) {
    this.#context = context;
  }

  adopted(record: TransactionRecord, now: number): boolean | Promise<boolean> {
    return record.side === 'server' ? this.#adoptServer(record, now) : this.#adoptClient(record, now);
  }

  /** Another worker holds `key` now: its timers stop here and nothing more is written. */
  lost(key: string): void {
    this.#context.server.forget(key);
    this.#context.forwarder.forgetClient(key);
  }

  /**
   * A server transaction. One that was answered finally (completed, confirmed, accepted) is
   * resumed from its record: the stored response replayed to retransmissions, its timers re-armed
   * from the stored deadlines. One still waiting for its branches is resumed as it stands when a
   * branch was recorded (the request went out; its client transactions are adopted beside it), or
   * routed again when none was (the worker died before forwarding it). The response target is the
   * stored request's top Via (received and rport included): the adopter has no socket address of
   * its own for it.
   */
  #adoptServer(record: TransactionRecord, now: number): boolean {
    const request = this.#parse(record.request);
    const via = request?.topVia;
    if (request === undefined || via === undefined) return false;
    const { server: transactions, counters } = this.#context;
    const source = viaTarget(via);
    const server = transactions.adopt(record.key, request, source, record, now);
    if ((record.state === 'trying' || record.state === 'proceeding') && record.branches.length === 0) {
      counters.transactionsAdoptedRerouted++;
      try {
        this.#context.handleNew(server, request, source);
      } catch (error) {
        if (isSipError(error)) answer(server, counters, error.status, error.reason);
        else answerInternalError(server, counters, error);
      }
    }
    return true;
  }

  /**
   * A client transaction. It runs here only beside its server transaction (adopted here too, in
   * this tick or before): resumed from its record (Forwarder.adoptBranches), it retransmits its
   * request over UDP, times out into a 408 upstream, and gets the responses other workers hand it
   * (SharedTransactions.handOffResponse). Its target is the one its parent's record holds for the
   * branch. False otherwise (SharedTransactions gives the lease up, so the parent's holder takes
   * it); a client transaction whose parent record is gone is deleted.
   */
  async #adoptClient(record: TransactionRecord, now: number): Promise<boolean> {
    const { shared, server, forwarder } = this.#context;
    const parentKey = record.parent;
    if (parentKey === undefined) return false;
    let parentRecord: TransactionRecord | undefined;
    try {
      parentRecord = await shared.store.get(parentKey);
    } catch {
      return false;
    }
    const parent = server.get(parentKey);
    if (parent === undefined) {
      if (parentRecord === undefined) shared.discard(record.key);
      return false;
    }
    const target = transportAddressFrom(parentRecord?.branches.find((branch) => branch.branch === record.key)?.target);
    const sent = this.#parse(record.request);
    if (target === undefined || sent === undefined) return false;
    forwarder.adoptBranches(parent, [{ key: record.key, sent, target, state: record.state as ClientTransactionState, deadlines: record.timers }], now);
    return true;
  }

  #parse(bytes: Buffer | undefined): SipMessage | undefined {
    if (bytes === undefined) return undefined;
    try {
      return parseMessage(bytes, { limits: this.#context.limits });
    } catch (error) {
      if (!isSipError(error)) throw error;
      return undefined;
    }
  }
}

/** A branch target as the shared store records it (`udp:192.0.2.1:5060`; the address may hold colons), or undefined. */
export function transportAddressFrom(text: string | undefined): TransportAddress | undefined {
  if (text === undefined) return undefined;
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  const protocol = text.slice(0, first);
  const port = Number(text.slice(last + 1));
  if (first < 0 || last <= first || !Number.isInteger(port)) return undefined;
  if (protocol !== 'udp' && protocol !== 'tcp' && protocol !== 'tls') return undefined;
  return { protocol, address: text.slice(first + 1, last), port };
}
