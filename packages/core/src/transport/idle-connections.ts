/** How idle connections are found: OpenSER's full scan, or an expiry-ordered heap. */
export type IdleStrategy = 'scan' | 'heap';

/**
 * Tracks when each connection was last active and says which have been idle for the timeout.
 * Times are milliseconds on any clock the caller keeps using (normally `Date.now()`). A connection
 * counts as idle once `now - lastActivity >= timeoutMs`, and only a `sweep` declares it so: a
 * connection touched after its deadline but before the next sweep stays.
 */
export interface IdleConnectionTracker {
  /** Starts tracking `id` as active at `now`; an id already tracked starts afresh. */
  add(id: number, now: number): void;
  /** Records activity on `id` (ignored for an id not tracked, and never moves activity earlier). */
  touch(id: number, now: number): void;
  /** Stops tracking `id` (closed for another reason); a later sweep never returns it. */
  remove(id: number): void;
  /** Removes and returns the ids idle for at least the timeout at `now`, each once, in no set order. */
  sweep(now: number): number[];
  /** Connections tracked. */
  readonly size: number;
  /** Entries the last sweep examined: the cost in which the strategies differ. */
  readonly lastSweepVisited: number;
}

function checkedTimeout(timeoutMs: number): number {
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new RangeError(`idle timeout must be a finite number >= 0, not ${timeoutMs}`);
  return timeoutMs;
}

/**
 * OpenSER's way: a map of id to last activity, and every sweep walks the whole table, so a
 * sweep costs O(connections) however few have expired. Kept deliberately naive as the baseline.
 */
export class ScanIdleTracker implements IdleConnectionTracker {
  readonly #timeoutMs: number;
  readonly #lastActive = new Map<number, number>();
  lastSweepVisited = 0;

  constructor(timeoutMs: number) {
    this.#timeoutMs = checkedTimeout(timeoutMs);
  }

  get size(): number {
    return this.#lastActive.size;
  }

  add(id: number, now: number): void {
    this.#lastActive.set(id, now);
  }

