import { buildAckForFailure, buildCancel, type SipLimits, type SipMessage } from '@switchboard/sip';
import { keptFinal } from './kept-final.js';
import { ClientTransaction, type ClientTransactionState } from '../transaction/client-transaction.js';
import { clientTransactionKey } from '../transaction/keys.js';
import { PendingTally } from '../transaction/pending-tally.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import type { TimerSettings } from '../transaction/timers.js';
import type { MessageSender, TransportAddress, TransportProtocol } from '../transport-address.js';
import { formatBranchId, loopHash } from './branch-id.js';
import { BRANCH_FAILURE_REASONS, countFailure, fallBackToUdp, forwardedRequest, type BranchFailure, type ForwardedRequest } from './forwarded-request.js';
import type { OverloadControl } from '../overload/overload-control.js';
import { guarded, reportInternalError } from './internal-errors.js';
import type { Listener } from './listeners.js';
import { answer } from './local-answers.js';
import type { ProxyCounters } from './proxy-counters.js';
import type { ForwardTarget } from './routing-step.js';

/** Proxy timer C (§16.8): longer than 3 minutes. */
const TIMER_C = 181_000;

/** The `final` bytes of a branch whose 2xx went upstream as it came (one shared empty Buffer, not one per call kept 32 s). */
const FORWARDED_AT_ONCE = Buffer.alloc(0);

export interface ForwarderOptions {
  readonly listeners: readonly Listener[];
  /** Record-route dialog-creating requests. */
  readonly recordRoute: boolean;
  /** Written into every branch (see branch-id.ts). */
  readonly branchTag?: string;
  readonly limits?: Partial<SipLimits>;
  /** Transports we can open connections over although nothing listens on them (see outgoingFor). */
  readonly clientTransports?: readonly TransportProtocol[];
  /** A sender that never throws (countingSender). */
  readonly sender: MessageSender;
  readonly timers: TimerSettings;
  readonly counters: ProxyCounters;
  /** Overload control: RFC 7339 toward next hops (our Via says `oc`; their `oc` values are honoured). */
  readonly overload?: OverloadControl;
  /** `--transactions shared`: each branch as it starts (its client key and target), recorded in the server transaction's record. */
  readonly onBranchStarted?: (server: ServerTransaction, branch: string, target: TransportAddress) => void;
  /** `--transactions shared`: client transactions written through to the store (TransactionMirror). */
  readonly sharedClients?: SharedClients;
  /**
   * `--transactions shared` with responses handled where read (SharedTransactions): a response
   * goes upstream only once the store has taken it as the server transaction's last response
   * (TransactionMirror.admit), which it refuses when another worker has sent a final one meanwhile:
   * no provisional after the final (§16.7 step 5), no failure after a 2xx; a 2xx goes all the
   * same. Resolves whether to send it; it is then not written again.
   */
  readonly admitResponse?: (server: ServerTransaction, status: number, bytes: Buffer) => Promise<boolean>;
  /** The same mode: each client transaction's timers act only once the store confirms them (ClientTransactionOptions.confirm). */
  readonly confirmClientTimer?: (transaction: ClientTransaction, letter: string) => void;
  /**
   * The same mode: whether the store says the client transaction `key` got a provisional response
   * another worker read (it is in Proceeding there): asked before a CANCEL is held back for want
   * of one here (§9.1).
   */
  readonly provisionalElsewhere?: (key: string) => Promise<boolean>;
}

/** Where `--transactions shared` keeps client transactions (TransactionMirror implements it). */
export interface SharedClients {
  /** A client transaction about to send its request (`bytes`) for the server transaction `parent`. */
  started(parent: ServerTransaction, transaction: ClientTransaction, bytes: Buffer): void;
  /** Its state machine moved. */
  changed(transaction: ClientTransaction, before: ClientTransactionState): void;
}

