import { LeaseKeeper } from '../transaction/lease-keeper.js';
import type { TransactionRecord, TransactionStore } from '../transaction/transaction-store.js';
import { reportInternalError } from './internal-errors.js';
import type { ProxyCounters } from './proxy-counters.js';

/** Default lease length and tick (ms): a dead worker's transactions are adopted within about their sum. */
export const DEFAULT_TRANSACTION_LEASE_MS = 3000;
export const DEFAULT_TRANSACTION_LEASE_TICK_MS = 1000;
/**
 * Default period of the slow search for lapsed leases (`--transaction-adoption-sweep-ms`), in lease
 * ticks: 10 (10 s with the default tick). Siblings that die are taken over at their death notice;
 * the sweep is for what no notice covers: another instance's workers on the same store, a worker
 * stalled past its lease, a notice missed. 10 s puts such an adoption within lease + sweep = 13 s
 * of the last renewal, well inside timer B/F (64*T1 = 32 s), so an adopted INVITE still completes
 * or times out on time; in Redis it is 256 scripts per worker per 10 s instead of per second.
 */
export const DEFAULT_TRANSACTION_ADOPTION_SWEEP_TICKS = 10;
/** Dead owners' leases listed per takeover round at most (rounds repeat while one is full). */
const TAKEOVER_BATCH = 512;

/** What the lease ticker tells the proxy core (TransactionAdoption). */
export interface LeaseHandlers {
  /**
   * A transaction this worker has just adopted (its lease is ours now): run it from its record.
   * Server transactions come first in each tick, then client ones. False (or a promise of it)
   * when it cannot run here (a client transaction whose parent is not here): the lease is given
   * up again.
   */
  adopted(record: TransactionRecord, now: number): boolean | Promise<boolean>;
  /** A transaction whose lease another worker took: stop its timers here, write nothing. */
  lost(key: string): void;
}

export interface LeaseTickerOptions {
  readonly store: TransactionStore;
  readonly owner: string;
  readonly leaseMs: number;
  readonly tickMs: number;
  /** Period of the search for lapsed leases (DEFAULT_TRANSACTION_ADOPTION_SWEEP_TICKS ticks when absent). */
  readonly sweepMs?: number;
  readonly counters: ProxyCounters;
}

/**
 * `--transactions shared`: one worker's lease ticker over LeaseKeeper. Every `tickMs` it renews
 * the leases of the transactions the worker holds (`transaction_leases_renewed`; those another
 * worker took are `lost`). Adoption is searched when it can be needed, not every tick:
 * - at a death notice (`ownerDied`: the pool saw a sibling exit), the dead owner's leases are
 *   taken over at once, lapsed or not (`transactions_taken_over`), where the store lists leases
 *   by owner; then, for a lease and two ticks, every tick also searches for lapsed leases (what a
 *   sibling survivor took and gave back, what the dead worker wrote as it died);
 * - every `sweepMs` (the first after a random half to whole of it, so workers do not sweep
 *   together), a search for lapsed leases of any owner (another instance's, a stalled worker's).
 * Searches never hold back a renewal, run one at a time, and hand the acquired records to the core
 * (`transactions_adopted`). Never throws to the event loop: a round the store fails is counted
 * (`transaction_lease_failures`) and the next one tries again.
 */
export class LeaseTicker {
  readonly #options: LeaseTickerOptions;
  readonly #keeper: LeaseKeeper;
  #handlers: LeaseHandlers | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #renewing = false;
  #searching = false;
  /** Until when (ms) each renewal tick also searches for lapsed leases (after a death notice). */
  #searchEveryTickUntil = 0;
  /** Dead owners told of and not yet taken over, in order. */
  readonly #deaths: string[] = [];
  /** Records acquired by the search in progress. */
  #acquired: TransactionRecord[] = [];
  /** The adoptions the searches started. */
  #adopting: Promise<void> = Promise.resolve();

  constructor(options: LeaseTickerOptions) {
    this.#options = options;
    this.#keeper = new LeaseKeeper({ store: options.store, owner: options.owner, leaseMs: options.leaseMs, adopt: (record) => this.#acquired.push(record) });
  }

  /** Keys whose lease this worker holds. */
  get held(): ReadonlySet<string> {
    return this.#keeper.held;
  }

  /** A transaction created (or written) with this worker's lease: renewed from now on. */
  hold(key: string): void {
    this.#keeper.hold(key);
  }

  /** A transaction that ended, or that no longer needs renewing (it only lingers). */
  drop(key: string): void {
    this.#keeper.drop(key);
  }

