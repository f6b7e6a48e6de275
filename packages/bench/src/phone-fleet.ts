/**
 * The phones one generator process simulates: `pairs` callers, each with its own callee, that
 * register with the proxy and then call through it (INVITE, 100/180/200, ACK, BYE, 200, with the
 * Record-Route honoured). Callers reach the proxy over a UDP socket of their own or over
 * connections opened under the caller's connection lifetime; callees either keep one persistent
 * connection to the proxy (it reaches them over it) or listen, so the proxy opens connections to
 * them that they close under the callee's lifetime.
 */
import net from 'node:net';
import tls from 'node:tls';
import { isSipUri, uriUser, type SipMessage } from '@switchboard/sip';
import type { BenchTransport, ConnectionLifetime } from './bench-result.js';
import { CalleeAnswerer } from './callee-phone.js';
import { clientExchange, ResponseRouter, type ExchangeOutcome } from './client-exchange.js';
import { LoadStats, windowCallsLimitMs } from './load-stats.js';
import { seededRandom } from './arrivals.js';
import {
  ackFor2xx,
  ackForFailure,
  byeRequest,
  contactUri,
  dialogFromResponse,
  inviteRequest,
  newBranch,
  registerRequest,
  uniqueToken,
  type OutgoingCall,
  type PhoneAddress,
} from './phone-messages.js';
import { CHALLENGE_STATUSES, credentialsFor } from './phone-credentials.js';
import { KeepAliveSweeper, emptyKeepAliveCounts, type KeepAliveCounts } from './keep-alive.js';
import { OutboundConnections, operationsPerConnection, StreamLink, UdpLink, type BenchTlsOptions, type LinkErrors, type MessageHandler, type ProxyTarget } from './phone-links.js';

export interface FleetOptions {
  readonly proxy: ProxyTarget;
  readonly domain: string;
  readonly transport: BenchTransport;
  /** The first pair's index and how many pairs this process runs. */
  readonly firstPair: number;
  readonly pairs: number;
  readonly callerConnection: ConnectionLifetime;
  readonly calleeConnection: ConnectionLifetime;
  readonly holdMs: number;
  readonly timeoutMs: number;
  /** Spread phones over 127.0.0.1–127.0.0.N so per-call connections do not run out of ports. */
  readonly localHosts: number;
  readonly tls?: BenchTlsOptions;
  /** Digest authentication: every phone's password; a 401 or 407 is answered once with credentials. */
  readonly authPassword?: string;
  /** Registrations in flight at once during the registration phase. */
  readonly registerConcurrency?: number;
  /** Seeds the order in which phones come up. */
  readonly seed?: number;
  /** RFC 5626 CRLF keep-alives: ping a connection the phone opened after this long without traffic. */
  readonly keepaliveMs?: number;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

const REGISTER_EXPIRES = 3600;

interface Phone {
  readonly user: string;
  readonly localHost: string;
  udp?: UdpLink;
  outbound?: OutboundConnections;
  /** Callees that accept connections: their listener. */
  listener?: net.Server;
  listenerPort?: number;
  /** The TLS session of the last connection, offered again when resuming. */
  session?: Buffer;
}

export class PhoneFleet {
  readonly stats = new LoadStats();
  readonly errors: LinkErrors = { unparsable: 0 };
  readonly #options: FleetOptions;
  readonly #router = new ResponseRouter();
  readonly #answerer: CalleeAnswerer;
  readonly #callers: Phone[] = [];
  readonly #callees: Phone[] = [];
  readonly #calleesByUser = new Map<string, Phone>();
  readonly #callerLimit: number;
  readonly #calleeLimit: number;
  readonly #inbound = new Set<StreamLink>();
  readonly #keepAlive: KeepAliveSweeper | undefined;
  /** Where in its first connection's operations each phone starts (seeded, so runs repeat). */
  readonly #phase: () => number;
  #stopped = false;
  #running = 0;
  /** Calls started in the window and not yet ended, and who waits for them (`windowCallsEnded`). */
  #windowCallsRunning = 0;
  readonly #windowCallsSettled: Array<() => void> = [];
  #nextPair = 0;
  connectionsOpened = 0;

