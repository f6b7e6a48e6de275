import {
  buildAckForFailure,
  buildCancel,
  buildResponse,
  isSipError,
  isSipUri,
  parseMessage,
  parseUri,
  rejectionResponse,
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
import type { MessageSender, TransportAddress, TransportProtocol } from '../transport-address.js';
import { BRANCH_ID_PREFIX, formatBranchId, formatStatelessBranchId, hasLoopHash, loopHash, statelessHash } from './branch-id.js';
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
   * Written into every stateful branch this core creates (branch-id.ts), so a model that spreads
   * transactions over workers can hand each response to the worker holding its client transaction
   * (see `branchOwner`). Letters and digits only.
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
}

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

interface Branch {
  readonly key: string;
  readonly sent: SipMessage;
  readonly target: TransportAddress;
  transaction: ClientTransaction | undefined;
  provisional: boolean;
  cancelPending: boolean;
  cancelled: boolean;
  final: { status: number; bytes: Buffer } | undefined;
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
  #branchCounter = 0;

  constructor(options: ProxyCoreOptions) {
    this.#options = options;
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
    let message: SipMessage;
    try {
      message = parseMessage(bytes, { limits: this.#options.limits });
    } catch (error) {
      if (!isSipError(error)) throw error;
      const answer = rejectionResponse(bytes, error);
      if (answer === undefined) {
        this.counters.messagesDropped++;
      } else {
        this.counters.requestsRejected++;
        this.#options.sender.send(source, answer);
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
      void this.#forwardStateless(request, source);
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
      sender: this.#options.sender,
      timers: this.#timers,
      onTerminated: (transaction, reason) => {
        this.#server.delete(transaction.key);
        if (reason === 'timeout') this.counters.transactionTimeouts++;
      },
    });
    this.#server.set(key, server);
    this.counters.serverTransactions++;
    if (request.method === 'CANCEL') {
      this.#onCancel(request, server);
      return;
    }
    if (request.method === 'INVITE') server.respond(100, buildResponse(request, 100));
    this.#decide(request, source).then(
      (decision) => this.#carryOut(decision, request, source, server),
      (error: unknown) => (isSipError(error) ? this.#answer(server, error.status, error.reason) : this.#answer(server, 500)),
    );
  }

  /** RFC 3261 §18.2.1 and RFC 3581: note where the request really came from in its top Via. */
  #stampReceived(request: SipMessage, via: Via, source: TransportAddress): void {
    const sentByHost = via.host.replace(/^\[|\]$/g, '');
    const needsReceived = sentByHost !== source.address;
    const needsRport = via.rport === null;
    if (!needsReceived && !needsRport) return;
    const params = new Map(via.params);
    if (needsReceived || needsRport) params.set('received', source.address);
    if (needsRport) params.set('rport', String(source.port));
    request.removeTopVia();
    request.prependVia({ ...via, params, received: source.address, rport: needsRport ? source.port : via.rport });
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
    for (const target of decision.targets) {
      const branch = this.#prepareBranch(base, request, source, target, true);
      if (branch === undefined) continue;
      context.branches.push(branch);
    }
    if (context.branches.length === 0) {
      this.#answer(server, 503, 'No route to the target');
      return;
    }
    for (const branch of context.branches) this.#startBranch(context, branch);
  }

  /**
   * Makes the copy of the request for one target (RFC 3261 §16.6): Request-URI, Max-Forwards,
   * Record-Route, the next hop (loose or strict Route), and our Via with a fresh branch.
   */
  #prepareBranch(base: Buffer, original: SipMessage, source: TransportAddress, target: Target, stateful: boolean): Branch | undefined {
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
    if (nextHop === undefined) return undefined;
    const outgoing = this.#listenerFor(nextHop.protocol);
    if (outgoing === undefined) return undefined;

    if (stateful && this.#options.recordRoute !== false && DIALOG_CREATING.has(copy.method ?? '')) {
      const incoming = this.#listenerFor(source.protocol);
      // §16.6 step 4: a SIPS Request-URI or top Route makes our Record-Route a SIPS URI.
      const sips = copy.requestUri?.scheme === 'sips' || copy.route[0]?.uri.scheme === 'sips';
      // Double record-routing when the transport changes, so each side reaches us over its own
      // (RFC 5658): the callee's entry on top, the caller's below it.
      if (incoming !== undefined && incoming.protocol !== outgoing.protocol) copy.prependRecordRoute(recordRouteValue(incoming, sips));
      copy.prependRecordRoute(recordRouteValue(outgoing, sips));
    }
    const hash = loopHash(original, original.topVia);
    const branchId = stateful ? formatBranchId(hash, this.#options.branchTag, ++this.#branchCounter) : formatStatelessBranchId(hash, statelessHash(original));
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
    return {
      key: clientTransactionKey(branchId, copy.cseq?.method ?? copy.method ?? ''),
      sent: copy,
      target: nextHop,
      transaction: undefined,
      provisional: false,
      cancelPending: false,
      cancelled: false,
      final: undefined,
    };
  }

  #startBranch(context: ForwardContext, branch: Branch): void {
    const method = branch.sent.method ?? '';
    const transaction = new ClientTransaction({
      key: branch.key,
      method,
      bytes: branch.sent.serialize(),
      target: branch.target,
      sender: this.#options.sender,
      timers: this.#timers,
      timerC: method === 'INVITE' ? TIMER_C : undefined,
      buildAck: (response) => buildAckForFailure(branch.sent, response),
      onResponse: (response) => this.#onBranchResponse(context, branch, response),
      onTimeout: () => {
        this.counters.transactionTimeouts++;
        this.#onBranchFinal(context, branch, 408, buildResponse(context.request, 408));
      },
      onTerminated: (finished) => this.#client.delete(finished.key),
    });
    branch.transaction = transaction;
    this.#client.set(branch.key, transaction);
    this.counters.clientTransactions++;
    this.counters.requestsForwarded++;
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

  #onBranchFinal(context: ForwardContext, branch: Branch, status: number, bytes: Buffer): void {
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
      sender: this.#options.sender,
      timers: this.#timers,
      onResponse: () => undefined,
      onTimeout: () => undefined,
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
    void this.#forwardStateless(ack, source);
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
    for (const target of decision.targets) {
      const branch = this.#prepareBranch(base, request, source, target, false);
      if (branch === undefined) continue;
      this.counters.requestsForwarded++;
      this.#options.sender.send(branch.target, branch.sent.serialize());
    }
  }

