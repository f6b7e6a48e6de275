import { EventLoopHealth } from '../event-loop-health.js';
import type { InternalErrorRecord } from '../internal-error-reports.js';
import { reviveStartFailure, WorkerError } from '../worker-error.js';
import { LatencyHistogram, newModelCounters, type WorkerStats } from '../worker-stats.js';
import type { Channel, ChannelHandlers, LifecycleToPool } from './channel.js';
import { PendingRequests } from './pending-requests.js';

export interface WorkerPoolOptions {
  readonly workers: number;
  /** How long a worker may take to say ready (default 15 s); one that does not is killed. */
  readonly startTimeoutMs?: number;
  /** How long a worker may take to stop when told (default 5 s) before it is killed. */
  readonly stopTimeoutMs?: number;
}

/** What the pool saw; each pool reports it in its own words (SupervisorEvent, ThreadPoolEvent). */
export type PoolEvent =
  | { readonly kind: 'started'; readonly worker: number; readonly id: number }
  /**
   * `expected`: the pool was stopping (it is not replaced); otherwise it died and is replaced
   * after `restartInMs` (0, or longer after replacements in a row that failed to start).
   */
  | { readonly kind: 'exited'; readonly worker: number; readonly id: number; readonly code: number | null; readonly signal: string | null; readonly connectionsClosed: number; readonly expected: boolean; readonly restartInMs?: number }
  | { readonly kind: 'ipc-error'; readonly worker: number; readonly message: string }
  | { readonly kind: 'crashed'; readonly worker: number; readonly message: string }
  /** A bug a worker's core caught and counted (`internal_errors`), passed on for the log. */
  | { readonly kind: 'internal-error'; readonly worker: number; readonly error: InternalErrorRecord };

/** Delay before replacing a worker after `failures` replacements in a row failed to start. */
export function restartDelayMs(failures: number): number {
  return failures === 0 ? 0 : Math.min(250 * 2 ** (failures - 1), 10_000);
}

export interface PoolSlot<Out, Attachment> {
  readonly index: number;
  readonly channel: Channel<Out, Attachment>;
  ready: boolean;
  /** Whether this worker ever said ready (a replacement that did not is a failed start). */
  started: boolean;
  /** Whether its process or thread has exited. */
  exited: boolean;
  /** Its lease owner id, as its ready message told (`--transactions shared`). */
  owner?: string;
}

/** Dead workers' lease owner ids the pool remembers, to tell the workers that start after them. */
const DEAD_OWNERS_KEPT = 8;

/** A lease owner id from a ready message, when it carries a plausible one. */
function ownerIn(message: unknown): string | undefined {
  const owner = (message as { readonly owner?: unknown }).owner;
  return typeof owner === 'string' && owner.length > 0 && owner.length <= 200 ? owner : undefined;
}

type StatsWaiter = { readonly stats: WorkerStats[]; readonly expected: number; readonly resolve: (stats: WorkerStats[]) => void };

/**
 * The lifecycle every worker pool shares, written once over a Channel (after undici's pool-base
 * and piscina's worker_pool/base): workers started in slots, the ready handshake with its time
 * limit (a worker that never says ready is killed), start failures as coded errors, stats
 * gathered by request number from the workers that are up, a dead worker replaced in its slot
 * (after 250 ms doubling to 10 s when replacements in a row fail to start), none replaced once
 * the pool is stopping, and close. A pool adds what its model is: how a worker is opened and
 * what its other messages mean.
 */
export abstract class WorkerPool<Out extends { readonly t: string }, In extends { readonly t: string }, Attachment> {
  readonly #pool: WorkerPoolOptions;
  readonly #slots: Array<PoolSlot<Out, Attachment>> = [];
  readonly #failedStarts: number[] = [];
  readonly #restartTimers = new Set<NodeJS.Timeout>();
  readonly #stats = new PendingRequests<StatsWaiter>();
  readonly #exitWaiters = new Map<PoolSlot<Out, Attachment>, () => void>();
  /** Lease owner ids of the last workers that died, newest last. */
  readonly #deadOwners: string[] = [];
  /** Model counters of the pool's own process (ipc errors are counted here). */
  protected readonly counters = newModelCounters();
  /** The pool's own event loop (the supervisor's, the I/O process's, the thread-pool's main thread), from its workers' start to their stop. */
  readonly #health = new EventLoopHealth(this.counters);
  #running = false;
  #stopping = false;
  #restarts = 0;

  protected constructor(options: WorkerPoolOptions) {
    this.#pool = options;
  }

