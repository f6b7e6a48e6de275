/**
 * A thread of the thread-pool model. Slot 0 binds the TCP and TLS listeners and shares their fds;
 * every thread accepts its own connections from them (doing the TLS handshakes of its own) and
 * reads only those. Datagrams arrive from the parent thread, which owns the UDP socket; writes on
 * another thread's connection and messages of another thread's transactions are posted to that
 * thread over a MessageChannel. No socket handle ever crosses a thread boundary. thread-main.ts
 * runs one in each thread; tests run one in-process.
 */
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { ConnectionIndex, ProxyServer, reportSendError, type ConnectionDirectory, type DatagramTransport, type StreamProtocol, type StreamTransport, type TransportAddress, type UdpTransportOptions } from '@switchboard/core';
import { originOf } from '../connection-ids.js';
import { PoolWorker, type PoolWorkerOptions } from '../worker-pool/pool-worker.js';
import { SendTickets } from '../worker-pool/send-tickets.js';
import { SharedConnectionQuota } from './shared-connection-quota.js';
import { DatagramBatcher, forEachDatagram } from './datagram-batch.js';
import { PeerQueueProbe } from './peer-queue-probe.js';
import { asBuffer, detachedCopy, type ThreadConfig, type ThreadMessage } from './thread-messages.js';

type Transfer = readonly TransferListItem[];
type SharedListeners = Extract<ThreadMessage, { t: 'stream-listening' }>['listeners'];

/** The thread that owns connection `id` (ids carry their thread's origin, slot + 1). */
function ownerOf(id: number): number {
  return originOf(id) - 1;
}

