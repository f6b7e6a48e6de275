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
   * Counts one failed attempt from `source` in a fixed window of `windowMs` that starts with the
   * first failure; returns the failures counted in the window running at `now`.
   */
  recordFailure(source: string, now: number, windowMs: number): Promise<number>;
  /** Failures from `source` in the window running at `now` (0 when none or the window has ended). */
  failures(source: string, now: number): Promise<number>;
  close(): Promise<void>;
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

  async recordFailure(source: string, now: number, windowMs: number): Promise<number> {
    const entry = this.#failures.get(source);
    if (entry !== undefined && entry.expiresAt > now) {
      entry.value++;
      return entry.value;
    }
    this.#set(this.#failures, source, { value: 1, expiresAt: now + windowMs });
    return 1;
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
