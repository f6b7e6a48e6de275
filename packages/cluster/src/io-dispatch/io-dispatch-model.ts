import cluster from 'node:cluster';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type net from 'node:net';
import { advertisedHost, countTransportEvent, newTransportCounters, reportSendError, TcpTransport, TlsTransport, UdpTransport, type ConnectionDirectory, type Listener, type StreamProtocol, type StreamTransport, type StreamTransportEvent, type TransportAddress } from '@switchboard/core';
import { connectionIdAllocator } from '../connection-ids.js';
import { WORKER_STREAM_FD } from '../process-pool/supervisor-link.js';
import { proxyServerOptions, type ProxySettings } from '../proxy-settings.js';
import type { RunningModel } from '../running-model.js';
import type { ChannelHandlers } from '../worker-pool/channel.js';
import { ProcessChannel, type ProcessCodec } from '../worker-pool/process-channel.js';
import { WorkerPool, type PoolEvent, type PoolSlot } from '../worker-pool/worker-pool.js';
import { processWorkerEvent, type ProcessWorkerEvent } from '../worker-pool/process-worker-event.js';
import type { WorkerStats } from '../worker-stats.js';
import { Dispatcher } from './dispatcher.js';
import { decodeToIoProcess, encodeIoMessage, type ToIoProcess, type ToIoWorker } from './io-messages.js';
import type { IoWorkerConfig } from './io-worker.js';

export interface IoDispatchOptions {
  readonly settings: ProxySettings;
  readonly workers: number;
  /** Worker start-up and stop limit. */
  readonly timeoutMs?: number;
  /** What the I/O process saw, in the process-pool's words, for the CLI to log. */
  readonly onEvent?: (event: IoDispatchEvent) => void;
}

/** The process-pool's events (the CLI logs both alike). */
export type IoDispatchEvent = ProcessWorkerEvent;

type Slot = PoolSlot<ToIoWorker, net.Socket>;

const codec: ProcessCodec<ToIoWorker, ToIoProcess> = { encode: encodeIoMessage, decode: decodeToIoProcess };

/** Each worker's stdio: 0-2 shared, IPC at 3 (the ready handshake), its byte stream at WORKER_STREAM_FD. */
const STDIO = ['inherit', 'inherit', 'inherit', 'ipc', 'pipe'];
const WORKER_EXEC = fileURLToPath(new URL('./io-worker-main.js', import.meta.url));

/**
 * The fourth model, `--model io-dispatch` (OpenSIPS 4.0, Kamailio 6.1 `tcp_main_threads`): this
 * process owns every socket. It reads UDP, accepts and reads every TCP and TLS connection (TLS
 * ends here), frames SIP messages with core's stream transports, and sends each, with its source
 * and connection id, to the least-loaded worker process over that worker's byte stream. Workers
 * run the proxy core with shared transactions (Redis) and send back the bytes to write with a
 * connection id or a destination; this process writes them. No socket handle ever crosses a
 * process boundary. Workers are replaced when they die; connections stay, as they are held here.
 */
export class IoDispatchModel extends WorkerPool<ToIoWorker, ToIoProcess, net.Socket> implements RunningModel {
  readonly model = 'io-dispatch' as const;
  readonly listeners: Listener[] = [];
  readonly transportCounters = newTransportCounters();
  readonly #options: IoDispatchOptions;
  readonly #dispatcher: Dispatcher;
  readonly #streams: Partial<Record<StreamProtocol, StreamTransport>> = {};
  #udp: UdpTransport | undefined;
  #nextOrigin = 1;
  #udpPort: number | undefined;
  /** What workers start with: the listen specs with their ports resolved. */
  #settings: ProxySettings | undefined;

