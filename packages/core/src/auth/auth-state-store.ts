/**
 * The state digest authentication shares between workers: the highest nonce count accepted per
 * nonce (replay protection) and failed attempts per source (the brute-force guard). Nonces
 * themselves need no state (see NonceMint).
 *
 * Failure contract, as for LocationStore: a method that rejects means "the store is unavailable
 * now"; the proxy answers 503 with Retry-After and tries again on the next request. Stores must
 * fail within a bounded time and recover by themselves.
 */
export interface AuthStateStore {
  /**
   * Accepts nonce count `nc` for `nonce` when it is higher than every count accepted for it
   * before, and records it until `expiresAt` (ms since the epoch); returns false for a replay
   * (`nc` not above the highest seen). Atomic across every worker sharing the store: of two
   * requests with the same nonce and count, exactly one is accepted.
   */
  acceptNonceCount(nonce: string, nc: number, expiresAt: number): Promise<boolean>;
  /**
   * Takes an attempt slot for `source`, atomically across every worker sharing the store: when
   * fewer than `maxFailures` failures are counted in the window running at `now`, counts one more
   * (starting a window of `windowMs` when none runs) and grants the attempt; otherwise refuses it.
   * The check happens after the slot is taken, so attempts in flight at once (a burst in one TCP
   * write, workers racing) can never get more than `maxFailures` checks. An attempt that turns
   * out not to be a failure gives its slot back with `releaseAttempt`.
   */
  tryAttempt(source: string, now: number, windowMs: number, maxFailures: number): Promise<AttemptSlot>;
  /** Gives back a slot `tryAttempt` granted (the attempt succeeded); the window keeps running. */
  releaseAttempt(source: string, now: number): Promise<void>;
  /** Failures from `source` in the window running at `now` (0 when none or the window has ended). */
  failures(source: string, now: number): Promise<number>;
  close(): Promise<void>;
}

/** What `tryAttempt` decided. */
export interface AttemptSlot {
  /** True: the attempt may be checked, and is counted as a failure until released. */
  readonly granted: boolean;
  /** Milliseconds left in the source's window (for Retry-After when refused). */
  readonly windowLeftMs: number;
}

interface Entry {
  value: number;
  expiresAt: number;
}

/**
 * In-process auth state (`--state local`): two Maps with expiry, swept every `sweepMs`. Each
 * holds at most `maxEntries` entries; when full, the oldest entry is dropped (Maps keep insertion
 * order), so a flood of sources cannot grow memory without bound.
 */
export class MemoryAuthStateStore implements AuthStateStore {
  readonly #counts = new Map<string, Entry>();
  readonly #failures = new Map<string, Entry>();
  readonly #maxEntries: number;
  #sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: { sweepMs?: number; maxEntries?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? 200_000;
    const sweepMs = options.sweepMs ?? 30_000;
    if (sweepMs > 0) {
      this.#sweepTimer = setInterval(() => this.#sweep(Date.now()), sweepMs);
      this.#sweepTimer.unref();
    }
  }

  async acceptNonceCount(nonce: string, nc: number, expiresAt: number): Promise<boolean> {
    const entry = this.#counts.get(nonce);
    if (entry !== undefined && entry.expiresAt > Date.now() && nc <= entry.value) return false;
    this.#set(this.#counts, nonce, { value: nc, expiresAt });
    return true;
  }

  async tryAttempt(source: string, now: number, windowMs: number, maxFailures: number): Promise<AttemptSlot> {
    const entry = this.#failures.get(source);
    if (entry !== undefined && entry.expiresAt > now) {
      if (entry.value >= maxFailures) return { granted: false, windowLeftMs: entry.expiresAt - now };
      entry.value++;
      return { granted: true, windowLeftMs: entry.expiresAt - now };
    }
    if (maxFailures < 1) return { granted: false, windowLeftMs: windowMs };
    this.#set(this.#failures, source, { value: 1, expiresAt: now + windowMs });
    return { granted: true, windowLeftMs: windowMs };
  }

  async releaseAttempt(source: string, now: number): Promise<void> {
    const entry = this.#failures.get(source);
    if (entry !== undefined && entry.expiresAt > now && entry.value > 0) entry.value--;
  }

  async failures(source: string, now: number): Promise<number> {
    const entry = this.#failures.get(source);
    return entry !== undefined && entry.expiresAt > now ? entry.value : 0;
  }

  async close(): Promise<void> {
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#counts.clear();
    this.#failures.clear();
  }

  #set(map: Map<string, Entry>, key: string, entry: Entry): void {
    map.delete(key);
    if (map.size >= this.#maxEntries) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
    map.set(key, entry);
  }

  #sweep(now: number): void {
    for (const map of [this.#counts, this.#failures]) {
      for (const [key, entry] of map) if (entry.expiresAt <= now) map.delete(key);
    }
  }
}
