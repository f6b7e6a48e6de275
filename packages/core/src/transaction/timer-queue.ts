/** Milliseconds on a monotonic clock; a TimerQueue's deadlines are on it. */
export type Clock = () => number;

/**
 * An entry of a TimerQueue. The queue keeps the entry's due time and its place in the heap in
 * the entry itself, so queueing, moving and cancelling allocate nothing.
 */
export interface QueuedTimer {
  /** When it is due (the queue's clock, whole milliseconds best: they stay small integers); NOT_QUEUED when not queued. Written by the queue only. */
  dueAt: number;
  /** Its index in the queue's heap, -1 when not queued. Written by the queue only. */
  queueIndex: number;
  /**
   * Its time has come (`limit`: everything due at or before it is due now); the entry is out of
   * the queue when called and may `schedule` itself again. It must not throw.
   */
  expire(limit: number): void;
}

/** An entry's `dueAt` when it is not queued. */
export const NOT_QUEUED = -1;

/** An entry rescheduled, while expiring, to a time already come fires this much later (as setTimeout(fn, 0) does). */
const AGAIN_AFTER_MS = 1;

const monotonic: Clock = () => performance.now();

/**
 * Many timers on ONE Node timer: a binary min-heap of entries by due time, and a single unref'd
 * setTimeout armed for the earliest. A transaction layer with thousands of lingering
 * transactions (timers J, K, D, I, L, M: up to 32 s over UDP) keeps one small entry per
 * transaction instead of a Timeout and its closures each, which outlived young-generation GCs
 * and were promoted. Entries fire in due order, none before its time and, on an idle event loop,
 * within a millisecond or two after it (Node arms a setTimeout from the time the event loop turn
 * began, so a wake-up may come a little early: then it arms again for the rest).
 *
 * An entry scheduled while the queue is expiring entries, and due by then already, fires on the
 * next wake-up (at least a millisecond later), as a zero-delay setTimeout would: a timer that
 * re-arms itself with no delay cannot hold the event loop.
 */
export class TimerQueue {
  readonly #heap: QueuedTimer[] = [];
  readonly #now: Clock;
  readonly #onError: ((error: unknown) => void) | undefined;
  #handle: NodeJS.Timeout | undefined;
  /** The due time the Node timer is armed for; Infinity when none is armed. */
  #armedFor = Infinity;
  /** While expiring: what is due at or before this fires in the current wake-up. */
  #limit = -Infinity;
  readonly #wake = (): void => this.#expireDue();

  /**
   * `now`: the clock (performance.now by default; a test may pass Date.now under mocked timers).
   * `onError`: gets what an entry's `expire` throws, which it must not (a bug): the queue stays
   * sound and the error never reaches the event loop.
   */
  constructor(now: Clock = monotonic, onError?: (error: unknown) => void) {
    this.#now = now;
    this.#onError = onError;
  }

  now(): number {
    return this.#now();
  }

  /** Entries queued. */
  get size(): number {
    return this.#heap.length;
  }

  /** Queues `entry` to expire at `dueAt`, or moves it there if it is queued already. */
  schedule(entry: QueuedTimer, dueAt: number): void {
    if (dueAt <= this.#limit) dueAt = Math.floor(this.#limit) + AGAIN_AFTER_MS;
    const heap = this.#heap;
    if (entry.queueIndex < 0) {
      entry.dueAt = dueAt;
      entry.queueIndex = heap.length;
      heap.push(entry);
      this.#siftUp(entry.queueIndex);
    } else {
      const earlier = dueAt < entry.dueAt;
      entry.dueAt = dueAt;
      if (earlier) this.#siftUp(entry.queueIndex);
      else this.#siftDown(entry.queueIndex);
    }
    if (heap[0] === entry && dueAt < this.#armedFor && this.#limit === -Infinity) this.#arm(dueAt);
  }

  /** Takes `entry` out of the queue (nothing when it is not queued). */
  cancel(entry: QueuedTimer): void {
    const index = entry.queueIndex;
    if (index < 0) return;
    const heap = this.#heap;
    const last = heap.pop() as QueuedTimer;
    if (last !== entry) {
      heap[index] = last;
      last.queueIndex = index;
      this.#siftUp(index);
      this.#siftDown(last.queueIndex);
    }
    entry.queueIndex = -1;
    entry.dueAt = NOT_QUEUED;
    // The Node timer stays armed: it wakes, finds nothing due and arms for what is next.
  }

  #arm(dueAt: number): void {
    if (this.#handle !== undefined) clearTimeout(this.#handle);
    this.#armedFor = dueAt;
    this.#handle = setTimeout(this.#wake, Math.max(1, Math.ceil(dueAt - this.#now())));
    this.#handle.unref?.();
  }

  #expireDue(): void {
    this.#handle = undefined;
    this.#armedFor = Infinity;
    const heap = this.#heap;
    const limit = this.#now();
    this.#limit = limit;
    try {
      while (heap.length > 0 && (heap[0] as QueuedTimer).dueAt <= limit) {
        const entry = heap[0] as QueuedTimer;
        this.cancel(entry);
        try {
          entry.expire(limit);
        } catch (error) {
          this.#onError?.(error);
        }
      }
    } finally {
      this.#limit = -Infinity;
      if (heap.length > 0) this.#arm((heap[0] as QueuedTimer).dueAt);
    }
  }

  #siftUp(index: number): void {
    const heap = this.#heap;
    const entry = heap[index] as QueuedTimer;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex] as QueuedTimer;
      if (parent.dueAt <= entry.dueAt) break;
      heap[index] = parent;
      parent.queueIndex = index;
      index = parentIndex;
    }
    heap[index] = entry;
    entry.queueIndex = index;
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    const length = heap.length;
    const entry = heap[index] as QueuedTimer;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      const right = child + 1;
      if (right < length && (heap[right] as QueuedTimer).dueAt < (heap[child] as QueuedTimer).dueAt) child = right;
      const smaller = heap[child] as QueuedTimer;
      if (smaller.dueAt >= entry.dueAt) break;
      heap[index] = smaller;
      smaller.queueIndex = index;
      index = child;
    }
    heap[index] = entry;
    entry.queueIndex = index;
  }
}

/** The transaction timers of this thread (each worker thread has its own). */
export const transactionTimerQueue = new TimerQueue();
