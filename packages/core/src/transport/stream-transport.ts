import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { StreamFramer, type SipError, type SipLimits } from '@switchboard/sip';
import { reportSendError, type SendErrorHandler, type TransportAddress } from '../transport-address.js';
import { ConnectionIndex, remoteKeyOf, type StreamProtocol } from './connection-index.js';
import type { ConnectionQuota } from './connection-quota.js';
import { createIdleTracker, type IdleConnectionTracker, type IdleStrategy } from './idle-connections.js';
import { startReading, stopReading } from './socket-reading.js';
import { StreamOutbox } from './stream-outbox.js';

export { remoteKeyOf, type StreamProtocol } from './connection-index.js';

export interface StreamTransportOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly limits?: Partial<SipLimits>;
  /** A connection with no traffic for this long is closed. */
  readonly idleTimeoutMs: number;
  /** How idle connections are found: walk every connection, or an expiry-ordered heap (default). */
  readonly idleStrategy?: IdleStrategy;
  /** A message that has begun must be complete within this long (slow-drip guard). */
  readonly headerTimeoutMs: number;
  readonly onMessage: (bytes: Buffer, source: TransportAddress) => void;
  readonly onEvent?: (event: StreamTransportEvent) => void;
  /**
   * After each read is given (overload control): `full` when the read filled the layer's read
   * buffer, so the kernel held at least a buffer's worth (TCP; never for TLS, whose reads end at a
   * record), `trunk` when the connection carried several messages in one read within the last
   * TRUNK_MEMORY_MS and the layer can tell a full read. Returns how long to leave a trunk unread
   * after a read that did not fill the buffer (ms; 0 or nothing: read on; see #coalesceReads).
   */
  readonly onRead?: (full: boolean, trunk: boolean) => number | undefined;
  /** Ids for new connections; models that spread connections over workers keep them unique. */
  readonly nextConnectionId?: () => number;
  /** Connections of other workers (process-pool, thread-pool); absent in the event-loop model. */
  readonly directory?: ConnectionDirectory;
  /** Accepted connections open at once on this listener; beyond it a new one is closed at once (`refused`). */
  readonly maxConnections?: number;
  /** A cap shared with other listeners (the thread-pool's threads): a new connection past it is closed at once (`refused`). */
  readonly connectionQuota?: ConnectionQuota;
}

/** Why a TLS handshake did not give a connection SIP could use. */
export type TlsFailureReason =
  /** The peer's certificate is missing (when one is required), untrusted, expired or for another name. */
  | 'bad-certificate'
  /** The handshake did not finish within the handshake timeout. */
  | 'timeout'
  /** The first byte on the TLS port is not a TLS handshake record (plain SIP, say). */
  | 'plaintext'
  /** The peer spoke TLS the other side could not accept (no common version or cipher, a bad record). */
  | 'protocol'
  /** The peer closed or reset the connection before the handshake finished. */
  | 'aborted';

/** What the transport reports for counters and logs; it never logs itself. */
export type StreamTransportEvent =
  | { readonly kind: 'accepted' | 'connected' | 'closed'; readonly protocol: StreamProtocol; readonly connectionId: number; readonly remote: string }
  | { readonly kind: 'framing-error'; readonly connectionId: number; readonly remote: string; readonly error: SipError }
  | { readonly kind: 'idle-timeout' | 'slow-message' | 'ping'; readonly connectionId: number; readonly remote: string }
  | { readonly kind: 'send-error'; readonly connectionId: number; readonly remote: string; readonly error: Error }
  | { readonly kind: 'idle-sweep'; readonly visited: number; readonly closed: number; readonly durationMs: number }
  /**
   * An incoming connection closed at once: at `maxConnections`, an accept that failed for want
   * of files (EMFILE, ENFILE: libuv closes the waiting connection with a spare fd it keeps), or
   * one accepted after `refuseNewConnections` (`stopping`).
   */
  | { readonly kind: 'refused'; readonly reason: 'max-connections' | 'no-files' | 'accept-error' | 'stopping'; readonly detail: string }
  /** A TLS handshake finished (`side`: whether the proxy was the TLS server or client). */
  | { readonly kind: 'tls-handshake'; readonly connectionId: number; readonly remote: string; readonly side: 'server' | 'client'; readonly resumed: boolean; readonly version: string }
  | { readonly kind: 'tls-handshake-failed'; readonly connectionId: number; readonly remote: string; readonly side: 'server' | 'client'; readonly reason: TlsFailureReason; readonly detail: string }
  /** A connection whose handshake failed is closed; `clean` unless the socket failed on the way. */
  | { readonly kind: 'tls-failed-closed'; readonly connectionId: number; readonly remote: string; readonly clean: boolean };

