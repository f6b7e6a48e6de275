import { LeaseKeeper } from '../transaction/lease-keeper.js';
import type { TransactionRecord, TransactionStore } from '../transaction/transaction-store.js';
import { reportInternalError } from './internal-errors.js';
import type { ProxyCounters } from './proxy-counters.js';

/** Default lease length and tick (ms): a dead worker's transactions are adopted within about their sum. */
export const DEFAULT_TRANSACTION_LEASE_MS = 3000;
export const DEFAULT_TRANSACTION_LEASE_TICK_MS = 1000;

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
  readonly counters: ProxyCounters;
}

/**
 * `--transactions shared`: one worker's lease ticker over LeaseKeeper. Every `tickMs` it renews
 * the leases of the transactions the worker holds (`transaction_leases_renewed`; those another
 * worker took are `lost`) and, apart, so that a slow search or adoption never holds back a
 * renewal, acquires lapsed leases and hands the records to the core (`transactions_adopted`).
 * Never throws to the event loop: a round the store fails is counted
 * (`transaction_lease_failures`) and the next one tries again.
 */
export class LeaseTicker {
  readonly #options: LeaseTickerOptions;
  readonly #keeper: LeaseKeeper;
  #handlers: LeaseHandlers | undefined;
  #timer: NodeJS.Timeout | undefined;
  #renewing = false;
  #searching = false;
  /** Records acquired by the search in progress. */
  #acquired: TransactionRecord[] = [];
  /** The adoptions the last search started. */
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
    this.#timer = setInterval(() => void this.tick(), this.#options.tickMs);
    this.#timer.unref?.();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One round now (the timer's; tests call it directly). Never rejects. */
  async tick(now = Date.now()): Promise<void> {
    await Promise.all([this.#renew(now), this.#search(now)]);
  }

  /** Settles when the adoptions started by the last round have run (tests). */
  adoptions(): Promise<void> {
    return this.#adopting;
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

  async #search(now: number): Promise<void> {
    if (this.#searching) return;
    this.#searching = true;
    this.#acquired = [];
    try {
      await this.#keeper.adopt(now);
      // Parents first (the core runs them at once), so each client transaction finds its server
      // one here; the client ones (a store read each) are not awaited by the round.
      const servers = this.#acquired.filter((record) => record.side === 'server');
      const clients = this.#acquired.filter((record) => record.side !== 'server');
      const running = servers.map((record) => this.#run(record));
      this.#adopting = Promise.all([...running, ...clients.map((record) => this.#run(record))]).then(() => undefined);
    } catch {
      this.#options.counters.transactionLeaseFailures++;
    } finally {
      this.#acquired = [];
      this.#searching = false;
    }
  }

  /** Runs one acquired record through the core, or gives its lease up again when the core cannot. */
  async #run(record: TransactionRecord): Promise<void> {
    let kept: boolean;
    try {
      kept = (await this.#handlers?.adopted(record, Date.now())) ?? false;
    } catch (error) {
      reportInternalError(this.#options.counters, error);
      kept = false;
    }
    if (kept) {
      this.#options.counters.transactionsAdopted++;
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
