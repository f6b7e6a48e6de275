import type { TransactionRecord, TransactionStore } from './transaction-store.js';

export interface LeaseKeeperOptions {
  readonly store: TransactionStore;
  /** This worker's owner id. */
  readonly owner: string;
  /** How long a lease lasts from each renewal: a dead worker's transactions are adopted this long after its last tick at most. */
  readonly leaseMs: number;
  /**
   * A transaction this worker has just adopted (its lease is now ours): re-arm its timers from
   * `record.timers` (absolute deadlines). Called once per adoption.
   */
  readonly adopt: (record: TransactionRecord) => void;
  /** Transactions adopted per tick at most (64 by default). */
  readonly batch?: number;
}

/** What one tick did. */
export interface LeaseTick {
  readonly renewed: number;
  /** Held keys whose lease another worker took (after it lapsed) or whose record is gone: dropped, their timers must not fire here. */
  readonly lost: string[];
  readonly adopted: string[];
}

/**
 * Keeps one worker's transaction leases (issue 16, step 3 groundwork): renews the leases of the
 * transactions it holds, drops those it lost, and adopts transactions whose lease lapsed (their
 * worker died, or released them) through acquireLease, whose compare-and-set lets exactly one of
 * several racing survivors win each. A worker calls `tick` more often than `leaseMs` (a third of
 * it, say); a worker that stops ticking loses its transactions `leaseMs` after its last tick.
 * Every store call is one round trip; the renewals are one per held transaction per tick.
 */
export class LeaseKeeper {
  readonly #options: LeaseKeeperOptions;
  readonly #held = new Set<string>();

  constructor(options: LeaseKeeperOptions) {
    this.#options = options;
  }

  /** Keys whose lease this worker holds. */
  get held(): ReadonlySet<string> {
    return this.#held;
  }

  /** The lease this worker writes when it creates a transaction at `now`. */
  leaseFrom(now: number): { owner: string; until: number } {
    return { owner: this.#options.owner, until: now + this.#options.leaseMs };
  }

  /** A transaction created with this worker's lease (see `leaseFrom`). */
  hold(key: string): void {
    this.#held.add(key);
  }

  /** A transaction this worker ended or released. */
  drop(key: string): void {
    this.#held.delete(key);
  }

  /** Renews what it holds, then adopts what lapsed; rejects when the store does (nothing is dropped then). */
  async tick(now: number): Promise<LeaseTick> {
    const { renewed, lost } = await this.renew(now);
    const adopted = await this.adopt(now);
    return { renewed, lost, adopted };
  }

  /** The renewal half of `tick`: renews what it holds and drops what it lost. */
  async renew(now: number): Promise<{ renewed: number; lost: string[] }> {
    const { store, owner, leaseMs } = this.#options;
    const until = now + leaseMs;
    const held = [...this.#held];
    const renewals = await Promise.all(held.map((key) => store.renewLease(key, owner, until)));
    const lost: string[] = [];
    renewals.forEach((outcome, i) => {
      if (outcome.ok) return;
      const key = held[i] as string;
      lost.push(key);
      this.#held.delete(key);
    });
    return { renewed: held.length - lost.length, lost };
  }

  /** The adoption half of `tick`: acquires lapsed leases (up to `batch`), handing each adopted record to `adopt`. */
  async adopt(now: number): Promise<string[]> {
    const { store, owner, leaseMs } = this.#options;
    const until = now + leaseMs;
    const adopted: string[] = [];
    const candidates = (await store.expiredLeases(now, this.#options.batch ?? 64)).filter((key) => !this.#held.has(key));
    const acquired = await Promise.all(candidates.map((key) => store.acquireLease(key, owner, until, now)));
    acquired.forEach((outcome) => {
      if (!outcome.ok || outcome.record === undefined) return;
      this.#held.add(outcome.record.key);
      adopted.push(outcome.record.key);
      this.#options.adopt(outcome.record);
    });
    return adopted;
  }

  /**
   * Takes over the leases `from` holds, lapsed or not (its worker died): acquired with
   * `acquireLease(..., from)`, so of several survivors told of the death exactly one takes each,
   * and one that `from` no longer holds (another survivor's now) is left alone. Up to `limit`
   * listed per call (`listed`): the caller calls again while a call lists that many. Nothing when
   * the store cannot list by owner (`leasesHeldBy`): the leases are then adopted when they lapse.
   */
  async takeOver(from: string, now: number, limit = this.batch): Promise<{ listed: number; taken: string[] }> {
    const { store, owner, leaseMs } = this.#options;
    if (store.leasesHeldBy === undefined || from === owner) return { listed: 0, taken: [] };
    const until = now + leaseMs;
    const candidates = await store.leasesHeldBy(from, limit);
    const acquired = await Promise.all(candidates.map((key) => store.acquireLease(key, owner, until, now, from)));
    const taken: string[] = [];
    acquired.forEach((outcome) => {
      if (!outcome.ok || outcome.record === undefined) return;
      this.#held.add(outcome.record.key);
      taken.push(outcome.record.key);
      this.#options.adopt(outcome.record);
    });
    return { listed: candidates.length, taken };
  }

  /** Transactions adopted per call of `adopt` or `takeOver` at most. */
  get batch(): number {
    return this.#options.batch ?? 64;
  }
}
