import { isSipError, parseMessage, validateRequest, type SipLimits, type SipMessage } from '@switchboard/sip';
import type { DigestAuthenticator } from '../auth/digest-authenticator.js';
import { OverloadControl, type HoldReading, type OverloadSettings } from '../overload/overload-control.js';
import type { LocationStore } from '../registrar/location-store.js';
import type { RegistrarOptions } from '../registrar/registrar.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import { DEFAULT_TIMERS, type TimerSettings } from '../transaction/timers.js';
import type { MessageSender, TransportAddress, TransportProtocol } from '../transport-address.js';
import { countingSender } from './counting-sender.js';
import { Forwarder } from './forwarding.js';
import { generatedResponse } from './generated-response.js';
import { answerInternalError, reportInternalError } from './internal-errors.js';
import { isOurSentBy, type Listener } from './listeners.js';
import { answer, answerStatelessly, answerUnparseable } from './local-answers.js';
import { newProxyCounters, type ProxyCounters } from './proxy-counters.js';
import { receiveResponse, sendByVia } from './response-path.js';
import { newRoutingContext, type RoutingContext } from './routing-context.js';
import { routeRequest, type HeaderList, type NamedRoutingStep, type RoutingDecision } from './routing-step.js';
import { ROUTING_STEPS } from './routing-steps.js';
import { ServerTransactions } from './server-transactions.js';
import { SharedTransactions, type SharedTransactionsOptions } from './shared-transactions.js';
import { ResponsesWhereRead } from './responses-where-read.js';
import type { TransactionMirror } from './transaction-mirror.js';
import { forwardStatelessly, type StatelessOptions } from './stateless.js';
import { stampReceived } from './via-addressing.js';
import { TransactionAdoption } from './transaction-adoption.js';
import { clientTransactionKey, serverTransactionKey } from '../transaction/keys.js';
import { BRANCH_ID_PREFIX } from './branch-id.js';
import type { MessageTimingRecorder } from '../timing/message-timing.js';
import { timedSender, timedSteps } from '../timing/timed-pipeline.js';
import { routedByOurRecordRoute } from './record-route.js';

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
  /** Written into every stateful branch this core creates, so pooled models find its owner (branch-id.ts). */
  readonly branchTag?: string;
  /** Seconds a 503 asks clients to wait when the location store fails (default 5). */
  readonly storeRetryAfterSeconds?: number;
  /** Overload control: how to hold reading a stream connection (the transports'); without it, such requests are dropped. */
  readonly holdReading?: HoldReading;
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
   * listener (see `outgoingFor`); without one, a request for such a next hop gets 503.
   */
  readonly clientTransports?: readonly TransportProtocol[];
  /** The routing pipeline (default ROUTING_STEPS), for steps of one's own; the last must decide. */
  readonly routingSteps?: readonly NamedRoutingStep[];
  /**
   * `--transactions shared`, first step (issue 16): server transactions are also written to this
   * mirror's store. Without it (owned), nothing changes.
   */
  readonly transactionMirror?: TransactionMirror;
  /** Per-message timing (`--timing`); absent, the only cost is one branch per message. */
  readonly timing?: MessageTimingRecorder;
  /**
   * `--transactions shared` (issue 16): server transactions live in this store too, and a request
   * that matches none of this core's is claimed there first (shared-transactions.ts).
   */
  readonly sharedTransactions?: SharedTransactionsOptions;
  /** Overload control (`--overload on`): shed new work with 503 when this worker is overloaded, RFC 7339 both ways. */
  readonly overload?: OverloadSettings;
  /**
   * Datagrams reach this core already admitted by the overload control of whoever read them (the
   * thread-pool's parent thread): they are not cut a second time here.
   */
  readonly datagramsAdmitted?: boolean;
}

/** The answer, without a transaction, when a routing step threw. */
const ROUTING_FAILED: RoutingDecision = Object.freeze({ kind: 'respond', status: 500 });

/**
 * The proxy and registrar of RFC 3261 §16 and §10, independent of where it runs: messages come
 * in through `receive`, leave through the sender, and bindings live in the location store. It
 * dispatches: a request gets its server transaction and walks the routing steps (routing-steps.ts),
 * whose decision is answered here or forwarded (forwarding.ts; stateless.ts with `stateless` and
 * for the ACK of a 2xx); a response goes to its client transaction, or upstream by its Via.
 */
