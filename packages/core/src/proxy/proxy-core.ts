import diagnostics from 'node:diagnostics_channel';
import {
  buildAckForFailure,
  buildCancel,
  isSipError,
  isSipUri,
  parseMessage,
  parseUri,
  uriHostname,
  validateRequest,
  type NameAddr,
  type SipLimits,
  type SipMessage,
  type Uri,
  type Via,
} from '@switchboard/sip';
import { authChallengeKind, claimedIdentity, type DigestAuthenticator } from '../auth/digest-authenticator.js';
import { addressOfRecord, DEFAULT_REGISTRAR_OPTIONS, handleRegister, type RegistrarOptions } from '../registrar/registrar.js';
import type { LocationStore } from '../registrar/location-store.js';
import { responseTarget } from '../response-target.js';
import { ClientTransaction } from '../transaction/client-transaction.js';
import { clientTransactionKey, serverTransactionKey } from '../transaction/keys.js';
import { ServerTransaction } from '../transaction/server-transaction.js';
import { DEFAULT_TIMERS, type TimerSettings } from '../transaction/timers.js';
import { reportSendError, type MessageSender, type TransportAddress, type TransportProtocol } from '../transport-address.js';
import { generatedRejection, generatedResponse } from './generated-response.js';
import { isConnectionRefusal, mustLeaveUdp, viaForTcp } from './message-size.js';
import { newProxyCounters, type ProxyCounters } from './proxy-counters.js';
import { uriTarget } from './uri-target.js';

/** An address the proxy listens on, as it writes it into Via and Record-Route. */
export interface Listener {
  readonly protocol: TransportProtocol;
  readonly host: string;
  readonly port: number;
}

/** Sends messages and files Via aliases of stream connections (the transports behind it). */
export interface ProxySender extends MessageSender {
  addAlias?(connectionId: number, host: string, port: number, protocol: TransportProtocol): void;
}

export interface ProxyCoreOptions {
  readonly listeners: readonly Listener[];
  /** Domains whose users are found through the location service (and registered here). */
  readonly domains?: readonly string[];
  /** Where requests go that are not for a local domain or a registered user. */
  readonly defaultRoute?: string;
  /** Record-route dialog-creating requests (default true). */
  readonly recordRoute?: boolean;
  /** Forward without transaction state (RFC 3261 §16.11). */
  readonly stateless?: boolean;
  readonly timers?: TimerSettings;
  readonly registrar?: RegistrarOptions;
  readonly store: LocationStore;
  readonly sender: ProxySender;
  /** Option tags accepted in Proxy-Require; others get 420. */
  readonly supported?: readonly string[];
  readonly limits?: Partial<SipLimits>;
  /**
   * Written into every stateful branch this core creates (`z9hG4bK-sb-<hash>-<tag>.<n>`), so a
   * model that spreads transactions over workers can hand each response to the worker holding its
   * client transaction (see `branchOwner`). Letters and digits only.
   */
  readonly branchTag?: string;
  /** Seconds a 503 asks clients to wait when the location store fails (default 5). */
  readonly storeRetryAfterSeconds?: number;
  /**
   * Asked for each parsed message before it is processed, in models that spread transactions
   * over workers: returns true when it has handed the message to the worker that owns it.
   */
  readonly handOff?: (message: SipMessage, bytes: Buffer, source: TransportAddress) => boolean;
  /** Digest authentication (`--auth`); none: every request passes. */
  readonly auth?: DigestAuthenticator;
  /**
   * Transports the sender can open connections over although nothing listens on them (a TCP
   * client without a TCP listener). Requests go out over them with a Via sent-by naming another
   * listener (see `#outgoingFor`); without one, a request for such a next hop gets 503.
   */
  readonly clientTransports?: readonly TransportProtocol[];
}

/**
 * Published with `{ error }` when handling one message, timer or store answer threw something
 * that is not a SipError (a bug): it is counted (`internalErrors`) and dropped, never rethrown.
 */
const internalErrorChannel = diagnostics.channel('switchboard:internal-error');

/** Proxy timer C (§16.8): longer than 3 minutes. */
const TIMER_C = 181_000;
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY']);

interface Target {
  /** New Request-URI (a registered contact), or undefined to keep the Request-URI. */
  readonly requestUri?: string;
  /** Where to send when neither a Route nor the Request-URI says (the default route). */
  readonly nextHop?: TransportAddress;
}

type Decision =
  | { readonly kind: 'respond'; readonly status: number; readonly reason?: string; readonly headers?: ReadonlyArray<readonly [string, string]> }
  | { readonly kind: 'forward'; readonly targets: readonly Target[] };

/** Why a target got no branch: no next hop at all, or one over a transport we cannot send on. */
type BranchFailure = 'no-route' | 'no-transport';

const BRANCH_FAILURE_REASONS: Record<BranchFailure, string> = {
  'no-route': 'No route to the target',
  'no-transport': 'Transport Not Available',
};

interface Branch {
  readonly key: string;
  /** The request as sent and where: both change when a large request falls back to UDP. */
  sent: SipMessage;
  target: TransportAddress;
  /** A large request sent over TCP instead of UDP: what to send if the connection is refused. */
  udpFallback: { readonly sent: SipMessage; readonly target: TransportAddress } | undefined;
  transaction: ClientTransaction | undefined;
  provisional: boolean;
  cancelPending: boolean;
  cancelled: boolean;
  /** bytes undefined: a response of ours (408), built when it is the one sent upstream. */
  final: { status: number; bytes: Buffer | undefined } | undefined;
}