  /** Starts a worker in `slot` (`replacement`: one that died is being replaced). */
  protected abstract open(slot: number, replacement: boolean, handlers: ChannelHandlers<In, Attachment>): Channel<Out, Attachment>;
  /** A message that is not part of the lifecycle. */
  protected abstract onWorkerMessage(slot: PoolSlot<Out, Attachment>, message: In, attachment: Attachment | undefined): void;
  protected abstract report(event: PoolEvent): void;
  /** A worker's ready message: for the pool to read what it carries (a bound port, say). */
  protected onReady(_slot: PoolSlot<Out, Attachment>, _message: In): void {}
  /** A worker is gone (before it is replaced): for the pool to drop what it held; returns how many connections that closed. */
  protected onExit(_slot: PoolSlot<Out, Attachment>): number {
    return 0;
  }
  /** A message that came in a slot's attachment is of no use (dropped unread): close it. */
  protected discard(_attachment: Attachment | undefined): void {}

  protected get slots(): ReadonlyArray<PoolSlot<Out, Attachment>> {
    return this.#slots;
  }

  protected get stopping(): boolean {
    return this.#stopping;
  }

  /** Replacements started since the pool started. */
  protected get restarts(): number {
    return this.#restarts;
  }

  /** Runs the pool's start; when it fails, closes what had started and rethrows. */
  protected async startOrClose(start: () => Promise<void>): Promise<this> {
    try {
      await start();
    } catch (error) {
      await this.close();
      throw error;
    }
    return this;
  }

  abstract close(): Promise<void>;

  /**
   * Every worker's stats (see gatherStats), then the pool's own process as worker `name`: its model
   * counters, replacements made, and what `own` adds.
   */
  protected async statsWithOwn(name: string, timeoutMs: number, own: () => Partial<WorkerStats> = () => ({})): Promise<WorkerStats[]> {
    const gathered = await this.gatherStats(timeoutMs);
    const empty = new LatencyHistogram().snapshot();
    const pool: WorkerStats = { worker: name, pid: process.pid, core: undefined, transport: undefined, model: { ...this.counters }, transactions: 0, tcpConnections: 0, tlsConnections: 0, ipcRoundTrip: empty, storeLatency: empty, workerRestarts: this.#restarts, ...own() };
    return [...gathered, pool];
  }

  /** Starts every worker and waits for each to be ready; the pool is then running. */
  protected async startWorkers(): Promise<In[]> {
    this.#health.start();
    const ready: Array<Promise<In>> = [];
    for (let index = 0; index < this.#pool.workers; index++) ready.push(this.#start(index, false));
    const messages = await Promise.all(ready);
    this.#running = true;
    return messages;
  }

  #start(index: number, replacement: boolean): Promise<In> {
    const limit = this.#pool.startTimeoutMs ?? 15_000;
    return new Promise<In>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const handlers: ChannelHandlers<In, Attachment> = {
        message: (message, attachment) => {
          const lifecycle = message as unknown as LifecycleToPool;
          if (lifecycle.t === 'ready') {
            clearTimeout(timer);
            slot.ready = true;
            slot.started = true;
            this.#failedStarts[index] = 0;
            slot.owner = ownerIn(message);
            // A replacement hears of the deaths before it too: it takes over what nobody did.
            for (const owner of this.#deadOwners) channel.send({ t: 'worker-died', owner });
            this.onReady(slot, message);
            this.report({ kind: 'started', worker: index, id: channel.id });
            resolve(message);
          } else if (lifecycle.t === 'start-failed') {
            clearTimeout(timer);
            reject(reviveStartFailure(lifecycle.error));
          } else if (lifecycle.t === 'stats') {
            this.#statsArrived(lifecycle.request, lifecycle.stats);
          } else if (lifecycle.t === 'internal-error') {
            this.report({ kind: 'internal-error', worker: index, error: lifecycle.error });
          } else {
            try {
              this.onWorkerMessage(slot, message, attachment);
            } catch (error) {
              this.discard(attachment);
              this.ipcError(index, `${message.t}: ${(error as Error).message}`);
            }
          }
        },
        ipcError: (message) => this.ipcError(index, message),
        crashed: (error) => {
          this.report({ kind: 'crashed', worker: index, message: error.message });
          if (!slot.ready) reject(new WorkerError('ERR_SWITCHBOARD_WORKER_START', `worker ${index} failed during start-up: ${error.message}`));
        },
        exit: (code, signal) => {
          clearTimeout(timer);
          slot.exited = true;
          this.#exitWaiters.get(slot)?.();
          if (!slot.ready) reject(new WorkerError('ERR_SWITCHBOARD_WORKER_START', `worker ${index} exited during start-up (code ${code}, signal ${signal})`));
          this.#exited(slot, code, signal);
        },
      };
      const channel = this.open(index, replacement, handlers);
      const slot: PoolSlot<Out, Attachment> = { index, channel, ready: false, started: false, exited: false };
      this.#slots[index] = slot;
      timer = setTimeout(() => {
        reject(new WorkerError('ERR_SWITCHBOARD_WORKER_START', `worker ${index} did not start within ${limit} ms`));
        // Not left half-started: its exit replaces it (or, at start-up, the start has failed).
        channel.kill();
      }, limit);
    });
  }

