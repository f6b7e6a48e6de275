/**
 * A process-pool worker: runs the proxy core on the connections the supervisor hands it and on the
 * shared UDP socket; writes on other workers' TCP connections with handles asked of the supervisor
 * (kept in an fd cache when one is configured), and on their TLS connections, and on TCP ones when
 * the supervisor keeps no handles (--supervisor-handles release), by relaying the bytes through the
 * supervisor to the owner; hands messages of other workers' transactions over.
 * worker-main.ts runs one in each process the supervisor forks; tests run one in-process.
 */
import type net from 'node:net';
import type { SendErrorHandler, StreamProtocol } from '@switchboard/core';
import { performance } from 'node:perf_hooks';
import { ProxyServer, type ConnectionDirectory, type TransportAddress } from '@switchboard/core';
import { PendingRequests } from '../worker-pool/pending-requests.js';
import { PoolWorker, type PoolWorkerOptions } from '../worker-pool/pool-worker.js';
import { SendTickets } from '../worker-pool/send-tickets.js';
import { borrowForWriting } from './borrowed-socket.js';
import type { ToSupervisor, ToWorker } from './control-messages.js';
import { FdCache } from './fd-cache.js';
import { FdRequestGate } from './fd-request-gate.js';
import type { WorkerConfig } from './supervisor.js';

interface PendingSend {
  readonly target: TransportAddress;
  readonly bytes: Buffer;
  readonly openHere: (() => void) | undefined;
  readonly onError: SendErrorHandler | undefined;
}

/** What a send whose connection is gone fails with, here or where it was relayed to. */
const CONNECTION_GONE = 'connection closed before the message was sent';

/** Whether a socket received over IPC came with its descriptor (at EMFILE it comes without). */
function hasDescriptor(handle: net.Socket | undefined): boolean {
  const inner = (handle as unknown as { _handle?: { fd?: number } | null } | undefined)?._handle;
  return inner !== undefined && inner !== null && (inner.fd === undefined || inner.fd >= 0);
}

export class ProcessWorker extends PoolWorker<ToSupervisor, net.Socket> {
  readonly #config: WorkerConfig;
  readonly #cache: FdCache | undefined;
  /** Sends waiting for a handle; later sends to the same place join them. */
  readonly #waiting = new PendingRequests<PendingSend>();
  /** Relays waiting for the supervisor's answer (by remote address only). */
  readonly #relaying = new PendingRequests<PendingSend>();
  /** --fd-request-wait: what arrives while an fd request is outstanding waits for its answer. */
  readonly #gate: FdRequestGate | undefined;
  /**
   * Error handlers of writes carried out elsewhere (relayed to a connection's owner, or written by
   * the supervisor on its handle), until a failure comes back for them as `send-failed`.
   */
  readonly #tickets = new SendTickets();

  constructor(config: WorkerConfig, options: Omit<PoolWorkerOptions<ToSupervisor, net.Socket>, 'slot' | 'workers' | 'settings'>) {
    super({ ...options, slot: config.slot, workers: config.workers, settings: config.settings });
    this.#config = config;
    this.#cache = config.fdCache > 0 && this.#keepHandles ? new FdCache(config.fdCache) : undefined;
    this.#gate = config.settings.fdRequestWait === true ? new FdRequestGate({ counters: this.counters }) : undefined;
  }

