import { MessageChannel, Worker, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { advertisedHost, UdpTransport, type Listener } from '@switchboard/core';
import { parseMessage } from '@switchboard/sip';
import { callIdHash, ownerSlot } from '../message-owner.js';
import { reviveStartFailure, WorkerError } from '../worker-error.js';
import type { ProxySettings } from '../proxy-settings.js';
import type { RunningModel } from '../running-model.js';
import { SabAuthStateStore } from '../state/sab-auth-state-store.js';
import { SabLocationStore } from '../state/sab-location-store.js';
import { LatencyHistogram, newModelCounters, type WorkerStats } from '../worker-stats.js';
import { asBuffer, detachedCopy, type ThreadConfig, type ThreadMessage } from './thread-messages.js';

export interface ThreadPoolOptions {
  readonly settings: ProxySettings;
  readonly workers: number;
  readonly timeoutMs?: number;
  readonly onEvent?: (event: ThreadPoolEvent) => void;
}

export type ThreadPoolEvent =
  | { readonly kind: 'thread-error'; readonly worker: number; readonly message: string }
  /** `expected`: the pool was stopping. Threads are not replaced (a thread that dies takes its connections with it). */
  | { readonly kind: 'thread-exited'; readonly worker: number; readonly code: number; readonly expected: boolean };

/**
 * The sipd design on worker_threads: every thread runs the proxy core, accepts its own TCP
 * connections from one shared listening socket, and reaches the others over MessageChannels (writes
 * on their connections, messages of their transactions). This thread owns the UDP socket and
 * relays each datagram to the thread owning its transaction. Registrations live in a
 * SharedArrayBuffer table (`--state sab`) or Redis.
 */
export class ThreadPool implements RunningModel {
  readonly model = 'thread-pool' as const;
  readonly listeners: Listener[] = [];
  readonly #options: ThreadPoolOptions;
  readonly #threads: Worker[] = [];
  readonly #counters = newModelCounters();
  readonly #statsWaiters = new Map<number, { stats: WorkerStats[]; resolve: (stats: WorkerStats[]) => void }>();
  #udp: UdpTransport | undefined;
  #statsRequest = 0;
  #sabStore: SabLocationStore | undefined;
  #sabAuthState: SabAuthStateStore | undefined;
  #stopping = false;

  private constructor(options: ThreadPoolOptions) {
    this.#options = options;
  }

  static async start(options: ThreadPoolOptions): Promise<ThreadPool> {
    const pool = new ThreadPool(options);
    try {
      await pool.#start();
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  async #start(): Promise<void> {
    const { settings, workers } = this.#options;
    const udpSpec = settings.listen.find((spec) => spec.protocol === 'udp');
    let udpPort: number | undefined;
    if (udpSpec !== undefined) {
      this.#udp = new UdpTransport({ host: udpSpec.host, port: udpSpec.port, onMessage: (bytes, source) => this.#relay(bytes, source) });
      udpPort = (await this.#udp.listen()).port;
    }
    if (settings.state === 'sab') this.#sabStore = SabLocationStore.create();
    if (settings.state === 'sab' && settings.auth !== undefined) this.#sabAuthState = SabAuthStateStore.create();
    const sharedState = this.#sabStore?.shared;
    const sharedAuthState = this.#sabAuthState?.shared;
    for (let slot = 0; slot < workers; slot++) {
      const config: ThreadConfig = { slot, workers, settings, sharedState, sharedAuthState, udpPort };
      this.#threads.push(new Worker(new URL('./thread-main.js', import.meta.url), { workerData: config }));
    }
    const ports: Array<Array<MessagePort | undefined>> = this.#threads.map(() => this.#threads.map(() => undefined));
    for (let a = 0; a < workers; a++) {
      for (let b = a + 1; b < workers; b++) {
        const channel = new MessageChannel();
        (ports[a] as Array<MessagePort | undefined>)[b] = channel.port1;
        (ports[b] as Array<MessagePort | undefined>)[a] = channel.port2;
      }
    }
    let streamPorts: Partial<Record<'tcp' | 'tls', number>> = {};
    const ready = this.#threads.map(
      (thread, slot) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new WorkerError('ERR_SWITCHBOARD_WORKER_START', `thread ${slot} did not start within ${this.#options.timeoutMs ?? 15000} ms`)), this.#options.timeoutMs ?? 15000);
          thread.on('message', (message: ThreadMessage) => {
            if (message.t === 'ready') {
              clearTimeout(timer);
              resolve();
            } else if (message.t === 'start-failed') {
              clearTimeout(timer);
              reject(reviveStartFailure(message.error));
            } else if (message.t === 'stream-listening') {
              streamPorts = { tcp: message.listeners.tcp?.port, tls: message.listeners.tls?.port };
              for (const other of this.#threads.slice(1)) other.postMessage(message);
            } else {
              try {
                this.#onMessage(message);
              } catch (error) {
                // A message this thread cannot act on is dropped and counted, never fatal.
                this.#counters.ipcErrors++;
                this.#options.onEvent?.({ kind: 'thread-error', worker: slot, message: `${message.t}: ${(error as Error).message}` });
              }
            }
          });
          thread.on('error', (error) => {
            clearTimeout(timer);
            this.#options.onEvent?.({ kind: 'thread-error', worker: slot, message: error.message });
            reject(error);
          });
          thread.on('exit', (code) => {
            clearTimeout(timer);
            reject(new WorkerError('ERR_SWITCHBOARD_WORKER_START', `thread ${slot} exited during start-up (code ${code})`));
            this.#options.onEvent?.({ kind: 'thread-exited', worker: slot, code, expected: this.#stopping });
          });
        }),
    );
    this.#threads.forEach((thread, slot) => {
      const own = (ports[slot] ?? []).filter((port): port is MessagePort => port !== undefined);
      thread.postMessage({ t: 'peers', ports: ports[slot] } satisfies ThreadMessage, own as TransferListItem[]);
    });
    await Promise.all(ready);
    for (const spec of settings.listen) {
      const port = spec.protocol === 'udp' ? (udpPort ?? spec.port) : (streamPorts[spec.protocol] ?? spec.port);
      this.listeners.push({ protocol: spec.protocol, host: advertisedHost(spec.host, settings.advertise), port });
    }
  }

  /** A datagram goes to the thread owning its transaction (by Via branch tag or Call-ID). */
  #relay(bytes: Buffer, source: { protocol: 'udp' | 'tcp' | 'tls'; address: string; port: number }): void {
    const workers = this.#threads.length;
    let slot = 0;
    try {
      const message = parseMessage(bytes);
      slot = ownerSlot(message, source, workers) ?? callIdHash(message.callId ?? '') % workers;
    } catch {
      // Unparseable: any thread answers it (400 or drop); thread 0 does.
    }
    const copy = detachedCopy(bytes);
    this.#counters.handOffsSent++;
    this.#threads[slot]?.postMessage({ t: 'datagram', bytes: copy, source } satisfies ThreadMessage, [copy.buffer as ArrayBuffer]);
  }

  #onMessage(message: ThreadMessage): void {
    if (message.t === 'send-datagram') {
      this.#udp?.send(message.target, asBuffer(message.bytes));
    } else if (message.t === 'stats') {
      const waiter = this.#statsWaiters.get(message.request);
      if (waiter === undefined) return;
      waiter.stats.push(message.stats);
      if (waiter.stats.length === this.#threads.length) waiter.resolve(waiter.stats);
    }
  }

  async stats(timeoutMs = 2000): Promise<WorkerStats[]> {
    const request = ++this.#statsRequest;
    const gathered = await new Promise<WorkerStats[]>((resolve) => {
      const waiter = { stats: [] as WorkerStats[], resolve };
      this.#statsWaiters.set(request, waiter);
      setTimeout(() => resolve(waiter.stats), timeoutMs).unref();
      for (const thread of this.#threads) thread.postMessage({ t: 'stats-request', request } satisfies ThreadMessage);
    });
    this.#statsWaiters.delete(request);
    const empty = new LatencyHistogram().snapshot();
    const own: WorkerStats = {
      worker: 'parent',
      pid: process.pid,
      core: undefined,
      transport: undefined,
      model: { ...this.#counters },
      transactions: 0,
      tcpConnections: 0,
      tlsConnections: 0,
      ipcRoundTrip: empty,
      storeLatency: empty,
    };
    return [...gathered.sort((a, b) => Number(a.worker) - Number(b.worker)), own];
  }

  stopAccepting(): void {
    // Threads keep their connections; the listener closes with them.
    this.#stopping = true;
  }

  async close(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.#threads.map(
        (thread) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void thread.terminate().then(() => resolve()), this.#options.timeoutMs ?? 3000);
            thread.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            thread.on('message', (message: ThreadMessage) => {
              if (message.t === 'stopped') void thread.terminate();
            });
            thread.postMessage({ t: 'stop' } satisfies ThreadMessage);
          }),
      ),
    );
    await this.#udp?.close();
    await this.#sabStore?.close();
    await this.#sabAuthState?.close();
  }
}
