import net from 'node:net';
import { StreamFramer, type SipError, type SipLimits } from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';

export interface TcpTransportOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly limits?: Partial<SipLimits>;
  /** A connection with no traffic for this long is closed. */
  readonly idleTimeoutMs: number;
  /** A message that has begun must be complete within this long (slow-drip guard). */
  readonly headerTimeoutMs: number;
  readonly onMessage: (bytes: Buffer, source: TransportAddress) => void;
  readonly onEvent?: (event: TcpTransportEvent) => void;
}

/** What the transport reports for counters and logs; it never logs itself. */
export type TcpTransportEvent =
  | { readonly kind: 'accepted' | 'connected' | 'closed'; readonly connectionId: number; readonly remote: string }
  | { readonly kind: 'framing-error'; readonly connectionId: number; readonly remote: string; readonly error: SipError }
  | { readonly kind: 'idle-timeout' | 'slow-message' | 'ping'; readonly connectionId: number; readonly remote: string }
  | { readonly kind: 'send-error'; readonly connectionId: number; readonly remote: string; readonly error: Error };

interface Connection {
  readonly id: number;
  readonly socket: net.Socket;
  readonly framer: StreamFramer;
  readonly remoteKey: string;
  readonly aliases: Set<string>;
  slowTimer: NodeJS.Timeout | undefined;
}

function remoteKeyOf(address: string, port: number): string {
  return `${address.toLowerCase()}:${port}`;
}

/**
 * SIP over TCP: a listening socket and a table of connections, accepted and opened. Each
 * connection has its own framer; a framing error, an idle connection or a message that trickles
 * in too slowly closes that connection only. Sends reuse a connection to the destination: by
 * connection id (responses go back where their request came from), by the remote address, or by
 * an alias (the sent-by of a Via received on the connection).
 */
export class TcpTransport {
  readonly #options: TcpTransportOptions;
  readonly #connections = new Map<number, Connection>();
  /** Remote address:port and aliases to connection id. */
  readonly #byRemote = new Map<string, number>();
  #server: net.Server | undefined;
  #nextId = 1;

  constructor(options: TcpTransportOptions) {
    this.#options = options;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  async listen(): Promise<{ address: string; port: number }> {
    const server = net.createServer({ noDelay: true }, (socket) => {
      this.#adopt(socket, 'accepted');
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.#options.host, port: this.#options.port, backlog: 4096 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as net.AddressInfo;
    return { address: bound.address, port: bound.port };
  }

  /** Stops accepting; existing connections stay until `close`. */
  stopAccepting(): void {
    this.#server?.close();
  }

  /**
   * Files `host:port` as another name of a connection, so requests to that address reuse it
   * (the sent-by of a Via that arrived on it; RFC 5923's alias).
   */
  addAlias(connectionId: number, host: string, port: number): void {
    const connection = this.#connections.get(connectionId);
    if (connection === undefined) return;
    const key = remoteKeyOf(host, port);
    if (connection.aliases.has(key) || key === connection.remoteKey) return;
    connection.aliases.add(key);
    this.#byRemote.set(key, connectionId);
  }

  send(target: TransportAddress, bytes: Buffer): void {
    let connection = target.connectionId === undefined ? undefined : this.#connections.get(target.connectionId);
    if (connection === undefined) {
      const id = this.#byRemote.get(remoteKeyOf(target.address, target.port));
      connection = id === undefined ? undefined : this.#connections.get(id);
    }
    if (connection === undefined && target.connectionId !== undefined) {
      // The connection a request came in on is gone: its client's port is ephemeral, so there
      // is nowhere to send the response (the client retransmits or times out).
      this.#options.onEvent?.({
        kind: 'send-error',
        connectionId: target.connectionId,
        remote: `${target.address}:${target.port}`,
        error: new Error('connection closed before the response was sent'),
      });
      return;
    }
    if (connection === undefined) {
      const socket = net.connect({ host: target.address, port: target.port, noDelay: true });
      connection = this.#adopt(socket, 'connected', target.address, target.port);
    }
    connection.socket.write(bytes);
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const connection of this.#connections.values()) connection.socket.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #adopt(socket: net.Socket, kind: 'accepted' | 'connected', address?: string, port?: number): Connection {
    const id = this.#nextId++;
    const remoteAddress = socket.remoteAddress ?? address ?? '';
    const remotePort = socket.remotePort ?? port ?? 0;
    const connection: Connection = {
      id,
      socket,
      framer: new StreamFramer({ limits: this.#options.limits }),
      remoteKey: remoteKeyOf(remoteAddress, remotePort),
      aliases: new Set(),
      slowTimer: undefined,
    };
    this.#connections.set(id, connection);
    const report = (event: TcpTransportEvent): void => this.#options.onEvent?.(event);
    const remote = (): string => `${socket.remoteAddress ?? remoteAddress}:${socket.remotePort ?? remotePort}`;
    this.#byRemote.set(connection.remoteKey, id);
    if (kind === 'accepted') report({ kind, connectionId: id, remote: remote() });
    else socket.once('connect', () => report({ kind, connectionId: id, remote: remote() }));
    socket.setTimeout(this.#options.idleTimeoutMs);
    socket.on('timeout', () => {
      report({ kind: 'idle-timeout', connectionId: id, remote: remote() });
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => this.#receive(connection, chunk, remote));
    socket.on('error', (error) => report({ kind: 'send-error', connectionId: id, remote: remote(), error }));
    socket.on('close', () => {
      if (connection.slowTimer !== undefined) clearTimeout(connection.slowTimer);
      this.#connections.delete(id);
      if (this.#byRemote.get(connection.remoteKey) === id) this.#byRemote.delete(connection.remoteKey);
      for (const alias of connection.aliases) if (this.#byRemote.get(alias) === id) this.#byRemote.delete(alias);
      report({ kind: 'closed', connectionId: id, remote: remote() });
    });
    return connection;
  }

  #receive(connection: Connection, chunk: Buffer, remote: () => string): void {
    const { socket, framer, id } = connection;
    let events;
    try {
      events = framer.push(chunk);
    } catch (error) {
      this.#options.onEvent?.({ kind: 'framing-error', connectionId: id, remote: remote(), error: error as SipError });
      socket.destroy();
      return;
    }
    const source: TransportAddress = {
      protocol: 'tcp',
      address: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
      connectionId: id,
    };
    for (const event of events) {
      if (event.kind === 'message') this.#options.onMessage(event.bytes, source);
      else if (event.kind === 'ping') {
        this.#options.onEvent?.({ kind: 'ping', connectionId: id, remote: remote() });
        socket.write('\r\n');
      }
    }
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