export class ProxyCore {
  readonly counters: ProxyCounters = newProxyCounters();
  readonly #options: ProxyCoreOptions;
  /** The options' sender, counting failed sends and never throwing. */
  readonly #sender: MessageSender;
  readonly #server: ServerTransactions;
  readonly #forwarder: Forwarder;
  readonly #routing: RoutingContext;
  readonly #steps: readonly NamedRoutingStep[];
  /** What stateless forwarding and the response path need. */
  readonly #outbound: StatelessOptions;
  readonly #timing: MessageTimingRecorder | undefined;
  readonly #shared: SharedTransactions | undefined;
  /** `--shared-responses where-read`: responses of other workers' transactions handled here. */
  readonly #whereRead: ResponsesWhereRead | undefined;
  readonly #overload: OverloadControl | undefined;

  constructor(options: ProxyCoreOptions) {
    this.#options = options;
    const timers = options.timers ?? DEFAULT_TIMERS;
    const counters = this.counters;
    const timing = options.timing;
    this.#timing = timing;
    const sender = countingSender(timing === undefined ? options.sender : timedSender(options.sender, timing), counters);
    this.#sender = sender;
    this.#shared = options.sharedTransactions === undefined ? undefined : new SharedTransactions(options.sharedTransactions, { timers, sender, counters, storeRetryAfterSeconds: options.storeRetryAfterSeconds ?? 5 });
    const mirror = this.#shared?.mirror ?? options.transactionMirror;
    this.#server = new ServerTransactions({ sender, timers, counters, ...(mirror === undefined ? {} : { mirror }) });
    this.#overload = options.overload === undefined ? undefined : new OverloadControl(options.overload, counters, sender, options.holdReading);
    this.#overload?.start();
    const shared = this.#shared;
    const onBranchStarted = shared === undefined ? undefined : (server: ServerTransaction, branch: string, target: TransportAddress): void => shared.mirror.branchStarted(server, branch, `${target.protocol}:${target.address}:${target.port}`);
    const sharedClients = shared === undefined ? undefined : { started: shared.mirror.clientStarted.bind(shared.mirror), changed: shared.mirror.clientChanged.bind(shared.mirror) };
    let adoption: TransactionAdoption | undefined;
    const whereRead =
      shared?.responsesWhereRead === true && options.stateless !== true
        ? new ResponsesWhereRead({ store: shared.store, owner: shared.owner, timers, counters, lost: (key) => adoption?.lost(key) })
        : undefined;
    this.#whereRead = whereRead;
    this.#forwarder = new Forwarder({
      ...options,
      sender,
      recordRoute: options.recordRoute !== false,
      timers,
      counters,
      overload: this.#overload,
      ...(onBranchStarted === undefined ? {} : { onBranchStarted }),
      ...(sharedClients === undefined ? {} : { sharedClients }),
      ...(whereRead === undefined || shared === undefined ? {} : { admitResponse: shared.mirror.admit.bind(shared.mirror), confirmClientTimer: whereRead.confirmTimer.bind(whereRead), provisionalElsewhere: whereRead.provisionalElsewhere.bind(whereRead) }),
    });
    this.#routing = newRoutingContext({ ...options, counters });
    const steps = options.routingSteps ?? ROUTING_STEPS;
    this.#steps = timing === undefined ? steps : timedSteps(steps, timing);
    this.#outbound = { listeners: options.listeners, clientTransports: options.clientTransports, limits: options.limits, sender, counters };
    if (shared !== undefined && options.stateless !== true) {
      const handleNew = (server: ServerTransaction, request: SipMessage, source: TransportAddress): void => this.#handleNew(server, request, source);
      adoption = new TransactionAdoption({ shared, server: this.#server, forwarder: this.#forwarder, counters, limits: options.limits, handleNew });
      shared.leases.start(adoption);
    }
  }

  /** `--transactions shared`: one lease renewal and adoption round now (tests; the ticker runs them every --transaction-lease-tick-ms). */
  async tickLeases(now?: number): Promise<void> {
    await this.#shared?.leases.tick(now);
    await this.#shared?.leases.adoptions();
  }

  /**
   * `--transactions shared`: the worker whose lease owner id is `owner` died (its pool saw it
   * exit): its transactions are taken over now (LeaseTicker.ownerDied). Never rejects.
   */
  async leaseOwnerDied(owner: string): Promise<void> {
    await this.#shared?.leases.ownerDied(owner);
    await this.#shared?.leases.adoptions();
  }

  /** Server and client transactions alive now. */
  /**
   * Transactions still waiting for a final response (server and client): what a graceful stop
   * waits for. Those that only absorb retransmissions (Timers D, J, K) are not counted. Kept as
   * transactions change state (PendingTally), so asking costs nothing.
   */
  get pendingTransactionCount(): number {
    return this.#server.pendingCount + this.#forwarder.pendingCount;
  }

  get transactionCount(): number {
    return this.#server.size + this.#forwarder.transactionCount;
  }

  /** Overload control, when it is on (`--overload on`). */
  get overload(): OverloadControl | undefined {
    return this.#overload;
  }

  /** Ends every transaction and its timers (shutdown). */
  close(): void {
    this.#shared?.leases.stop();
    this.#overload?.stop();
    this.#server.close();
    this.#forwarder.close();
  }

  /**
   * One message from a transport (or, with `handedOff`, from another worker that found it belongs
   * here). Never throws for anything the peer sent.
   */
  receive(bytes: Buffer, source: TransportAddress, handedOff = false): void {
    if (this.#timing === undefined) this.#receiveGuarded(bytes, source, handedOff);
    else this.#timing.measure(() => this.#receiveGuarded(bytes, source, handedOff));
  }

  #receiveGuarded(bytes: Buffer, source: TransportAddress, handedOff: boolean): void {
    try {
      this.#receive(bytes, source, handedOff);
    } catch (error) {
      // A bug in this message's handling: it must not stop the process, nor touch other calls.
      reportInternalError(this.counters, error);
      this.#answerInternalError(bytes);
    }
  }

  #receive(bytes: Buffer, source: TransportAddress, handedOff: boolean): void {
    // Overload control sheds new work before the parse where it was read, and, for a stream
    // connection, again where it was handed to (the worker that reads a connection is not always
    // the one its calls overload; datagrams are shed by whoever reads them, which under load is
    // loaded as well, and a second cut in series would shed twice: the thread-pool's parent thread
    // reads them for its threads, `datagramsAdmitted`).
    if (this.#overload !== undefined && this.#screens(source, handedOff) && this.#overload.shedOnArrival(bytes, source)) return;
    let message: SipMessage;
    try {
      message = parseMessage(bytes, { limits: this.#options.limits });
    } catch (error) {
      if (!isSipError(error)) throw error;
      answerUnparseable(this.#sender, this.counters, bytes, source, error);
      return;
    }
    this.#timing?.parsed(message);
    if (!handedOff && this.#options.handOff !== undefined && worthHandingOff(message) && this.#options.handOff(message, bytes, source)) {
      // Where it goes it meets shedOnArrival again (a stream's message): counted there, not here.
      if (this.#screens(source, true)) this.#overload?.handedOn(bytes);
      return;
    }
    try {
      if (message.isRequest) this.#onRequest(message, source, bytes, handedOff);
      else if (this.#shared?.handsOff === true && this.#sharedResponseElsewhere(this.#shared, message, bytes, source)) return;
      else receiveResponse(message, this.#forwarder, this.#outbound);
    } catch (error) {
      // A lazily parsed header (From, To, Expires ...) that turns out malformed, or a request
      // that fails validation: answered without a transaction.
      if (!isSipError(error)) throw error;
      this.#reject(message, source, error.status, error.reason);
    }
  }

  /** Whether overload control looks at a message from `source` here, read here or `handedOff` (see #receive). */
  #screens(source: TransportAddress, handedOff: boolean): boolean {
    return source.protocol !== 'udp' || !(handedOff || this.#options.datagramsAdmitted === true);
  }

  #onRequest(request: SipMessage, source: TransportAddress, bytes: Buffer, handedOff: boolean): void {
    this.counters.requestsReceived++;
    const topVia = request.topVia;
    if (topVia === undefined) {
      this.#reject(request, source, 400, 'Missing Via');
      return;
    }
    stampReceived(request, topVia, source);
    if (source.connectionId !== undefined && this.#options.sender.addAlias !== undefined) {
      this.#options.sender.addAlias(source.connectionId, topVia.host.replace(/^\[|\]$/g, ''), topVia.port ?? 5060, source.protocol);
    }
    if (this.#shared !== undefined && this.#options.stateless !== true) {
      this.#onSharedRequest(this.#shared, request, source, bytes, handedOff);
      return;
    }
    if (request.method === 'ACK') {
      // The ACK of a 2xx is a request of its own, routed by its Route set (§16, §13.2.2.4).
      if (!this.#server.absorbAck(request)) this.#route(request, source, undefined);
      return;
    }
    if (this.#options.stateless === true) {
      this.#route(request, source, undefined);
      return;
    }
    const key = serverTransactionKey(request);
    if (this.#server.absorbRetransmission(key)) return;
    validateRequest(request);
    this.#handleNew(this.#server.create(key, request, source), request, source);
  }

  /** A request with its new server transaction: a CANCEL cancels; an INVITE gets 100; then routing. */
  #handleNew(server: ServerTransaction, request: SipMessage, source: TransportAddress): void {
    if (request.method === 'CANCEL') {
      this.#forwarder.receiveCancel(server, this.#server.get(serverTransactionKey(request, 'INVITE')));
      return;
    }
    if (request.method === 'INVITE') {
      const trying = generatedResponse(request, source, 100);
      if (trying === undefined) this.counters.oversizedResponsesDropped++;
      else server.respond(100, trying);
    }
    this.#route(request, source, server);
  }

  /**
   * `--transactions shared`: as #onRequest, but a request that matches no local transaction is
   * claimed in the store before its transaction is made (a conflict: a retransmission, answered
   * from the store), and a CANCEL or an ACK of a failure whose INVITE is not here goes to the
   * worker holding its lease (unless it was handed here already: then it is handled here).
   */
  #onSharedRequest(shared: SharedTransactions, request: SipMessage, source: TransportAddress, bytes: Buffer, handedOff: boolean): void {
    const isAck = request.method === 'ACK';
    if (isAck && this.#server.absorbAck(request)) return;
    if (isAck && routedByOurRecordRoute(request)) {
      this.#route(request, source, undefined);
      return;
    }
    const key = serverTransactionKey(request);
    if (!isAck && this.#server.absorbRetransmission(key)) return;
    if (!isAck) validateRequest(request);
    const elsewhere = !handedOff && (isAck || request.method === 'CANCEL') && this.#server.get(serverTransactionKey(request, 'INVITE')) === undefined;
    const passed = elsewhere ? shared.handOffToHolder(request, bytes, source) : Promise.resolve(false);
    passed
      .then(async (gone) => {
        if (gone) return;
        if (isAck) {
          this.#route(request, source, undefined);
          return;
        }
        if ((await shared.claim(key, request, bytes, source)) !== 'created') return;
        this.#handleNew(this.#server.create(key, request, source, true), request, source);
      })
      .catch((error: unknown) => {
        // As in #receive: a header that turns out malformed gets its SipError's answer; a bug is counted.
        if (isSipError(error)) this.#reject(request, source, error.status, error.reason);
        else reportInternalError(this.counters, error);
      });
  }

  /**
   * `--transactions shared`: a response of one of our branches that no client transaction here
   * matches is looked up in the store (one `get`) and handed to the worker holding the branch's
   * lease (the adopter, after a failover); when none does, it goes upstream by its Via as before.
   * True when it went the asynchronous way.
   */
  #sharedResponseElsewhere(shared: SharedTransactions, response: SipMessage, bytes: Buffer, source: TransportAddress): boolean {
    const branch = response.topVia?.branch;
    if (branch === undefined || !branch.startsWith(BRANCH_ID_PREFIX)) return false;
    const method = response.cseq?.method ?? '';
    const key = clientTransactionKey(branch, method);
    if (this.#forwarder.hasClient(key)) return false;
    const whereRead = this.#whereRead;
    const status = response.status ?? 0;
    if (whereRead !== undefined && method === 'CANCEL') {
      // A response to a CANCEL of ours: hop by hop, absorbed by that CANCEL's client transaction,
      // which the INVITE's lease holder runs (it is in no record of its own).
      shared
        .handOffResponse(clientTransactionKey(branch, 'INVITE'), bytes, source)
        .then((gone) => {
          if (!gone) receiveResponse(response, this.#forwarder, this.#outbound);
        })
        .catch((error: unknown) => reportInternalError(this.counters, error));
      return true;
    }
    if (whereRead !== undefined && status >= 100 && status < 300) {
      this.#respondWhereRead(whereRead, shared, key, method, response, bytes, source);
      return true;
    }
    shared
      .handOffResponse(key, bytes, source)
      .then((gone) => {
        if (!gone) receiveResponse(response, this.#forwarder, this.#outbound);
      })
      .catch((error: unknown) => reportInternalError(this.counters, error));
    return true;
  }

  /**
   * `--shared-responses where-read`: a provisional or 2xx response of another worker's client
   * transaction, sent upstream from here when the store says so (ResponsesWhereRead); one it has
   * no record for goes to the lease holder or by its Via, as before. A store that fails: the
   * response goes on by its Via (a stateless proxy's answer, as when there is no record).
   */
  #respondWhereRead(whereRead: ResponsesWhereRead, shared: SharedTransactions, key: string, method: string, response: SipMessage, bytes: Buffer, source: TransportAddress): void {
    const counters = this.counters;
    const top = response.topVia;
    if (response.via.length < 2 || top === undefined || !isOurSentBy(this.#options.listeners, top)) {
      counters.responsesReceived++;
      counters.messagesDropped++;
      return;
    }
    const status = response.status ?? 0;
    const overload = this.#overload;
    overload?.observeNextHop(source, response);
    // A 100 goes no further (§16.7 step 4): nothing to build for upstream.
    if (status !== 100) {
      response.removeTopVia();
      overload?.announceUpstream(response);
    }
    const next = status === 100 ? undefined : response.topVia;
    const upstream = status === 100 ? NOTHING_UPSTREAM : response.serialize();
    const byVia = (): void => {
      if (next !== undefined) sendByVia(next, upstream, this.#outbound);
    };
    whereRead
      .decide(key, method, status, upstream)
      .then(async (decision) => {
        counters.responsesReceived++;
        if (decision.kind === 'drop') return;
        if (decision.kind === 'send') {
          if (decision.target === undefined) byVia();
          else {
            counters.responsesForwarded++;
            this.#sender.send(decision.target, upstream);
          }
          return;
        }
        if (!(await shared.handOffResponse(key, bytes, source))) byVia();
      })
      .catch(() => {
        counters.stateStoreFailures++;
        byVia();
      });
  }

  /** Walks the routing steps and carries out their decision, on `server` or (without one) statelessly. */
  #route(request: SipMessage, source: TransportAddress, server: ServerTransaction | undefined): void {
    let decision;
    try {
      decision = routeRequest(this.#steps, request, source, this.#routing);
    } catch (error) {
      this.#routingFailed(request, source, server, error);
      return;
    }
    if (decision instanceof Promise) {
      decision.then(
        (settled) => this.#carryOut(settled, request, source, server),
        (error: unknown) => this.#routingFailed(request, source, server, error),
      );
    } else {
      this.#carryOut(decision, request, source, server);
    }
  }

  /** Carries out a decision; a bug there is counted, and answered 500 when there is a transaction. */
  #carryOut(decision: RoutingDecision, request: SipMessage, source: TransportAddress, server: ServerTransaction | undefined): void {
    try {
      this.#dispatch(decision, request, source, server);
    } catch (error) {
      if (server === undefined) reportInternalError(this.counters, error);
      else answerInternalError(server, this.counters, error);
    }
  }

  #dispatch(decision: RoutingDecision, request: SipMessage, source: TransportAddress, server: ServerTransaction | undefined): void {
    if (decision.kind === 'forward') {
      if (server === undefined) forwardStatelessly(request, source, decision.targets, this.#outbound);
      else this.#forwarder.forward(server, source, decision.targets);
    } else if (server === undefined) {
      this.#reject(request, source, decision.status, decision.reason, decision.headers);
    } else {
      answer(server, this.counters, decision.status, decision.reason, decision.headers);
    }
  }

  /**
   * A step threw: on a transaction, a SipError's own answer, or a bug counted and answered 500;
   * without one (stateless), 500.
   */
  #routingFailed(request: SipMessage, source: TransportAddress, server: ServerTransaction | undefined, error: unknown): void {
    if (server === undefined) this.#carryOut(ROUTING_FAILED, request, source, server);
    else if (isSipError(error)) this.#carryOut({ kind: 'respond', status: error.status, reason: error.reason }, request, source, server);
    else answerInternalError(server, this.counters, error);
  }

  /** After a bug in a message's handling: 500 on its server transaction, if it has one. */
  #answerInternalError(bytes: Buffer): void {
    try {
      const message = parseMessage(bytes, { limits: this.#options.limits });
      if (!message.isRequest || message.method === 'ACK') return;
      const server = this.#server.get(serverTransactionKey(message));
      if (server !== undefined) answer(server, this.counters, 500);
    } catch (error) {
      reportInternalError(this.counters, error);
    }
  }

  /** A response without a transaction (validation failures, stateless mode); none to an ACK. */
  #reject(request: SipMessage, source: TransportAddress, status: number, reason?: string, headers?: HeaderList): void {
    answerStatelessly(this.#sender, this.counters, request, source, status, reason, headers);
  }
}

/** The upstream bytes of a 100 read where its transaction is not run: none (it is not forwarded). */
const NOTHING_UPSTREAM = Buffer.alloc(0);

/**
 * A request that will only be rejected is rejected where it was read: hostile input then costs
 * no IPC, and the workers' hand-off path stays free for real calls.
 */
function worthHandingOff(message: SipMessage): boolean {
  if (!message.isRequest || message.method === 'ACK') return true;
  try {
    validateRequest(message);
    return true;
  } catch (error) {
    if (!isSipError(error)) throw error;
    return false;
  }
}