/** A client transaction taken over from the store (`--transactions shared`): its request as sent, target and stored state. */
export interface AdoptedBranch {
  readonly key: string;
  readonly sent: SipMessage;
  readonly target: TransportAddress;
  readonly state: ClientTransactionState;
  readonly deadlines: Readonly<Record<string, number>>;
}

/** One target's client transaction: the copy sent (ForwardedRequest, which §18.1.1 may move back to UDP) and its state. */
interface Branch {
  readonly key: string;
  readonly isInvite: boolean;
  /**
   * The copy and where it goes, until the branch has its final response: then released, so a
   * transaction that lingers (timers D, K, M: up to 32 s) keeps no parsed message alive.
   */
  copy: ForwardedRequest | undefined;
  /** Where the copy went (kept after `copy` is released, for the responses still to come). */
  target: TransportAddress;
  provisional: boolean;
  cancelPending: boolean;
  cancelled: boolean;
  /** bytes undefined: a response of ours (408, 503), built when it is the one sent upstream. */
  final: { status: number; bytes: Buffer | undefined } | undefined;
}

/** One request forwarded statefully: its server transaction and a branch per target. */
interface Forwarding {
  readonly isInvite: boolean;
  readonly server: ServerTransaction;
  readonly branches: Branch[];
  answered: boolean;
}

/** The forwarding of a server transaction's request, kept in its `userState` by `forward`. */
function forwardingOf(server: ServerTransaction): Forwarding | undefined {
  return server.userState as Forwarding | undefined;
}

/**
 * Stateful forwarding (RFC 3261 §16.6-16.10): a client transaction per target (forking), the
 * responses that go upstream and the best final one (§16.7), CANCEL of pending branches (§16.10)
 * and timer C. Owns the client transactions.
 */
export class Forwarder {
  readonly #options: ForwarderOptions;
  readonly #client = new Map<string, ClientTransaction>();
  /** INVITEs cancelled before routing decided where they go. */
  readonly #cancelledEarly = new WeakSet<ServerTransaction>();
  #sequence = 0;
  readonly #pending = new PendingTally();
  /** Callbacks every client transaction shares (one each, not one per transaction). */
  readonly #onInternalError = (error: unknown): void => reportInternalError(this.#options.counters, error);
  /** A UDP retry has taken the key over already. */
  readonly #onTerminated = (finished: ClientTransaction): void => {
    if (this.#client.get(finished.key) === finished) this.#client.delete(finished.key);
  };
  /** `--transactions shared`: each state change written through. */
  readonly #onStateChanged = (changed: ClientTransaction, before: ClientTransactionState): void => this.#options.sharedClients?.changed(changed, before);

  constructor(options: ForwarderOptions) {
    this.#options = options;
  }

  /** Client transactions alive now. */
  get transactionCount(): number {
    return this.#client.size;
  }

  /** Client transactions still waiting for a final response; kept as they change state. */
  get pendingCount(): number {
    return this.#pending.count;
  }

