import { MessageChannel, Worker, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { advertisedHost, newProxyCounters, OverloadControl, OVERLOAD_UDP_RECEIVE_BUFFER_BYTES, UdpKernelShedder, UdpQueueProbe, UdpTransport, type Listener, type ProxyCounters } from '@switchboard/core';
import { parseMessage } from '@switchboard/sip';
import { callIdHash, ownerSlot } from '../message-owner.js';
import type { ProxySettings } from '../proxy-settings.js';
import type { RunningModel } from '../running-model.js';
import { SabAuthStateStore } from '../state/sab-auth-state-store.js';
import { SabLocationStore } from '../state/sab-location-store.js';
import { SabTransactionStore } from '../state/sab-transaction-store.js';
import { allocateConnectionQuota, releaseThreadPlaces, type SharedConnectionQuotaMemory } from './shared-connection-quota.js';
import type { ChannelHandlers } from '../worker-pool/channel.js';
import { ThreadChannel } from '../worker-pool/thread-channel.js';
import { WorkerPool, type PoolEvent, type PoolSlot } from '../worker-pool/worker-pool.js';
import { overloadGauges, type WorkerStats } from '../worker-stats.js';
import { DatagramBatcher, forEachDatagram } from './datagram-batch.js';
import type { ThreadConfig, ThreadMessage } from './thread-messages.js';

export interface ThreadPoolOptions {
  readonly settings: ProxySettings;
  readonly workers: number;
  /** Thread start-up limit (15 s by default) and stop limit (3 s by default). */
  readonly timeoutMs?: number;
  readonly onEvent?: (event: ThreadPoolEvent) => void;
}

export type ThreadPoolEvent =
  | { readonly kind: 'thread-started'; readonly worker: number; readonly threadId: number }
  | { readonly kind: 'thread-error'; readonly worker: number; readonly message: string }
  /**
   * `expected`: the pool was stopping (it is not replaced); otherwise the thread died, taking its
   * connections with it, and is replaced after `restartInMs`.
   */
  | { readonly kind: 'thread-exited'; readonly worker: number; readonly code: number; readonly expected: boolean; readonly restartInMs?: number }
  | Extract<PoolEvent, { kind: 'internal-error' }>;

type Transfer = readonly TransferListItem[];
type Slot = PoolSlot<ThreadMessage, Transfer>;
type StreamListening = Extract<ThreadMessage, { t: 'stream-listening' }>;

/**
 * The sipd design on worker_threads: every thread runs the proxy core, accepts its own TCP
 * connections from one shared listening socket, and reaches the others over MessageChannels (writes
 * on their connections, messages of their transactions). This thread owns the UDP socket and
 * relays each datagram to the thread owning its transaction. Registrations live in a
 * SharedArrayBuffer table (`--state sab`) or Redis. A thread that dies is replaced in its slot
 * (the WorkerPool base): the replacement gets a fresh channel to each live thread. Its death
 * closed the listening socket every thread shared (one fd), so nobody accepts TCP or TLS after it:
 * see ThreadConfig `listening`.
 */
export class ThreadPool extends WorkerPool<ThreadMessage, ThreadMessage, Transfer> implements RunningModel {
  readonly model = 'thread-pool' as const;
  readonly listeners: Listener[] = [];
  readonly #options: ThreadPoolOptions;
  #udp: UdpTransport | undefined;
  #udpPort: number | undefined;
  #sabStore: SabLocationStore | undefined;
  /** `--max-connections`, over every thread (shared-connection-quota.ts). */
  #connectionQuota: SharedConnectionQuotaMemory | undefined;
  #sabAuthState: SabAuthStateStore | undefined;
  /** `--transactions shared` with `--state sab`: the transaction table every thread attaches to. */
  #sabTransactions: SabTransactionStore | undefined;
  /** Shared transactions: the next thread a request datagram goes to (any thread handles any request). */
  #nextRequestSlot = 0;
  /** Slot 0's listening sockets, once it has bound them: every other thread accepts from them. */
  #listening: StreamListening | undefined;
  /**
   * Overload control of this thread, which reads every datagram (`--overload on`): it sheds new
   * work before the parse that finds the owning thread, since under a flood that parse is this
   * thread's own overload. Its counters are reported as the parent's.
   */
  #overload: OverloadControl | undefined;
  readonly #parentCounters: ProxyCounters = newProxyCounters();
  /** Datagrams read in this turn of the event loop, by the slot they go to (posted at its end). */
  readonly #relayBatches: DatagramBatcher[] = [];

  private constructor(options: ThreadPoolOptions) {
    super({ workers: options.workers, startTimeoutMs: options.timeoutMs ?? 15_000, stopTimeoutMs: options.timeoutMs ?? 3000 });
    this.#options = options;
  }

  static async start(options: ThreadPoolOptions): Promise<ThreadPool> {
    const pool = new ThreadPool(options);
    return pool.startOrClose(() => pool.#start());
  }

  async #start(): Promise<void> {
    const { settings } = this.#options;
    const udpSpec = settings.listen.find((spec) => spec.protocol === 'udp');
    if (udpSpec !== undefined) {
      const overload = settings.overload;
      const queueProbe = overload === undefined ? undefined : new UdpQueueProbe(overload.intervalMs, overload.queueProbeToken);
      // The parent reads and sheds every datagram: the kernel's share of REGISTERs is steered here.
      const kernelShedder = UdpKernelShedder.forSettings(overload);
      this.#udp = new UdpTransport({
        host: udpSpec.host,
        port: udpSpec.port,
        onMessage: (bytes, source) => this.#relay(bytes, source),
        ...(queueProbe === undefined ? {} : { receiveBufferBytes: OVERLOAD_UDP_RECEIVE_BUFFER_BYTES, queueProbe }),
        ...(kernelShedder === undefined ? {} : { kernelShedder }),
      });
      this.#udpPort = (await this.#udp.listen()).port;
      if (overload !== undefined && queueProbe !== undefined) {
        const udp = this.#udp;
        this.#overload = new OverloadControl(overload, this.#parentCounters, { send: (target, bytes) => udp.send(target, bytes) });
        this.#overload.useQueueDelay(queueProbe);
        if (kernelShedder !== undefined) this.#overload.useKernelShedder(kernelShedder);
        this.#overload.start();
      }
    }
    if (settings.maxConnections !== undefined) this.#connectionQuota = allocateConnectionQuota(settings.maxConnections, this.#options.workers);
    if (settings.state === 'sab') this.#sabStore = SabLocationStore.create(settings.sabBindings === undefined ? {} : { capacity: settings.sabBindings });
    if (settings.state === 'sab' && settings.auth !== undefined) this.#sabAuthState = SabAuthStateStore.create();
    if (settings.state === 'sab' && settings.transactions === 'shared') this.#sabTransactions = SabTransactionStore.create();
    await this.startWorkers();
    const streamPorts = { tcp: this.#listening?.listeners.tcp?.port, tls: this.#listening?.listeners.tls?.port };
    for (const spec of settings.listen) {
      const port = spec.protocol === 'udp' ? (this.#udpPort ?? spec.port) : (streamPorts[spec.protocol] ?? spec.port);
      this.listeners.push({ protocol: spec.protocol, host: advertisedHost(spec.host, settings.advertise), port });
    }
  }

  /**
   * A thread in `slot`, with a MessageChannel to each thread already running (which is given the
   * other end in place of any port it had for this slot) and, once slot 0 has bound them, the
   * listening sockets to accept from. A replacement accepts no connections (see ThreadConfig
   * `listening`): it serves UDP, hand-offs and writes for the others.
   */
  protected override open(slot: number, replacement: boolean, handlers: ChannelHandlers<ThreadMessage, Transfer>): ThreadChannel<ThreadMessage, ThreadMessage> {
    const { settings, workers } = this.#options;
    const config: ThreadConfig = { slot, workers, settings, sharedState: this.#sabStore?.shared, sharedAuthState: this.#sabAuthState?.shared, sharedTransactions: this.#sabTransactions?.shared, connectionQuota: this.#connectionQuota, udpPort: this.#udpPort, listening: replacement ? 'none' : undefined };
    const channel = new ThreadChannel<ThreadMessage, ThreadMessage>(new Worker(new URL('./thread-main.js', import.meta.url), { workerData: config }), handlers);
    const ports: Array<MessagePort | undefined> = [];
    for (const other of this.slots) {
      if (other === undefined || other.index === slot || other.exited) continue;
      const pair = new MessageChannel();
      ports[other.index] = pair.port1;
      other.channel.send({ t: 'peer', slot, port: pair.port2 }, [pair.port2]);
    }
    channel.send({ t: 'peers', ports }, ports.filter((port): port is MessagePort => port !== undefined));
    return channel;
  }

  protected override onWorkerMessage(slot: Slot, message: ThreadMessage): void {
    if (message.t === 'send-datagrams') {
      const udp = this.#udp;
      if (udp !== undefined) forEachDatagram(message, (bytes, target) => udp.send(target, bytes), (error) => this.ipcError(slot.index, String(error)));
    } else if (message.t === 'stream-listening' && slot.index === 0 && this.#listening === undefined) {
      this.#listening = message;
      for (const other of this.slots) if (other.index !== 0) other.channel.send(message);
    }
  }

  /** The live threads drop their channel to a dead one and what they knew of its connections. */
  protected override onExit(slot: Slot): number {
    this.#relayBatches[slot.index]?.clear();
    // Its connections closed with it: their places go back to the others.
    if (this.#connectionQuota !== undefined) releaseThreadPlaces(this.#connectionQuota, slot.index);
    for (const other of this.slots) if (other.index !== slot.index && !other.exited) other.channel.send({ t: 'peer', slot: slot.index, port: undefined });
    return 0;
  }

  protected override report(event: PoolEvent): void {
    const onEvent = this.#options.onEvent;
    if (onEvent === undefined) return;
    if (event.kind === 'started') onEvent({ kind: 'thread-started', worker: event.worker, threadId: event.id });
    else if (event.kind === 'exited') onEvent({ kind: 'thread-exited', worker: event.worker, code: event.code ?? 1, expected: event.expected, ...(event.restartInMs === undefined ? {} : { restartInMs: event.restartInMs }) });
    else if (event.kind === 'internal-error') onEvent(event);
    else onEvent({ kind: 'thread-error', worker: event.worker, message: event.message });
  }

  /** A datagram goes to the thread owning its transaction (by Via branch tag or Call-ID). */
  #relay(bytes: Buffer, source: { protocol: 'udp' | 'tcp' | 'tls'; address: string; port: number }): void {
    if (this.#overload !== undefined && this.#overload.shedOnArrival(bytes, source)) return;
    const workers = this.#options.workers;
    let slot = 0;
    try {
      const message = parseMessage(bytes);
      // Shared transactions: requests go round the threads, whichever transaction they belong to;
      // responses too with --shared-responses where-read (the thread that gets one handles it).
      const settings = this.#options.settings;
      if ((message.isRequest || settings.sharedResponses === 'where-read') && settings.transactions === 'shared') slot = this.#nextRequestSlot++ % workers;
      else slot = ownerSlot(message, source, workers) ?? callIdHash(message.callId ?? '') % workers;
    } catch {
      // Unparseable: any thread answers it (400 or drop); thread 0 does.
    }
    if (this.slots[slot] === undefined) return;
    this.counters.handOffsSent++;
    this.#relayBatchFor(slot).add(bytes, source);
  }

  /** The batch of datagrams for the thread in `slot`; a thread being replaced loses its batch (UDP senders retransmit). */
  #relayBatchFor(slot: number): DatagramBatcher {
    let batch = this.#relayBatches[slot];
    if (batch === undefined) {
      batch = new DatagramBatcher(
        (datagrams) => {
          const target = this.slots[slot];
          if (target !== undefined) this.send(target, { t: 'datagrams', ...datagrams }, [datagrams.bytes.buffer as ArrayBuffer]);
        },
        (error) => this.ipcError(slot, String(error)),
      );
      this.#relayBatches[slot] = batch;
    }
    return batch;
  }

  async stats(timeoutMs = 2000): Promise<WorkerStats[]> {
    // The parent reads every datagram: its overload control is the one that sheds them.
    return this.statsWithOwn('parent', timeoutMs, () => (this.#overload === undefined ? {} : { core: this.#parentCounters, ...overloadGauges(this.#overload) }));
  }

  /** Thread ids of the threads now running, by slot. */
  get threadIds(): number[] {
    return this.slots.map((slot) => slot.channel.id);
  }

  /** Ends the thread in `slot` at once, as a crash would (fault tests). */
  terminate(slot: number): void {
    this.slots[slot]?.channel.kill();
  }

  /** First step of a stop: no thread accepts new connections, and from now on none is replaced. */
  stopAccepting(): void {
    this.stopReplacing();
    for (const slot of this.slots) this.send(slot, { t: 'stop-accepting' });
  }

  override async close(): Promise<void> {
    // As a stop does, whether or not one began: threads refuse new connections instead of closing
    // the listening fd they share. A close without it (a failed start: a busy --metrics port)
    // aborted (SIGABRT) in 14 of 100 such starts.
    this.stopAccepting();
    // And, as a stop's drain does, a round trip to every thread before they close: a close right
    // after start (a failed one) still aborted 4 times in 100 without it.
    await this.gatherStats(1000).catch(() => undefined);
    this.#overload?.stop();
    for (const batch of this.#relayBatches) batch?.clear();
    await this.stopWorkers();
    await this.#udp?.close();
    await this.#sabStore?.close();
    await this.#sabAuthState?.close();
  }
}