/**
 * How a model that spreads stream connections over workers lets each worker reach the others'
 * connections. The transport tells it about its own connections and hands it every send that no
 * connection here can carry.
 */
export interface ConnectionDirectory {
  /**
   * A connection was accepted or opened here (with its socket, to register it elsewhere). TLS
   * connections are reported once their handshake has finished when accepted, at once when opened.
   */
  opened(id: number, socket: net.Socket, remoteKey: string, kind: 'accepted' | 'connected', protocol: StreamProtocol): void;
  closed(id: number): void;
  /**
   * The peer of connection `id` has sent its FIN: it takes no new requests, so no worker should
   * route to it by address any more (responses by connection id still go out).
   */
  ended(id: number): void;
  /** `key` (host:port, lower case) is another name of connection `id` (a Via sent-by). */
  aliased(id: number, key: string, protocol: StreamProtocol): void;
  /**
   * Sends on a connection another worker holds (`target.protocol` says which transport).
   * `openHere` (absent when the target names a connection id) opens a new connection in this
   * worker when no worker has one. `onError` hears of a send that fails where it is carried out,
   * or finds no connection, as a local failed write does (RFC 3261 §18.4); never before this returns.
   */
  sendElsewhere(target: TransportAddress, remoteKey: string, bytes: Buffer, openHere: (() => void) | undefined, onError?: SendErrorHandler): void;
}

/**
 * What differs between stream transports: how an accepted socket becomes one SIP can be read
 * from (TCP: as it is; TLS: after a handshake, or never), and how a connection is opened.
 */
export interface StreamLayer {
  readonly protocol: StreamProtocol;
  /**
   * Takes an accepted socket. Calls `ready` with the socket to read SIP from once it can carry
   * SIP; a socket that never can is closed (and reported) by the layer.
   */
  accept(socket: net.Socket, connectionId: number, ready: (socket: net.Socket) => void): void;
  /** Opens a connection to `target`; writes before it is up are queued by the socket. */
  connect(target: TransportAddress, connectionId: number): net.Socket;
  /** Closes the sockets the layer still holds (handshakes in progress). */
  close(): void;
  /** The size of a read that filled the socket's read buffer; absent where reads cannot tell (TLS). */
  readonly fullReadBytes?: number;
}

/** A connection that carried several messages in one read within this long is a trunk (`onRead`). */
export const TRUNK_MEMORY_MS = 5000;

interface Connection {
  readonly id: number;
  readonly socket: net.Socket;
  readonly framer: StreamFramer;
  readonly remoteKey: string;
  slowTimer: NodeJS.Timeout | undefined;
  /** The socket's error, if it failed: a refused connection fails its queued writes with it. */
  failure: Error | undefined;
  /** While reading is held (holdReading): the messages read and not yet given, in order. */
  held: { readonly messages: Buffer[]; readonly timer: NodeJS.Timeout } | undefined;
  /** When a read of this connection last carried more than one SIP message (ms since the epoch; 0: never). */
  lastBacklogMs: number;
  /** Reading paused: until the loop's next turn after a read that filled the buffer (#yieldTurn), or a few ms (#coalesceReads). */
  yielding: boolean;
  /** What this turn of the loop sends on the connection, written as one at its end. */
  readonly outbox: StreamOutbox;
}