interface ForwardContext {
  readonly request: SipMessage;
  readonly server: ServerTransaction;
  readonly branches: Branch[];
  cancelled: boolean;
  answered: boolean;
}

/**
 * The proxy and registrar of RFC 3261 §16 and §10, independent of where it runs: messages come
 * in through `receive`, leave through the sender, and bindings live in the location store.
 * Stateful by default (server and client transactions, forking, response selection, CANCEL);
 * `stateless` forwards with branch hashing and keeps no transaction state.
 */
export class ProxyCore {
  readonly counters: ProxyCounters = newProxyCounters();
  readonly #options: ProxyCoreOptions;
  readonly #timers: TimerSettings;
  readonly #server = new Map<string, ServerTransaction>();
  readonly #client = new Map<string, ClientTransaction>();
  readonly #contexts = new WeakMap<ServerTransaction, ForwardContext>();
  readonly #cancelledEarly = new WeakSet<ServerTransaction>();
  readonly #domains: Set<string>;
  readonly #defaultRoute: TransportAddress | undefined;
  /** The options' sender, counting failed sends and never throwing. */
  readonly #sender: MessageSender;
  #branchCounter = 0;

  constructor(options: ProxyCoreOptions) {
    this.#options = options;
    const sender = options.sender;
    this.#sender = {
      send: (target, bytes, onError) => {
        const failed = (error: Error): void => {
          this.counters.transportErrors++;
          onError?.(error);
        };
        // Checked here too: a sender that relays to another thread cannot report it back.
        if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
          reportSendError(failed, Object.assign(new RangeError(`no port to send to: ${target.port}`), { code: 'ERR_SOCKET_BAD_PORT' }));
          return;
        }
        try {
          sender.send(target, bytes, failed);
        } catch (error) {
          reportSendError(failed, error);
        }
      },
    };
    this.#timers = options.timers ?? DEFAULT_TIMERS;
    this.#domains = new Set((options.domains ?? []).map((domain) => domain.toLowerCase()));
    this.#defaultRoute = options.defaultRoute === undefined ? undefined : uriTarget(parseUri(options.defaultRoute));
  }

  /** Server and client transactions alive now. */
  get transactionCount(): number {
    return this.#server.size + this.#client.size;
  }

  /** Ends every transaction and its timers (shutdown). */
  close(): void {
    for (const transaction of [...this.#server.values()]) transaction.terminate();
    for (const transaction of [...this.#client.values()]) transaction.terminate();
  }

  /**
   * One message from a transport (or, with `handedOff`, from another worker that found it belongs
   * here). Never throws for anything the peer sent.
   */
  receive(bytes: Buffer, source: TransportAddress, handedOff = false): void {
    try {
      this.#receive(bytes, source, handedOff);
    } catch (error) {
      // A bug in this message's handling: it must not stop the process, nor touch other calls.
      this.#internalError(error);
      this.#answerInternalError(bytes);
    }
  }

  #receive(bytes: Buffer, source: TransportAddress, handedOff: boolean): void {
    let message: SipMessage;
    try {
      message = parseMessage(bytes, { limits: this.#options.limits });
    } catch (error) {
      if (!isSipError(error)) throw error;
      const { bytes: answer, oversized } = generatedRejection(bytes, error, source);
      if (answer === undefined) {
        this.counters.messagesDropped++;
        if (oversized) this.counters.oversizedResponsesDropped++;
      } else {
        this.counters.requestsRejected++;
        this.#sender.send(source, answer);
      }
      return;
    }
    if (!handedOff && this.#options.handOff !== undefined && this.#worthHandingOff(message) && this.#options.handOff(message, bytes, source)) return;
    try {
      if (message.isRequest) this.#onRequest(message, source);
      else this.#onResponse(message);
    } catch (error) {
      // A lazily parsed header (From, To, Expires ...) that turns out malformed.
      if (!isSipError(error)) throw error;
      this.#reject(message, source, error.status, error.reason);
    }
  }

  /**
   * A request that will only be rejected is rejected where it was read: hostile input then costs
   * no IPC, and the workers' hand-off path stays free for real calls.
   */
  #worthHandingOff(message: SipMessage): boolean {
    if (!message.isRequest || message.method === 'ACK') return true;
    try {
      validateRequest(message);
      return true;
    } catch (error) {
      if (!isSipError(error)) throw error;
      return false;
    }
  }

  // ---- requests ----------------------------------------------------------------------------

  #onRequest(request: SipMessage, source: TransportAddress): void {
    this.counters.requestsReceived++;
    const topVia = request.topVia;
    if (topVia === undefined) {
      this.#reject(request, source, 400, 'Missing Via');
      return;
    }
    this.#stampReceived(request, topVia, source);
    if (source.connectionId !== undefined && this.#options.sender.addAlias !== undefined) {
      this.#options.sender.addAlias(source.connectionId, topVia.host.replace(/^\[|\]$/g, ''), topVia.port ?? 5060, source.protocol);
    }
    if (request.method === 'ACK') {
      this.#onAck(request, source);
      return;
    }
    if (this.#options.stateless === true) {
      this.#forwardStatelessGuarded(request, source);
      return;
    }
    const key = serverTransactionKey(request);
    const existing = this.#server.get(key);
    if (existing !== undefined) {
      this.counters.retransmissionsAbsorbed++;
      existing.receiveRetransmission();
      return;
    }
    try {
      validateRequest(request);
    } catch (error) {
      if (!isSipError(error)) throw error;
      this.#reject(request, source, error.status, error.reason);
      return;
    }
    const server = new ServerTransaction({
      key,
      request,
      source,
      responseTarget: responseTarget(request, source),
      sender: this.#sender,
      timers: this.#timers,
      onTerminated: (transaction, reason) => {
        this.#server.delete(transaction.key);
        if (reason === 'timeout') this.counters.transactionTimeouts++;
      },
      onInternalError: (error) => this.#internalError(error),
    });
    this.#server.set(key, server);
    this.counters.serverTransactions++;
    if (request.method === 'CANCEL') {
      this.#onCancel(request, server);
      return;
    }
    if (request.method === 'INVITE') {
      const trying = generatedResponse(request, source, 100);
      if (trying === undefined) this.counters.oversizedResponsesDropped++;
      else server.respond(100, trying);
    }
    this.#decide(request, source).then(
      (decision) => this.#guarded(server, () => this.#carryOut(decision, request, source, server)),
      (error: unknown) =>
        this.#guarded(server, () => {
          if (!isSipError(error)) throw error;
          this.#answer(server, error.status, error.reason);
        }),
    );
  }

  /** RFC 3261 §18.2.1 and RFC 3581: note where the request really came from in its top Via. */
  #stampReceived(request: SipMessage, via: Via, source: TransportAddress): void {
    const sentByHost = via.host.replace(/^\[|\]$/g, '');
    const needsReceived = sentByHost !== source.address;
    const needsRport = via.rport === null;
    if (!needsReceived && !needsRport) return;
    // In place, so the Via's other bytes stay as they came (a quoted value need not be UTF-8).
    request.setTopViaParams(needsRport ? [['received', source.address], ['rport', String(source.port)]] : [['received', source.address]]);
  }

  #carryOut(decision: Decision, request: SipMessage, source: TransportAddress, server: ServerTransaction): void {
    if (decision.kind === 'respond') {
      this.#answer(server, decision.status, decision.reason, decision.headers);
      return;
    }
    if (this.#cancelledEarly.has(server)) {
      this.#answer(server, 487);
      return;
    }
    const context: ForwardContext = { request, server, branches: [], cancelled: false, answered: false };
    this.#contexts.set(server, context);
    const base = request.serialize();
    let failure: BranchFailure | undefined;
    for (const target of decision.targets) {
      const branch = this.#prepareBranch(base, request, source, target, true);
      if (typeof branch === 'string') failure ??= this.#countFailure(branch);
      else context.branches.push(branch);
    }
    if (context.branches.length === 0) {
      this.#answer(server, 503, BRANCH_FAILURE_REASONS[failure ?? 'no-route']);
      return;
    }
    for (const branch of context.branches) this.#startBranch(context, branch);
  }

  /**
   * Makes the copy of the request for one target (RFC 3261 §16.6): Request-URI, Max-Forwards,
   * Record-Route, the next hop (loose or strict Route), and our Via with a fresh branch.
   */
  #prepareBranch(base: Buffer, original: SipMessage, source: TransportAddress, target: Target, stateful: boolean): Branch | BranchFailure {
    const copy = parseMessage(base, { limits: this.#options.limits });
    if (target.requestUri !== undefined) copy.setRequestUri(target.requestUri, parseUri(target.requestUri));
    copy.setMaxForwards(copy.maxForwards === undefined ? 70 : copy.maxForwards - 1);

    let nextHop: TransportAddress | undefined;
    const firstRoute = copy.route[0];
    if (firstRoute !== undefined) {
      nextHop = uriTarget(firstRoute.uri);
      if (isSipUri(firstRoute.uri) && !firstRoute.uri.params.has('lr')) {
        // The next hop is a strict router (§16.6 step 6): it wants its own URI as Request-URI.
        copy.appendRoute(`<${copy.requestUriText ?? ''}>`);
        copy.setRequestUri(firstRoute.uriText, firstRoute.uri);
        copy.removeFirstRoute();
      }
    } else {
      nextHop = target.nextHop ?? (copy.requestUri === undefined ? undefined : uriTarget(copy.requestUri));
    }
    if (nextHop === undefined) return 'no-route';
    const outgoing = this.#outgoingFor(nextHop.protocol);
    if (outgoing === undefined) return 'no-transport';

    if (stateful && this.#options.recordRoute !== false && DIALOG_CREATING.has(copy.method ?? '')) {
      const incoming = this.#listenerFor(source.protocol);
      // §16.6 step 4: a SIPS Request-URI or top Route makes our Record-Route a SIPS URI.
      const sips = copy.requestUri?.scheme === 'sips' || copy.route[0]?.uri.scheme === 'sips';
      if (outgoing.clientOnly) {
        // Nothing listens on the outgoing transport: the callee reaches us where the caller did.
        if (incoming !== undefined) copy.prependRecordRoute(recordRouteValue(incoming, sips));
      } else {
        // Double record-routing when the transport changes, so each side reaches us over its
        // own (RFC 5658): the callee's entry on top, the caller's below it.
        if (incoming !== undefined && incoming.protocol !== outgoing.protocol) copy.prependRecordRoute(recordRouteValue(incoming, sips));
        copy.prependRecordRoute(recordRouteValue(outgoing, sips));
      }
    }
    const counter = (++this.#branchCounter).toString(36);
    const suffix = stateful ? (this.#options.branchTag === undefined ? counter : `${this.#options.branchTag}.${counter}`) : `s${statelessBranch(original)}`;
    const branchId = `z9hG4bK-sb-${loopHash(original, original.topVia)}-${suffix}`;
    copy.prependVia({
      protocol: 'SIP/2.0',
      transport: outgoing.protocol.toUpperCase(),
      host: outgoing.host,
      port: outgoing.port,
      params: new Map<string, string | null>([['branch', branchId], ['rport', null]]),
      branch: branchId,
      received: undefined,
      rport: null,
    });
    const branch: Branch = {
      key: clientTransactionKey(branchId, copy.cseq?.method ?? copy.method ?? ''),
      sent: copy,
      target: nextHop,
      udpFallback: undefined,
      transaction: undefined,
      provisional: false,
      cancelPending: false,
      cancelled: false,
      final: undefined,
    };
    this.#moveLargeRequestToTcp(branch);
    return branch;
  }

  /**
   * RFC 3261 §18.1.1: a request larger than 1300 bytes (we do not know the path MTU) that would
   * go over UDP MUST go over a congestion-controlled transport, TCP, and its top Via says so. The
   * rule has no exception for a next hop that names `transport=udp`: UDP is what the request
   * "would have otherwise been sent over", and the RFC's remedy for a target without TCP is the
   * retry below. The UDP form is kept: if the connection is refused or reset, the request goes
   * over UDP after all (same branch, so it is the same transaction to the next hop).
   */
  #moveLargeRequestToTcp(branch: Branch): void {
    if (branch.target.protocol !== 'udp') return;
    const udpBytes = branch.sent.serialize();
    if (!mustLeaveUdp(branch.target, udpBytes.length)) return;
    const tcp = this.#outgoingFor('tcp');
    if (tcp === undefined) return;
    branch.udpFallback = { sent: parseMessage(udpBytes, { limits: this.#options.limits }), target: branch.target };
    viaForTcp(branch.sent, tcp);
    branch.target = { ...branch.target, protocol: 'tcp' };
    this.counters.largeRequestsOverTcp++;
  }

  /** The fallback of §18.1.1 for a large request whose TCP connection failed; false when there is none. */
  #fallBackToUdp(branch: Branch, error: Error): boolean {
    const fallback = branch.udpFallback;
    if (fallback === undefined || !isConnectionRefusal(error)) return false;
    branch.udpFallback = undefined;
    branch.sent = fallback.sent;
    branch.target = fallback.target;
    this.counters.largeRequestsUdpFallbacks++;
    return true;
  }

  #startBranch(context: ForwardContext, branch: Branch, first = true): void {
    const method = branch.sent.method ?? '';
    const transaction = new ClientTransaction({
      key: branch.key,
      method,
      bytes: branch.sent.serialize(),
      target: branch.target,
      sender: this.#sender,
      timers: this.#timers,
      timerC: method === 'INVITE' ? TIMER_C : undefined,
      buildAck: (response) => buildAckForFailure(branch.sent, response),
      onResponse: (response) => this.#onBranchResponse(context, branch, response),
      // A timeout's 408 is built only if it is the response sent upstream (then within the UDP size rule).
      onTimeout: () =>
        this.#guarded(context.server, () => {
          this.counters.transactionTimeouts++;
          this.#onBranchFinal(context, branch, 408, undefined);
        }),
      // §16.9: a transport error is a 503 from that branch, at once rather than at timer B or F.
      onTransportError: (_failed, error) =>
        this.#guarded(context.server, () => {
          if (this.#fallBackToUdp(branch, error)) this.#startBranch(context, branch, false);
          else this.#onBranchFinal(context, branch, 503, undefined);
        }),
      onInternalError: (error) => this.#internalError(error),
      // A UDP retry has taken the key over already.
      onTerminated: (finished) => {
        if (this.#client.get(finished.key) === finished) this.#client.delete(finished.key);
      },
    });
    branch.transaction = transaction;
    this.#client.set(branch.key, transaction);
    this.counters.clientTransactions++;
    if (first) this.counters.requestsForwarded++;
    transaction.start();
  }

  #onBranchResponse(context: ForwardContext, branch: Branch, response: SipMessage): void {
    const status = response.status ?? 0;
    if (response.via.length < 2) return;
    response.removeTopVia();
    if (status < 200) {
      if (status === 100) return;
      branch.provisional = true;
      if (branch.cancelPending) this.#cancelBranch(branch);
      if (!context.answered) this.#forwardUpstream(context, status, response.serialize());
      return;
    }
    if (status < 300) {
      // Every 2xx goes upstream at once, retransmissions included (§16.7 step 5).
      branch.final ??= { status, bytes: Buffer.alloc(0) };
      context.answered = true;
      this.#forwardUpstream(context, status, response.serialize());
      if (context.request.method === 'INVITE') for (const other of context.branches) if (other !== branch) this.#cancelBranch(other);
      return;
    }
    this.#onBranchFinal(context, branch, status, response.serialize());
  }

  #onBranchFinal(context: ForwardContext, branch: Branch, status: number, bytes: Buffer | undefined): void {
    if (branch.final !== undefined) return;
    branch.final = { status, bytes };
    if (status >= 600) for (const other of context.branches) if (other !== branch) this.#cancelBranch(other);
    if (context.answered || context.branches.some((candidate) => candidate.final === undefined)) return;
    const best = bestResponse(context.branches.map((candidate) => candidate.final).filter((final) => final !== undefined));
    if (best.status === 503) {
      // §16.7 step 6: a 503 from downstream is not passed on as is.
      this.#answer(context.server, 500, 'Downstream Service Unavailable');
      return;
    }
    if (best.bytes === undefined) {
      this.#answer(context.server, best.status);
      return;
    }
    this.#forwardUpstream(context, best.status, best.bytes);
  }

  #forwardUpstream(context: ForwardContext, status: number, bytes: Buffer): void {
    this.counters.responsesForwarded++;
    context.server.respond(status, bytes);
  }

  #onCancel(cancel: SipMessage, server: ServerTransaction): void {
    const invite = this.#server.get(serverTransactionKey(cancel, 'INVITE'));
    if (invite === undefined) {
      this.#answer(server, 481);
      return;
    }
    this.#answer(server, 200);
    if (invite.lastStatus >= 200) return;
    const context = this.#contexts.get(invite);
    if (context === undefined) {
      this.#cancelledEarly.add(invite);
      return;
    }
    context.cancelled = true;
    for (const branch of context.branches) this.#cancelBranch(branch);
  }

  /** CANCELs one branch (§16.10): only after it has sent a provisional response (§9.1). */
  #cancelBranch(branch: Branch): void {
    if (branch.final !== undefined || branch.cancelled || branch.sent.method !== 'INVITE') return;
    if (!branch.provisional) {
      branch.cancelPending = true;
      return;
    }
    branch.cancelled = true;
    const key = clientTransactionKey(branch.sent.topVia?.branch ?? '', 'CANCEL');
    const transaction = new ClientTransaction({
      key,
      method: 'CANCEL',
      bytes: buildCancel(branch.sent),
      target: branch.target,
      sender: this.#sender,
      timers: this.#timers,
      onResponse: () => undefined,
      onTimeout: () => undefined,
      onInternalError: (error) => this.#internalError(error),
      onTerminated: (finished) => this.#client.delete(finished.key),
    });
    this.#client.set(key, transaction);
    transaction.start();
  }

  #onAck(ack: SipMessage, source: TransportAddress): void {
    const server = this.#server.get(serverTransactionKey(ack));
    if (server !== undefined && server.isInvite && server.lastStatus >= 300) {
      this.counters.retransmissionsAbsorbed++;
      server.receiveAck();
      return;
    }
    // The ACK of a 2xx is a request of its own, routed by its Route set (§16, §13.2.2.4).
    this.#forwardStatelessGuarded(ack, source);
  }

  #forwardStatelessGuarded(request: SipMessage, source: TransportAddress): void {
    this.#forwardStateless(request, source).catch((error: unknown) => this.#internalError(error));
  }

  /** Forwards without transaction state, with a branch derived from the incoming one (§16.11). */
  async #forwardStateless(request: SipMessage, source: TransportAddress): Promise<void> {
    let decision: Decision;
    try {
      decision = await this.#decide(request, source);
    } catch {
      decision = { kind: 'respond', status: 500 };
    }
    if (decision.kind === 'respond') {
      if (request.method !== 'ACK') this.#reject(request, source, decision.status, decision.reason, decision.headers);
      return;
    }
    const base = request.serialize();
    let failure: BranchFailure | undefined;
    let forwarded = 0;
    for (const target of decision.targets) {
      const branch = this.#prepareBranch(base, request, source, target, false);
      if (typeof branch === 'string') {
        failure ??= this.#countFailure(branch);
        continue;
      }
      forwarded++;
      this.counters.requestsForwarded++;
      const onError = branch.udpFallback === undefined ? undefined : (error: Error) => {
        if (this.#fallBackToUdp(branch, error)) this.#sender.send(branch.target, branch.sent.serialize());
      };
      this.#sender.send(branch.target, branch.sent.serialize(), onError);
    }
    if (forwarded === 0 && failure !== undefined) this.#reject(request, source, 503, BRANCH_FAILURE_REASONS[failure]);
  }

  #countFailure(failure: BranchFailure): BranchFailure {
    if (failure === 'no-route') this.counters.requestsUnroutable++;
    else this.counters.transportUnavailable++;
    return failure;
  }

  // ---- routing decision ---------------------------------------------------------------------

  /** Checks and route processing of §16.3-16.5: where the request goes, or what to answer. */
  async #decide(request: SipMessage, source: TransportAddress): Promise<Decision> {
    if (request.maxForwards === 0) {
      if (request.method === 'OPTIONS' && (this.#isUs(request.requestUri) || this.#isBareDomain(request.requestUri)) && request.route.length === 0) {
        return { kind: 'respond', status: 200, headers: this.#capabilities() };
      }
      this.counters.tooManyHops++;
      return { kind: 'respond', status: 483 };
    }
    if (this.#isLoop(request)) {
      this.counters.loopsDetected++;
      return { kind: 'respond', status: 482 };
    }
    const supported = new Set(this.#options.supported ?? []);
    const unsupported = request.optionTags('proxy-require').filter((tag) => !supported.has(tag));
    if (unsupported.length > 0) return { kind: 'respond', status: 420, headers: [['Unsupported', unsupported.join(', ')]] };

    if (this.#options.auth !== undefined) {
      const refused = await this.#authenticate(this.#options.auth, request, source);
      if (refused !== undefined) return refused;
    }

    // §16.4: a Request-URI we put in a Record-Route means the previous hop was a strict router.
    if (this.#isUs(request.requestUri) && request.route.length > 0) {
      const last = request.removeLastRoute();
      request.setRequestUri(last.uriText, last.uri);
    }
    while (request.route[0] !== undefined && this.#isUs((request.route[0] as NameAddr).uri)) request.removeFirstRoute();
    if (request.route.length > 0) return { kind: 'forward', targets: [{}] };

    const uri = request.requestUri;
    const host = uri !== undefined && isSipUri(uri) ? uriHostname(uri) : undefined;
    const isUs = this.#isUs(uri);
    const local = host !== undefined && this.#domains.has(host);
    if (request.method === 'REGISTER' && (local || isUs)) {
      this.counters.registrations++;
      let result;
      try {
        result = await handleRegister(request, source, this.#options.store, this.#options.registrar ?? DEFAULT_REGISTRAR_OPTIONS);
      } catch (error) {
        if (isSipError(error)) throw error;
        return this.#storeUnavailable();
      }
      return { kind: 'respond', status: result.status, reason: result.reason, headers: result.headers };
    }
    // A URI without a user part at us or at a domain we serve addresses this server (§11):
    // OPTIONS gets our capabilities, any other method 404 (no user there to reach).
    if ((isUs && uri !== undefined && isSipUri(uri) && uri.user === undefined) || this.#isBareDomain(uri)) {
      if (request.method === 'OPTIONS') return { kind: 'respond', status: 200, headers: this.#capabilities() };
      return { kind: 'respond', status: 404 };
    }
    if (local || isUs) {
      const aor = uri === undefined ? undefined : addressOfRecord(uri);
      let bindings;
      try {
        bindings = aor === undefined ? [] : await this.#options.store.lookup(aor, Date.now());
      } catch {
        return this.#storeUnavailable();
      }
      if (bindings.length > 0) {
        return {
          kind: 'forward',
          targets: bindings.map((binding) => ({ requestUri: binding.contact, nextHop: contactHop(binding.contact, binding.source) })),
        };
      }
      if (local) return { kind: 'respond', status: 404 };
    }
    // In-dialog requests (To tag) go where their Request-URI says; the default route is for
    // requests that start something (RFC 3261 §12.2).
    if (this.#defaultRoute !== undefined && request.toTag === undefined) {
      return { kind: 'forward', targets: [{ nextHop: this.#defaultRoute }] };
    }
    if (isUs) return { kind: 'respond', status: 404 };
    if (uri === undefined || !isSipUri(uri)) return { kind: 'respond', status: 416 };
    return { kind: 'forward', targets: [{}] };
  }

  /**
   * RFC 3261 §22: challenges the request or checks its credentials when `--auth` says it must be
   * authenticated; the decision to answer with when it is refused, undefined when it may go on
   * (our realm's Proxy-Authorization then removed, §22.3, whether it was checked or not).
   */
  async #authenticate(auth: DigestAuthenticator, request: SipMessage, source: TransportAddress): Promise<Decision | undefined> {
    const uri = request.requestUri;
    const host = uri !== undefined && isSipUri(uri) ? uriHostname(uri) : undefined;
    const forRegistrar =
      request.method === 'REGISTER' && request.route.every((entry) => this.#isUs(entry.uri)) && ((host !== undefined && this.#domains.has(host)) || this.#isUs(uri));
    const realm = auth.realm.toLowerCase();
    const kind = authChallengeKind(auth.mode, request, {
      forRegistrar,
      inOurDialog: routedByOurRecordRoute(request),
      isOurDomain: (candidate) => this.#domains.has(candidate) || candidate === realm,
    });
    if (kind === undefined) {
      // Not challenged (ACK, CANCEL, in our dialog, incoming): our realm's credentials still
      // stay here (§22.3), or the ACK, BYE and re-INVITE would hand the caller's to the callee.
      auth.removeOwnCredentials(request);
      return undefined;
    }
    let result;
    try {
      result = await auth.authenticate(request, source, kind, claimedIdentity(request), this.counters);
    } catch (error) {
      if (isSipError(error)) throw error;
      return this.#storeUnavailable('Authentication Service Unavailable');
    }
    if (result.kind === 'respond') return { kind: 'respond', status: result.status, reason: result.reason, headers: result.headers };
    auth.removeOwnCredentials(request);
    return undefined;
  }

  /**
   * A state store failed (Redis down, SharedArrayBuffer table full or locked): 503 with
   * Retry-After (§21.5.4), so clients come back later; nothing else is touched and the next
   * request tries the store again.
   */
  #storeUnavailable(reason = 'Location Service Unavailable'): Decision {
    this.counters.stateStoreFailures++;
    const seconds = this.#options.storeRetryAfterSeconds ?? 5;
    return { kind: 'respond', status: 503, reason, headers: [['Retry-After', String(seconds)]] };
  }

  /** What an OPTIONS to this server answers (§11.2). */
  #capabilities(): Array<[string, string]> {
    return [
      ['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, PRACK, SUBSCRIBE, NOTIFY, REFER, MESSAGE'],
      ['Accept', 'application/sdp'],
      ['Accept-Encoding', 'identity'],
      ['Accept-Language', 'en'],
      ['Supported', (this.#options.supported ?? []).join(', ')],
    ];
  }

  /** A SIP URI without a user part whose host is a domain we serve (`sip:example.com`). */
  #isBareDomain(uri: Uri | undefined): boolean {
    return uri !== undefined && isSipUri(uri) && uri.user === undefined && this.#domains.has(uriHostname(uri));
  }

  /** §16.3 step 4: our Via with this request's loop hash means it came back to us unchanged. */
  #isLoop(request: SipMessage): boolean {
    const vias = request.via;
    for (let i = 0; i < vias.length - 1; i++) {
      const via = vias[i] as Via;
      if (via.branch?.startsWith('z9hG4bK-sb-') !== true || !this.#isOurSentBy(via)) continue;
      // Our Via at i: the request as we first received it had vias[i + 1] on top.
      if (via.branch.startsWith(`z9hG4bK-sb-${loopHash(request, vias[i + 1])}-`)) return true;
    }
    return false;
  }

  #isOurSentBy(via: Via): boolean {
    const host = via.host.replace(/^\[|\]$/g, '').toLowerCase();
    return this.#options.listeners.some((listener) => listener.host.toLowerCase() === host && listener.port === (via.port ?? 5060));
  }

  #isUs(uri: Uri | undefined): boolean {
    if (uri === undefined || !isSipUri(uri)) return false;
    const host = uriHostname(uri);
    const target = uriTarget(uri);
    return this.#options.listeners.some(
      (listener) => listener.host.toLowerCase() === host && listener.port === (uri.port ?? target?.port ?? 5060),
    );
  }

  #listenerFor(protocol: TransportProtocol): Listener | undefined {
    return this.#options.listeners.find((listener) => listener.protocol === protocol);
  }

  /**
   * What our Via says for a request sent over `protocol`: its listener, or, over a transport we
   * are only a client of, that transport with the host and port of our first listener. Responses
   * come back on the connection we opened (RFC 3261 §18.2.2), so the port is not used to reach
   * us; it names an address of ours, so our Via is recognised in the responses (§18.1.2) and in
   * loop detection. No port would do better: nothing listens for that transport here, so a
   * server that lost the connection cannot open one back to any port we could write.
   */
  #outgoingFor(protocol: TransportProtocol): (Listener & { readonly clientOnly: boolean }) | undefined {
    const listener = this.#listenerFor(protocol);
    if (listener !== undefined) return { ...listener, clientOnly: false };
    const first = this.#options.listeners[0];
    if (first === undefined || this.#options.clientTransports?.includes(protocol) !== true) return undefined;
    return { protocol, host: first.host, port: first.port, clientOnly: true };
  }

  /**
   * Runs work for a request's server transaction from a callback (a store answer, a timer, a
   * transport error): a bug there is counted and the request answered 500, never thrown.
   */
  #guarded(server: ServerTransaction, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.#internalError(error);
      try {
        this.#answer(server, 500);
      } catch (again) {
        this.#internalError(again);
      }
    }
  }

  #internalError(error: unknown): void {
    this.counters.internalErrors++;
    if (internalErrorChannel.hasSubscribers) internalErrorChannel.publish({ error });
  }

  /** After a bug in a message's handling: 500 on its server transaction, if it has one. */
  #answerInternalError(bytes: Buffer): void {
    try {
      const message = parseMessage(bytes, { limits: this.#options.limits });
      if (!message.isRequest || message.method === 'ACK') return;
      const server = this.#server.get(serverTransactionKey(message));
      if (server !== undefined) this.#answer(server, 500);
    } catch (error) {
      this.#internalError(error);
    }
  }

  #answer(server: ServerTransaction, status: number, reason?: string, headers?: ReadonlyArray<readonly [string, string]>): void {
    const bytes = generatedResponse(server.request, server.source, status, { reason, headers });
    if (bytes !== undefined) {
      server.respond(status, bytes);
      return;
    }
    // Over UDP even the minimal response outgrows the request (see generated-response.ts).
    this.counters.oversizedResponsesDropped++;
    server.terminate();
  }

  /** A response without a transaction (validation failures, stateless mode). */
  #reject(request: SipMessage, source: TransportAddress, status: number, reason?: string, headers?: ReadonlyArray<readonly [string, string]>): void {
    if (request.method === 'ACK') return;
    this.counters.requestsRejected++;
    const bytes = generatedResponse(request, source, status, { reason, headers });
    if (bytes === undefined) this.counters.oversizedResponsesDropped++;
    else this.#sender.send(responseTarget(request, source), bytes);
  }

  // ---- responses ----------------------------------------------------------------------------

  #onResponse(response: SipMessage): void {
    this.counters.responsesReceived++;
    const top = response.topVia;
    if (top === undefined || top.branch === undefined || !this.#isOurSentBy(top)) {
      this.counters.messagesDropped++;
      return;
    }
    const transaction = this.#client.get(clientTransactionKey(top.branch, response.cseq?.method ?? ''));
    if (transaction !== undefined) {
      transaction.receiveResponse(response);
      return;
    }
    // No transaction (stateless mode, or a 2xx retransmitted after it ended): by Via (§16.11).
    response.removeTopVia();
    const next = response.topVia;
    if (next === undefined) {
      this.counters.messagesDropped++;
      return;
    }
    this.counters.responsesForwarded++;
    this.#sender.send(viaTarget(next), response.serialize());
  }
}