  // ---- routing decision ---------------------------------------------------------------------

  /** Checks and route processing of §16.3-16.5: where the request goes, or what to answer. */
  async #decide(request: SipMessage, source: TransportAddress): Promise<Decision> {
    if (request.maxForwards === 0) {
      if (request.method === 'OPTIONS' && this.#isUs(request.requestUri) && request.route.length === 0) {
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
    if (isUs && uri !== undefined && isSipUri(uri) && uri.user === undefined) {
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
   * (our realm's Proxy-Authorization then removed, §22.3).
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
    if (kind === undefined) return undefined;
    let result;
    try {
      result = await auth.authenticate(request, source, kind, claimedIdentity(request), this.counters);
    } catch (error) {
      if (isSipError(error)) throw error;
      return this.#storeUnavailable('Authentication Service Unavailable');
    }
    if (result.kind === 'respond') return { kind: 'respond', status: result.status, reason: result.reason, headers: result.headers };
    if (kind === 'proxy') auth.removeOwnCredentials(request);
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

  #capabilities(): Array<[string, string]> {
    return [
      ['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, PRACK, SUBSCRIBE, NOTIFY, REFER, MESSAGE'],
      ['Accept', 'application/sdp'],
    ];
  }

  /** §16.3 step 4: our Via with this request's loop hash means it came back to us unchanged. */
  #isLoop(request: SipMessage): boolean {
    const vias = request.via;
    for (let i = 0; i < vias.length - 1; i++) {
      const via = vias[i] as Via;
      if (via.branch?.startsWith(BRANCH_ID_PREFIX) !== true || !this.#isOurSentBy(via)) continue;
      // Our Via at i: the request as we first received it had vias[i + 1] on top.
      if (hasLoopHash(via.branch, loopHash(request, vias[i + 1]))) return true;
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

  #answer(server: ServerTransaction, status: number, reason?: string, headers?: ReadonlyArray<readonly [string, string]>): void {
    server.respond(status, buildResponse(server.request, status, { reason, headers }));
  }

  /** A response without a transaction (validation failures, stateless mode). */
  #reject(request: SipMessage, source: TransportAddress, status: number, reason?: string, headers?: ReadonlyArray<readonly [string, string]>): void {
    if (request.method === 'ACK') return;
    this.counters.requestsRejected++;
    this.#options.sender.send(responseTarget(request, source), buildResponse(request, status, { reason, headers }));
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
    this.#options.sender.send(viaTarget(next), response.serialize());
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
function bestResponse(finals: ReadonlyArray<{ status: number; bytes: Buffer }>): { status: number; bytes: Buffer } {
  const sixes = finals.find((final) => final.status >= 600);
  if (sixes !== undefined) return sixes;
  return finals.reduce((best, final) => (Math.floor(final.status / 100) < Math.floor(best.status / 100) ? final : best));
}