  private constructor(options: IoDispatchOptions) {
    super({ workers: options.workers, startTimeoutMs: options.timeoutMs ?? 15_000, stopTimeoutMs: options.timeoutMs ?? 5000 });
    this.#options = options;
    this.#dispatcher = new Dispatcher({
      workers: options.workers,
      ready: (slot) => this.slots[slot]?.ready === true,
      deliver: (slot, bytes, source, handedOff) => {
        const target = this.slots[slot];
        if (target !== undefined) this.send(target, { t: handedOff ? 'deliver' : 'message', bytes, source });
      },
      transports: { udp: () => this.#udp, stream: (protocol) => this.#streams[protocol] },
      counters: this.counters,
    });
  }

  static async start(options: IoDispatchOptions): Promise<IoDispatchModel> {
    const model = new IoDispatchModel(options);
    return model.startOrClose(() => model.#start());
  }

  async #start(): Promise<void> {
    const settings = this.#options.settings;
    const server = proxyServerOptions(settings);
    const nextConnectionId = connectionIdAllocator(0);
    const onMessage = (bytes: Buffer, source: TransportAddress): void => this.#dispatcher.dispatch(bytes, source);
    const directory: ConnectionDirectory = {
      opened: () => undefined,
      closed: () => undefined,
      ended: () => undefined,
      aliased: () => undefined,
      // No connection here for a send: open one when the send names an address, else it is lost
      // (and its transaction hears of it, as the worker asked by its ticket).
      sendElsewhere: (_target, _remoteKey, _bytes, openHere, onError) => {
        if (openHere !== undefined) openHere();
        else {
          this.#dispatcher.lost();
          reportSendError(onError, new Error('connection closed before the message was sent'));
        }
      },
    };
    const stream = (protocol: StreamProtocol, host: string, port: number): StreamTransport => {
      const options = {
        host,
        port,
        limits: server.limits,
        idleTimeoutMs: settings.idleTimeoutMs,
        idleStrategy: settings.idleStrategy,
        headerTimeoutMs: settings.headerTimeoutMs,
        ...(settings.maxConnections === undefined ? {} : { maxConnections: settings.maxConnections }),
        nextConnectionId,
        directory,
        onMessage,
        onEvent: (event: StreamTransportEvent) => countTransportEvent(this.transportCounters, event),
      };
      if (protocol === 'tcp') return new TcpTransport(options);
      if (server.tls === undefined) throw new Error('a TLS listener needs a certificate and key (tls settings)');
      return new TlsTransport({ ...options, tls: server.tls });
    };
    let listen = settings.listen;
    for (const spec of settings.listen) {
      let port: number;
      if (spec.protocol === 'udp') {
        if (this.#udp !== undefined) throw new Error('only one UDP listener is supported');
        this.#udp = new UdpTransport({ host: spec.host, port: spec.port, onMessage, onSendError: () => this.transportCounters.sendErrors++ });
        port = (await this.#udp.listen()).port;
        this.#udpPort = port;
      } else {
        if (this.#streams[spec.protocol] !== undefined) throw new Error(`only one ${spec.protocol.toUpperCase()} listener is supported`);
        const transport = stream(spec.protocol, spec.host, spec.port);
        this.#streams[spec.protocol] = transport;
        port = (await transport.listen()).port;
      }
      listen = listen.map((candidate) => (candidate === spec ? { ...spec, port } : candidate));
      this.listeners.push({ protocol: spec.protocol, host: advertisedHost(spec.host, settings.advertise), port });
    }
    // As a proxy may be a TCP or TLS client without listening there, so may this process.
    this.#streams.tcp ??= stream('tcp', '0.0.0.0', 0);
    if (server.tls !== undefined) this.#streams.tls ??= stream('tls', '0.0.0.0', 0);
    if (STDIO[WORKER_STREAM_FD] !== 'pipe') throw new Error('the worker stream fd is not the pipe');
    this.#settings = { ...settings, listen };
    await this.startWorkers();
  }

  protected override open(index: number, _replacement: boolean, handlers: ChannelHandlers<ToIoProcess, net.Socket>): ProcessChannel<ToIoWorker, ToIoProcess> {
    const config: IoWorkerConfig = { slot: index, origin: this.#nextOrigin++, workers: this.#options.workers, udpPort: this.#udpPort, settings: this.#settings as ProxySettings };
    // Set before every fork (replacements too): node:cluster's settings are global, and another
    // pool in this process (a test's process-pool) may have set its own since.
    cluster.setupPrimary({ exec: WORKER_EXEC, serialization: 'advanced', stdio: STDIO });
    const worker = cluster.fork({ SWITCHBOARD_IO_WORKER: JSON.stringify(config), SWITCHBOARD_WORKER_STREAM_FD: String(WORKER_STREAM_FD) });
    const stream = worker.process.stdio?.[WORKER_STREAM_FD] as Duplex | null | undefined;
    return new ProcessChannel(worker, stream ?? undefined, codec, handlers);
  }

  protected override report(event: PoolEvent): void {
    const reported = processWorkerEvent(event);
    if (reported !== undefined) this.#options.onEvent?.(reported);
  }

  protected override discard(handle: net.Socket | undefined): void {
    handle?.destroy();
  }

  protected override onWorkerMessage(slot: Slot, message: ToIoProcess, handle: net.Socket | undefined): void {
    handle?.destroy();
    switch (message.t) {
      case 'done':
        this.#dispatcher.done(slot.index, message.count);
        break;
      case 'send': {
        const ticket = message.ticket;
        this.#dispatcher.write(message.target, message.bytes, ticket === 0 ? undefined : (error) => this.send(slot, { t: 'send-failed', ticket, message: error.message }));
        break;
      }
      case 'alias':
        this.#streams[message.protocol]?.addAlias(message.id, message.host, message.port);
        break;
      case 'hand-off':
        this.#dispatcher.handOff(message.to, message.bytes, message.source);
        break;
      default:
        break;
    }
  }

  /** A dead worker's outstanding messages are lost with it; every connection stays (it is held here). */
  protected override onExit(slot: Slot): number {
    this.#dispatcher.workerGone(slot.index);
    return 0;
  }

  /** Every worker's counters, plus the I/O process's own (worker `supervisor`). */
  async stats(timeoutMs = 2000): Promise<WorkerStats[]> {
    const stats = await this.statsWithOwn('supervisor', timeoutMs, () => ({
      transport: { ...this.transportCounters },
      tcpConnections: this.#streams.tcp?.connectionCount ?? 0,
      tlsConnections: this.#streams.tls?.connectionCount ?? 0,
      supervisorQueueDepth: this.#dispatcher.board.depth,
      supervisorConnections: (this.#streams.tcp?.connectionCount ?? 0) + (this.#streams.tls?.connectionCount ?? 0),
    }));
    // Each worker's queue as the dispatcher sees it (what it has sent, not yet reported done).
    return stats.map((entry) => (entry.worker === 'supervisor' ? entry : { ...entry, ioQueueDepth: this.#dispatcher.board.outstanding(Number(entry.worker)) }));
  }

  /** Messages sent to each worker slot since the start (replacements included). */
  get dispatchedPerWorker(): readonly number[] {
    return this.#dispatcher.board.dispatched;
  }

  /** Process ids of the workers now running, by slot. */
  get workerPids(): number[] {
    return this.slots.map((slot) => slot.channel.id);
  }

  /** First step of a stop: no new connections, and from now on no worker is replaced. */
  stopAccepting(): void {
    this.stopReplacing();
    for (const transport of Object.values(this.#streams)) transport?.stopAccepting();
  }

  /** Workers stop first (each closes its proxy), then the sockets here. */
  override async close(): Promise<void> {
    this.stopAccepting();
    await this.stopWorkers();
    await Promise.all([this.#udp?.close(), ...Object.values(this.#streams).map((transport) => transport?.close())]);
    this.#udp = undefined;
  }
}
