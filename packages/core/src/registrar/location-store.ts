import type { TransportAddress } from '../transport-address.js';

/** One registered contact of an address-of-record (RFC 3261 §10). */
export interface Binding {
  /** Address-of-record in canonical form (see addressOfRecord). */
  readonly aor: string;
  /** The Contact URI as registered. */
  readonly contact: string;
  /** Milliseconds since the epoch when the binding lapses. */
  readonly expiresAt: number;
  /** Preference 0..1 (the `q` parameter; 1 when absent). */
  readonly q: number;
  readonly callId: string;
  readonly cseq: number;
  /** Where the REGISTER came from: over TCP, the connection requests for this contact reuse. */
  readonly source: TransportAddress;
}

/**
 * Where registrations live. Every method may be asynchronous, so a store shared by processes or
 * hosts (Redis) fits behind the same interface as the in-memory one.
 *
 * Failure contract: a method that rejects (or throws) means "the store is unavailable now",
 * whatever the error is (the cluster stores reject with a `StateStoreError` coded
 * `ERR_SWITCHBOARD_STATE_*`, which the core does not need to import). The proxy core then answers
 * the request `503 Service Unavailable` with `Retry-After` (RFC 3261 §21.5.4, §20.33), counts it
 * in `stateStoreFailures`, and tries the store again on the next request; a store must therefore
 * fail within a bounded time rather than hang, and recover by itself.
 */
export interface LocationStore {
  /** Bindings of an AOR that have not lapsed at `now`, highest q first. */
  lookup(aor: string, now: number): Promise<Binding[]>;
  /**
   * Adds or replaces the binding of `binding.contact` for `binding.aor`. Stores compare contacts
   * as text; URI equality (§19.1.4, not transitive, so no key can stand for it) is the
   * registrar's: it removes a binding by the contact text it was stored under before putting an
   * equivalent spelling, and removes by the stored text.
   */
  put(binding: Binding): Promise<void>;
  remove(aor: string, contact: string): Promise<void>;
  removeAll(aor: string): Promise<void>;
  /** Number of live bindings (for metrics). */
  size(now: number): Promise<number>;
  close(): Promise<void>;
}

/** In-process location store: one Map per AOR; lapsed bindings are dropped as they are met. */
export class MemoryLocationStore implements LocationStore {
  readonly #bindings = new Map<string, Map<string, Binding>>();
  #sweepTimer: NodeJS.Timeout | undefined;

  /** Sweeps lapsed bindings every `sweepMs` (0: only when looked up). */
  constructor(sweepMs = 30_000) {
    if (sweepMs > 0) {
      this.#sweepTimer = setInterval(() => this.#sweep(Date.now()), sweepMs);
      this.#sweepTimer.unref();
    }
  }

  async lookup(aor: string, now: number): Promise<Binding[]> {
    const contacts = this.#bindings.get(aor);
    if (contacts === undefined) return [];
    const live: Binding[] = [];
    for (const [contact, binding] of contacts) {
      if (binding.expiresAt > now) live.push(binding);
      else contacts.delete(contact);
    }
    if (contacts.size === 0) this.#bindings.delete(aor);
    return live.sort((a, b) => b.q - a.q);
  }

  async put(binding: Binding): Promise<void> {
    let contacts = this.#bindings.get(binding.aor);
    if (contacts === undefined) {
      contacts = new Map();
      this.#bindings.set(binding.aor, contacts);
    }
    contacts.set(binding.contact, binding);
  }

  async remove(aor: string, contact: string): Promise<void> {
    const contacts = this.#bindings.get(aor);
    contacts?.delete(contact);
    if (contacts?.size === 0) this.#bindings.delete(aor);
  }

  async removeAll(aor: string): Promise<void> {
    this.#bindings.delete(aor);
  }

  async size(now: number): Promise<number> {
    this.#sweep(now);
    let count = 0;
    for (const contacts of this.#bindings.values()) count += contacts.size;
    return count;
  }

  async close(): Promise<void> {
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#bindings.clear();
  }

  #sweep(now: number): void {
    for (const [aor, contacts] of this.#bindings) {
      for (const [contact, binding] of contacts) if (binding.expiresAt <= now) contacts.delete(contact);
      if (contacts.size === 0) this.#bindings.delete(aor);
    }
  }
}