/** Where a response goes by its Via (§18.2.2, RFC 3581): received and rport when present. */
export function viaTarget(via: Via): TransportAddress {
  const protocol = via.transport.toLowerCase();
  return {
    protocol: protocol === 'tcp' || protocol === 'tls' ? protocol : 'udp',
    address: via.received ?? via.host.replace(/^\[|\]$/g, ''),
    port: typeof via.rport === 'number' ? via.rport : (via.port ?? (protocol === 'tls' ? 5061 : 5060)),
  };
}

/**
 * Our Record-Route entry for a listener: `sips:` on the TLS listener of a request for a SIPS URI
 * (TLS is implied), otherwise `sip:` with the listener's transport (RFC 5630 keeps
 * `transport=tls` for hops that use TLS without SIPS).
 */
function recordRouteValue(listener: Listener, sips: boolean): string {
  const host = listener.host.includes(':') ? `[${listener.host}]` : listener.host;
  if (sips && listener.protocol === 'tls') return `<sips:${host}:${listener.port};lr;${DIALOG_ROUTE_MARK}>`;
  const transport = listener.protocol === 'udp' ? '' : `;transport=${listener.protocol}`;
  return `<sip:${host}:${listener.port}${transport};lr;${DIALOG_ROUTE_MARK}>`;
}

