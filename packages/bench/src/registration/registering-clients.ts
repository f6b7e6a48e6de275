/**
 * Registering clients of one generator process, for connection scale (E5) and the registration
 * test (E6): each client is a SIP user agent `reg<index>` with its own TCP or TLS connection
 * (bound to its source address before connect) or, over UDP, a share of one socket per source
 * address. Responses are matched by Via branch; a REGISTER fails as `timeout`, `connect`,
 * `connect:<code>` (the generator's own side failed: EADDRNOTAVAIL, EMFILE, ...),
 * `timeout:connect` (no connection within the timeout), `closed` or `status:<code>`. Over UDP a REGISTER is retransmitted as RFC 3261 §17.1.2.2 says
 * (Timer E from T1 = 500 ms doubling to T2 = 4 s) until its timeout (Timer F).
 *
 * How a REGISTER of the load travels (`RegistrationMode`, study 004 §5):
 * - `persistent`: over the client's connection, opened (and registered once) before the load;
 * - `persistent-open`: the client opens its connection at its first REGISTER and keeps it;
 * - `per-transaction`: connect, REGISTER, close, every time (response time includes the handshake);
 * - `udp`: over the shared datagram socket of its address.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { StreamFramer } from '@switchboard/sip';
import type { BenchTransport } from '../bench-result.js';
import type { BenchTlsOptions, ProxyTarget } from '../phone-links.js';
import { registerRequest, uniqueToken, type PhoneAddress } from '../phone-messages.js';
import { addressOf, heldSourcePort, type SourcePorts } from './source-addresses.js';

export type RegistrationMode = 'persistent' | 'persistent-open' | 'per-transaction' | 'udp';
export const REGISTRATION_MODES: readonly RegistrationMode[] = ['per-transaction', 'persistent-open', 'persistent', 'udp'];

export interface RegisteringClientsOptions {
  readonly proxy: ProxyTarget;
  readonly domain: string;
  readonly transport: BenchTransport;
  readonly tls?: BenchTlsOptions;
  /** This process's clients are `firstIndex` … `firstIndex + count - 1` of the whole generator. */
  readonly firstIndex: number;
  readonly count: number;
  readonly addresses: readonly string[];
  /**
   * Explicit source ports (source-addresses.ts, generatorSourcePorts): `sourcePorts` for each
   * client's first kept connection, by its index; `churnPorts`, this process's share, for the
   * connections opened per REGISTER, each address's in turn. Without them, and for reconnects,
   * the kernel picks; a port something else holds (a listener, a pair in use) falls back to the
   * kernel's choice.
   */
  readonly sourcePorts?: SourcePorts;
  readonly churnPorts?: SourcePorts;
  readonly expiresSeconds: number;
  readonly timeoutMs: number;
  /**
   * What a client does with a final response's Retry-After (a 503 of overload control): `honour`
   * sends nothing more for that many seconds (RFC 3261 §21.5.4: a client SHOULD NOT send other
   * requests to that server for the duration), `ignore` (the default, as SIPp's scenarios do)
   * sends its next REGISTER whenever the load asks.
   */
  readonly retryAfter?: RetryAfterBehaviour;
}

export type RetryAfterBehaviour = 'honour' | 'ignore';
export const RETRY_AFTER_BEHAVIOURS: readonly RetryAfterBehaviour[] = ['ignore', 'honour'];

/** A Retry-After header's seconds (RFC 3261 §20.33: delta-seconds, then comment or parameters). */
const RETRY_AFTER = /\r\nRetry-After[ \t]*:[ \t]*(\d+)/i;

export interface RegisterOutcome {
  readonly ok: boolean;
  readonly ms: number;
  readonly failure?: string;
}

interface Client {
  readonly index: number;
  readonly address: string;
  /** The explicit source port of its first kept connection (undefined: the kernel picks). */
  readonly localPort?: number;
  readonly callId: string;
  cseq: number;
  socket?: net.Socket;
  connecting?: Promise<net.Socket>;
  registered: boolean;
  /** A REGISTER of this client awaits its final response (or timeout). */
  inFlight: boolean;
  /** With `retryAfter: 'honour'`: sends nothing before this (performance.now() ms). */
  quietUntil: number;
}

interface Pending {
  readonly client: Client;
  readonly socket?: net.Socket;
  readonly startedAt: number;
  readonly resolve: (outcome: RegisterOutcome) => void;
  timer: NodeJS.Timeout;
  retransmit?: NodeJS.Timeout;
}

const BRANCH = /;branch=([^;,\s]+)/;

