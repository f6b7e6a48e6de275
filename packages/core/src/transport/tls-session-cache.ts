/**
 * TLS sessions kept for resumption: on the server side by session id (TLS 1.2 clients that do not
 * use tickets), on the client side by destination (the proxy offers a callee the session of its
 * last connection there). Bounded: the least recently used goes first, and entries expire.
 */
export class TlsSessionCache {
  readonly #capacity: number;
  readonly #ttlMs: number;
  /** Insertion order is recency order (re-inserted on use). */
  readonly #entries = new Map<string, { readonly session: Buffer; readonly expires: number }>();

  constructor(capacity: number, ttlMs: number) {
    this.#capacity = capacity;
    this.#ttlMs = ttlMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now = Date.now()): Buffer | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expires <= now) return undefined;
    this.#entries.set(key, entry);
    return entry.session;
  }

  set(key: string, session: Buffer, now = Date.now()): void {
    if (this.#capacity <= 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, { session, expires: now + this.#ttlMs });
    while (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
