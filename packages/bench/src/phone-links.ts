/**
 * How simulated phones reach the proxy and are reached by it: a UDP socket per phone, or stream
 * connections (TCP, TLS) that the phone opens to the proxy or that the proxy opens to the
 * phone's listener. Every link hands whole, parsed messages to one `onMessage` callback together
 * with a way to answer on the same link.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { parseMessage, StreamFramer, type SipMessage } from '@switchboard/sip';
import type { BenchTransport } from './bench-result.js';
import type { KeepAliveSweeper, KeptAliveLink } from './keep-alive.js';

/** Writes an answer back the way a message came (the same socket, to the same peer). */
export type Reply = (text: string) => void;
export type MessageHandler = (message: SipMessage, reply: Reply, link: StreamLink | UdpLink) => void;

/** TLS client and server material for the generator's phones (PEM text). */
export interface BenchTlsOptions {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Offer the previous connection's session again (tickets or ids). */
  readonly resume: boolean;
  /** Present `cert`/`key` as a client certificate. */
  readonly clientCertificate: boolean;
}

export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}

/** Counts kept for the whole process: bytes that could not be parsed, and so on. */
export interface LinkErrors {
  unparsable: number;
}

export class UdpLink {
  readonly #socket: dgram.Socket;
  readonly #proxy: ProxyTarget;
  #port = 0;

  private constructor(socket: dgram.Socket, proxy: ProxyTarget) {
    this.#socket = socket;
    this.#proxy = proxy;
  }

  static async open(proxy: ProxyTarget, onMessage: MessageHandler, errors: LinkErrors, localHost = '127.0.0.1'): Promise<UdpLink> {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 });
    const link = new UdpLink(socket, proxy);
    socket.on('message', (bytes, remote) => {
      let message: SipMessage;
      try {
        message = parseMessage(bytes);
      } catch {
        errors.unparsable++;
        return;
      }
      onMessage(message, (text) => socket.send(text, remote.port, remote.address), link);
    });
    socket.on('error', () => {
      // A send to a closed port (ICMP) surfaces here; the transaction's timer reports it.
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, localHost, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    link.#port = socket.address().port;
    return link;
  }

  get localPort(): number {
    return this.#port;
  }

  send(text: string): void {
    this.#socket.send(text, this.#proxy.port, this.#proxy.host);
  }

  close(): void {
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
  }
}

/**
 * One TCP or TLS connection, either opened to the proxy or accepted from it. It keeps the
 * bookkeeping of connection lifetimes: how many operations started on it, how many are still in
 * flight, and whether it is retiring (no new operations; closed when the last one ends).
 */
export class StreamLink implements KeptAliveLink {
  readonly socket: net.Socket;
  #framer = new StreamFramer();
  readonly #closeListeners = new Set<() => void>();
  #keepAlive: KeepAliveSweeper | undefined;
  operationsStarted = 0;
  inFlight = 0;
  retiring = false;
  closed = false;
  lastActivityAt = performance.now();
  pingSentAt: number | undefined;