export class ThreadWorker extends PoolWorker<ThreadMessage, Transfer> {
  readonly #config: ThreadConfig;
  readonly #peers: Array<MessagePort | undefined> = [];
  /** Connections other threads own, by protocol, remote address and alias (the owner is in the id). */
  readonly #remote = new ConnectionIndex();
  /** Error handlers of writes posted to their connection's owner, until it reports a failure (`send-failed`). */
  readonly #tickets = new SendTickets();
  #onDatagram: UdpTransportOptions['onMessage'] | undefined;
  readonly #sends = new DatagramBatcher(
    (batch) => this.#post('parent', { t: 'send-datagrams', ...batch }, batch.bytes),
    () => this.counters.ipcErrors++,
  );
  #starting = false;
  /** `--overload on` with peers: the queue delay of this thread's inbox, which its overload control judges by. */
  #queueProbe: PeerQueueProbe | undefined;

  constructor(config: ThreadConfig, options: Omit<PoolWorkerOptions<ThreadMessage, Transfer>, 'slot' | 'workers' | 'settings'>) {
    super({ ...options, slot: config.slot, workers: config.workers, settings: config.settings });
    this.#config = config;
  }

  /** The queue probe of this thread's inbox (`--overload on` with peers, once started); for tests. */
  get queueProbe(): PeerQueueProbe | undefined {
    return this.#queueProbe;
  }

  get #needsStreams(): boolean {
    return this.#config.settings.listen.some((spec) => spec.protocol !== 'udp');
  }

  /**
   * Starts at once when it has what it needs: slot 0 (which binds the listeners), any thread when
   * nothing listens on TCP or TLS, a replacement (which accepts nothing); the others start when slot
   * 0's listeners arrive.
   */
  startIfReady(): Promise<void> {
    if (this.#config.listening === 'none') return this.#start('none');
    if (this.#config.slot === 0 || !this.#needsStreams) return this.#start(undefined);
    return Promise.resolve();
  }

  /** Slot 0 starts with `shared` undefined and binds; the others accept from slot 0's listeners. */
  async #start(shared: SharedListeners | 'none' | undefined): Promise<void> {
    if (this.#starting) return;
    this.#starting = true;
    const config = this.#config;
    const listener = (protocol: StreamProtocol): 'bind' | 'none' | { fd: number } => {
      if (shared === 'none') return 'none';
      const fd = shared?.[protocol]?.fd;
      return fd === undefined ? 'bind' : { fd };
    };
    await this.startWith(
      async (store) => {
        const options = await this.proxyOptions(store, config.slot + 1, config.sharedAuthState);
        const server = await ProxyServer.start({
          ...options,
          // The pool's --max-connections is shared by every thread, not split into shares.
          ...(config.connectionQuota === undefined ? {} : { maxConnections: undefined, connectionQuota: new SharedConnectionQuota(config.connectionQuota, config.slot) }),
          tcpListener: listener('tcp'),
          tlsListener: listener('tls'),
          udpTransport: (options) => new RelayedDatagrams(this, options),
          // The parent thread reads every datagram and sheds new work before relaying it.
          datagramsAdmitted: true,
        });
        const overload = server.core.overload;
        if (overload !== undefined && config.workers > 1) {
          this.#queueProbe = new PeerQueueProbe((sentMs) => this.#postProbes(sentMs));
          overload.useQueueDelay(this.#queueProbe);
        }
        if (shared === undefined && this.#needsStreams) {
          const listeners: SharedListeners = {};
          for (const protocol of ['tcp', 'tls'] as const) {
            const bound = server.listeners.find((candidate) => candidate.protocol === protocol);
            if (bound !== undefined) listeners[protocol] = { fd: server.streamTransport(protocol)?.listeningFd ?? -1, port: bound.port };
          }
          this.#post('parent', { t: 'stream-listening', listeners });
        }
        return server;
      },
      () => ({ t: 'ready' }),
      config.sharedState,
      config.sharedTransactions,
    );
  }

  protected override handOver(owner: number, bytes: Uint8Array, source: TransportAddress): void {
    const copy = detachedCopy(bytes);
    this.#post(this.#peers[owner], { t: 'hand-off', bytes: copy, source }, copy);
  }

  /** Posts to a peer thread, or to the parent; `bytes`' buffer is transferred. */
  #post(port: MessagePort | 'parent' | undefined, message: ThreadMessage, bytes?: Uint8Array): void {
    if (port === undefined) return;
    const started = performance.now();
    const transfer = bytes === undefined ? [] : [bytes.buffer as ArrayBuffer];
    if (port === 'parent') this.port.send(message, transfer);
    else port.postMessage(message, transfer);
    this.counters.ipcMilliseconds += performance.now() - started;
  }

  /** A queue probe to every peer; how many were posted. */
  #postProbes(sentMs: number): number {
    let posted = 0;
    this.#peers.forEach((port, slot) => {
      if (port === undefined || slot === this.#config.slot) return;
      this.#post(port, { t: 'queue-probe', sentMs });
      posted++;
    });
    return posted;
  }

  #broadcast(message: ThreadMessage): void {
    for (const port of this.#peers) this.#post(port, message);
  }

  /** A message from the parent. */
  fromParent(message: ThreadMessage): void {
    if (message.t === 'peers') {
      message.ports.forEach((port, slot) => this.#setPeer(slot, port));
    } else if (message.t === 'peer') {
      this.#setPeer(message.slot, message.port);
    } else if (message.t === 'stream-listening') {
      this.#start(message.listeners).catch(() => undefined);
    } else {
      this.receive(message);
    }
  }

  /**
   * The port to the thread in `slot`. A new one replaces a thread that died: what it had told of
   * its connections went with it, and its replacement numbers its own from the same origin.
   */
  #setPeer(slot: number, port: MessagePort | undefined): void {
    const old = this.#peers[slot];
    if (old !== undefined) {
      old.close();
      for (const entry of [...this.#remote.values()]) if (ownerOf(entry.id) === slot) this.#remote.remove(entry.id);
    }
    this.#peers[slot] = port;
    port?.on('message', (message: ThreadMessage) => this.receive(message));
  }

  /** A message from the parent or a peer; one this thread cannot act on is dropped and counted (ipc_errors), never fatal. */
  receive(message: ThreadMessage): void {
    try {
      this.#act(message);
    } catch {
      this.counters.ipcErrors++;
    }
  }

  #act(message: ThreadMessage): void {
    const server = this.server;
    switch (message.t) {
      case 'datagrams': {
        const onDatagram = this.#onDatagram;
        if (onDatagram !== undefined) forEachDatagram(message, onDatagram, () => this.counters.ipcErrors++);
        break;
      }
      case 'queue-probe':
        this.#queueProbe?.take(message.sentMs);
        break;
      case 'hand-off':
        this.counters.handOffsReceived++;
        server?.core.receive(asBuffer(message.bytes), message.source, true);
        break;
      case 'write': {
        const stream = this.#streamOf(message.target);
        // The writer's transaction hears of a failure here as of its own (RFC 3261 §18.4).
        const { from, ticket } = message;
        const port = from === undefined ? undefined : this.#peers[from];
        const failed = port === undefined || ticket === undefined || ticket === 0 ? undefined : (error: Error) => this.#post(port, { t: 'send-failed', ticket, message: error.message });
        // By address: this thread's own index decides, so a connection whose peer sent its FIN
        // after the sender looked it up is not written to; a new one is opened instead.
        if (message.target.connectionId === undefined) stream?.send(message.target, asBuffer(message.bytes), failed);
        else if (stream !== undefined && stream.has(message.connectionId)) stream.send(message.target, asBuffer(message.bytes), failed);
        else {
          stream?.reportLostConnection(message.target);
          failed?.(new Error('connection closed before the message was sent'));
        }
        break;
      }
      case 'send-failed':
        this.#tickets.fail(message.ticket, new Error(message.message));
        break;
      case 'opened':
        this.#remote.add(message.id, message.protocol, message.remoteKey, undefined);
        break;
      case 'alias':
        this.#remote.alias(message.id, message.key);
        break;
      case 'closed':
        this.#remote.remove(message.id);
        break;
      case 'stop-accepting':
        // Every thread's listener wraps slot 0's fd: none closes it before the threads stop.
        server?.refuseNewConnections();
        break;
      default:
        this.lifecycle(message);
        break;
    }
  }

  protected override beforeStop(): void {
    // What this turn sent goes out before the thread stops.
    this.#sends.flush();
    this.#tickets.close();
  }

  /** The TCP or TLS transport a stream target is for. */
  #streamOf(target: TransportAddress): StreamTransport | undefined {
    return target.protocol === 'udp' ? undefined : this.server?.streamTransport(target.protocol);
  }

  override readonly directory: ConnectionDirectory = {
    opened: (id, _socket, remoteKey, _kind, protocol) => this.#broadcast({ t: 'opened', id, remoteKey, protocol }),
    closed: (id) => this.#broadcast({ t: 'closed', id }),
    // Peers keep only an address index: dropping its entries is all an ended connection needs.
    ended: (id) => this.#broadcast({ t: 'closed', id }),
    aliased: (id, key, protocol) => this.#broadcast({ t: 'alias', id, key, protocol }),
    sendElsewhere: (target, remoteKey, bytes, openHere, onError) => {
      const id = target.connectionId ?? this.#remote.lookup(target.protocol === 'tls' ? 'tls' : 'tcp', remoteKey)?.id;
      const owner = id === undefined ? undefined : ownerOf(id);
      const port = owner === undefined ? undefined : this.#peers[owner];
      if (id !== undefined && owner !== this.#config.slot && port !== undefined) {
        this.counters.remoteWrites++;
        const copy = detachedCopy(bytes);
        const ticket = onError === undefined ? {} : { from: this.#config.slot, ticket: this.#tickets.open(onError) };
        this.#post(port, { t: 'write', bytes: copy, target, connectionId: id, ...ticket }, copy);
        return;
      }
      if (openHere !== undefined) openHere();
      else {
        this.#streamOf(target)?.reportLostConnection(target);
        reportSendError(onError, new Error('connection closed before the message was sent'));
      }
    },
  };

  /** The proxy's UDP side sends through the parent, which owns the socket: what it sends in one turn goes in one message. */
  sendDatagram(target: TransportAddress, bytes: Buffer): void {
    this.#sends.add(bytes, target);
  }

  /** The parent's UDP port, which this thread's proxy advertises. */
  get udpPort(): number {
    return this.#config.udpPort ?? 0;
  }

  set datagramHandler(handler: UdpTransportOptions['onMessage'] | undefined) {
    this.#onDatagram = handler;
  }
}

/** The UDP side of a thread: the parent owns the socket and relays both ways. */
class RelayedDatagrams implements DatagramTransport {
  readonly #worker: ThreadWorker;
  readonly #port: number;

  constructor(worker: ThreadWorker, options: UdpTransportOptions) {
    this.#worker = worker;
    this.#port = worker.udpPort;
    worker.datagramHandler = options.onMessage;
  }

  async listen(): Promise<{ address: string; port: number }> {
    return { address: '', port: this.#port };
  }

  send(target: TransportAddress, bytes: Buffer): void {
    this.#worker.sendDatagram(target, bytes);
  }

  async close(): Promise<void> {
    this.#worker.datagramHandler = undefined;
  }
}
