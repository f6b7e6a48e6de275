/**
 * `--fd-request-wait` (process-pool, a lab knob for reproducing study 002): OpenSER's worker asked
 * its supervisor for a connection's fd with a blocking read on a Unix socket, so while the request
 * was outstanding it handled nothing else. Node must not block its event loop, so this gate does
 * the same in order: while a request is outstanding, every message that arrives (SIP messages
 * read from sockets, control messages from the supervisor other than the fd answer) is queued;
 * when the last outstanding request is answered they run in arrival order, until one of them makes
 * a new request, when the rest wait again. A request not answered within `maxWaitMs` is given up
 * (counted), so a lost answer cannot stop a worker for good.
 */
export interface FdRequestGateOptions {
  /** Longest a request holds the gate (default 2 s). */
  readonly maxWaitMs?: number;
  /** Where the gate counts messages that waited, and requests it gave up (the worker's model counters). */
  readonly counters: { fdRequestWaitQueued: number; fdRequestWaitExpired: number };
}

export class FdRequestGate {
  readonly #maxWaitMs: number;
  readonly #queue: Array<() => void> = [];
  /** Outstanding requests, each with its give-up timer. */
  readonly #outstanding = new Map<number, NodeJS.Timeout>();
  readonly #counters: FdRequestGateOptions['counters'];
  #draining = false;

  constructor(options: FdRequestGateOptions) {
    this.#maxWaitMs = options.maxWaitMs ?? 2000;
    this.#counters = options.counters;
  }

  /** Whether messages wait now. */
  get closed(): boolean {
    return this.#outstanding.size > 0;
  }

  /** Messages waiting now. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Fd request `request` has left: until it is answered, `run` queues. */
  hold(request: number): void {
    const timer = setTimeout(() => {
      this.#counters.fdRequestWaitExpired++;
      this.release(request);
    }, this.#maxWaitMs);
    timer.unref();
    this.#outstanding.set(request, timer);
  }

  /** Fd request `request` is answered (or given up): once none is outstanding, what waited runs, in order. */
  release(request: number): void {
    const timer = this.#outstanding.get(request);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#outstanding.delete(request);
    this.#drain();
  }

  /**
   * Runs `work` now, or queues it behind an outstanding request (or behind what already waits, so
   * order is kept). Work run while the queue drains runs at once: it is the queue's own turn.
   * `work` must not throw (a message's handler catches its own errors); if it does, the rest of the
   * queue still runs.
   */
  run(work: () => void): void {
    if (this.#draining ? this.closed : this.closed || this.#queue.length > 0) {
      this.#counters.fdRequestWaitQueued++;
      this.#queue.push(work);
      return;
    }
    work();
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (!this.closed && this.#queue.length > 0) {
        const work = this.#queue.shift() as () => void;
        try {
          work();
        } catch {
          // Not this gate's to report: the handlers catch and count their own errors.
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Gives up every outstanding request and drops what waits (the worker is stopping). */
  clear(): void {
    for (const timer of this.#outstanding.values()) clearTimeout(timer);
    this.#outstanding.clear();
    this.#queue.length = 0;
  }
}