/**
 * A parameter of our Record-Route URI. A request whose Route carries it is inside a dialog we
 * record-routed: an ACK with it acknowledges a 2xx and belongs to no transaction, which lets
 * models that spread transactions over workers forward it where it was read.
 */
export const DIALOG_ROUTE_MARK = 'sbd';

/** Whether a request's Route set holds one of our Record-Route entries (see DIALOG_ROUTE_MARK). */
export function routedByOurRecordRoute(request: SipMessage): boolean {
  return request.route.some((entry) => isSipUri(entry.uri) && entry.uri.params.has(DIALOG_ROUTE_MARK));
}

/** The next hop for a registered contact: over TCP/TLS, the connection it registered on. */
function contactHop(contact: string, registeredFrom: TransportAddress): TransportAddress | undefined {
  const target = uriTarget(parseUri(contact));
  if (target === undefined) return undefined;
  if (registeredFrom.protocol !== 'udp' && target.protocol === registeredFrom.protocol) return registeredFrom;
  return target;
}

/** §16.7 step 6: a 6xx if any; else the lowest class; within it, the first one. */
function bestResponse<T extends { status: number }>(finals: readonly T[]): T {
  const sixes = finals.find((final) => final.status >= 600);
  if (sixes !== undefined) return sixes;
  return finals.reduce((best, final) => (Math.floor(final.status / 100) < Math.floor(best.status / 100) ? final : best));
}