  touch(id: number, now: number): void {
    const last = this.#lastActive.get(id);
    if (last !== undefined && now > last) this.#lastActive.set(id, now);
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

/** One tracked connection; the heap refers to it, so a replaced or removed one is recognisable. */
interface TrackedConnection {
  readonly id: number;
  lastActive: number;
}

/** Below this many queued entries the heap is never compacted (not worth the rebuild). */
const MIN_ENTRIES_TO_COMPACT = 1024;

/**
 * A binary min-heap of (queued expiry, connection), with lazy updates rather than an indexed heap:
 *
 * - `touch` only writes the new activity time into the connection's record (O(1), no heap work).
 *   Connections see traffic far more often than they expire, so keeping the hot path free of
 *   sift operations matters more than keeping the heap exact.
 * - The heap entry thereby goes stale: its queued expiry is earlier than the real one. When a
 *   sweep pops it, a connection active since is pushed back with its real expiry; so a sweep
 *   examines only entries whose queued expiry has passed (expired or stale), never the whole set.
 *   Each live connection is re-queued at most once per timeout, however often it is touched.
 * - `remove` drops the record only. The heap entry stays until a sweep pops it, or until the heap
 *   holds more than twice as many entries as live connections, when it is rebuilt from the live
 *   ones in O(n) (amortised O(1) per removal); so churn cannot grow it without bound.
 *
 * Heap entries point at the record object, not just the id, so an id removed and added again is
 * not confused with its old entry, and each live connection has exactly one heap entry.
 */
export class HeapIdleTracker implements IdleConnectionTracker {
  readonly #timeoutMs: number;
  readonly #tracked = new Map<number, TrackedConnection>();
  /** Parallel arrays forming the heap: queued expiry times, and the record each belongs to. */
  #expiries: number[] = [];
  #entries: TrackedConnection[] = [];
  lastSweepVisited = 0;

  constructor(timeoutMs: number) {
    this.#timeoutMs = checkedTimeout(timeoutMs);
  }

  get size(): number {
    return this.#tracked.size;
  }

  /** Heap entries, live or stale (for tests and diagnostics: memory stays O(live connections)). */
  get queuedEntries(): number {
    return this.#expiries.length;
  }

  add(id: number, now: number): void {
    const record: TrackedConnection = { id, lastActive: now };
    const replaced = this.#tracked.has(id);
    this.#tracked.set(id, record);
    this.#push(now + this.#timeoutMs, record);
    if (replaced) this.#compactIfMostlyStale();
  }

  touch(id: number, now: number): void {
    const record = this.#tracked.get(id);
    if (record !== undefined && now > record.lastActive) record.lastActive = now;
  }

  remove(id: number): void {
    if (this.#tracked.delete(id)) this.#compactIfMostlyStale();
  }

  sweep(now: number): number[] {
    const expired: number[] = [];
    let visited = 0;
    while (this.#expiries.length > 0 && (this.#expiries[0] as number) <= now) {
      visited++;
      const record = this.#entries[0] as TrackedConnection;
      this.#pop();
      if (this.#tracked.get(record.id) !== record) continue; // removed, or replaced by a later add
      const expiry = record.lastActive + this.#timeoutMs;
      if (expiry <= now) {
        this.#tracked.delete(record.id);
        expired.push(record.id);
      } else {
        this.#push(expiry, record);
      }
    }
    this.lastSweepVisited = visited;
    return expired;
  }

  #compactIfMostlyStale(): void {
    const queued = this.#expiries.length;
    if (queued < MIN_ENTRIES_TO_COMPACT || queued <= 2 * this.#tracked.size) return;
    const expiries: number[] = [];
    const entries: TrackedConnection[] = [];
    for (const record of this.#tracked.values()) {
      expiries.push(record.lastActive + this.#timeoutMs);
      entries.push(record);
    }
    this.#expiries = expiries;
    this.#entries = entries;
    for (let index = (expiries.length >> 1) - 1; index >= 0; index--) this.#siftDown(index, expiries[index] as number, entries[index] as TrackedConnection);
  }

  #push(expiry: number, record: TrackedConnection): void {
    const expiries = this.#expiries;
    const entries = this.#entries;
    let index = expiries.length;
    expiries.push(expiry);
    entries.push(record);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((expiries[parent] as number) <= expiry) break;
      expiries[index] = expiries[parent] as number;
      entries[index] = entries[parent] as TrackedConnection;
      index = parent;
    }
    expiries[index] = expiry;
    entries[index] = record;
  }

  /** Drops the root. */
  #pop(): void {
    const lastExpiry = this.#expiries.pop() as number;
    const lastRecord = this.#entries.pop() as TrackedConnection;
    if (this.#expiries.length > 0) this.#siftDown(0, lastExpiry, lastRecord);
  }

  /** Places (expiry, record) at `index` or below, moving smaller children up. */
  #siftDown(start: number, expiry: number, record: TrackedConnection): void {
    const expiries = this.#expiries;
    const entries = this.#entries;
    const size = expiries.length;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= size) break;
      const right = left + 1;
      const child = right < size && (expiries[right] as number) < (expiries[left] as number) ? right : left;
      if ((expiries[child] as number) >= expiry) break;
      expiries[index] = expiries[child] as number;
      entries[index] = entries[child] as TrackedConnection;
      index = child;
    }
    expiries[index] = expiry;
    entries[index] = record;
  }
}

/** The tracker for `strategy`: `'scan'` (OpenSER's full walk) or `'heap'` (expiry-ordered). */
export function createIdleTracker(strategy: IdleStrategy, timeoutMs: number): IdleConnectionTracker {
  return strategy === 'scan' ? new ScanIdleTracker(timeoutMs) : new HeapIdleTracker(timeoutMs);
}