  /** Whether the supervisor keeps a handle of every TCP connection (the default), to give to workers that ask. */
  get #keepHandles(): boolean {
    return this.#config.supervisorHandles !== 'release';
  }

  async start(): Promise<void> {
    const config = this.#config;
    await this.startWith(
      async (store) => ProxyServer.start({ ...(await this.proxyOptions(store, config.origin)), tcpListener: 'none', tlsListener: 'none' }),
      (server) => {
        this.#gateReads(server);
        return { t: 'ready', udpPort: server.listeners.find((listener) => listener.protocol === 'udp')?.port };
      },
    );
  }

  /**
   * --fd-request-wait: SIP messages read from this worker's sockets (UDP and its connections) go
   * through the gate too. The transports call the core's `receive` at each message, so it is
   * wrapped here, in this worker only.
   */
  #gateReads(server: ProxyServer): void {
    const gate = this.#gate;
    if (gate === undefined) return;
    const core = server.core;
    const receive = core.receive.bind(core);
    core.receive = (bytes, source, handedOff) => gate.run(() => receive(bytes, source, handedOff));
  }

  protected override handOver(to: number, bytes: Uint8Array, source: TransportAddress): void {
    this.#tell({ t: 'hand-off', to, bytes, source });
  }

  #tell(message: ToSupervisor, handle?: net.Socket): void {
    const started = performance.now();
    this.port.send(message, handle);
    this.counters.ipcMilliseconds += performance.now() - started;
  }

  /**
   * A message from the supervisor; one this worker cannot act on is dropped and counted, never
   * fatal. With --fd-request-wait, it waits while an fd request is outstanding, unless it is an fd
   * answer (what the worker waits for) or the pool's stats or stop (instruments, not traffic).
   */
  receive(message: ToWorker, handle: net.Socket | undefined, started = performance.now()): void {
    const gate = this.#gate;
    if (gate !== undefined && message.t !== 'fd' && message.t !== 'stats-request' && message.t !== 'stop') {
      gate.run(() => this.#receiveNow(message, handle, started));
      return;
    }
    this.#receiveNow(message, handle, started);
  }

  #receiveNow(message: ToWorker, handle: net.Socket | undefined, started: number): void {
    try {
      this.#act(message, handle, started);
    } catch {
      this.counters.ipcErrors++;
      handle?.destroy();
    }
  }

  #act(message: ToWorker, handle: net.Socket | undefined, started: number): void {
    const server = this.server;
    switch (message.t) {
      case 'adopt': {
        const transport = server?.streamTransport(message.protocol);
        if (!hasDescriptor(handle)) {
          // Out of files here (EMFILE): the kernel could not give this process the descriptor, and
          // Node hands over a socket without one. The connection is refused: counted, and the
          // supervisor forgets it (nobody holds it any more, so its client sees it close).
          this.counters.connectionsRefused++;
          (handle as net.Socket | undefined)?.destroy();
          this.#tell({ t: 'closed', id: message.id });
          break;
        }
        if (handle !== undefined && transport !== undefined) {
          transport.adopt(handle, message.id);
          // A dead worker's connection: the names it was known by there (a TCP one is filed at once).
          for (const alias of message.aliases ?? []) {
            const colon = alias.lastIndexOf(':');
            transport.addAlias(message.id, alias.slice(0, colon), Number(alias.slice(colon + 1)));
          }
        } else handle?.destroy();
        break;
      }
      case 'relayed':
        this.#onRelayed(message);
        break;
      case 'write':
        this.#onRelayedWrite(message);
        break;
      case 'send-failed':
        this.#tickets.fail(message.ticket, new Error(message.message));
        break;
      case 'fd':
        this.#onHandle(message, handle);
        break;
      case 'invalidate':
        this.#cache?.invalidate(message.id);
        break;
      case 'deliver':
        this.counters.handOffsReceived++;
        this.counters.ipcMilliseconds += performance.now() - started;
        server?.core.receive(Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength), message.source, true);
        return;
      default:
        this.lifecycle(message);
        break;
    }
    this.counters.ipcMilliseconds += performance.now() - started;
  }

  protected override beforeStop(): void {
    this.#cache?.clear();
    this.#gate?.clear();
    this.#tickets.close();
  }

  override readonly directory: ConnectionDirectory = {
    opened: (id, socket, remoteKey, kind, protocol) => {
      if (kind !== 'connected') return;
      if (protocol === 'tls' || !this.#keepHandles) {
        // No handle: nobody else could use it (TLS), or the supervisor keeps none. Filed at once,
        // so others relay to it from now on.
        this.#tell({ t: 'opened', id, remoteKey, protocol });
        return;
      }
      // Filed at once (on the stream, in order with what follows about it); the handle follows on
      // the IPC channel once connected, and fd requests wait for it in the supervisor.
      this.#tell({ t: 'opened', id, remoteKey, protocol });
      const register = (): void => this.#tell({ t: 'handle', id }, socket);
      if (socket.connecting) socket.once('connect', register);
      else register();
    },
    closed: (id) => this.#tell({ t: 'closed', id }),
    ended: (id) => this.#tell({ t: 'ended', id }),
    aliased: (id, key) => this.#tell({ t: 'alias', id, key }),
    sendElsewhere: (target, remoteKey, bytes, openHere, onError) => {
      if (target.protocol === 'tls' || !this.#keepHandles) {
        this.#relay(target, remoteKey, bytes, openHere, onError);
        return;
      }
      const cached = this.#cache?.get(target.connectionId, remoteKey);
      if (cached !== undefined) {
        this.counters.fdCacheHits++;
        writeReporting(cached, bytes, onError);
        return;
      }
      if (this.#cache !== undefined) this.counters.fdCacheMisses++;
      const key = target.connectionId === undefined ? `r:${remoteKey}` : `i:${target.connectionId}`;
      if (this.#cache === undefined && this.#gate === undefined && target.connectionId !== undefined && !this.#waiting.has(key)) {
        // No cache and a connection named by id: the supervisor writes it, and answers only if
        // the connection is gone; nothing waits here. (With --fd-request-wait the worker asks and
        // waits for every such send, as OpenSER's did: the round trip is what that knob measures.)
        this.#writeThroughSupervisor(target.connectionId, remoteKey, bytes, onError);
        return;
      }
      const request = this.#waiting.open(key, { target, bytes, openHere, onError });
      if (request === undefined) return;
      this.counters.fdRequests++;
      this.#tell({ t: 'fd-request', request, id: target.connectionId, remoteKey, bytes, wantsHandle: this.#cache !== undefined, ...this.#ticket(onError) });
      this.#gate?.hold(request);
    },
  };

  /** A write the supervisor carries out on its own handle of connection `id`, unanswered unless the connection is gone or the write fails. */
  #writeThroughSupervisor(id: number, remoteKey: string, bytes: Buffer, onError: SendErrorHandler | undefined): void {
    this.counters.fdRequests++;
    this.#tell({ t: 'fd-request', request: 0, id, remoteKey, bytes, wantsHandle: false, ...this.#ticket(onError) });
  }

  /** A ticket for a send carried out elsewhere whose failure `onError` must hear of. */
  #ticket(onError: SendErrorHandler | undefined): { ticket?: number } {
    return onError === undefined ? {} : { ticket: this.#tickets.open(onError) };
  }

  /** An fd answer: the sends that waited for it go out, then (--fd-request-wait) what waited behind it is handled. */
  #onHandle(message: Extract<ToWorker, { t: 'fd' }>, handle: net.Socket | undefined): void {
    try {
      this.#sendWithHandle(message, handle);
    } finally {
      this.#gate?.release(message.request);
    }
  }

  #sendWithHandle(message: Extract<ToWorker, { t: 'fd' }>, handle: net.Socket | undefined): void {
    const tcp = this.server?.tcpTransport;
    // Request 0 is a write the supervisor carried out unanswered; it answers only when the connection is gone.
    const pending = message.request === 0 ? undefined : this.#waiting.settle(message.request);
    if (pending === undefined) {
      handle?.destroy();
      if (message.request === 0 && !message.found) {
        this.counters.fdRequestsMissed++;
        tcp?.reportLostConnection({ protocol: 'tcp', address: '', port: 0, connectionId: message.id });
        if (message.ticket !== undefined) this.#tickets.fail(message.ticket, new Error(CONNECTION_GONE));
      }
      return;
    }
    this.ipcRoundTrip.observe(performance.now() - pending.started);
    const written = message.found && message.written === true;
    // The supervisor wrote the first send; the rest go as it did, in order, or on the handle it attached.
    const sends = written ? pending.items.slice(1) : pending.items;
    if (written && handle === undefined) {
      const remoteKey = (pending.key ?? '').startsWith('r:') ? (pending.key ?? '').slice(2) : '';
      for (const send of sends) this.#writeThroughSupervisor(message.id, remoteKey, send.bytes, send.onError);
      return;
    }
    if (!message.found || handle === undefined) {
      this.counters.fdRequestsMissed++;
      // Nobody has a connection there: open one here (once; the rest reuse it), or, for a
      // connection named by id, report it gone.
      const [first, ...rest] = sends;
      if (first === undefined || tcp === undefined) return;
      if (first.openHere === undefined) {
        for (const send of sends) {
          tcp.reportLostConnection(send.target);
          send.onError?.(new Error(CONNECTION_GONE));
        }
        return;
      }
      first.openHere();
      for (const send of rest) tcp.send(send.target, send.bytes, send.onError);
      return;
    }
    const socket = borrowForWriting(handle);
    const key = pending.key ?? '';
    // The handle came on the IPC channel, the invalidation of its connection on the stream: it may
    // have overtaken this answer, and a closed connection's handle must not be cached.
    if (this.#cache !== undefined && !this.#cache.wasInvalidated(message.id)) {
      this.#cache.put(message.id, key.startsWith('r:') ? key.slice(2) : `${socket.remoteAddress?.toLowerCase()}:${socket.remotePort}`, socket);
      for (const send of sends) writeReporting(socket, send.bytes, send.onError);
      return;
    }
    if (sends.length === 0) socket.destroy();
    sends.forEach((send, index) => {
      if (index < sends.length - 1) writeReporting(socket, send.bytes, send.onError);
      // This copy is closed once the last write is flushed; `end` would shut the connection down.
      else
        socket.write(send.bytes, (error) => {
          if (error) send.onError?.(error);
          socket.destroy();
        });
    });
  }

  /**
   * A write on a connection this worker does not hold (TLS; TCP with handles released): the
   * supervisor passes the bytes to the owner. Addressed by connection id (a response, a request to a registered contact), nothing
   * waits; by remote address, the answer says whether a connection exists or this worker must open
   * one, and later sends to the same address wait for it.
   */
  #relay(target: TransportAddress, remoteKey: string, bytes: Buffer, openHere: (() => void) | undefined, onError: SendErrorHandler | undefined): void {
    const protocol = target.protocol as StreamProtocol;
    if (openHere === undefined) {
      this.#countRelaySent(protocol);
      this.#tell({ t: 'relay', request: 0, id: target.connectionId, remoteKey, protocol, bytes, ...this.#ticket(onError) });
      return;
    }
    const request = this.#relaying.open(`${protocol}:${remoteKey}`, { target, bytes, openHere, onError });
    if (request === undefined) return;
    this.#countRelaySent(protocol);
    this.#tell({ t: 'relay', request, id: undefined, remoteKey, protocol, bytes, ...this.#ticket(onError) });
  }

  #countRelaySent(protocol: StreamProtocol): void {
    if (protocol === 'tls') this.counters.tlsRelaysSent++;
    else this.counters.tcpRelaysSent++;
  }

  #onRelayed(message: Extract<ToWorker, { t: 'relayed' }>): void {
    const transport = this.server?.streamTransport(message.protocol);
    // Request 0 is an unanswered relay by id, told only that its connection is gone.
    const pending = message.request === 0 ? undefined : this.#relaying.settle(message.request);
    if (pending === undefined) {
      if (message.found) return;
      transport?.reportLostConnection({ protocol: message.protocol, address: '', port: 0, connectionId: message.id });
      if (message.ticket !== undefined) this.#tickets.fail(message.ticket, new Error(CONNECTION_GONE));
      return;
    }
    const [first, ...rest] = pending.items;
    if (message.found) {
      // The first one went with the question; the rest follow it by id.
      const remoteKey = (pending.key ?? '').slice(message.protocol.length + 1);
      for (const send of rest) this.#relay({ ...send.target, connectionId: message.id }, remoteKey, send.bytes, undefined, send.onError);
      return;
    }
    // None there: the first opens one here (its own send reports its failure), the rest follow it.
    if (first === undefined || transport === undefined) return;
    first.openHere?.();
    for (const send of rest) transport.send(send.target, send.bytes, send.onError);
  }

  /** Bytes another worker relayed for a connection held here. */
  #onRelayedWrite(message: Extract<ToWorker, { t: 'write' }>): void {
    if (message.protocol === 'tls') this.counters.tlsRelaysReceived++;
    else this.counters.tcpRelaysReceived++;
    const transport = this.server?.streamTransport(message.protocol);
    const target: TransportAddress = { protocol: message.protocol, address: '', port: 0, connectionId: message.id };
    // The writer's transaction hears of a failure here as of its own (RFC 3261 §18.4).
    const { from, ticket } = message;
    const failed = from === undefined || ticket === undefined || ticket === 0 ? undefined : (error: Error) => this.#tell({ t: 'write-failed', to: from, ticket, message: error.message });
    if (transport?.has(message.id) === true) {
      transport.send(target, Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength), failed);
      return;
    }
    transport?.reportLostConnection(target);
    failed?.(new Error(CONNECTION_GONE));
  }
}

/** Writes on a socket of another worker's connection; a failed write goes to `onError`. */
function writeReporting(socket: net.Socket, bytes: Buffer, onError: SendErrorHandler | undefined): void {
  if (onError === undefined) socket.write(bytes);
  else
    socket.write(bytes, (error) => {
      if (error) onError(error);
    });
}