/**
 * SIP over a byte stream (TCP, TLS): a listening socket and a table of connections, accepted and
 * opened. Each connection has its own framer; a framing error, an idle connection or a message
 * that trickles in too slowly closes that connection only. Sends reuse a connection to the
 * destination: by connection id (responses go back where their request came from), by the remote
 * address, or by an alias (the sent-by of a Via received on the connection). The `StreamLayer`
 * makes the sockets: plain for TCP, wrapped after a handshake for TLS.
 */
export class StreamTransport {
  readonly protocol: StreamProtocol;
  readonly #options: StreamTransportOptions;
  readonly #layer: StreamLayer;
  /** Connections by id, and by remote address:port and alias while their peer has not sent a FIN. */
  readonly #connections = new ConnectionIndex<Connection>();
  readonly #idle: IdleConnectionTracker;
  readonly #sweepTimer: NodeJS.Timeout;
  #server: net.Server | undefined;
  /** Set by refuseNewConnections: connections accepted from then on are closed at once. */
  #refusing = false;
  #nextId = 1;

  constructor(options: StreamTransportOptions, layer: StreamLayer) {
    this.#options = options;
    this.#layer = layer;
    this.protocol = layer.protocol;
    this.#idle = createIdleTracker(options.idleStrategy ?? 'heap', options.idleTimeoutMs);
    const sweepEvery = Math.max(50, Math.min(1000, options.idleTimeoutMs / 4));
    this.#sweepTimer = setInterval(() => this.sweepIdle(Date.now()), sweepEvery);
    this.#sweepTimer.unref();
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Listens on HOST:PORT, or on an already listening socket's fd (a listener shared by threads:
   * each thread accepts its own connections from it). The listening socket is plain TCP for every
   * stream transport: the layer makes what it accepts ready for SIP.
   */
  async listen(shared?: { fd: number }): Promise<{ address: string; port: number }> {
    const quota = this.#options.connectionQuota;
    const server = net.createServer({ noDelay: true }, (socket) => {
      if (this.#refusing) {
        socket.destroy();
        this.#options.onEvent?.({ kind: 'refused', reason: 'stopping', detail: 'the proxy is stopping' });
        return;
      }
      if (quota !== undefined) {
        if (!quota.tryTake()) {
          socket.destroy();
          this.#options.onEvent?.({ kind: 'refused', reason: 'max-connections', detail: 'the shared connection cap is reached' });
          return;
        }
        socket.once('close', () => quota.give());
      }
      this.adopt(socket);
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        resolve();
      };
      if (shared !== undefined) server.listen({ fd: shared.fd }, done);
      else server.listen({ host: this.#options.host, port: this.#options.port, backlog: 4096 }, done);
    });
    // A shared fd is registered with this thread's epoll in the loop's next poll phase: wait for
    // it (setImmediate runs after that phase), so no other thread can close the fd before it, a
    // registration libuv would answer by aborting the process.
    if (shared !== undefined) await new Promise((resolve) => setImmediate(resolve));
    // From now on a failed accept is counted, never an uncaught 'error' (it would end the process).
    server.on('error', (error: Error & { code?: string }) => {
      const reason = error.code === 'EMFILE' || error.code === 'ENFILE' ? 'no-files' : 'accept-error';
      this.#options.onEvent?.({ kind: 'refused', reason, detail: error.message });
    });
    const max = this.#options.maxConnections;
    if (max !== undefined) {
      server.maxConnections = max;
      server.on('drop', () => this.#options.onEvent?.({ kind: 'refused', reason: 'max-connections', detail: `${max} connections open` }));
    }
    const bound = server.address() as net.AddressInfo;
    return { address: bound.address, port: bound.port };
  }

  /** The listening socket's file descriptor, to share it with threads (undefined until listening). */
  get listeningFd(): number | undefined {
    const fd = (this.#server as unknown as { _handle?: { fd?: number } } | undefined)?._handle?.fd;
    return fd === undefined || fd < 0 ? undefined : fd;
  }

  /** Stops accepting; existing connections stay until `close`. */
  stopAccepting(): void {
    this.#server?.close();
  }

  /**
   * Stops taking connections but keeps the listening socket open until `close`: each one accepted
   * from now on is closed at once (`refused`, reason `stopping`). For a listener whose fd other
   * threads' listeners wrap too (the thread-pool): closing it in one thread would leave the others
   * a stale fd number that their own close closes again, and during a drain that number may by
   * then name a connection another thread has just opened.
   */
  refuseNewConnections(): void {
    this.#refusing = true;
  }

  /**
   * Files `host:port` as another name of a connection, so requests to that address reuse it
   * (the sent-by of a Via that arrived on it; RFC 5923's alias).
   */
  addAlias(connectionId: number, host: string, port: number): void {
    const key = remoteKeyOf(host, port);
    if (!this.#connections.alias(connectionId, key)) return;
    this.#options.directory?.aliased(connectionId, key, this.protocol);
  }

  /** Whether connection `id` is one of this transport's. */
  has(id: number): boolean {
    return this.#connections.has(id);
  }

  /**
   * Sends on a connection to `target`, opening one when none exists. Never throws: a port that
   * cannot be connected to, a refused or reset connection and a failed write are reported as a
   * `send-error` event and to `onError` (once), sends another worker carries too (by the directory).
   */
  send(target: TransportAddress, bytes: Buffer, onError?: SendErrorHandler): void {
    const failed = once(onError);
    try {
      this.#send(target, bytes, failed);
    } catch (error) {
      this.#sendFailed(target, error, failed);
    }
  }

  #send(target: TransportAddress, bytes: Buffer, onError: SendErrorHandler | undefined): void {
    const remoteKey = remoteKeyOf(target.address, target.port);
    const connection = (target.connectionId === undefined ? undefined : this.#connections.get(target.connectionId))?.value ?? this.#connections.lookup(this.protocol, remoteKey)?.value;
    if (connection !== undefined) {
      this.#write(connection, bytes, onError);
      return;
    }
    // The directory may call it later, from an IPC callback: it must not throw either.
    const openHere =
      target.connectionId === undefined
        ? () => {
            try {
              this.#write(this.#connect(target), bytes, onError);
            } catch (error) {
              this.#sendFailed(target, error, onError);
            }
          }
        : undefined;
    if (this.#options.directory !== undefined) {
      this.#options.directory.sendElsewhere(target, remoteKey, bytes, openHere, onError);
      return;
    }
    if (openHere === undefined) {
      this.reportLostConnection(target);
      reportSendError(onError, new Error('connection closed before the message was sent'));
      return;
    }
    openHere();
  }

  #sendFailed(target: TransportAddress, error: unknown, onError: SendErrorHandler | undefined): void {
    const reported = error instanceof Error ? error : new Error(String(error));
    this.#options.onEvent?.({ kind: 'send-error', connectionId: target.connectionId ?? 0, remote: `${target.address}:${target.port}`, error: reported });
    reportSendError(onError, reported);
  }

  /**
   * The connection a response must leave on is gone: its client's port is ephemeral, so there is
   * nowhere to send the response (the client retransmits or times out).
   */
  reportLostConnection(target: TransportAddress): void {
    this.#options.onEvent?.({
      kind: 'send-error',
      connectionId: target.connectionId ?? 0,
      remote: `${target.address}:${target.port}`,
      error: new Error('connection closed before the message was sent'),
    });
  }

  /** Closes idle connections now (the sweep timer calls this); returns how many it closed. */
  sweepIdle(now: number): number {
    if (this.#idle.size === 0) return 0;
    const started = performance.now();
    const expired = this.#idle.sweep(now);
    for (const id of expired) {
      const connection = this.#connections.get(id)?.value;
      if (connection === undefined) continue;
      this.#options.onEvent?.({ kind: 'idle-timeout', connectionId: id, remote: connection.remoteKey });
      connection.socket.destroy();
    }
    this.#options.onEvent?.({ kind: 'idle-sweep', visited: this.#idle.lastSweepVisited, closed: expired.length, durationMs: performance.now() - started });
    return expired.length;
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    clearInterval(this.#sweepTimer);
    const server = this.#server;
    this.#server = undefined;
    this.#layer.close();
    for (const connection of this.#connections.values()) connection.value.socket.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Takes over a connected socket (accepted here, or handed over by a supervisor with its id).
   * It is filed once the layer has made it ready (at once for TCP, after the handshake for TLS).
   */
  adopt(socket: net.Socket, id?: number): number {
    const connectionId = id ?? this.#newId();
    this.#options.onEvent?.({ kind: 'accepted', protocol: this.protocol, connectionId, remote: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}` });
    this.#layer.accept(socket, connectionId, (ready) => {
      this.#file(ready, 'accepted', connectionId);
    });
    return connectionId;
  }

  #newId(): number {
    return this.#options.nextConnectionId?.() ?? this.#nextId++;
  }

  #write(connection: Connection, bytes: Buffer, onError?: SendErrorHandler): void {
    this.#idle.touch(connection.id, Date.now());
    connection.outbox.add(bytes, onError);
  }

  #connect(target: TransportAddress): Connection {
    const id = this.#newId();
    return this.#file(this.#layer.connect(target, id), 'connected', id, target.address, target.port);
  }

