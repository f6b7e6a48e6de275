/**
 * An io-dispatch worker: runs the proxy core on the messages the I/O process sends it, and sends
 * back every write (bytes and where: a connection id, or a UDP or stream destination) for the I/O
 * process to carry out. It holds no socket at all: its ProxyServer's listeners only give the core
 * its addresses (for Via and Record-Route), and its sender is the stream to the I/O process.
 * Transactions are shared (--transactions shared, in Redis), so any worker handles any message.
 * io-worker-main.ts runs one in each process the I/O process forks; tests run one in-process.
 */
import { performance } from 'node:perf_hooks';
import { ProxyServer, type ConnectionDirectory, type ProxySender, type TransportAddress } from '@switchboard/core';
import type { DatagramTransport } from '@switchboard/core';
import { PoolWorker, type PoolWorkerOptions } from '../worker-pool/pool-worker.js';
import type { ToIoProcess, ToIoWorker } from './io-messages.js';
import { SendTickets } from '../worker-pool/send-tickets.js';

/** What an io-dispatch worker process reads from SWITCHBOARD_IO_WORKER. */
export interface IoWorkerConfig {
  readonly slot: number;
  readonly origin: number;
  readonly workers: number;
  /** The I/O process's UDP port (the listener the core advertises), if it listens on UDP. */
  readonly udpPort: number | undefined;
  readonly settings: PoolWorkerOptions<ToIoProcess, never>['settings'];
}

/** The worker's UDP "transport": it owns no socket; the port is the I/O process's. */
function remoteDatagram(port: number | undefined): DatagramTransport {
  return {
    listen: async () => ({ address: '', port: port ?? 0 }),
    send: () => undefined,
    close: async () => undefined,
  };
}

export class IoWorker extends PoolWorker<ToIoProcess, never> {
  readonly #config: IoWorkerConfig;
  /** Messages handled since the last `done` told the I/O process. */
  #handled = 0;
  #doneScheduled = false;

  constructor(config: IoWorkerConfig, options: Omit<PoolWorkerOptions<ToIoProcess, never>, 'slot' | 'workers' | 'settings'>) {
    super({ ...options, slot: config.slot, workers: config.workers, settings: config.settings });
    this.#config = config;
  }

  async start(): Promise<void> {
    const config = this.#config;
    await this.startWith(
      async (store) =>
        ProxyServer.start({
          ...(await this.proxyOptions(store, config.origin)),
          tcpListener: 'none',
          tlsListener: 'none',
          udpTransport: () => remoteDatagram(config.udpPort),
          sender: this.#sender,
        }),
      () => ({ t: 'ready' }),
    );
  }

  /** Error handlers of sends the I/O process carries out, until it reports their failure. */
  readonly #tickets = new SendTickets();

  /**
   * Every send leaves through the I/O process. A send with an error handler takes a ticket: the I/O
   * process reports its failure (a refused connection, a bad port, a closed connection) by it, so
   * the transaction fails over at once (§16.9) as it does where the worker writes itself.
   */
  readonly #sender: ProxySender = {
    send: (target, bytes, onError) => {
      this.counters.ioWrites++;
      this.#tell({ t: 'send', target, bytes, ticket: onError === undefined ? 0 : this.#tickets.open(onError) });
    },
    addAlias: (connectionId, host, port, protocol) => {
      if (protocol !== 'udp') this.#tell({ t: 'alias', protocol, id: connectionId, host, port });
    },
  };

  #tell(message: ToIoProcess): void {
    const started = performance.now();
    this.port.send(message);
    this.counters.ipcMilliseconds += performance.now() - started;
  }

  protected override handOver(to: number, bytes: Uint8Array, source: TransportAddress): void {
    this.#tell({ t: 'hand-off', to, bytes, source });
  }

  /** The worker's transports hold no connection, so nothing is ever sent elsewhere through them. */
  override readonly directory: ConnectionDirectory = {
    opened: () => undefined,
    closed: () => undefined,
    ended: () => undefined,
    aliased: () => undefined,
    sendElsewhere: (target, _remoteKey, bytes, _openHere, onError) => this.#sender.send(target, bytes, onError),
  };

  /** A message from the I/O process; one this worker cannot act on is dropped and counted, never fatal. */
  receive(message: ToIoWorker, started = performance.now()): void {
    try {
      this.#act(message, started);
    } catch {
      this.counters.ipcErrors++;
    }
  }

  #act(message: ToIoWorker, started: number): void {
    if (message.t === 'message' || message.t === 'deliver') {
      const handedOff = message.t === 'deliver';
      if (handedOff) this.counters.handOffsReceived++;
      else this.counters.ioMessagesReceived++;
      this.counters.ipcMilliseconds += performance.now() - started;
      const bytes = Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
      try {
        this.server?.core.receive(bytes, message.source, handedOff);
      } finally {
        this.#handledOne();
      }
      return;
    }
    if (message.t === 'send-failed') {
      this.#tickets.fail(message.ticket, new Error(message.message));
      return;
    }
    if (message.t === 'stop') this.#tickets.close();
    this.lifecycle(message);
  }

  /** Counts a message handled; the I/O process hears of them once per turn of the event loop. */
  #handledOne(): void {
    this.#handled++;
    if (this.#doneScheduled) return;
    this.#doneScheduled = true;
    setImmediate(() => {
      this.#doneScheduled = false;
      const count = this.#handled;
      this.#handled = 0;
      if (count > 0) this.#tell({ t: 'done', count });
    });
  }
}
