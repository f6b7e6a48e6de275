import cluster from 'node:cluster';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { advertisedHost, ConnectionIndex, remoteKeyOf, type Listener, type StreamProtocol } from '@switchboard/core';
import { connectionIdAllocator } from '../connection-ids.js';
import type { ProxySettings } from '../proxy-settings.js';
import type { RunningModel } from '../running-model.js';
import type { ChannelHandlers } from '../worker-pool/channel.js';
import { ProcessChannel, type ProcessCodec } from '../worker-pool/process-channel.js';
import { WorkerPool, type PoolEvent, type PoolSlot } from '../worker-pool/worker-pool.js';
import { processWorkerEvent } from '../worker-pool/process-worker-event.js';
import type { WorkerStats } from '../worker-stats.js';
import { borrowForWriting } from './borrowed-socket.js';
import { answerFdRequest } from './fd-answer.js';
import { EarlyHandles } from './early-handles.js';
import { decodeToSupervisor, encodeControl, type ToSupervisor, type ToWorker } from './control-messages.js';
import { WORKER_STREAM_FD } from './supervisor-link.js';
import { readOpenFileLimit, RESERVED_FILES } from '../open-file-limit.js';

export type AssignStrategy = 'round-robin' | 'least-loaded';

/**
 * Whether the supervisor keeps its own handle of each TCP connection it hands over (`keep`: it
 * passes copies to workers that ask, so each writes itself; every connection costs the supervisor
 * a file) or closes it once sent (`release`: writes by other workers go through the owner, as TLS
 * writes do; the supervisor holds no connection, so capacity grows with the workers).
 */
export type SupervisorHandles = 'keep' | 'release';
export const SUPERVISOR_HANDLES: readonly SupervisorHandles[] = ['keep', 'release'];

export interface ProcessPoolOptions {
  readonly settings: ProxySettings;
  readonly workers: number;
  /** Handles each worker keeps of connections it does not own; 0 turns the cache off. */
  readonly fdCache: number;
  readonly assign: AssignStrategy;
  /** Default `keep`. */
  readonly supervisorHandles?: SupervisorHandles;
  /** Accepted connections open at once beyond which new ones are closed at once and counted (default none). */
  readonly maxConnections?: number;
  /** Worker start-up and stop limit. */
  readonly timeoutMs?: number;
  /** What the supervisor saw, for the CLI to log (the library itself does not log). */
  readonly onEvent?: (event: SupervisorEvent) => void;
  /** The worker script (default worker-main.js; tests give a scripted one). */
  readonly workerExec?: string;
}

type Exited = Extract<PoolEvent, { kind: 'exited' }>;

export type SupervisorEvent =
  | { readonly kind: 'worker-started'; readonly worker: number; readonly pid: number }
  /**
   * A worker's exit (see PoolEvent `exited`), with the connections the supervisor closed for it
   * and those it handed to other workers (or keeps for the replacement) instead.
   */
  | ({ readonly kind: 'worker-exited'; readonly pid: number; readonly connectionsHandedOver: number } & Omit<Exited, 'kind' | 'id'>)
  | Extract<PoolEvent, { kind: 'ipc-error' | 'internal-error' }>
  /** A listening socket failed after it was bound (an accept error such as EMFILE); it goes on listening. */
  | { readonly kind: 'listener-error'; readonly listener: string; readonly message: string };

/** The configuration a worker process reads from SWITCHBOARD_WORKER. */
export interface WorkerConfig {
  readonly slot: number;
  readonly origin: number;
  readonly workers: number;
  readonly fdCache: number;
  readonly supervisorHandles: SupervisorHandles;
  readonly settings: ProxySettings;
}

/** Delay before replacing a worker (the pools share it). */
export { restartDelayMs } from '../worker-pool/worker-pool.js';

type Slot = PoolSlot<ToWorker, net.Socket>;

/** A send's ticket for an answer, when it has one (0: the sender wants to hear of no failure). */
function ticketOf(ticket: number): { ticket?: number } {
  return ticket === 0 ? {} : { ticket };
}