  #file(socket: net.Socket, kind: 'accepted' | 'connected', id: number, address?: string, port?: number): Connection {
    const remoteAddress = socket.remoteAddress ?? address ?? '';
    const remotePort = socket.remotePort ?? port ?? 0;
    const connection: Connection = {
      id,
      socket,
      framer: new StreamFramer({ limits: this.#options.limits }),
      remoteKey: remoteKeyOf(remoteAddress, remotePort),
      slowTimer: undefined,
      failure: undefined,
      held: undefined,
      lastBacklogMs: 0,
      yielding: false,
      // A write that fails calls back with the socket's own error where it has one, which names
      // the cause: a refused connection's writes fail with ECONNREFUSED, not "closed before connection".
      outbox: new StreamOutbox(socket, () => connection.failure),
    };
    this.#connections.add(id, this.protocol, connection.remoteKey, connection);
    this.#idle.add(id, Date.now());
    const report = (event: StreamTransportEvent): void => this.#options.onEvent?.(event);
    const remote = (): string => `${socket.remoteAddress ?? remoteAddress}:${socket.remotePort ?? remotePort}`;
    if (kind === 'connected') socket.once('connect', () => report({ kind, protocol: this.protocol, connectionId: id, remote: remote() }));
    socket.on('data', (chunk: Buffer) => this.#receive(connection, chunk, remote));
    socket.on('error', (error) => {
      connection.failure ??= error;
      report({ kind: 'send-error', connectionId: id, remote: remote(), error });
    });
    // A peer that has sent its FIN sends nothing more, so it cannot answer a request: new
    // messages for its address open a new connection. Responses by connection id still go out.
    socket.on('end', () => {
      this.#connections.unroute(id);
      this.#options.directory?.ended(id);
    });
    socket.on('close', () => {
      if (connection.slowTimer !== undefined) clearTimeout(connection.slowTimer);
      if (connection.held !== undefined) clearTimeout(connection.held.timer);
      connection.held = undefined;
      this.#connections.remove(id);
      this.#idle.remove(id);
      this.#options.directory?.closed(id);
      report({ kind: 'closed', protocol: this.protocol, connectionId: id, remote: remote() });
    });
    this.#options.directory?.opened(id, socket, connection.remoteKey, kind, this.protocol);
    return connection;
  }

  /**
   * Stops reading connection `connectionId` for `ms` (overload control, for a peer whose new
   * request it would otherwise drop): `message`, just read from it and not handled, and every
   * message read after it are given to onMessage again, in order, when the time is up, and then
   * reading goes on. Meanwhile what the peer sends waits in the kernel's buffers (TCP flow control
   * slows the peer), at no cost to this worker. False (nothing held) when the connection is gone
   * or already held, or when one of its reads carried more than one message within the last `ms`;
   * `message` is then the caller's.
   *
   * Why not a connection with a backlog: holding paces a peer that sends a request at a time and
   * waits (a phone). A peer whose reads carry several messages at once (a trunk, an SBC, a
   * pipelining client) has a queue in the kernel already; held, it would stop every call it
   * carries and hand over a staler queue afterwards, so its excess is better read and dropped
   * (one read per chunk, not per message), keeping what is admitted fresh.
   */
  holdReading(connectionId: number, ms: number, message: Buffer): boolean {
    const connection = this.#connections.get(connectionId)?.value;
    if (connection === undefined || connection.held !== undefined || connection.socket.destroyed) return false;
    if (Date.now() - connection.lastBacklogMs < ms) return false;
    connection.socket.pause();
    // Time held is not the peer's: the slow-drip guard waits for reading to start again.
    if (connection.slowTimer !== undefined) clearTimeout(connection.slowTimer);
    connection.slowTimer = undefined;
    const timer = setTimeout(() => this.#release(connection), ms);
    timer.unref();
    connection.held = { messages: [message], timer };
    return true;
  }

  /** The end of a hold: the held messages go on (one may hold the connection again), then reading. */
  #release(connection: Connection): void {
    const held = connection.held;
    connection.held = undefined;
    if (held === undefined || connection.socket.destroyed) return;
    // Held is not idle: the sweep must not close a connection for the time we did not read it.
    const now = Date.now();
    this.#idle.touch(connection.id, now);
    if (held.messages.length > 1) connection.lastBacklogMs = now;
    const source = this.#sourceOf(connection);
    for (let n = 0; n < held.messages.length; n++) {
      const again = connection.held as Connection['held'];
      if (again !== undefined) again.messages.push(held.messages[n] as Buffer);
      else this.#options.onMessage(held.messages[n] as Buffer, source);
    }
    if (connection.held === undefined) {
      startReading(connection.socket);
      this.#watchSlowMessage(connection, () => `${connection.socket.remoteAddress ?? ''}:${connection.socket.remotePort ?? 0}`);
    }
  }

  #sourceOf(connection: Connection): TransportAddress {
    const { socket, id } = connection;
    return { protocol: this.protocol, address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, connectionId: id };
  }

  #receive(connection: Connection, chunk: Buffer, remote: () => string): void {
    const { socket, framer, id } = connection;
    const now = Date.now();
    this.#idle.touch(id, now);
    let events;
    try {
      events = framer.push(chunk);
    } catch (error) {
      this.#options.onEvent?.({ kind: 'framing-error', connectionId: id, remote: remote(), error: error as SipError });
      socket.destroy();
      return;
    }
    if (events.length > 1 && countMessages(events) > 1) connection.lastBacklogMs = now;
    const fullBytes = this.#layer.fullReadBytes;
    const full = fullBytes !== undefined && chunk.length >= fullBytes;
    const onRead = this.#options.onRead;
    let coalesceMs: number | undefined;
    if (onRead !== undefined) {
      const trunk = fullBytes !== undefined && now - connection.lastBacklogMs < TRUNK_MEMORY_MS;
      coalesceMs = onRead(trunk && full, trunk);
    }
    const source = this.#sourceOf(connection);
    for (const event of events) {
      if (event.kind === 'message') {
        // Held while an earlier message of this chunk was given: the rest waits its turn.
        if (connection.held !== undefined) connection.held.messages.push(event.bytes);
        else this.#options.onMessage(event.bytes, source);
      } else if (event.kind === 'ping') {
        this.#options.onEvent?.({ kind: 'ping', connectionId: id, remote: remote() });
        socket.write('\r\n');
      }
    }
    // While held, the rest of a message waits because we do not read it: the slow-drip guard
    // starts again when reading does (#release).
    if (connection.held === undefined) this.#watchSlowMessage(connection, remote);
    if (full) this.#yieldTurn(connection);
    else if (coalesceMs !== undefined && coalesceMs > 0) this.#coalesceReads(connection, coalesceMs);
  }