  /** A message that could not be read, acted on or sent: counted, and reported for the log. */
  protected ipcError(worker: number, message: string): void {
    this.counters.ipcErrors++;
    this.report({ kind: 'ipc-error', worker, message });
  }

  /** Sends to a worker that is up; a message for one that is not is dropped (a handle closed unless kept). */
  protected send(slot: PoolSlot<Out, Attachment>, message: Out, attachment?: Attachment, keepOpen = true): void {
    if (!slot.ready || !slot.channel.connected) {
      if (!keepOpen) this.discard(attachment);
      return;
    }
    slot.channel.send(message, attachment, keepOpen);
  }

  #exited(slot: PoolSlot<Out, Attachment>, code: number | null, signal: string | null): void {
    if (this.#slots[slot.index] !== slot) return;
    slot.ready = false;
    const connectionsClosed = this.onExit(slot);
    const expected = this.#stopping;
    if (!expected && this.#running) this.#tellDeath(slot);
    const exited = { kind: 'exited', worker: slot.index, id: slot.channel.id, code, signal, connectionsClosed, expected } as const;
    // A worker dying while the pool stops (a signal sent to the whole process group, say) is not
    // replaced: the pool is stopping it anyway. Nor is one of the first workers.
    if (expected || !this.#running) {
      this.report(exited);
      return;
    }
    // A replacement that cannot start (Redis down, say) is tried again later and later, not in a
    // tight loop.
    const failures = slot.started ? 0 : (this.#failedStarts[slot.index] ?? 0) + 1;
    this.#failedStarts[slot.index] = failures;
    const delay = restartDelayMs(failures);
    this.report({ ...exited, restartInMs: delay });
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer);
      if (this.#stopping) return;
      this.#restarts++;
      this.#start(slot.index, true).catch((error: Error) => this.report({ kind: 'ipc-error', worker: slot.index, message: `replacement failed: ${error.message}` }));
    }, delay);
    this.#restartTimers.add(timer);
  }

  /**
   * A worker died (`--transactions shared`): every worker that is up is told its lease owner id, so
   * it takes over the dead one's transactions at once (LeaseTicker.ownerDied) instead of waiting
   * for their leases to lapse; of several survivors exactly one takes each. Remembered for the
   * workers that start later (its replacement).
   */
  #tellDeath(dead: PoolSlot<Out, Attachment>): void {
    const owner = dead.owner;
    if (owner === undefined) return;
    this.#deadOwners.push(owner);
    if (this.#deadOwners.length > DEAD_OWNERS_KEPT) this.#deadOwners.shift();
    for (const slot of this.#slots) {
      if (slot !== dead && slot.ready && slot.channel.connected) slot.channel.send({ t: 'worker-died', owner });
    }
  }

  /** Every worker's stats, from the workers that are up, by slot; those that do not answer in time are left out. */
  protected async gatherStats(timeoutMs: number): Promise<WorkerStats[]> {
    const ready = this.#slots.filter((slot) => slot.ready);
    let request = 0;
    const gathered = await new Promise<WorkerStats[]>((resolve) => {
      const waiter: StatsWaiter = { stats: [], expected: ready.length, resolve };
      request = this.#stats.open(undefined, waiter) as number;
      setTimeout(() => resolve(waiter.stats), timeoutMs).unref();
      if (ready.length === 0) resolve([]);
      for (const slot of ready) slot.channel.send({ t: 'stats-request', request });
    });
    this.#stats.settle(request);
    return gathered.sort((a, b) => Number(a.worker) - Number(b.worker));
  }

  #statsArrived(request: number, stats: WorkerStats): void {
    const waiter = this.#stats.get(request)?.items[0];
    if (waiter === undefined) return;
    waiter.stats.push(stats);
    if (waiter.stats.length === waiter.expected) waiter.resolve(waiter.stats);
  }

  /** From now on no worker is replaced (the first step of a stop). */
  protected stopReplacing(): void {
    this.#stopping = true;
    for (const timer of this.#restartTimers) clearTimeout(timer);
    this.#restartTimers.clear();
  }

  /** Tells every worker to stop and waits for each to exit; one that does not in time is killed. */
  protected async stopWorkers(): Promise<void> {
    this.stopReplacing();
    this.#health.stop();
    const limit = this.#pool.stopTimeoutMs ?? 5000;
    await Promise.all(
      this.#slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            if (slot.exited) {
              resolve();
              return;
            }
            const timer = setTimeout(() => slot.channel.kill(), limit);
            this.#exitWaiters.set(slot, () => {
              this.#exitWaiters.delete(slot);
              clearTimeout(timer);
              resolve();
            });
            if (slot.ready && slot.channel.connected) slot.channel.send({ t: 'stop' });
            else slot.channel.kill();
          }),
      ),
    );
  }
}