const codec: ProcessCodec<ToWorker, ToSupervisor> = { encode: encodeControl, decode: decodeToSupervisor };

/** What the supervisor keeps of each connection beside its addresses. */
interface Entry {
  /**
   * TCP with handles kept: the supervisor's own handle, passed to workers that ask. TLS, or TCP
   * with handles released: none (writes are relayed to the owner).
   */
  socket: net.Socket | undefined;
  /** The worker reading it (changes when its worker dies and the connection is handed over). */
  owner: number;
  /** Accepted here (counted against --max-connections), or opened by a worker. */
  readonly accepted: boolean;
  /** A worker's outgoing TCP connection whose handle has not arrived yet: fd requests for it wait here. */
  waiting?: Array<{ readonly slot: Slot; readonly request: number; readonly bytes: Uint8Array | undefined; readonly wantsHandle: boolean; readonly ticket: number }>;
}

/**
 * OpenSER's TCP architecture on Node: this process accepts every TCP connection, keeps its own
 * handle of each in a connection table, hands each to one worker process (round-robin or the
 * least loaded), and answers workers' requests for handles of connections they do not own. UDP
 * sockets are shared by all workers (cluster shares the bound handle). A worker that dies is
 * replaced; the TCP connections it read are handed to the other workers (or, when none is up, to
 * its replacement) with the supervisor's own handle of each, so their clients see nothing; those
 * the supervisor holds no handle of (TLS, or TCP with handles released) die with it and are counted.
 *
 * TLS connections are handed over before their handshake and the supervisor keeps no handle: the
 * worker that does the handshake holds the session keys, so it alone can write on the
 * connection. The table still knows every TLS connection's owner, and a worker's write on another
 * worker's TLS connection is relayed: worker, supervisor, owner.
 */
export class ProcessPoolSupervisor extends WorkerPool<ToWorker, ToSupervisor, net.Socket> implements RunningModel {
  readonly model = 'process-pool' as const;
  readonly listeners: Listener[] = [];
  readonly #options: ProcessPoolOptions;
  /** The connections each worker owns, by slot. */
  readonly #owned: Array<Set<number>> = [];
  /** The connection table: every worker's connections, by id and by remote address and alias. */
  readonly #table = new ConnectionIndex<Entry>();
  readonly #nextId = connectionIdAllocator(0);
  readonly #servers: net.Server[] = [];
  /** Handles of worker-opened connections that came before their `opened`. */
  readonly #earlyHandles = new EarlyHandles();
  #nextOrigin = 1;
  #roundRobin = 0;
  /** Accepted connections now in the table (see --max-connections). */
  #acceptedOpen = 0;
  #lastListenerError = 0;
  /**
   * Handles this process may hold at once: with `release` it still holds each accepted connection
   * until its handle has gone (Node sends handles one at a time, each after the last one's
   * acknowledgement), so a burst of connections can use up its files while the workers have room.
   */
  readonly #fileBudget = (readOpenFileLimit()?.soft ?? Number.POSITIVE_INFINITY) - RESERVED_FILES;
  /** What workers start with: the listen specs with their ports resolved. */
  #settings: ProxySettings | undefined;
  /** Dead workers' connections waiting for a worker to read them (none was up when they died). */
  readonly #orphans = new Set<number>();
  /** Connections handed over at each slot's last exit, for its `worker-exited` event. */
  readonly #handedOverAtExit: number[] = [];

  private constructor(options: ProcessPoolOptions) {
    super({ workers: options.workers, startTimeoutMs: options.timeoutMs ?? 15_000, stopTimeoutMs: options.timeoutMs ?? 5000 });
    this.#options = options;
  }

