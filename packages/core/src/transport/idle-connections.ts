/** How idle connections are found: OpenSER's full scan, or an expiry-ordered heap. */
export type IdleStrategy = 'scan' | 'heap';

/**
 * Tracks when each connection was last active and says which have been idle for the timeout.
 * `sweep` removes and returns those; `lastSweepVisited` counts the entries the last sweep looked
 * at (the cost the strategies differ in).
 */
export interface IdleConnectionTracker {
  add(id: number, now: number): void;
  touch(id: number, now: number): void;
  remove(id: number): void;
  sweep(now: number): number[];
  readonly size: number;
  readonly lastSweepVisited: number;
}

/** OpenSER's way: every sweep walks the whole table, so its cost grows with the connections. */
export class ScanIdleTracker implements IdleConnectionTracker {
  readonly #timeoutMs: number;
  readonly #lastActive = new Map<number, number>();
  lastSweepVisited = 0;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  get size(): number {
    return this.#lastActive.size;
  }

  add(id: number, now: number): void {
    this.#lastActive.set(id, now);
  }

  touch(id: number, now: number): void {
    if (this.#lastActive.has(id)) this.#lastActive.set(id, now);
  }

  remove(id: number): void {
    this.#lastActive.delete(id);
  }

  sweep(now: number): number[] {
    const expired: number[] = [];
    this.lastSweepVisited = this.#lastActive.size;
    for (const [id, last] of this.#lastActive) if (now - last >= this.#timeoutMs) expired.push(id);
    for (const id of expired) this.#lastActive.delete(id);
    return expired;
  }
}

/**
 * A binary min-heap of (expiry, id). `touch` only records the new activity time (O(1)); the heap
 * entry goes stale and is fixed when a sweep pops it: an entry whose connection was active since
 * is pushed back with its real expiry, so a sweep looks at expired or stale entries only, never
 * the whole set. Each connection has at most one heap entry.
 */
export class HeapIdleTracker implements IdleConnectionTracker {
  readonly #timeoutMs: number;
  readonly #lastActive = new Map<number, number>();
  /** Parallel arrays: heap of expiry times and the connection each belongs to. */
  readonly #expiries: number[] = [];
  readonly #ids: number[] = [];
  lastSweepVisited = 0;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  get size(): number {
    return this.#lastActive.size;
  }

  add(id: number, now: number): void {
    const known = this.#lastActive.has(id);
    this.#lastActive.set(id, now);
    if (!known) this.#push(now + this.#timeoutMs, id);
  }

  touch(id: number, now: number): void {
    if (this.#lastActive.has(id)) this.#lastActive.set(id, now);
  }

  remove(id: number): void {
    // Its heap entry is dropped when a sweep reaches it.
    this.#lastActive.delete(id);
  }

  sweep(now: number): number[] {
    const expired: number[] = [];
    let visited = 0;
    while (this.#expiries.length > 0 && (this.#expiries[0] as number) <= now) {
      visited++;
      const id = this.#ids[0] as number;
      this.#pop();
      const last = this.#lastActive.get(id);
      if (last === undefined) continue;
      const expiry = last + this.#timeoutMs;
      if (expiry <= now) {
        this.#lastActive.delete(id);
        expired.push(id);
      } else {
        this.#push(expiry, id);
      }
    }
    this.lastSweepVisited = visited;
    return expired;
  }

  #push(expiry: number, id: number): void {
    const expiries = this.#expiries;
    const ids = this.#ids;
    let index = expiries.length;
    expiries.push(expiry);
    ids.push(id);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((expiries[parent] as number) <= expiry) break;
      expiries[index] = expiries[parent] as number;
      ids[index] = ids[parent] as number;
      index = parent;
    }
    expiries[index] = expiry;
    ids[index] = id;
  }

  #pop(): void {
    const expiries = this.#expiries;
    const ids = this.#ids;
    const lastExpiry = expiries.pop() as number;
    const lastId = ids.pop() as number;
    const size = expiries.length;
    if (size === 0) return;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= size) break;
      const right = left + 1;
      const child = right < size && (expiries[right] as number) < (expiries[left] as number) ? right : left;
      if ((expiries[child] as number) >= lastExpiry) break;
      expiries[index] = expiries[child] as number;
      ids[index] = ids[child] as number;
      index = child;
    }
    expiries[index] = lastExpiry;
    ids[index] = lastId;
  }
}

export function createIdleTracker(strategy: IdleStrategy, timeoutMs: number): IdleConnectionTracker {
  return strategy === 'scan' ? new ScanIdleTracker(timeoutMs) : new HeapIdleTracker(timeoutMs);
}