  close(): void {
    for (const transaction of [...this.#client.values()]) transaction.terminate();
  }

  /** Whether a client transaction of this worker has `key` (clientTransactionKey). */
  hasClient(key: string): boolean {
    return this.#client.has(key);
  }

  /** Hands a response to the client transaction of its branch; false when there is none. */
  receiveResponse(response: SipMessage, branch: string): boolean {
    const transaction = this.#client.get(clientTransactionKey(branch, response.cseq?.method ?? ''));
    if (transaction === undefined) return false;
    transaction.receiveResponse(response);
    return true;
  }

  /** Forwards the request of `server` to every target at once (parallel forking, §16.6). */
  forward(server: ServerTransaction, source: TransportAddress, targets: readonly ForwardTarget[]): void {
    if (this.#cancelledEarly.has(server)) {
      answer(server, this.#options.counters, 487);
      return;
    }
    const request = server.request;
    // Answered already (a final response while routing decided): nothing is left to forward.
    if (request === undefined) return;
    const forwarding: Forwarding = { isInvite: request.method === 'INVITE', server, branches: [], answered: false };
    server.userState = forwarding;
    const hash = loopHash(request, request.topVia);
    const recordRoute = this.#options.recordRoute;
    const overload = this.#options.overload;
    const settings = overload === undefined ? this.#options : { ...this.#options, viaParams: overload.clientViaParams };
    const newWork = overload !== undefined && isNewWork(request);
    let failure: BranchFailure | 'next-hop-overloaded' | undefined;
    for (const target of targets) {
      const branchId = formatBranchId(hash, this.#options.branchTag, ++this.#sequence);
      const copy = forwardedRequest(request, source, target, branchId, recordRoute, settings);
      if (typeof copy === 'string') {
        failure ??= countFailure(this.#options.counters, copy);
        continue;
      }
      if (newWork && overload.shedForNextHop(copy.target)) {
        // RFC 7339 §6: the loss algorithm sheds this share of new work toward an overloaded next hop.
        failure ??= 'next-hop-overloaded';
        continue;
      }
      forwarding.branches.push({
        key: clientTransactionKey(branchId, copy.sent.cseq?.method ?? copy.sent.method ?? ''),
        isInvite: copy.sent.method === 'INVITE',
        copy,
        target: copy.target,
        provisional: false,
        cancelPending: false,
        cancelled: false,
        final: undefined,
      });
    }
    if (forwarding.branches.length === 0) {
      answer(server, this.#options.counters, 503, failure === 'next-hop-overloaded' ? 'Next Hop Overloaded' : BRANCH_FAILURE_REASONS[failure ?? 'no-route']);
      return;
    }
    const started = this.#options.onBranchStarted;
    for (const branch of forwarding.branches) {
      started?.(server, branch.key, branch.target);
      this.#startBranch(forwarding, branch);
    }
  }

  /**
   * A CANCEL (RFC 3261 §16.10) on its own server transaction `server`, for the INVITE whose server
   * transaction is `invite` (undefined when there is none: 481). Answered 200 at once; when the
   * INVITE is still pending, every branch is cancelled, or it is answered 487 once routing decides.
   */
  receiveCancel(server: ServerTransaction, invite: ServerTransaction | undefined): void {
    if (invite === undefined) {
      answer(server, this.#options.counters, 481);
      return;
    }
    answer(server, this.#options.counters, 200);
    if (invite.lastStatus >= 200) return;
    const forwarding = forwardingOf(invite);
    if (forwarding === undefined) {
      this.#cancelledEarly.add(invite);
      return;
    }
    for (const branch of forwarding.branches) this.#cancelBranch(branch);
  }

  /**
   * `--transactions shared`: client transactions adopted from the store for the server
   * transaction `server` (adopted here too): each resumed from its stored state and deadlines
   * (retransmitting its request over UDP, timing out into a 408 upstream), and matched by the
   * responses that reach this worker.
   */
  adoptBranches(server: ServerTransaction, adopted: readonly AdoptedBranch[], now: number): void {
    let forwarding = forwardingOf(server);
    if (forwarding === undefined) {
      forwarding = { isInvite: server.isInvite, server, branches: [], answered: server.lastStatus >= 200 };
      server.userState = forwarding;
    }
    for (const branch of adopted) {
      if (this.#client.has(branch.key)) continue;
      const added: Branch = {
        key: branch.key,
        isInvite: branch.sent.method === 'INVITE',
        copy: { sent: branch.sent, target: branch.target, udpFallback: undefined },
        target: branch.target,
        provisional: branch.state === 'proceeding',
        cancelPending: false,
        cancelled: false,
        final: undefined,
      };
      forwarding.branches.push(added);
      this.#newClient(forwarding, added, true)?.resume(branch.state, branch.deadlines, now);
    }
  }

  #startBranch(forwarding: Forwarding, branch: Branch, first = true): void {
    const transaction = this.#newClient(forwarding, branch);
    if (transaction === undefined) return;
    if (first) this.#options.counters.requestsForwarded++;
    transaction.start();
  }

  /** The client transaction of `branch` (none once the branch has released its copy). */
  #newClient(forwarding: Forwarding, branch: Branch, adopted = false): ClientTransaction | undefined {
    const copy = branch.copy;
    if (copy === undefined) return undefined;
    const method = copy.sent.method ?? '';
    const counters = this.#options.counters;
    const shared = this.#options.sharedClients;
    branch.target = copy.target;
    const bytes = copy.sent.serialize();
    const transaction = new ClientTransaction({
      key: branch.key,
      method,
      bytes,
      target: copy.target,
      sender: this.#options.sender,
      timers: this.#options.timers,
      timerC: method === 'INVITE' ? TIMER_C : undefined,
      // Called on the final response, before the branch releases its copy.
      buildAck: (response) => (branch.copy === undefined ? undefined : buildAckForFailure(branch.copy.sent, response)),
      onResponse: (response) => this.#onBranchResponse(forwarding, branch, response),
      // A timeout's 408 is built only if it is the response sent upstream (then within the UDP size rule).
      onTimeout: () =>
        guarded(forwarding.server, counters, () => {
          counters.transactionTimeouts++;
          this.#onBranchFinal(forwarding, branch, 408, undefined);
        }),
      // §16.9: a transport error is a 503 from that branch, at once rather than at timer B or F.
      onTransportError: (_failed, error) =>
        guarded(forwarding.server, counters, () => {
          if (branch.copy !== undefined && fallBackToUdp(branch.copy, error, counters)) this.#startBranch(forwarding, branch, false);
          else this.#onBranchFinal(forwarding, branch, 503, undefined);
        }),
      onInternalError: this.#onInternalError,
      onTerminated: this.#onTerminated,
      onPendingChanged: this.#pending.changed,
      ...(shared === undefined ? {} : { onStateChanged: this.#onStateChanged }),
      ...(this.#options.confirmClientTimer === undefined ? {} : { confirm: this.#options.confirmClientTimer, onProceededElsewhere: () => this.#provisionalSeenElsewhere(branch) }),
    });
    this.#client.set(branch.key, transaction);
    counters.clientTransactions++;
    if (!adopted) shared?.started(forwarding.server, transaction, bytes);
    return transaction;
  }

  /** `--transactions shared`: another worker holds this client transaction now: its timers stop here. */
  forgetClient(key: string): boolean {
    const transaction = this.#client.get(key);
    if (transaction === undefined) return false;
    this.#client.delete(key);
    transaction.abandon();
    return true;
  }

  #onBranchResponse(forwarding: Forwarding, branch: Branch, response: SipMessage): void {
    const status = response.status ?? 0;
    if (response.via.length < 2) return;
    const overload = this.#options.overload;
    overload?.observeNextHop(branch.target, response);
    response.removeTopVia();
    overload?.announceUpstream(response);
    if (status < 200) {
      if (status === 100) return;
      branch.provisional = true;
      if (branch.cancelPending) this.#cancelBranch(branch);
      if (!forwarding.answered) this.#forwardUpstream(forwarding, status, response.serialize());
      return;
    }
    if (status < 300) {
      // Every 2xx goes upstream at once, retransmissions included (§16.7 step 5).
      if (branch.final === undefined) {
        branch.final = { status, bytes: FORWARDED_AT_ONCE };
        branch.copy = undefined;
      }
      forwarding.answered = true;
      this.#forwardUpstream(forwarding, status, response.serialize());
      if (forwarding.isInvite) for (const other of forwarding.branches) if (other !== branch) this.#cancelBranch(other);
      return;
    }
    this.#onBranchFinal(forwarding, branch, status, response.serialize());
  }

  #onBranchFinal(forwarding: Forwarding, branch: Branch, status: number, bytes: Buffer | undefined): void {
    if (branch.final !== undefined) return;
    branch.final = { status, bytes };
    branch.copy = undefined;
    if (status >= 600) for (const other of forwarding.branches) if (other !== branch) this.#cancelBranch(other);
    if (forwarding.answered || forwarding.branches.some((candidate) => candidate.final === undefined)) return;
    const best = bestResponse(forwarding.branches.map((candidate) => candidate.final).filter((final) => final !== undefined));
    if (best.status === 503) {
      // §16.7 step 6: a 503 from downstream is not passed on as is.
      answer(forwarding.server, this.#options.counters, 500, 'Downstream Service Unavailable');
      return;
    }
    if (best.bytes === undefined) {
      answer(forwarding.server, this.#options.counters, best.status);
      return;
    }
    this.#forwardUpstream(forwarding, best.status, best.bytes);
  }

  #forwardUpstream(forwarding: Forwarding, status: number, bytes: Buffer): void {
    const admit = this.#options.admitResponse;
    const kept = keptFinal(forwarding.isInvite, status, bytes);
    if (admit === undefined) {
      this.#options.counters.responsesForwarded++;
      forwarding.server.respond(status, kept);
      return;
    }
    admit(forwarding.server, status, kept).then(
      (admitted) => {
        // A provisional admitted while a final was forwarded here waits no more.
        if (!admitted || (status < 200 && forwarding.server.lastStatus >= 200)) return;
        this.#options.counters.responsesForwarded++;
        forwarding.server.respond(status, kept, true);
      },
      this.#onInternalError,
    );
  }

  /** `--shared-responses where-read`: another worker read a provisional of `branch`: a CANCEL held back for one goes now. */
  #provisionalSeenElsewhere(branch: Branch): void {
    branch.provisional = true;
    if (branch.cancelPending) this.#cancelBranch(branch);
  }

  /** CANCELs one branch (§16.10): only after it has sent a provisional response (§9.1). */
  #cancelBranch(branch: Branch): void {
    if (branch.final !== undefined || branch.cancelled || !branch.isInvite || branch.copy === undefined) return;
    if (!branch.provisional) {
      branch.cancelPending = true;
      // Its provisional may have reached another worker (--shared-responses where-read).
      this.#options.provisionalElsewhere?.(branch.key).then((seen) => {
        if (seen && !branch.provisional) this.#provisionalSeenElsewhere(branch);
      }, this.#onInternalError);
      return;
    }
    branch.cancelled = true;
    const sent = branch.copy.sent;
    const key = clientTransactionKey(sent.topVia?.branch ?? '', 'CANCEL');
    const transaction = new ClientTransaction({
      key,
      method: 'CANCEL',
      bytes: buildCancel(sent),
      target: branch.target,
      sender: this.#options.sender,
      timers: this.#options.timers,
      onResponse: () => undefined,
      onTimeout: () => undefined,
      onInternalError: this.#onInternalError,
      onTerminated: this.#onTerminated,
      onPendingChanged: this.#pending.changed,
    });
    this.#client.set(key, transaction);
    transaction.start();
  }
}

/** New work overload control may shed: an out-of-dialog request other than ACK, BYE, CANCEL and PRACK (see message-class.ts). */
function isNewWork(request: SipMessage): boolean {
  const method = request.method;
  return method !== 'ACK' && method !== 'BYE' && method !== 'CANCEL' && method !== 'PRACK' && request.toTag === undefined;
}

/** §16.7 step 6: a 6xx if any; else the lowest class; within it, the first one. */
export function bestResponse<T extends { status: number }>(finals: readonly T[]): T {
  const sixes = finals.find((final) => final.status >= 600);
  if (sixes !== undefined) return sixes;
  return finals.reduce((best, final) => (Math.floor(final.status / 100) < Math.floor(best.status / 100) ? final : best));
}