  constructor(options: FleetOptions) {
    this.#options = options;
    this.#phase = seededRandom((options.seed ?? 1) + 0x5eed);
    this.#callerLimit = operationsPerConnection(options.callerConnection);
    this.#calleeLimit = operationsPerConnection(options.calleeConnection);
    if (options.keepaliveMs !== undefined) this.#keepAlive = new KeepAliveSweeper({ intervalMs: options.keepaliveMs });
    this.#answerer = new CalleeAnswerer({ reliable: options.transport !== 'udp', timeoutMs: options.timeoutMs, inboundLimit: this.#calleeLimit });
    for (let i = 0; i < options.pairs; i++) {
      const index = options.firstPair + i;
      const localHost = options.localHosts <= 1 ? '127.0.0.1' : `127.0.0.${1 + (index % options.localHosts)}`;
      this.#callers.push({ user: `caller${index}`, localHost });
      const callee: Phone = { user: `callee${index}`, localHost };
      this.#callees.push(callee);
      this.#calleesByUser.set(callee.user, callee);
    }
  }

  get #reliable(): boolean {
    return this.#options.transport !== 'udp';
  }

  /** Calls in progress. */
  get running(): number {
    return this.#running;
  }

  /** Opens every phone's socket or listener and registers each phone once. */
  async register(): Promise<void> {
    // Phones come up in random order, as real ones do: a proxy that hands connections to workers
    // round robin must not find every caller on its callee's worker.
    const phones = shuffle([...this.#callees, ...this.#callers], seededRandom(this.#options.seed ?? 1));
    const concurrency = this.#options.registerConcurrency ?? 100;
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < phones.length && !this.#stopped) {
        const phone = phones[next++] as Phone;
        await this.#prepare(phone, this.#calleesByUser.get(phone.user) === phone);
        await this.#registerPhone(phone);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, phones.length) }, lane));
  }

  async #prepare(phone: Phone, isCallee: boolean): Promise<void> {
    const { transport } = this.#options;
    const onMessage = this.#onMessage;
    if (transport === 'udp') {
      phone.udp = await UdpLink.open(this.#options.proxy, onMessage, this.errors, phone.localHost);
      return;
    }
    const limit = isCallee ? this.#calleeLimit : this.#callerLimit;
    // Phones reconnect out of step, as a population of real ones does (see OutboundConnections).
    const firstLimit = Number.isFinite(limit) ? 1 + Math.floor(this.#phase() * limit) : limit;
    phone.outbound = new OutboundConnections(limit, async () => {
      const link = await StreamLink.connect(transport, this.#options.proxy, this.#options.tls, phone.session, onMessage, this.errors, phone.localHost);
      this.connectionsOpened++;
      if (this.#keepAlive !== undefined) link.keepAlive(this.#keepAlive);
      // A persistent connection the proxy closed (its idle timeout: E3 closes after 10 s, and a
      // long registration phase leaves early phones idle that long) leaves the phone's binding on
      // a dead connection: the phone registers again on a new one, as phones recover a flow
      // (RFC 5626 §4.4), after a short pause so a proxy that closes at once is not flooded.
      if (limit === Number.POSITIVE_INFINITY) link.onClose(() => this.#registerAgain(phone));
      if (link.socket instanceof tls.TLSSocket) {
        link.socket.on('session', (session: Buffer) => {
          phone.session = session;
        });
      }
      return link;
    }, firstLimit);
    if (isCallee && limit !== Number.POSITIVE_INFINITY) await this.#listen(phone);
  }

  /** A callee that does not keep a connection listens; the proxy connects to it. */
  async #listen(phone: Phone): Promise<void> {
    const accept = (socket: net.Socket): void => {
      const link = new StreamLink(socket, this.#onMessage, this.errors);
      this.#inbound.add(link);
      link.onClose(() => this.#inbound.delete(link));
    };
    let server: net.Server;
    if (this.#options.transport === 'tls') {
      const { cert, key, ca } = this.#options.tls ?? {};
      if (cert === undefined || key === undefined) throw new Error('a TLS callee that accepts connections needs a certificate and key');
      server = tls.createServer({ cert, key, ca }, accept);
    } else {
      server = net.createServer(accept);
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, phone.localHost, () => resolve());
    });
    phone.listener = server;
    phone.listenerPort = (server.address() as net.AddressInfo).port;
  }

  #address(phone: Phone, viaPort: number): PhoneAddress {
    return {
      user: phone.user,
      domain: this.#options.domain,
      transport: this.#options.transport,
      viaHost: phone.localHost,
      viaPort,
      contactHost: phone.localHost,
      contactPort: phone.listenerPort ?? viaPort,
    };
  }

  #registerAgain(phone: Phone): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      if (!this.#stopped) void this.#registerPhone(phone).catch(() => undefined);
    }, 100 + Math.floor(this.#phase() * 100));
    timer.unref();
  }

  async #registerPhone(phone: Phone): Promise<void> {
    const stats = this.stats;
    stats.registrationsAttempted++;
    let link: StreamLink | undefined;
    let udp = phone.udp;
    try {
      if (phone.listener !== undefined) {
        // A listening callee registers over UDP, so that the proxy sends to its Contact (the
        // listener) rather than back over the connection the registration came on.
        udp = await UdpLink.open(this.#options.proxy, this.#onMessage, this.errors, phone.localHost);
      } else if (phone.outbound !== undefined) {
        link = await phone.outbound.current();
      }
    } catch {
      stats.registrationsFailed++;
      this.registrationFailure = 'connect';
      return;
    }
    const viaAddress = { ...this.#address(phone, link?.localPort ?? udp?.localPort ?? 0), ...(link === undefined ? { transport: 'udp' as const } : {}) };
    const callId = `reg-${uniqueToken()}`;
    const startedAt = performance.now();
    let outcome: ExchangeOutcome | undefined;
    let credentials = '';
    for (let cseq = 1; cseq <= 2; cseq++) {
      const request = registerRequest(viaAddress, callId, cseq, REGISTER_EXPIRES, this.#options.transport, credentials);
      outcome = await clientExchange({
        router: this.#router,
        callId,
        method: 'REGISTER',
        cseq,
        send: () => (link ?? udp)?.send(request.text),
        retransmit: link === undefined,
        timeoutMs: this.#options.timeoutMs,
        link,
      });
      const answer = this.#credentials(outcome, phone.user, 'REGISTER', `sip:${this.#options.domain}`);
      if (answer === undefined) break;
      credentials = answer;
    }
    if (udp !== phone.udp) udp?.close();
    if (outcome?.kind === 'final' && (outcome.response.status ?? 0) < 300) {
      stats.registrationsCompleted++;
      stats.latency('register', startedAt);
    } else {
      stats.registrationsFailed++;
      this.registrationFailure = outcome === undefined ? 'connect' : outcome.kind === 'final' ? `status:${outcome.response.status ?? 0}` : outcome.kind;
    }
  }

  /** How the last failed registration ended (`status:403`, `timeout`, `connect`...). */
  registrationFailure: string | undefined;

  /** Credentials answering a 401/407 outcome, when the phones have a password. */
  #credentials(outcome: ExchangeOutcome | undefined, user: string, method: string, uri: string): string | undefined {
    const password = this.#options.authPassword;
    if (password === undefined || outcome?.kind !== 'final' || !CHALLENGE_STATUSES.has(outcome.response.status ?? 0)) return undefined;
    return credentialsFor(outcome.response, user, password, method, uri);
  }

  readonly #onMessage: MessageHandler = (message, reply, link) => {
    if (message.isResponse) {
      this.#router.route(message);
      return;
    }
    const uri = message.requestUri;
    const user = uri !== undefined && isSipUri(uri) ? uriUser(uri) : undefined;
    const callee = user === undefined ? undefined : this.#calleesByUser.get(user);
    if (callee === undefined) {
      this.#answerer.handle(message, reply, '', 0, undefined);
      return;
    }
    const viaPort = link instanceof UdpLink ? link.localPort : link.localPort;
    const contact = contactUri(this.#address(callee, viaPort));
    const inbound = link instanceof StreamLink && this.#inbound.has(link) ? link : undefined;
    this.#answerer.handle(message, reply, contact, viaPort, inbound);
  };

  /** One call from pair `index` (0-based within this process). Resolves true when it completed. */
  async call(index: number): Promise<boolean> {
    const caller = this.#callers[index % this.#callers.length] as Phone;
    const calleeUser = `callee${caller.user.slice('caller'.length)}`;
    const stats = this.stats;
    // A call started in the window counts, all of it, however long after the window it ends.
    const counted = stats.measuring;
    if (counted) {
      stats.callsAttempted++;
      this.#windowCallsRunning++;
    }
    this.#running++;
    try {
      const failure = await this.#placeCall(caller, calleeUser, counted);
      if (failure === undefined) {
        if (counted) stats.callsCompleted++;
        return true;
      }
      stats.failure(failure, counted);
      if (counted) stats.callsFailed++;
      return false;
    } finally {
      this.#running--;
      if (counted && --this.#windowCallsRunning === 0) for (const settled of this.#windowCallsSettled.splice(0)) settled();
    }
  }

  /**
   * Resolves when every call started in the window has ended. Each of its exchanges ends by its
   * timeout, so a call cannot outlast four of them (INVITE and BYE, each once more with
   * credentials) and its hold; past that, something is wrong and the snapshot goes anyway.
   */
  windowCallsEnded(): Promise<void> {
    if (this.#windowCallsRunning === 0) return Promise.resolve();
    const limitMs = windowCallsLimitMs(this.#options);
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, limitMs);
      this.#windowCallsSettled.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The call's failure kind, or undefined when it completed. */
  async #placeCall(caller: Phone, calleeUser: string, counted: boolean): Promise<string | undefined> {
    let call: OutgoingCall = {
      callId: `call-${uniqueToken()}`,
      fromTag: uniqueToken(),
      calleeAor: `sip:${calleeUser}@${this.#options.domain}`,
      inviteBranch: newBranch(),
    };
    let inviteLink: StreamLink | undefined;
    try {
      inviteLink = await caller.outbound?.acquire();
    } catch {
      return 'connect';
    }
    const address = this.#address(caller, inviteLink?.localPort ?? caller.udp?.localPort ?? 0);
    const send = (text: string): void => (inviteLink ?? caller.udp)?.send(text);
    const startedAt = performance.now();
    const inviteKey = ResponseRouter.key(call.callId, 'INVITE');
    try {
      // One call setup: a 100 or 180 to the challenged INVITE and one to its retry count once.
      const provisionals = { seen100: false, seen180: false };
      let outcome = await this.#invite(call, address, calleeUser, '', send, inviteLink, startedAt, provisionals, counted);
      const credentials = this.#credentials(outcome.result, caller.user, 'INVITE', call.calleeAor);
      if (credentials !== undefined && outcome.result.kind === 'final') {
        // Challenged (RFC 3261 §22.3): ACK the 407, then the same INVITE again with credentials.
        if (counted) this.stats.inviteOperations++;
        send(ackForFailure(address, call, outcome.result.response));
        call = { ...call, inviteBranch: newBranch(), inviteCseq: 2 };
        outcome = await this.#invite(call, address, calleeUser, credentials, send, inviteLink, startedAt, provisionals, counted);
      }
      const result = outcome.result;
      if (result.kind !== 'final') {
        inviteLink?.release();
        return `${result.kind}:INVITE`;
      }
      const status = result.response.status ?? 0;
      if (counted) this.stats.inviteOperations++;
      if (status >= 300) {
        send(ackForFailure(address, call, result.response));
        inviteLink?.release();
        return `status:${status}`;
      }
      this.stats.latency('invite-200', startedAt, counted);
      const dialog = dialogFromResponse(result.response);
      const ack = ackFor2xx(address, call, dialog);
      outcome.setAck(ack);
      send(ack);
      inviteLink?.release();
      if (this.#options.holdMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#options.holdMs));
      return await this.#hangUp(caller, call, dialog, counted);
    } finally {
      this.#router.off(inviteKey);
    }
  }

  /** One INVITE transaction of a call; `setAck` arms the ACK that answers retransmitted 2xx (UDP). */
  async #invite(call: OutgoingCall, address: PhoneAddress, calleeUser: string, credentials: string, send: (text: string) => void, link: StreamLink | undefined, startedAt: number, provisionals: { seen100: boolean; seen180: boolean }, counted: boolean): Promise<{ result: ExchangeOutcome; setAck: (ack: string) => void }> {
    const stats = this.stats;
    const invite = inviteRequest(address, calleeUser, call, credentials);
    let ack: string | undefined;
    const result = await clientExchange({
      router: this.#router,
      callId: call.callId,
      method: 'INVITE',
      cseq: call.inviteCseq ?? 1,
      send: () => send(invite),
      retransmit: !this.#reliable,
      timeoutMs: this.#options.timeoutMs,
      link,
      onProvisional: (response) => {
        if (response.status === 100 && !provisionals.seen100) {
          provisionals.seen100 = true;
          stats.latency('invite-100', startedAt, counted);
        } else if (response.status === 180 && !provisionals.seen180) {
          provisionals.seen180 = true;
          stats.latency('invite-180', startedAt, counted);
        }
      },
      // A retransmitted 2xx (UDP) means our ACK was lost: send it again.
      afterFinal: (response) => {
        if (ack !== undefined && (response.status ?? 0) < 300) send(ack);
      },
    });
    return { result, setAck: (text) => (ack = text) };
  }

  async #hangUp(caller: Phone, call: OutgoingCall, dialog: ReturnType<typeof dialogFromResponse>, counted: boolean): Promise<string | undefined> {
    let byeLink: StreamLink | undefined;
    try {
      byeLink = await caller.outbound?.acquire();
    } catch {
      return 'connect';
    }
    const address = this.#address(caller, byeLink?.localPort ?? caller.udp?.localPort ?? 0);
    const startedAt = performance.now();
    let outcome: ExchangeOutcome | undefined;
    let credentials = '';
    const firstCseq = (call.inviteCseq ?? 1) + 1;
    for (let cseq = firstCseq; cseq <= firstCseq + 1; cseq++) {
      const bye = byeRequest(address, call, dialog, newBranch(), cseq, credentials);
      outcome = await clientExchange({
        router: this.#router,
        callId: call.callId,
        method: 'BYE',
        cseq,
        send: () => (byeLink ?? caller.udp)?.send(bye),
        retransmit: !this.#reliable,
        timeoutMs: this.#options.timeoutMs,
        link: byeLink,
      });
      const answer = this.#credentials(outcome, caller.user, 'BYE', dialog.remoteTarget);
      if (answer === undefined) break;
      if (counted) this.stats.byeOperations++;
      credentials = answer;
    }
    byeLink?.release();
    if (outcome === undefined || outcome.kind !== 'final') return `${outcome?.kind ?? 'timeout'}:BYE`;
    if (counted) this.stats.byeOperations++;
    const status = outcome.response.status ?? 0;
    if (status >= 300) return `status:${status}`;
    this.stats.latency('bye-200', startedAt, counted);
    return undefined;
  }

  /** Closed loop: every caller calls again as soon as its call ends, until `stop`. */
  async closedLoop(): Promise<void> {
    await Promise.all(
      this.#callers.map(async (_caller, index) => {
        while (!this.#stopped) {
          const completed = await this.call(index);
          // A call that failed at once (refused connection) must not spin the loop.
          if (!completed && !this.#stopped) await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }),
    );
  }

  /** Open loop: starts a call at each arrival time, round robin over the pairs, until `stop`. */
  async openLoop(nextGapMs: () => number): Promise<void> {
    const inFlight = new Set<Promise<boolean>>();
    let due = performance.now();
    while (!this.#stopped) {
      due += nextGapMs();
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      if (this.#stopped) break;
      const started = this.call(this.#nextPair++ % this.#callers.length);
      inFlight.add(started);
      void started.finally(() => inFlight.delete(started));
    }
    await Promise.all(inFlight);
  }

  /** No new calls; the loops end when their calls in progress end. */
  stop(): void {
    this.#stopped = true;
  }

  /** Keep-alive pings and pongs so far (all zero without keep-alives). */
  get keepAliveCounts(): KeepAliveCounts {
    return { ...(this.#keepAlive?.counts ?? emptyKeepAliveCounts()) };
  }

  get unmatchedResponses(): number {
    return this.#router.unmatched;
  }

  get unexpectedRequests(): number {
    return this.#answerer.unexpected;
  }

  close(): void {
    this.#stopped = true;
    this.#answerer.close();
    this.#keepAlive?.close();
    for (const phone of [...this.#callers, ...this.#callees]) {
      phone.udp?.close();
      phone.outbound?.close();
      phone.listener?.close();
    }
    for (const link of this.#inbound) link.socket.destroy();
  }
}

export type { SipMessage };