  start(handlers: LeaseHandlers): void {
    this.#handlers = handlers;
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.#tickRound(Date.now()), this.#options.tickMs);
    this.#timer.unref?.();
    const sweepMs = this.#options.sweepMs ?? DEFAULT_TRANSACTION_ADOPTION_SWEEP_TICKS * this.#options.tickMs;
    this.#sweepTimer = setTimeout(() => {
      void this.#search(Date.now());
      this.#sweepTimer = setInterval(() => void this.#search(Date.now()), sweepMs);
      this.#sweepTimer.unref?.();
    }, Math.floor(sweepMs / 2 + (Math.random() * sweepMs) / 2));
    this.#sweepTimer.unref?.();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#timer = undefined;
    this.#sweepTimer = undefined;
  }

  /** One renewal and one search now (tests call it directly; the timers run them apart). Never rejects. */
  async tick(now = Date.now()): Promise<void> {
    await Promise.all([this.#renew(now), this.#search(now)]);
  }

  /**
   * The worker whose lease owner id is `owner` died (the pool saw its process or thread exit): its
   * leases are taken over now, and lapsed leases are searched every tick for a while. Resolves once
   * the takeover ran (its adoptions: `adoptions`); never rejects.
   */
  async ownerDied(owner: string, now = Date.now()): Promise<void> {
    if (owner === this.#options.owner) return;
    this.#options.counters.transactionOwnerDeaths++;
    this.#searchEveryTickUntil = Math.max(this.#searchEveryTickUntil, now + this.#options.leaseMs + 2 * this.#options.tickMs);
    this.#deaths.push(owner);
    if (this.#searching) return; // the search in progress takes it over as it ends
    this.#searching = true;
    try {
      await this.#takeOvers();
    } finally {
      this.#searching = false;
    }
  }

  /** Settles when the adoptions started by the searches so far have run (tests). */
  adoptions(): Promise<void> {
    return this.#adopting;
  }

  /** The renewal timer's round: a renewal, and a search too for a while after a death notice. */
  async #tickRound(now: number): Promise<void> {
    await Promise.all([this.#renew(now), now < this.#searchEveryTickUntil ? this.#search(now) : undefined]);
  }

  async #renew(now: number): Promise<void> {
    if (this.#renewing) return;
    this.#renewing = true;
    const counters = this.#options.counters;
    try {
      const result = await this.#keeper.renew(now);
      counters.transactionLeasesRenewed += result.renewed;
      counters.transactionLeasesLost += result.lost.length;
      for (const key of result.lost) this.#guard(() => this.#handlers?.lost(key));
    } catch {
      counters.transactionLeaseFailures++;
    } finally {
      this.#renewing = false;
    }
  }

  /** A search for lapsed leases (`transaction_adoption_searches`), then any takeover told of meanwhile. */
  async #search(now: number): Promise<void> {
    if (this.#searching) return;
    this.#searching = true;
    try {
      this.#options.counters.transactionAdoptionSearches++;
      await this.#round(async () => {
        await this.#keeper.adopt(now);
      }, false);
      await this.#takeOvers();
    } finally {
      this.#searching = false;
    }
  }

  /** Takes over the leases of every dead owner told of, a full round after another, until none is left. */
  async #takeOvers(): Promise<void> {
    for (let from = this.#deaths.shift(); from !== undefined; from = this.#deaths.shift()) {
      const dead = from;
      let listed = 0;
      for (let rounds = 0; rounds < 1000; rounds++) {
        listed = 0;
        await this.#round(async () => {
          listed = (await this.#keeper.takeOver(dead, Date.now(), TAKEOVER_BATCH)).listed;
        }, true);
        if (listed < TAKEOVER_BATCH) break;
      }
    }
  }

  /**
   * One acquisition round (`acquire` fills #acquired through the keeper) and the adoptions of what
   * it acquired: parents first (the core runs them at once), so each client transaction finds its
   * server one here; the client ones (a store read each) are not awaited by the round.
   */
  async #round(acquire: () => Promise<void>, takenOver: boolean): Promise<void> {
    this.#acquired = [];
    try {
      await acquire();
      const servers = this.#acquired.filter((record) => record.side === 'server');
      const clients = this.#acquired.filter((record) => record.side !== 'server');
      const running = servers.map((record) => this.#run(record, takenOver));
      const started = Promise.all([...running, ...clients.map((record) => this.#run(record, takenOver))]);
      this.#adopting = Promise.all([this.#adopting, started]).then(() => undefined);
    } catch {
      this.#options.counters.transactionLeaseFailures++;
    } finally {
      this.#acquired = [];
    }
  }

  /** Runs one acquired record through the core, or gives its lease up again when the core cannot. */
  async #run(record: TransactionRecord, takenOver: boolean): Promise<void> {
    let kept: boolean;
    try {
      kept = (await this.#handlers?.adopted(record, Date.now())) ?? false;
    } catch (error) {
      reportInternalError(this.#options.counters, error);
      kept = false;
    }
    if (kept) {
      this.#options.counters.transactionsAdopted++;
      if (takenOver) this.#options.counters.transactionsTakenOver++;
      return;
    }
    this.#keeper.drop(record.key);
    await this.#options.store.releaseLease(record.key, this.#options.owner).catch(() => undefined);
  }

  #guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      reportInternalError(this.#options.counters, error);
    }
  }
}
