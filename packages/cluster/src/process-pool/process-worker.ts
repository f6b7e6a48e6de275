/**
 * A process-pool worker: runs the proxy core on the connections the supervisor hands it and on the
 * shared UDP socket; writes on other workers' TCP connections with handles asked of the supervisor
 * (kept in an fd cache when one is configured), and on their TLS connections by relaying the bytes
 * through the supervisor to the owner; hands messages of other workers' transactions over.
 * worker-main.ts runs one in each process the supervisor forks; tests run one in-process.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ProxyServer, type ConnectionDirectory, type TransportAddress } from '@switchboard/core';
import { PendingRequests } from '../worker-pool/pending-requests.js';
import { PoolWorker, type PoolWorkerOptions } from '../worker-pool/pool-worker.js';
import { borrowForWriting } from './borrowed-socket.js';
import type { ToSupervisor, ToWorker } from './control-messages.js';
import { FdCache } from './fd-cache.js';
import type { WorkerConfig } from './supervisor.js';

interface PendingSend {
  readonly target: TransportAddress;
  readonly bytes: Buffer;
  readonly openHere: (() => void) | undefined;
}

export class ProcessWorker extends PoolWorker<ToSupervisor, net.Socket> {
  readonly #config: WorkerConfig;
  readonly #cache: FdCache | undefined;
  /** Sends waiting for a handle; later sends to the same place join them. */
  readonly #waiting = new PendingRequests<PendingSend>();
  /** Relays waiting for the supervisor's answer (by remote address only). */
  readonly #relaying = new PendingRequests<PendingSend>();

  constructor(config: WorkerConfig, options: Omit<PoolWorkerOptions<ToSupervisor, net.Socket>, 'slot' | 'workers' | 'settings'>) {
    super({ ...options, slot: config.slot, workers: config.workers, settings: config.settings });
    this.#config = config;
    this.#cache = config.fdCache > 0 ? new FdCache(config.fdCache) : undefined;
  }

  async start(): Promise<void> {
    const config = this.#config;
    await this.startWith(
      async (store) => ProxyServer.start({ ...(await this.proxyOptions(store, config.origin)), tcpListener: 'none', tlsListener: 'none' }),
      (server) => ({ t: 'ready', udpPort: server.listeners.find((listener) => listener.protocol === 'udp')?.port }),
    );
  }

  protected override handOver(to: number, bytes: Uint8Array, source: TransportAddress): void {
    this.#tell({ t: 'hand-off', to, bytes, source });
  }

  #tell(message: ToSupervisor, handle?: net.Socket): void {
    const started = performance.now();
    this.port.send(message, handle);
    this.counters.ipcMilliseconds += performance.now() - started;
  }

  /** A message from the supervisor; one this worker cannot act on is dropped and counted, never fatal. */
  receive(message: ToWorker, handle: net.Socket | undefined, started = performance.now()): void {
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
        if (handle !== undefined && transport !== undefined) transport.adopt(handle, message.id);
        else handle?.destroy();
        break;
      }
      case 'relayed':
        this.#onRelayed(message);
        break;
      case 'write':
        this.#onRelayedWrite(message);
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
  }

  override readonly directory: ConnectionDirectory = {
    opened: (id, socket, remoteKey, kind, protocol) => {
      if (kind !== 'connected') return;
      if (protocol === 'tls') {
        // No handle: nobody else could use it. Filed at once, so others relay to it from now on.
        this.#tell({ t: 'opened', id, remoteKey, protocol });
        return;
      }
      const register = (): void => this.#tell({ t: 'opened', id, remoteKey, protocol }, socket);
      if (socket.connecting) socket.once('connect', register);
      else register();
    },
    closed: (id) => this.#tell({ t: 'closed', id }),
    ended: (id) => this.#tell({ t: 'ended', id }),
    aliased: (id, key) => this.#tell({ t: 'alias', id, key }),
    sendElsewhere: (target, remoteKey, bytes, openHere) => {
      if (target.protocol === 'tls') {
        this.#relay(target, remoteKey, bytes, openHere);
        return;
      }
      const cached = this.#cache?.get(target.connectionId, remoteKey);
      if (cached !== undefined) {
        this.counters.fdCacheHits++;
        cached.write(bytes);
        return;
      }
      if (this.#cache !== undefined) this.counters.fdCacheMisses++;
      const key = target.connectionId === undefined ? `r:${remoteKey}` : `i:${target.connectionId}`;
      const request = this.#waiting.open(key, { target, bytes, openHere });
      if (request === undefined) return;
      this.counters.fdRequests++;
      this.#tell({ t: 'fd-request', request, id: target.connectionId, remoteKey });
    },
  };

  #onHandle(message: Extract<ToWorker, { t: 'fd' }>, handle: net.Socket | undefined): void {
    const pending = this.#waiting.settle(message.request);
    if (pending === undefined) {
      handle?.destroy();
      return;
    }
    this.ipcRoundTrip.observe(performance.now() - pending.started);
    const tcp = this.server?.tcpTransport;
    const sends = pending.items;
    if (!message.found || handle === undefined) {
      this.counters.fdRequestsMissed++;
      // Nobody has a connection there: open one here (once; the rest reuse it), or, for a
      // connection named by id, report it gone.
      const [first, ...rest] = sends;
      if (first === undefined || tcp === undefined) return;
      if (first.openHere === undefined) {
        for (const send of sends) tcp.reportLostConnection(send.target);
        return;
      }
      first.openHere();
      for (const send of rest) tcp.send(send.target, send.bytes);
      return;
    }
    const socket = borrowForWriting(handle);
    const key = pending.key ?? '';
    if (this.#cache !== undefined) {
      this.#cache.put(message.id, key.startsWith('r:') ? key.slice(2) : `${socket.remoteAddress?.toLowerCase()}:${socket.remotePort}`, socket);
      for (const send of sends) socket.write(send.bytes);
      return;
    }
    sends.forEach((send, index) => {
      if (index < sends.length - 1) socket.write(send.bytes);
      // This copy is closed once the last write is flushed; `end` would shut the connection down.
      else socket.write(send.bytes, () => socket.destroy());
    });
  }

  /**
   * A write on a TLS connection this worker does not hold: the supervisor passes the bytes to the
   * owner. Addressed by connection id (a response, a request to a registered contact), nothing
   * waits; by remote address, the answer says whether a connection exists or this worker must open
   * one, and later sends to the same address wait for it.
   */
  #relay(target: TransportAddress, remoteKey: string, bytes: Buffer, openHere: (() => void) | undefined): void {
    if (openHere === undefined) {
      this.counters.tlsRelaysSent++;
      this.#tell({ t: 'relay', request: 0, id: target.connectionId, remoteKey, bytes });
      return;
    }
    const request = this.#relaying.open(remoteKey, { target, bytes, openHere });
    if (request === undefined) return;
    this.counters.tlsRelaysSent++;
    this.#tell({ t: 'relay', request, id: undefined, remoteKey, bytes });
  }

  #onRelayed(message: Extract<ToWorker, { t: 'relayed' }>): void {
    const tls = this.server?.tlsTransport;
    // Request 0 is an unanswered relay by id, told only that its connection is gone.
    const pending = message.request === 0 ? undefined : this.#relaying.settle(message.request);
    if (pending === undefined) {
      if (!message.found) tls?.reportLostConnection({ protocol: 'tls', address: '', port: 0, connectionId: message.id });
      return;
    }
    const [first, ...rest] = pending.items;
    if (first === undefined || tls === undefined) return;
    if (message.found) {
      // The first one went with the question; the rest follow it by id.
      for (const send of rest) this.#relay({ ...send.target, connectionId: message.id }, pending.key ?? '', send.bytes, undefined);
      return;
    }
    first.openHere?.();
    for (const send of rest) tls.send(send.target, send.bytes);
  }

  /** Bytes another worker relayed for a TLS connection held here. */
  #onRelayedWrite(message: Extract<ToWorker, { t: 'write' }>): void {
    this.counters.tlsRelaysReceived++;
    const tls = this.server?.tlsTransport;
    const target: TransportAddress = { protocol: 'tls', address: '', port: 0, connectionId: message.id };
    if (tls?.has(message.id) === true) tls.send(target, Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength));
    else tls?.reportLostConnection(target);
  }
}
