import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { advertisedHost, remoteKeyOf, type Listener } from '@switchboard/core';
import { connectionIdAllocator } from '../connection-ids.js';
import type { ProxySettings } from '../proxy-settings.js';
import type { RunningModel } from '../running-model.js';
import { newModelCounters, LatencyHistogram, type WorkerStats } from '../worker-stats.js';
import { borrowForWriting } from './borrowed-socket.js';
import { decodeControl, encodeControl, type ToSupervisor, type ToWorker } from './control-messages.js';

export type AssignStrategy = 'round-robin' | 'least-loaded';

export interface ProcessPoolOptions {
  readonly settings: ProxySettings;
  readonly workers: number;
  /** Handles each worker keeps of connections it does not own; 0 turns the cache off. */
  readonly fdCache: number;
  readonly assign: AssignStrategy;
  /** Worker start-up and stop limit. */
  readonly timeoutMs?: number;
  /** What the supervisor saw, for the CLI to log (the library itself does not log). */
  readonly onEvent?: (event: SupervisorEvent) => void;
}

export type SupervisorEvent =
  | { readonly kind: 'worker-started'; readonly worker: number; readonly pid: number }
  | { readonly kind: 'worker-exited'; readonly worker: number; readonly pid: number; readonly code: number | null; readonly signal: string | null; readonly connectionsClosed: number }
  | { readonly kind: 'ipc-error'; readonly worker: number; readonly message: string };

/** The configuration a worker process reads from SWITCHBOARD_WORKER. */
export interface WorkerConfig {
  readonly slot: number;
  readonly origin: number;
  readonly workers: number;
  readonly fdCache: number;
  readonly settings: ProxySettings;
}

interface Slot {
  readonly index: number;
  worker: Worker;
  ready: boolean;
  readonly connections: Set<number>;
}

interface Entry {
  readonly id: number;
  readonly socket: net.Socket;
  owner: number;
  readonly remoteKey: string;
  readonly aliases: string[];
}

/**
 * OpenSER's TCP architecture on Node: this process accepts every TCP connection, keeps its own
 * handle of each in a connection table, hands each to one worker process (round-robin or the
 * least loaded), and answers workers' requests for handles of connections they do not own. UDP
 * sockets are shared by all workers (cluster shares the bound handle). A worker that dies is
 * replaced; its connections are closed so their clients reconnect.
 */
export class ProcessPoolSupervisor implements RunningModel {
  readonly model = 'process-pool' as const;
  readonly listeners: Listener[] = [];
  readonly #options: ProcessPoolOptions;
  readonly #slots: Slot[] = [];
  readonly #table = new Map<number, Entry>();
  readonly #byRemote = new Map<string, number>();
  readonly #nextId = connectionIdAllocator(0);
  readonly #counters = newModelCounters();
  readonly #statsWaiters = new Map<number, { stats: WorkerStats[]; expected: number; resolve: (stats: WorkerStats[]) => void }>();
  #server: net.Server | undefined;
  #nextOrigin = 1;
  #roundRobin = 0;
  #pendingSends = 0;
  #restarts = 0;
  #statsRequest = 0;
  #stopping = false;

  private constructor(options: ProcessPoolOptions) {
    this.#options = options;
  }

  static async start(options: ProcessPoolOptions): Promise<ProcessPoolSupervisor> {
    const supervisor = new ProcessPoolSupervisor(options);
    try {
      await supervisor.#start();
    } catch (error) {
      await supervisor.close();
      throw error;
    }
    return supervisor;
  }

