import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { advertisedHost, ConnectionIndex, remoteKeyOf, type Listener, type StreamProtocol } from '@switchboard/core';
import { connectionIdAllocator } from '../connection-ids.js';
import type { ProxySettings } from '../proxy-settings.js';
import type { RunningModel } from '../running-model.js';
import { reviveStartFailure, WorkerError } from '../worker-error.js';
import { newModelCounters, LatencyHistogram, type WorkerStats } from '../worker-stats.js';
import { borrowForWriting } from './borrowed-socket.js';
import { decodeToSupervisor, encodeControl, type ToSupervisor, type ToWorker } from './control-messages.js';

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
  /** The worker script (default worker-main.js; tests give a scripted one). */
  readonly workerExec?: string;
}

export type SupervisorEvent =
  | { readonly kind: 'worker-started'; readonly worker: number; readonly pid: number }
  /**
   * `expected`: the supervisor was stopping (it is not replaced); otherwise it died and is
   * replaced after `restartInMs` (0, or longer after replacements in a row that failed to start).
   */
  | { readonly kind: 'worker-exited'; readonly worker: number; readonly pid: number; readonly code: number | null; readonly signal: string | null; readonly connectionsClosed: number; readonly expected: boolean; readonly restartInMs?: number }
  | { readonly kind: 'ipc-error'; readonly worker: number; readonly message: string }
  /** A listening socket failed after it was bound (an accept error such as EMFILE); it goes on listening. */
  | { readonly kind: 'listener-error'; readonly listener: string; readonly message: string };

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
  /** Whether this worker ever said ready (a replacement that did not is a failed start). */
  started: boolean;
  readonly connections: Set<number>;
}

/** Delay before replacing a worker after `failures` replacements in a row failed to start. */
export function restartDelayMs(failures: number): number {
  return failures === 0 ? 0 : Math.min(250 * 2 ** (failures - 1), 10_000);
}

/** What the supervisor keeps of each connection beside its addresses. */
interface Entry {
  /** TCP: the supervisor's own handle, passed to workers that ask. TLS: none (a handle is useless there). */
  readonly socket: net.Socket | undefined;
  readonly owner: number;
}

/**
 * OpenSER's TCP architecture on Node: this process accepts every TCP connection, keeps its own
 * handle of each in a connection table, hands each to one worker process (round-robin or the
 * least loaded), and answers workers' requests for handles of connections they do not own. UDP
 * sockets are shared by all workers (cluster shares the bound handle). A worker that dies is
 * replaced; its connections are closed so their clients reconnect.
 *
 * TLS connections are handed over before their handshake and the supervisor keeps no handle: the
 * worker that does the handshake holds the session keys, so it alone can write on the
 * connection. The table still knows every TLS connection's owner, and a worker's write on another
 * worker's TLS connection is relayed: worker, supervisor, owner.
 */