class ConnectTimeout extends Error {
  constructor() {
    super('connect timed out');
  }
}
const T1_MS = 500;
const UDP_ADDRESS = '127.0.0.1';
/**
 * Errors of a connect that the generator's own side raised (no local port or address pair left,
 * no file): such a failure says nothing of the proxy, so it is counted as `connect:<code>`.
 */
const GENERATOR_SIDE_CONNECT_ERRORS = new Set(['EADDRNOTAVAIL', 'EADDRINUSE', 'EMFILE', 'ENFILE', 'ENOBUFS']);
const T2_MS = 4000;

export class RegisteringClients {
  readonly #options: RegisteringClientsOptions;
  readonly #clients: Client[];
  readonly #pending = new Map<string, Pending>();
  readonly #udp = new Map<string, dgram.Socket>();
  /** Per source address, how many connections per REGISTER it has opened (the next churn port). */
  readonly #churned = new Map<string, number>();
  #refreshTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Responses no pending REGISTER matched (late retransmissions, answers after a timeout). */
  unmatched = 0;
  /** Kept connections found closed and opened again (a held connection the proxy lost). */
  reconnected = 0;

  constructor(options: RegisteringClientsOptions) {
    this.#options = options;
    this.#clients = Array.from({ length: options.count }, (_, offset) => {
      const index = options.firstIndex + offset;
      const localPort = heldSourcePort(index, options.addresses.length, options.sourcePorts);
      return { index, address: addressOf(index, options.addresses), ...(localPort === undefined ? {} : { localPort }), callId: `reg-${index}-${uniqueToken()}`, cseq: 0, registered: false, inFlight: false, quietUntil: 0 };
    });
  }

  get size(): number {
    return this.#clients.length;
  }

  /** Clients whose connection is open and whose last REGISTER got a 2xx (over UDP: registered). */
  get held(): number {
    let held = 0;
    for (const client of this.#clients) if (client.registered && (this.#options.transport === 'udp' || (client.socket !== undefined && !client.socket.destroyed))) held++;
    return held;
  }

  get openConnections(): number {
    let open = 0;
    for (const client of this.#clients) if (client.socket !== undefined && !client.socket.destroyed) open++;
    return open;
  }

  /**
   * The UDP socket of this process, on 127.0.0.1: datagrams need no port per client, so every
   * client shares it (and the proxy answered nothing to UDP from 127.0.0.2 when this was written).
   */
  async bindUdp(): Promise<void> {
    if (this.#udp.size > 0) return;
    const socket = dgram.createSocket('udp4');
    socket.on('message', (data) => this.#onResponse(data.toString('latin1')));
    socket.on('error', () => {
      // a send error: the REGISTER is retransmitted or times out, and is counted
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, UDP_ADDRESS, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.#udp.set(UDP_ADDRESS, socket);
  }

  /** The client's kept connection (opened when needed), or with `keep` false a connection of its own. */
  #connect(client: Client, keep = true): Promise<net.Socket> {
    if (keep && client.socket !== undefined && !client.socket.destroyed) return Promise.resolve(client.socket);
    if (keep && client.connecting !== undefined) return client.connecting;
    // A kept connection that is gone (closed by the proxy, reset) is opened again, and counted.
    if (keep && client.socket !== undefined && !this.#closed) this.reconnected++;
    const localPort = keep ? (client.socket === undefined ? client.localPort : undefined) : this.#churnPort(client.address);
    const connecting =
      localPort === undefined
        ? this.#open(client, keep, undefined)
        : this.#open(client, keep, localPort).catch((error: unknown) => {
            const code = (error as NodeJS.ErrnoException).code;
            if (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL') throw error;
            return this.#open(client, keep, undefined);
          });
    if (!keep) return connecting;
    client.connecting = connecting.finally(() => {
      client.connecting = undefined;
    });
    return client.connecting;
  }

  /** The next of this process's churn ports on `address`, or undefined (the kernel picks). */
  #churnPort(address: string): number | undefined {
    const ports = this.#options.churnPorts;
    if (ports === undefined) return undefined;
    const opened = this.#churned.get(address) ?? 0;
    this.#churned.set(address, opened + 1);
    return ports.first + (opened % ports.count);
  }

  /** One connection of `client` from its address (and `localPort`, else the kernel's choice), handshaken over TLS. */
  #open(client: Client, keep: boolean, localPort: number | undefined): Promise<net.Socket> {
    const { proxy, transport } = this.#options;
    return new Promise<net.Socket>((resolve, reject) => {
      const plain = net.connect({ host: proxy.host, port: proxy.port, localAddress: client.address, ...(localPort === undefined ? {} : { localPort }) });
      const socket: net.Socket =
        transport === 'tls'
          ? tls.connect({
              socket: plain,
              ca: this.#options.tls?.ca,
              cert: this.#options.tls?.clientCertificate ? this.#options.tls.cert : undefined,
              key: this.#options.tls?.clientCertificate ? this.#options.tls.key : undefined,
              rejectUnauthorized: this.#options.tls?.ca !== undefined,
              servername: net.isIP(proxy.host) ? undefined : proxy.host,
            })
          : plain;
      // A connect (or handshake) the proxy never completes ends with the REGISTER's timeout.
      const deadline = setTimeout(() => socket.destroy(new ConnectTimeout()), this.#options.timeoutMs);
      const fail = (error: Error): void => {
        clearTimeout(deadline);
        socket.destroy();
        reject(error);
      };
      socket.once('error', fail);
      socket.once(transport === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(deadline);
        socket.off('error', fail);
        socket.on('error', () => {
          // 'close' follows: pending REGISTERs fail as `closed`
        });
        const framer = new StreamFramer();
        socket.on('data', (chunk: Buffer) => {
          try {
            for (const event of framer.push(chunk)) if (event.kind === 'message') this.#onResponse(event.bytes.toString('latin1'));
          } catch {
            socket.destroy();
          }
        });
        socket.on('close', () => {
          if (client.socket === socket) client.registered = false;
          for (const [branch, pending] of this.#pending) if (pending.socket === socket) this.#settle(branch, { ok: false, ms: performance.now() - pending.startedAt, failure: 'closed' });
        });
        if (keep) client.socket = socket;
        resolve(socket);
      });
    });
  }

  #onResponse(text: string): void {
    const status = Number(text.slice(8, 11));
    const branch = BRANCH.exec(text)?.[1];
    if (branch === undefined || !(status >= 100)) {
      this.unmatched++;
      return;
    }
    if (status < 200) return;
    const pending = this.#pending.get(branch);
    if (pending === undefined) {
      this.unmatched++;
      return;
    }
    pending.client.registered = status < 300;
    if (status >= 300 && this.#options.retryAfter === 'honour') {
      const seconds = RETRY_AFTER.exec(text)?.[1];
      if (seconds !== undefined) pending.client.quietUntil = performance.now() + Number(seconds) * 1000;
    }
    this.#settle(branch, status < 300 ? { ok: true, ms: performance.now() - pending.startedAt } : { ok: false, ms: performance.now() - pending.startedAt, failure: `status:${status}` });
  }

  #settle(branch: string, outcome: RegisterOutcome): void {
    const pending = this.#pending.get(branch);
    if (pending === undefined) return;
    this.#pending.delete(branch);
    clearTimeout(pending.timer);
    clearTimeout(pending.retransmit);
    pending.resolve(outcome);
  }

  #phone(client: Client, host: string, port: number): PhoneAddress {
    const transport = this.#options.transport;
    return { user: `reg${client.index}`, domain: this.#options.domain, transport, viaHost: host, viaPort: port, contactHost: host, contactPort: port };
  }

  /**
   * Whether client `offset` may send a REGISTER at `nowMs` (performance.now()): not while its
   * previous one awaits a final response or its timeout (RFC 3261 §10.2; a registrar answers a
   * REGISTER that overtook an earlier one of the same Call-ID with 500, out-of-order CSeq), nor,
   * honouring Retry-After, before the time its last failure asked for.
   */
  idle(offset: number, nowMs: number): boolean {
    const client = this.#clients[offset % this.#clients.length] as Client;
    return !client.inFlight && client.quietUntil <= nowMs;
  }

  /** One REGISTER of client `offset` (0-based within this process); never rejects. */
  async register(offset: number, mode: RegistrationMode): Promise<RegisterOutcome> {
    const client = this.#clients[offset % this.#clients.length] as Client;
    client.inFlight = true;
    try {
      return await this.#register(client, mode);
    } finally {
      client.inFlight = false;
    }
  }

  async #register(client: Client, mode: RegistrationMode): Promise<RegisterOutcome> {
    const startedAt = performance.now();
    if (this.#closed) return { ok: false, ms: 0, failure: 'closed' };
    if (mode === 'udp') {
      const socket = this.#udp.get(UDP_ADDRESS);
      if (socket === undefined) return { ok: false, ms: 0, failure: 'connect' };
      return this.#exchange(client, startedAt, UDP_ADDRESS, socket.address().port, (text) => socket.send(text, this.#options.proxy.port, this.#options.proxy.host), undefined);
    }
    const keep = mode !== 'per-transaction';
    let socket: net.Socket;
    try {
      socket = await this.#connect(client, keep);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return { ok: false, ms: performance.now() - startedAt, failure: error instanceof ConnectTimeout ? 'timeout:connect' : code !== undefined && GENERATOR_SIDE_CONNECT_ERRORS.has(code) ? `connect:${code}` : 'connect' };
    }
    const outcome = await this.#exchange(client, startedAt, client.address, socket.localPort ?? 0, (text) => {
      if (socket.writable) socket.write(text);
    }, socket);
    if (!keep) socket.destroy();
    return outcome;
  }

  /** Sends one REGISTER and waits for its final response; `socket` undefined = UDP (retransmitted). */
  #exchange(client: Client, startedAt: number, host: string, port: number, send: (text: string) => void, socket: net.Socket | undefined): Promise<RegisterOutcome> {
    const retransmit = socket === undefined;
    client.cseq++;
    const request = registerRequest(this.#phone(client, host, port), client.callId, client.cseq, this.#options.expiresSeconds);
    return new Promise<RegisterOutcome>((resolve) => {
      const pending: Pending = {
        client,
        ...(socket === undefined ? {} : { socket }),
        startedAt,
        resolve,
        timer: setTimeout(() => this.#settle(request.branch, { ok: false, ms: performance.now() - startedAt, failure: 'timeout' }), Math.max(1, this.#options.timeoutMs - (performance.now() - startedAt))),
      };
      this.#pending.set(request.branch, pending);
      if (retransmit) {
        let interval = T1_MS;
        const again = (): void => {
          if (!this.#pending.has(request.branch)) return;
          send(request.text);
          interval = Math.min(interval * 2, T2_MS);
          pending.retransmit = setTimeout(again, interval);
        };
        pending.retransmit = setTimeout(again, interval);
      }
      send(request.text);
    });
  }

  /**
   * Opens every client's connection and REGISTERs on it (UDP: binds and REGISTERs), at most
   * `rate` new clients per second and `concurrency` at once. Returns the outcomes' counts.
   */
  async openAll(rate: number, concurrency: number): Promise<{ registered: number; failures: Record<string, number>; seconds: number }> {
    const startedAt = performance.now();
    const failures: Record<string, number> = {};
    let registered = 0;
    let next = 0;
    const mode: RegistrationMode = this.#options.transport === 'udp' ? 'udp' : 'persistent';
    if (mode === 'udp') await this.bindUdp();
    const worker = async (): Promise<void> => {
      while (next < this.#clients.length && !this.#closed) {
        const offset = next++;
        const due = startedAt + (offset / rate) * 1000;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        const outcome = await this.register(offset, mode);
        if (outcome.ok) registered++;
        else failures[outcome.failure ?? 'unknown'] = (failures[outcome.failure ?? 'unknown'] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, this.#clients.length)) }, worker));
    return { registered, failures, seconds: (performance.now() - startedAt) / 1000 };
  }

  /** Re-REGISTERs every held client spread over `every` ms (before its expiry), until stopped. */
  startRefresh(everyMs: number): void {
    this.stopRefresh();
    const perTick = Math.max(1, Math.ceil(this.#clients.length / Math.max(1, everyMs / 100)));
    let cursor = 0;
    this.#refreshTimer = setInterval(() => {
      for (let i = 0; i < perTick; i++, cursor = (cursor + 1) % this.#clients.length) {
        const client = this.#clients[cursor] as Client;
        if (client.registered) void this.register(cursor, this.#options.transport === 'udp' ? 'udp' : 'persistent');
      }
    }, 100);
  }

  stopRefresh(): void {
    clearInterval(this.#refreshTimer);
    this.#refreshTimer = undefined;
  }

  /** Closes every connection, at most `rate` per second; the seconds it took. */
  async closeAll(rate: number): Promise<{ closed: number; seconds: number }> {
    this.stopRefresh();
    const startedAt = performance.now();
    let closed = 0;
    for (const client of this.#clients) {
      if (client.socket === undefined || client.socket.destroyed) continue;
      const wait = startedAt + (closed / rate) * 1000 - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      client.socket.destroy();
      client.socket = undefined;
      client.registered = false;
      closed++;
    }
    return { closed, seconds: (performance.now() - startedAt) / 1000 };
  }

  /** Everything released: sockets, timers, pending REGISTERs (settled as `closed`). */
  close(): void {
    this.#closed = true;
    this.stopRefresh();
    for (const branch of [...this.#pending.keys()]) this.#settle(branch, { ok: false, ms: 0, failure: 'closed' });
    for (const client of this.#clients) client.socket?.destroy();
    for (const socket of this.#udp.values()) socket.close();
    this.#udp.clear();
  }
}