  async #start(): Promise<void> {
    const { settings } = this.#options;
    let listen = settings.listen;
    const tcpSpec = settings.listen.find((spec) => spec.protocol === 'tcp');
    if (tcpSpec !== undefined) {
      const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.#accept(socket));
      this.#server = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: tcpSpec.host, port: tcpSpec.port, backlog: 4096 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const port = (server.address() as net.AddressInfo).port;
      listen = settings.listen.map((spec) => (spec === tcpSpec ? { ...spec, port } : spec));
    }
    cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)), serialization: 'advanced' });
    const ready: Array<Promise<number | undefined>> = [];
    for (let index = 0; index < this.#options.workers; index++) ready.push(this.#fork(index, { ...settings, listen }));
    const udpPorts = await Promise.all(ready);
    const udpSpec = listen.find((spec) => spec.protocol === 'udp');
    for (const spec of listen) {
      const port = spec === udpSpec ? (udpPorts[0] ?? spec.port) : spec.port;
      this.listeners.push({ protocol: spec.protocol, host: advertisedHost(spec.host, settings.advertise), port });
    }
    // Replacements bind the UDP spec exactly as the first workers did: node:cluster shares a bound
    // handle by address and port as written (port 0 included), so they get the same socket.
    this.#settings = { ...settings, listen };
  }

  #settings: ProxySettings | undefined;

  #fork(index: number, settings: ProxySettings): Promise<number | undefined> {
    const config: WorkerConfig = { slot: index, origin: this.#nextOrigin++, workers: this.#options.workers, fdCache: this.#options.fdCache, settings };
    const worker = cluster.fork({ SWITCHBOARD_WORKER: JSON.stringify(config) });
    const slot: Slot = { index, worker, ready: false, connections: new Set() };
    this.#slots[index] = slot;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${index} did not start within ${this.#options.timeoutMs ?? 15000} ms`)), this.#options.timeoutMs ?? 15000);
      worker.on('message', (raw: Uint8Array, handle?: net.Socket) => {
        let message: ToSupervisor;
        try {
          message = decodeControl<ToSupervisor>(raw);
        } catch (error) {
          this.#options.onEvent?.({ kind: 'ipc-error', worker: index, message: (error as Error).message });
          return;
        }
        if (message.t === 'ready') {
          clearTimeout(timer);
          slot.ready = true;
          this.#options.onEvent?.({ kind: 'worker-started', worker: index, pid: worker.process.pid ?? 0 });
          resolve(message.udpPort);
        } else if (message.t === 'start-failed') {
          clearTimeout(timer);
          reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
        } else {
          this.#onMessage(slot, message, handle);
        }
      });
      worker.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (!slot.ready) reject(new Error(`worker ${index} exited during start-up (code ${code}, signal ${signal})`));
        this.#onExit(slot, worker, code, signal);
      });
    });
  }

  #send(slot: Slot, message: ToWorker, handle?: net.Socket): void {
    if (!slot.ready || !slot.worker.isConnected()) return;
    this.#pendingSends++;
    const done = (error: Error | null): void => {
      this.#pendingSends--;
      if (error !== null) this.#options.onEvent?.({ kind: 'ipc-error', worker: slot.index, message: error.message });
    };
    if (handle === undefined) slot.worker.send(encodeControl(message), done);
    else slot.worker.send(encodeControl(message), handle, { keepOpen: true }, done);
  }

  #accept(socket: net.Socket): void {
    const slot = this.#pick();
    if (slot === undefined) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {
      // The owner reads the connection and reports its errors; this handle only keeps it.
    });
    const id = this.#nextId();
    this.#file({ id, socket, owner: slot.index, remoteKey: remoteKeyOf(socket.remoteAddress ?? '', socket.remotePort ?? 0), aliases: [] });
    this.#send(slot, { t: 'adopt', id }, socket);
  }

  #pick(): Slot | undefined {
    const ready = this.#slots.filter((slot) => slot.ready);
    if (ready.length === 0) return undefined;
    if (this.#options.assign === 'least-loaded') {
      return ready.reduce((best, slot) => (slot.connections.size < best.connections.size ? slot : best));
    }
    return ready[this.#roundRobin++ % ready.length];
  }

  #file(entry: Entry): void {
    this.#table.set(entry.id, entry);
    this.#byRemote.set(entry.remoteKey, entry.id);
    this.#slots[entry.owner]?.connections.add(entry.id);
  }

  #forget(id: number, except?: number): void {
    const entry = this.#table.get(id);
    if (entry === undefined) return;
    this.#table.delete(id);
    for (const key of [entry.remoteKey, ...entry.aliases]) if (this.#byRemote.get(key) === id) this.#byRemote.delete(key);
    this.#slots[entry.owner]?.connections.delete(id);
    entry.socket.destroy();
    if (this.#options.fdCache > 0) for (const slot of this.#slots) if (slot.index !== except) this.#send(slot, { t: 'invalidate', id });
  }

  #onMessage(slot: Slot, message: ToSupervisor, handle: net.Socket | undefined): void {
    switch (message.t) {
      case 'fd-request': {
        this.#counters.fdRequests++;
        const id = message.id ?? this.#byRemote.get(message.remoteKey);
        const entry = id === undefined ? undefined : this.#table.get(id);
        if (entry === undefined) {
          this.#counters.fdRequestsMissed++;
          this.#send(slot, { t: 'fd', request: message.request, id: id ?? 0, found: false });
        } else {
          this.#send(slot, { t: 'fd', request: message.request, id: entry.id, found: true }, entry.socket);
        }
        break;
      }
      case 'opened':
        if (handle === undefined) break;
        borrowForWriting(handle);
        this.#file({ id: message.id, socket: handle, owner: slot.index, remoteKey: message.remoteKey, aliases: [] });
        break;
      case 'closed':
        this.#forget(message.id, slot.index);
        break;
      case 'alias': {
        const entry = this.#table.get(message.id);
        if (entry === undefined) break;
        entry.aliases.push(message.key);
        this.#byRemote.set(message.key, message.id);
        break;
      }
      case 'hand-off': {
        this.#counters.handOffsSent++;
        const target = this.#slots[message.to];
        if (target !== undefined) this.#send(target, { t: 'deliver', bytes: message.bytes, source: message.source });
        break;
      }
      case 'stats': {
        const waiter = this.#statsWaiters.get(message.request);
        if (waiter === undefined) break;
        waiter.stats.push(message.stats);
        if (waiter.stats.length === waiter.expected) waiter.resolve(waiter.stats);
        break;
      }
      default:
        break;
    }
  }

  #onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (this.#slots[slot.index]?.worker !== worker) return;
    slot.ready = false;
    const owned = [...slot.connections];
    for (const id of owned) this.#forget(id);
    this.#options.onEvent?.({ kind: 'worker-exited', worker: slot.index, pid: worker.process.pid ?? 0, code, signal: signal ?? null, connectionsClosed: owned.length });
    if (this.#stopping || this.#settings === undefined) return;
    this.#restarts++;
    this.#fork(slot.index, this.#settings).catch((error: Error) => {
      this.#options.onEvent?.({ kind: 'ipc-error', worker: slot.index, message: `replacement failed: ${error.message}` });
    });
  }

  /** Every worker's counters, plus the supervisor's own (worker `supervisor`). */
  async stats(timeoutMs = 2000): Promise<WorkerStats[]> {
    const request = ++this.#statsRequest;
    const ready = this.#slots.filter((slot) => slot.ready);
    const gathered = await new Promise<WorkerStats[]>((resolve) => {
      const waiter = { stats: [] as WorkerStats[], expected: ready.length, resolve };
      this.#statsWaiters.set(request, waiter);
      const timer = setTimeout(() => resolve(waiter.stats), timeoutMs);
      timer.unref();
      if (ready.length === 0) resolve([]);
      for (const slot of ready) this.#send(slot, { t: 'stats-request', request });
    });
    this.#statsWaiters.delete(request);
    const empty = new LatencyHistogram().snapshot();
    const own: WorkerStats = {
      worker: 'supervisor',
      pid: process.pid,
      core: undefined,
      transport: undefined,
      model: { ...this.#counters },
      transactions: 0,
      tcpConnections: this.#table.size,
      ipcRoundTrip: empty,
      storeLatency: empty,
      supervisorQueueDepth: this.#pendingSends,
      supervisorConnections: this.#table.size,
      workerRestarts: this.#restarts,
    };
    return [...gathered.sort((a, b) => Number(a.worker) - Number(b.worker)), own];
  }

  /** Process ids of the workers now running, by slot. */
  get workerPids(): number[] {
    return this.#slots.map((slot) => slot.worker.process.pid ?? 0);
  }

  stopAccepting(): void {
    this.#server?.close();
  }

  async close(): Promise<void> {
    this.#stopping = true;
    this.#server?.close();
    const exits = this.#slots.map(
      (slot) =>
        new Promise<void>((resolve) => {
          if (slot.worker.isDead()) {
            resolve();
            return;
          }
          const timer = setTimeout(() => {
            slot.worker.process.kill('SIGKILL');
          }, this.#options.timeoutMs ?? 5000);
          slot.worker.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          if (slot.ready) this.#send(slot, { t: 'stop' });
          else slot.worker.process.kill('SIGKILL');
        }),
    );
    await Promise.all(exits);
    for (const entry of this.#table.values()) entry.socket.destroy();
    this.#table.clear();
    this.#byRemote.clear();
  }
}