  static async start(options: ProcessPoolOptions): Promise<ProcessPoolSupervisor> {
    const supervisor = new ProcessPoolSupervisor(options);
    return supervisor.startOrClose(() => supervisor.#start());
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
          server.on('error', (error: Error) => this.#listenerError(`${protocol}:${streamSpec.host}:${streamSpec.port}`, error));
          resolve();
        });
      });
      const port = (server.address() as net.AddressInfo).port;
      listen = listen.map((spec) => (spec === streamSpec ? { ...spec, port } : spec));
    }
    // Each worker gets a second way beside IPC: a socketpair at WORKER_STREAM_FD for framed bytes.
    const stdio = ['inherit', 'inherit', 'inherit', 'ipc', 'pipe'];
    if (stdio[WORKER_STREAM_FD] !== 'pipe') throw new Error('the worker stream fd is not the pipe');
    cluster.setupPrimary({ exec: this.#options.workerExec ?? fileURLToPath(new URL('./worker-main.js', import.meta.url)), serialization: 'advanced', stdio });
    // Replacements bind the UDP spec exactly as the first workers did: node:cluster shares a bound
    // handle by address and port as written (port 0 included), so they get the same socket.
    this.#settings = { ...settings, listen };
    const ready = await this.startWorkers();
    const udpPort = ready.map((message) => (message.t === 'ready' ? message.udpPort : undefined))[0];
    const udpSpec = listen.find((spec) => spec.protocol === 'udp');
    for (const spec of listen) {
      const port = spec === udpSpec ? (udpPort ?? spec.port) : spec.port;
      this.listeners.push({ protocol: spec.protocol, host: advertisedHost(spec.host, settings.advertise), port });
    }
  }

  /**
   * An accept that failed: out of files (EMFILE, ENFILE), libuv has already closed the waiting
   * connection (it keeps a spare fd for that), so it is counted as refused. Reported at most once
   * a second, so a flood of connections at the limit is not a flood of log lines.
   */
  #listenerError(listener: string, error: Error): void {
    const code = (error as { code?: string }).code;
    if (code === 'EMFILE' || code === 'ENFILE') this.counters.connectionsRefused++;
    const now = Date.now();
    if (now - this.#lastListenerError < 1000) return;
    this.#lastListenerError = now;
    this.#options.onEvent?.({ kind: 'listener-error', listener, message: error.message });
  }

  protected override open(index: number, _replacement: boolean, handlers: ChannelHandlers<ToSupervisor, net.Socket>): ProcessChannel<ToWorker, ToSupervisor> {
    const config: WorkerConfig = { slot: index, origin: this.#nextOrigin++, workers: this.#options.workers, fdCache: this.#keepHandles ? this.#options.fdCache : 0, supervisorHandles: this.#options.supervisorHandles ?? 'keep', settings: this.#settings as ProxySettings };
    this.#owned[index] = new Set();
    const worker = cluster.fork({ SWITCHBOARD_WORKER: JSON.stringify(config), SWITCHBOARD_WORKER_STREAM_FD: String(WORKER_STREAM_FD) });
    const stream = worker.process.stdio?.[WORKER_STREAM_FD] as Duplex | null | undefined;
    return new ProcessChannel(worker, stream ?? undefined, codec, handlers);
  }

  get #keepHandles(): boolean {
    return (this.#options.supervisorHandles ?? 'keep') === 'keep';
  }

  protected override report(event: PoolEvent): void {
    const reported = processWorkerEvent(event);
    if (reported === undefined) return;
    this.#options.onEvent?.(reported.kind === 'worker-exited' ? { ...reported, connectionsHandedOver: this.#handedOverAtExit[reported.worker] ?? 0 } : reported);
  }

  protected override discard(handle: net.Socket | undefined): void {
    handle?.destroy();
  }

  #accept(socket: net.Socket, protocol: StreamProtocol): void {
    const slot = this.#pick();
    const max = this.#options.maxConnections;
    const full = (max !== undefined && this.#acceptedOpen >= max) || (!this.#keepHandles && this.#handlesInFlight() >= this.#fileBudget);
    if (slot === undefined || full) {
      if (slot !== undefined) this.counters.connectionsRefused++;
      socket.on('error', () => undefined);
      // A reset, not a FIN: the client learns at once, and no TIME_WAIT is left here.
      socket.resetAndDestroy();
      return;
    }
    socket.on('error', () => {
      // The owner reads the connection and reports its errors; this handle only keeps it.
    });
    const id = this.#nextId();
    const remoteKey = remoteKeyOf(socket.remoteAddress ?? '', socket.remotePort ?? 0);
    // A TLS handle is of no use here once the worker has done the handshake, and with handles
    // released a TCP one is not kept either: it is closed as soon as it is sent (keepOpen false),
    // so the connection lives and dies with its worker.
    const keep = protocol === 'tcp' && this.#keepHandles;
    this.#acceptedOpen++;
    this.#file(id, protocol, remoteKey, { socket: keep ? socket : undefined, owner: slot.index, accepted: true });
    this.send(slot, { t: 'adopt', id, protocol }, socket, keep);
  }

  /** Sends on the IPC channels not yet done (each may hold a handle). */
  #handlesInFlight(): number {
    return this.slots.reduce((sum, slot) => sum + slot.channel.pendingSends, 0);
  }

  #pick(): Slot | undefined {
    const ready = this.slots.filter((slot) => slot.ready && slot.channel.connected);
    if (ready.length === 0) return undefined;
    if (this.#options.assign === 'least-loaded') {
      const load = (slot: Slot): number => this.#owned[slot.index]?.size ?? 0;
      return ready.reduce((best, slot) => (load(slot) < load(best) ? slot : best));
    }
    return ready[this.#roundRobin++ % ready.length];
  }

  #file(id: number, protocol: StreamProtocol, remoteKey: string, entry: Entry): void {
    this.#table.add(id, protocol, remoteKey, entry);
    this.#owned[entry.owner]?.add(id);
  }

  #forget(id: number, except?: number): void {
    const entry = this.#table.remove(id);
    if (entry === undefined) return;
    this.#owned[entry.value.owner]?.delete(id);
    if (entry.value.accepted) this.#acceptedOpen--;
    entry.value.socket?.destroy();
    for (const waiter of entry.value.waiting ?? []) this.send(waiter.slot, { t: 'fd', request: waiter.request, id, found: false, ...ticketOf(waiter.ticket) });
    if (this.#options.fdCache > 0) for (const slot of this.slots) if (slot.index !== except) this.send(slot, { t: 'invalidate', id });
  }

  protected override onWorkerMessage(slot: Slot, message: ToSupervisor, handle: net.Socket | undefined): void {
    switch (message.t) {
      case 'fd-request': {
        this.counters.fdRequests++;
        const entry = message.id === undefined ? this.#table.lookup('tcp', message.remoteKey) : this.#table.get(message.id);
        const ticket = message.ticket ?? 0;
        if (entry !== undefined && entry.value.socket === undefined && entry.value.waiting !== undefined) {
          entry.value.waiting.push({ slot, request: message.request, bytes: message.bytes ?? undefined, wantsHandle: message.wantsHandle === true, ticket });
        } else if (entry?.value.socket === undefined) {
          this.counters.fdRequestsMissed++;
          this.send(slot, { t: 'fd', request: message.request, id: message.id ?? 0, found: false, ...ticketOf(ticket) });
        } else {
          this.#answerFd(slot, message.request, entry.id, entry.value.socket, message.bytes ?? undefined, message.wantsHandle === true, ticket);
        }
        break;
      }
      case 'relay':
        this.#relay(slot, message);
        break;
      case 'write-failed': {
        // A relayed write failed at its connection's owner: the worker that wrote it hears of it.
        const writer = this.slots[message.to];
        if (writer !== undefined) this.send(writer, { t: 'send-failed', ticket: message.ticket, message: message.message });
        break;
      }
      case 'opened': {
        // A TCP connection's handle follows on the IPC channel (`handle`); until it comes, fd
        // requests for it wait. With handles released none follows: writes are relayed.
        const awaiting = message.protocol === 'tcp' && this.#keepHandles;
        this.#file(message.id, message.protocol, message.remoteKey, { socket: undefined, owner: slot.index, accepted: false, ...(awaiting ? { waiting: [] } : {}) });
        const early = handle ?? this.#earlyHandles.take(message.id, slot.index);
        if (early !== undefined) this.#adoptHandle(slot, message.id, early);
        break;
      }
      case 'handle':
        if (handle !== undefined) this.#adoptHandle(slot, message.id, handle);
        break;
      case 'closed':
        this.#earlyHandles.drop(message.id);
        this.#forget(message.id, slot.index);
        break;
      case 'ended': {
        if (this.#table.unroute(message.id) === undefined) break;
        if (this.#options.fdCache > 0) for (const other of this.slots) if (other.index !== slot.index) this.send(other, { t: 'invalidate', id: message.id });
        break;
      }
      case 'alias':
        this.#table.alias(message.id, message.key);
        break;
      case 'hand-off': {
        this.counters.handOffsSent++;
        const target = this.slots[message.to];
        // No such worker (a bug in the sender): dropped, as before.
        if (target === undefined) break;
        if (target.ready && target.channel.connected) {
          this.send(target, { t: 'deliver', bytes: message.bytes, source: message.source });
          break;
        }
        // Its worker is dead (or its replacement not yet up), and its transactions with it: the
        // worker that read the message handles it as the replacement would, as one of no
        // transaction here (a response goes on statelessly by its next Via, RFC 3261 §16.7),
        // rather than it being dropped.
        this.counters.handOffsReturned++;
        this.send(slot, { t: 'deliver', bytes: message.bytes, source: message.source });
        break;
      }
      default:
        break;
    }
  }

  /** The handle of a connection `slot` opened: kept, and given to the fd requests that waited for it; dropped when the connection is gone by now. */
  #adoptHandle(slot: Slot, id: number, handle: net.Socket): void {
    const entry = this.#table.get(id);
    const waiting = entry?.value.waiting;
    if (entry === undefined && this.#keepHandles) {
      // Its `opened` (on the stream) has not come yet: kept until it does, not reading (the
      // worker reads the connection).
      borrowForWriting(handle);
      this.#earlyHandles.keep(id, slot.index, handle);
      return;
    }
    if (entry === undefined || entry.value.owner !== slot.index || waiting === undefined || !this.#keepHandles) {
      handle.destroy();
      return;
    }
    borrowForWriting(handle);
    entry.value.socket = handle;
    delete entry.value.waiting;
    for (const waiter of waiting) this.#answerFd(waiter.slot, waiter.request, id, handle, waiter.bytes, waiter.wantsHandle, waiter.ticket);
  }

  /** A write on connection `id` for `slot`: done here on this process's handle, the handle passed only when it can go at once (fd-answer.ts). */
  #answerFd(slot: Slot, request: number, id: number, socket: net.Socket, bytes: Uint8Array | undefined, wantsHandle: boolean, ticket: number): void {
    const failed = ticket === 0 ? undefined : (error: Error) => this.send(slot, { t: 'send-failed', ticket, message: error.message });
    const answer = answerFdRequest(socket, bytes, wantsHandle, slot.channel.pendingSends, failed);
    if (answer.written) this.counters.fdRequestsWritten++;
    if (answer.passHandle) this.send(slot, { t: 'fd', request, id, found: true, written: answer.written }, socket);
    else if (request !== 0) this.send(slot, { t: 'fd', request, id, found: true, written: answer.written });
  }

  /**
   * A write on a connection the asking worker does not own and cannot hold (TLS; TCP with handles
   * released): passed to the owner. By remote
   * address, a connection the asker owns itself is one it has stopped using (its peer sent a
   * FIN), so that counts as none, and the asker opens a new one.
   */
  #relay(slot: Slot, message: Extract<ToSupervisor, { t: 'relay' }>): void {
    const protocol = message.protocol;
    const entry = message.id === undefined ? this.#table.lookup(protocol, message.remoteKey) : this.#table.get(message.id);
    const id = entry?.id ?? message.id;
    const owner = entry === undefined ? undefined : this.slots[entry.value.owner];
    const usable = entry !== undefined && entry.protocol === protocol && owner !== undefined && owner.ready && !(message.id === undefined && owner === slot);
    if (!usable) {
      if (protocol === 'tls') this.counters.tlsRelaysMissed++;
      else this.counters.tcpRelaysMissed++;
      this.send(slot, { t: 'relayed', request: message.request, id: id ?? 0, protocol, found: false, ...ticketOf(message.ticket ?? 0) });
      return;
    }
    if (protocol === 'tls') this.counters.tlsRelaysSent++;
    else this.counters.tcpRelaysSent++;
    const ticket = message.ticket ?? 0;
    this.send(owner, { t: 'write', id: entry.id, protocol, bytes: message.bytes, ...(ticket === 0 ? {} : { from: slot.index, ticket }) });
    if (message.request !== 0) this.send(slot, { t: 'relayed', request: message.request, id: entry.id, protocol, found: true });
  }

  /**
   * A dead worker's connections: those the supervisor holds a handle of (TCP with handles kept)
   * are handed to the workers still up, spread as new connections are, or kept for the next
   * worker to say ready when none is up; the others (TLS: the session keys died with the worker;
   * TCP with handles released; an opened one whose handle had not arrived) are closed, so their
   * clients reconnect. Returns how many were closed. While the pool stops, all are closed.
   */
  protected override onExit(slot: Slot): number {
    const owned = [...(this.#owned[slot.index] ?? [])];
    this.#owned[slot.index]?.clear();
    let closed = 0;
    let handedOver = 0;
    for (const id of owned) {
      const entry = this.#table.get(id);
      if (entry === undefined) continue;
      if (entry.value.socket === undefined || this.stopping) {
        this.#forget(id);
        closed++;
        continue;
      }
      handedOver++;
      this.#handOver(id, entry.protocol, entry.value);
    }
    this.#handedOverAtExit[slot.index] = handedOver;
    this.counters.connectionsHandedOver += handedOver;
    this.counters.connectionsLostWithWorker += closed;
    return closed;
  }

  /** Gives a dead worker's connection (its supervisor handle) to a worker that is up, or keeps it for the next one. */
  #handOver(id: number, protocol: StreamProtocol, entry: Entry): void {
    const to = this.#pick();
    if (to === undefined) {
      this.#orphans.add(id);
      return;
    }
    entry.owner = to.index;
    this.#owned[to.index]?.add(id);
    // The new reader may hold a cached copy of it (it wrote on it before): its own is enough now.
    if (this.#options.fdCache > 0) this.send(to, { t: 'invalidate', id });
    // Its aliases (Via sent-bys it was reached by) go with it, so its new reader finds it by them too.
    const aliases = [...(this.#table.get(id)?.aliases ?? [])];
    this.send(to, { t: 'adopt', id, protocol, ...(aliases.length > 0 ? { aliases } : {}) }, entry.socket, true);
  }

  /** A worker said ready: connections of dead workers that waited for one go to it (and the rest of the pool). */
  protected override onReady(_slot: Slot, _message: ToSupervisor): void {
    const orphans = [...this.#orphans];
    this.#orphans.clear();
    for (const id of orphans) {
      const entry = this.#table.get(id);
      if (entry !== undefined && entry.value.socket !== undefined) this.#handOver(id, entry.protocol, entry.value);
    }
  }

  /** Every worker's counters, plus the supervisor's own (worker `supervisor`). */
  async stats(timeoutMs = 2000): Promise<WorkerStats[]> {
    return this.statsWithOwn('supervisor', timeoutMs, () => {
      let tlsConnections = 0;
      for (const entry of this.#table.values()) if (entry.protocol === 'tls') tlsConnections++;
      return {
        tcpConnections: this.#table.size - tlsConnections,
        tlsConnections,
        supervisorQueueDepth: this.slots.reduce((sum, slot) => sum + slot.channel.pendingSends, 0),
        supervisorConnections: this.#table.size,
      };
    });
  }

  /** Process ids of the workers now running, by slot. */
  get workerPids(): number[] {
    return this.slots.map((slot) => slot.channel.id);
  }

  /** First step of a stop: no new connections, and from now on no worker is replaced. */
  stopAccepting(): void {
    this.stopReplacing();
    for (const server of this.#servers) server.close();
  }

  override async close(): Promise<void> {
    this.stopAccepting();
    await this.stopWorkers();
    for (const entry of this.#table.values()) entry.value.socket?.destroy();
    this.#table.clear();
    this.#orphans.clear();
    this.#earlyHandles.clear();
    this.#acceptedOpen = 0;
  }
}