/**
 * The loop-detection hash of §16.6 step 8 over the fields that identify the request as it
 * arrived (To tag, From tag, Call-ID, CSeq number, Request-URI, the Via that was on top,
 * Proxy-Require): the same request coming back unchanged is a loop; one that changed on the way
 * (a new Request-URI) is a spiral.
 */
function loopHash(request: SipMessage, topVia: Via | undefined): string {
  return fnv1a(
    `${request.toTag ?? ''}|${request.fromTag ?? ''}|${request.callId ?? ''}|${request.cseq?.seq ?? ''}|${request.requestUriText ?? ''}|${topVia?.branch ?? ''}|${request.header('proxy-require') ?? ''}`,
  );
}

/** A stateless branch: the same for retransmissions and for the CANCEL of an INVITE (§16.11). */
function statelessBranch(request: SipMessage): string {
  const via = request.topVia;
  return fnv1a(`${via?.branch ?? ''}|${via?.host ?? ''}|${via?.port ?? ''}|${request.callId ?? ''}|${request.cseq?.seq ?? ''}`);
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(36);
}

/**
 * The tag a core with `branchTag` wrote into one of its branches, or undefined for branches of
 * other hops, stateless branches and untagged cores.
 */
export function branchOwner(branch: string): string | undefined {
  if (!branch.startsWith('z9hG4bK-sb-')) return undefined;
  const dash = branch.indexOf('-', 11);
  const dot = branch.indexOf('.', dash + 1);
  return dash < 0 || dot < 0 ? undefined : branch.slice(dash + 1, dot);
}