  constructor(socket: net.Socket, onMessage: MessageHandler, errors: LinkErrors) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => {
      this.lastActivityAt = performance.now();
      let chunk = data;
      if (this.pingSentAt !== undefined) chunk = this.#takePong(chunk);
      let events;
      try {
        events = this.#framer.push(chunk);
      } catch {
        errors.unparsable++;
        socket.destroy();
        return;
      }
      // A pong right behind a message in one chunk ends it, and the framer holds it (see
      // #takePong): it is the pong, and the framer, holding nothing else, starts afresh (a CRLF
      // left in it would make the next pong half of a ping).
      if (this.pingSentAt !== undefined && this.#framer.bufferedBytes === 2 && chunk.length >= 2 && chunk[chunk.length - 2] === 13 && chunk[chunk.length - 1] === 10) {
        this.#keepAlive?.pong(this);
        this.#framer = new StreamFramer();
      }
      for (const event of events) {
        if (event.kind === 'ping') {
          socket.write('\r\n');
          continue;
        }
        if (event.kind === 'pong') {
          this.#keepAlive?.pong(this);
          continue;
        }
        if (event.kind !== 'message') continue;
        let message: SipMessage;
        try {
          message = parseMessage(event.bytes);
        } catch {
          errors.unparsable++;
          continue;
        }
        onMessage(message, (text) => this.send(text), this);
      }
    });
    socket.on('error', () => {
      // 'close' follows; transactions on this link fail as `closed`.
    });
    socket.on('close', () => {
      this.closed = true;
      for (const listener of this.#closeListeners) listener();
      this.#closeListeners.clear();
    });
  }

  static async connect(transport: BenchTransport, proxy: ProxyTarget, tlsOptions: BenchTlsOptions | undefined, session: Buffer | undefined, onMessage: MessageHandler, errors: LinkErrors, localHost = '127.0.0.1'): Promise<StreamLink> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const fail = (error: Error): void => reject(error);
      if (transport === 'tls') {
        const secure = tls.connect({
          socket: net.connect({ host: proxy.host, port: proxy.port, localAddress: localHost }),
          ca: tlsOptions?.ca,
          cert: tlsOptions?.clientCertificate ? tlsOptions.cert : undefined,
          key: tlsOptions?.clientCertificate ? tlsOptions.key : undefined,
          rejectUnauthorized: tlsOptions?.ca !== undefined,
          session: tlsOptions?.resume ? session : undefined,
          servername: net.isIP(proxy.host) ? undefined : proxy.host,
        });
        secure.once('error', fail);
        secure.once('secureConnect', () => {
          secure.off('error', fail);
          resolve(secure);
        });
      } else {
        const plain = net.connect({ host: proxy.host, port: proxy.port, localAddress: localHost });
        plain.once('error', fail);
        plain.once('connect', () => {
          plain.off('error', fail);
          resolve(plain);
        });
      }
    });
    return new StreamLink(socket, onMessage, errors);
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  send(text: string): void {
    if (this.closed || !this.socket.writable) return;
    this.lastActivityAt = performance.now();
    this.socket.write(text);
  }

  /** Keeps this link alive with CRLF pings (RFC 5626 §4.4.1) until it closes. */
  keepAlive(sweeper: KeepAliveSweeper): void {
    if (this.closed) return;
    this.#keepAlive = sweeper;
    sweeper.watch(this);
    this.onClose(() => sweeper.forget(this));
  }

  ping(): void {
    if (!this.closed && this.socket.writable) this.socket.write('\r\n\r\n');
  }

  destroy(): void {
    this.socket.destroy();
  }

  /**
   * A pong is a lone CRLF; the framer holds a CRLF that ends a chunk until the next byte says
   * whether it is a pong or half a ping, which would hold our pong until the next message. The
   * proxy never pings us, so with a ping outstanding a CRLF between messages is the pong.
   */
  #takePong(chunk: Buffer): Buffer {
    if (this.#framer.bufferedBytes !== 0 || chunk.length < 2 || chunk[0] !== 13 || chunk[1] !== 10) return chunk;
    if (chunk.length > 2 && chunk[2] === 13) return chunk;
    this.#keepAlive?.pong(this);
    return chunk.subarray(2);
  }

  onClose(listener: () => void): () => void {
    if (this.closed) {
      queueMicrotask(listener);
      return () => undefined;
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** An operation that started on this link ended; closes a retiring link when it was the last. */
  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (this.retiring && this.inFlight === 0) this.close();
  }

  close(): void {
    if (this.closed) return;
    this.socket.end();
    // A peer that never answers our FIN must not keep the socket.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }
}

/**
 * A connection lifetime, parsed: `limit` operations per connection (Infinity for persistent,
 * 1 for per-transaction).
 */
export function operationsPerConnection(lifetime: string): number {
  if (lifetime === 'persistent') return Number.POSITIVE_INFINITY;
  if (lifetime === 'per-transaction') return 1;
  const match = /^per-ops:(\d+)$/.exec(lifetime);
  if (match === null || Number(match[1]) < 1) throw new RangeError(`connection lifetime must be persistent, per-ops:N (N >= 1) or per-transaction, not ${lifetime}`);
  return Number(match[1]);
}

/**
 * The connections a phone opens to the proxy, under a lifetime: the current one carries
 * operations until it has started `limit` of them; then it retires (closes when its last
 * operation ends) and the next operation opens a new one.
 */
export class OutboundConnections {
  readonly #open: () => Promise<StreamLink>;
  readonly #limit: number;
  /** Operations on the first connection (see the constructor). */
  readonly #firstLimit: number;
  #current: StreamLink | undefined;
  #opening: Promise<StreamLink> | undefined;
  /** Connections opened (the first one retires at #firstLimit). */
  opened = 0;

  /**
   * `firstLimit` (default `limit`) ends the first connection sooner: phones that start together
   * and call in step (a closed loop) would otherwise all reconnect at the same moment, every
   * `limit` operations, a burst of thousands of connects no population of real phones makes (at
   * 1,000 clients per-ops:50 the process-pool took 1,000 connections within a second and timed out
   * INVITEs behind them). A random first limit in [1, limit] spreads reconnections evenly from the
   * start; every later connection carries `limit` operations.
   */
  constructor(limit: number, open: () => Promise<StreamLink>, firstLimit = limit) {
    this.#limit = limit;
    this.#firstLimit = Math.min(limit, Math.max(1, firstLimit));
    this.#open = open;
  }

  get #currentLimit(): number {
    return this.opened <= 1 ? this.#firstLimit : this.#limit;
  }

  /** A connection for one more operation (the caller must `release` it when the operation ends). */
  async acquire(): Promise<StreamLink> {
    let link = this.#current;
    if (link === undefined || link.closed || link.retiring) {
      if (this.#opening === undefined) {
        this.#opening = this.#open().finally(() => {
          this.#opening = undefined;
        });
        this.#opening.then(
          (opened) => {
            this.opened++;
            this.#current = opened;
          },
          () => undefined,
        );
      }
      link = await this.#opening;
      this.#current = link;
    }
    link.operationsStarted++;
    link.inFlight++;
    if (link.operationsStarted >= this.#currentLimit) link.retiring = true;
    return link;
  }

  /** The current connection without counting an operation (registration), opened if needed. */
  async current(): Promise<StreamLink> {
    const link = await this.acquire();
    link.operationsStarted--;
    if (link.operationsStarted < this.#currentLimit) link.retiring = false;
    link.inFlight--;
    return link;
  }

  close(): void {
    this.#current?.close();
    this.#current = undefined;
  }
}