export class ProcessPoolSupervisor implements RunningModel {
  readonly model = 'process-pool' as const;
  readonly listeners: Listener[] = [];
  readonly #options: ProcessPoolOptions;
  readonly #slots: Slot[] = [];
  /** The connection table: every worker's connections, by id and by remote address and alias. */
  readonly #table = new ConnectionIndex<Entry>();
  readonly #nextId = connectionIdAllocator(0);
  readonly #counters = newModelCounters();
  readonly #statsWaiters = new Map<number, { stats: WorkerStats[]; expected: number; resolve: (stats: WorkerStats[]) => void }>();
  readonly #servers: net.Server[] = [];
  #nextOrigin = 1;
  #roundRobin = 0;
  #pendingSends = 0;
  #restarts = 0;
  /** Replacements in a row that failed to start, by slot: the next one waits longer. */
  readonly #failedStarts: number[] = [];
  readonly #restartTimers = new Set<NodeJS.Timeout>();
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
    for (const streamSpec of settings.listen) {
      const protocol = streamSpec.protocol;
      if (protocol === 'udp') continue;
      const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.#accept(socket, protocol));
      this.#servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: streamSpec.host, port: streamSpec.port, backlog: 4096 }, () => {
          server.off('error', reject);
          // From now on an error (a failed accept) is reported, not an uncaught exception.
          server.on('error', (error: Error) => this.#options.onEvent?.({ kind: 'listener-error', listener: `${protocol}:${streamSpec.host}:${streamSpec.port}`, message: error.message }));
          resolve();
        });
      });
      const port = (server.address() as net.AddressInfo).port;
      listen = listen.map((spec) => (spec === streamSpec ? { ...spec, port } : spec));
    }
    cluster.setupPrimary({ exec: this.#options.workerExec ?? fileURLToPath(new URL('./worker-main.js', import.meta.url)), serialization: 'advanced' });
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
    const slot: Slot = { index, worker, ready: false, started: false, connections: new Set() };
    this.#slots[index] = slot;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new WorkerError('ERR_SWITCHBOARD_WORKER_START', `worker ${index} did not start within ${this.#options.timeoutMs ?? 15000} ms`));
        // Not left half-started: its exit replaces it (or, at start-up, the start has failed).
        worker.process.kill('SIGKILL');
      }, this.#options.timeoutMs ?? 15000);
      // A failed send without a callback or a failed kill: an 'error' event nobody listened to
      // would end the supervisor.
      worker.on('error', (error: Error) => this.#ipcError(index, error.message));
      worker.on('message', (raw: unknown, handle?: net.Socket) => {
        let message: ToSupervisor;
        try {
          message = decodeToSupervisor(raw);
        } catch (error) {
          handle?.destroy();
          this.#ipcError(index, (error as Error).message);
          return;
        }
        if (message.t === 'ready') {
          clearTimeout(timer);
          slot.ready = true;
          slot.started = true;
          this.#failedStarts[index] = 0;
          this.#options.onEvent?.({ kind: 'worker-started', worker: index, pid: worker.process.pid ?? 0 });
          resolve(message.udpPort);
        } else if (message.t === 'start-failed') {
          clearTimeout(timer);
          reject(reviveStartFailure(message.error));
        } else {
          try {
            this.#onMessage(slot, message, handle);
          } catch (error) {
            this.#ipcError(index, `${message.t}: ${(error as Error).message}`);
          }
        }
      });
      worker.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (!slot.ready) reject(new WorkerError('ERR_SWITCHBOARD_WORKER_START', `worker ${index} exited during start-up (code ${code}, signal ${signal})`));
        this.#onExit(slot, worker, code, signal);
      });
    });
  }

  #send(slot: Slot, message: ToWorker, handle?: net.Socket, keepOpen = true): void {
    if (!slot.ready || !slot.worker.isConnected()) {
      if (!keepOpen) handle?.destroy();
      return;
    }
    this.#pendingSends++;
    const done = (error: Error | null): void => {
      this.#pendingSends--;
      if (error !== null) this.#ipcError(slot.index, error.message);
    };
    try {
      if (handle === undefined) slot.worker.send(encodeControl(message), done);
      else slot.worker.send(encodeControl(message), handle, { keepOpen }, done);
    } catch (error) {
      done(error as Error);
      if (!keepOpen) handle?.destroy();
    }
  }

  /** A control message that could not be read or sent: counted, and reported for the log. */
  #ipcError(worker: number, message: string): void {
    this.#counters.ipcErrors++;
    this.#options.onEvent?.({ kind: 'ipc-error', worker, message });
  }

  #accept(socket: net.Socket, protocol: StreamProtocol): void {
    const slot = this.#pick();
    if (slot === undefined) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {
      // The owner reads the connection and reports its errors; this handle only keeps it.
    });
    const id = this.#nextId();
    const remoteKey = remoteKeyOf(socket.remoteAddress ?? '', socket.remotePort ?? 0);
    // A TLS handle is of no use here once the worker has done the handshake: it is closed as soon
    // as it is sent (keepOpen false), so the connection lives and dies with its worker.
    const keep = protocol === 'tcp';
    this.#file(id, protocol, remoteKey, { socket: keep ? socket : undefined, owner: slot.index });
    this.#send(slot, { t: 'adopt', id, protocol }, socket, keep);
  }

  #pick(): Slot | undefined {
    const ready = this.#slots.filter((slot) => slot.ready);
    if (ready.length === 0) return undefined;
    if (this.#options.assign === 'least-loaded') {
      return ready.reduce((best, slot) => (slot.connections.size < best.connections.size ? slot : best));
    }
    return ready[this.#roundRobin++ % ready.length];
  }

  #file(id: number, protocol: StreamProtocol, remoteKey: string, entry: Entry): void {
    this.#table.add(id, protocol, remoteKey, entry);
    this.#slots[entry.owner]?.connections.add(id);
  }

  #forget(id: number, except?: number): void {
    const entry = this.#table.remove(id);
    if (entry === undefined) return;
    this.#slots[entry.value.owner]?.connections.delete(id);
    entry.value.socket?.destroy();
    if (this.#options.fdCache > 0) for (const slot of this.#slots) if (slot.index !== except) this.#send(slot, { t: 'invalidate', id });
  }

  #onMessage(slot: Slot, message: ToSupervisor, handle: net.Socket | undefined): void {
    switch (message.t) {
      case 'fd-request': {
        this.#counters.fdRequests++;
        const entry = message.id === undefined ? this.#table.lookup('tcp', message.remoteKey) : this.#table.get(message.id);
        if (entry?.value.socket === undefined) {
          this.#counters.fdRequestsMissed++;
          this.#send(slot, { t: 'fd', request: message.request, id: message.id ?? 0, found: false });
        } else {
          this.#send(slot, { t: 'fd', request: message.request, id: entry.id, found: true }, entry.value.socket);
        }
        break;
      }
      case 'relay':
        this.#relay(slot, message);
        break;
      case 'opened':
        if (message.protocol === 'tls') {
          this.#file(message.id, 'tls', message.remoteKey, { socket: undefined, owner: slot.index });
          break;
        }
        if (handle === undefined) break;
        borrowForWriting(handle);
        this.#file(message.id, 'tcp', message.remoteKey, { socket: handle, owner: slot.index });
        break;
      case 'closed':
        this.#forget(message.id, slot.index);
        break;
      case 'ended': {
        if (this.#table.unroute(message.id) === undefined) break;
        if (this.#options.fdCache > 0) for (const other of this.#slots) if (other.index !== slot.index) this.#send(other, { t: 'invalidate', id: message.id });
        break;
      }
      case 'alias':
        this.#table.alias(message.id, message.key);
        break;
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

  /**
   * A write on a TLS connection the asking worker does not own: passed to the owner. By remote
   * address, a connection the asker owns itself is one it has stopped using (its peer sent a
   * FIN), so that counts as none, and the asker opens a new one.
   */
  #relay(slot: Slot, message: Extract<ToSupervisor, { t: 'relay' }>): void {
    const entry = message.id === undefined ? this.#table.lookup('tls', message.remoteKey) : this.#table.get(message.id);
    const id = entry?.id ?? message.id;
    const owner = entry === undefined ? undefined : this.#slots[entry.value.owner];
    const usable = entry !== undefined && entry.protocol === 'tls' && owner !== undefined && owner.ready && !(message.id === undefined && owner === slot);
    if (!usable) {
      this.#counters.tlsRelaysMissed++;
      this.#send(slot, { t: 'relayed', request: message.request, id: id ?? 0, found: false });
      return;
    }
    this.#counters.tlsRelaysSent++;
    this.#send(owner, { t: 'write', id: entry.id, bytes: message.bytes });
    if (message.request !== 0) this.#send(slot, { t: 'relayed', request: message.request, id: entry.id, found: true });
  }

  #onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (this.#slots[slot.index]?.worker !== worker) return;
    slot.ready = false;
    const owned = [...slot.connections];
    for (const id of owned) this.#forget(id);
    const settings = this.#settings;
    const expected = this.#stopping;
    const pid = worker.process.pid ?? 0;
    const exited = { kind: 'worker-exited', worker: slot.index, pid, code, signal: signal ?? null, connectionsClosed: owned.length, expected } as const;
    // A worker dying while the supervisor stops (a signal sent to the whole process group, say)
    // is not replaced: the supervisor is stopping it anyway. Nor is one of the first workers.
    if (expected || settings === undefined) {
      this.#options.onEvent?.(exited);
      return;
    }
    // A replacement that cannot start (Redis down, say) is tried again later and later, not in a
    // tight loop of forks.
    const failures = slot.started ? 0 : (this.#failedStarts[slot.index] ?? 0) + 1;
    this.#failedStarts[slot.index] = failures;
    const delay = restartDelayMs(failures);
    this.#options.onEvent?.({ ...exited, restartInMs: delay });
    const restart = (): void => {
      this.#restartTimers.delete(timer);
      if (this.#stopping) return;
      this.#restarts++;
      this.#fork(slot.index, settings).catch((error: Error) => {
        this.#options.onEvent?.({ kind: 'ipc-error', worker: slot.index, message: `replacement failed: ${error.message}` });
      });
    };
    const timer = setTimeout(restart, delay);
    this.#restartTimers.add(timer);
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
    let tlsConnections = 0;
    for (const entry of this.#table.values()) if (entry.protocol === 'tls') tlsConnections++;
    const own: WorkerStats = {
      worker: 'supervisor',
      pid: process.pid,
      core: undefined,
      transport: undefined,
      model: { ...this.#counters },
      transactions: 0,
      tcpConnections: this.#table.size - tlsConnections,
      tlsConnections,
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

  /** First step of a stop: no new connections, and from now on no worker is replaced. */
  stopAccepting(): void {
    this.#stopping = true;
    for (const server of this.#servers) server.close();
  }

  async close(): Promise<void> {
    this.#stopping = true;
    this.stopAccepting();
    for (const timer of this.#restartTimers) clearTimeout(timer);
    this.#restartTimers.clear();
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
    for (const entry of this.#table.values()) entry.value.socket?.destroy();
    this.#table.clear();
  }
}