  /**
   * Leaves a connection unread for `ms` after a read (overload control asks it of a trunk while it
   * limits new work): what its peer sends meanwhile waits in the kernel and comes in one larger
   * read. A read costs about as much whether it carries one message or dozens, and under overload
   * that cost is paid for the requests shed too. A few ms are nothing to a call, and nothing else
   * waits: other connections, timers and datagrams go on.
   */
  #coalesceReads(connection: Connection, ms: number): void {
    this.#pauseReading(connection, stopReading, (resume) => setTimeout(resume, ms).unref());
  }

  /**
   * After a read that filled the buffer, the connection is read again on the loop's next turn,
   * not in this one. libuv reads a readable stream up to 32 times in a turn (2 MiB): a backlogged
   * trunk would have all of it handled before a timer, another socket or a stats request got a
   * turn, and overload control, which samples on a timer, would see its first sample seconds
   * late, after the backlog was handled in full. Measured (bench-overload-2026-12-06, single
   * runs): the process-pool on 0.15 core at 4x over TCP went from 0.03 of its capacity to 0.82
   * and 0.97, and its stats were answered in mid-overload (a worker's counts were missing before).
   */
  #yieldTurn(connection: Connection): void {
    this.#pauseReading(connection, (socket) => socket.pause(), setImmediate);
  }

  /**
   * Pauses reading a connection (`stop`) until `schedule` calls back, then reads on unless it is
   * held or gone meanwhile; nothing when it is already paused or held.
   */
  #pauseReading(connection: Connection, stop: (socket: net.Socket) => void, schedule: (resume: () => void) => void): void {
    if (connection.yielding || connection.held !== undefined) return;
    connection.yielding = true;
    stop(connection.socket);
    schedule(() => {
      connection.yielding = false;
      if (connection.held === undefined && !connection.socket.destroyed) startReading(connection.socket);
    });
  }

  /** A message begun and not complete must be within headerTimeoutMs (the slow-drip guard). */
  #watchSlowMessage(connection: Connection, remote: () => string): void {
    const { socket, framer, id } = connection;
    if (framer.bufferedBytes === 0) {
      if (connection.slowTimer !== undefined) clearTimeout(connection.slowTimer);
      connection.slowTimer = undefined;
    } else if (connection.slowTimer === undefined) {
      connection.slowTimer = setTimeout(() => {
        this.#options.onEvent?.({ kind: 'slow-message', connectionId: id, remote: remote() });
        socket.destroy();
      }, this.#options.headerTimeoutMs);
      connection.slowTimer.unref();
    }
  }
}

/** The SIP messages among a read's framing events (keep-alive pings are not). */
function countMessages(events: readonly { readonly kind: string }[]): number {
  let messages = 0;
  for (const event of events) if (event.kind === 'message') messages++;
  return messages;
}

/** `handler`, called at most once (a failed write on a failing socket may report twice). */
function once(handler: SendErrorHandler | undefined): SendErrorHandler | undefined {
  if (handler === undefined) return undefined;
  let called = false;
  return (error) => {
    if (called) return;
    called = true;
    handler(error);
  };
}
