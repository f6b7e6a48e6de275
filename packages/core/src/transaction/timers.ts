import { NOT_QUEUED, transactionTimerQueue, type QueuedTimer, type TimerQueue } from './timer-queue.js';

/** A timer slot's deadline when nothing runs in it. */
const NONE = -1;

/** RFC 3261 §17 timer base values (Table 4), in milliseconds. */
export interface TimerSettings {
  /** RTT estimate: 500 ms by default. */
  readonly t1: number;
  /** Longest retransmit interval for non-INVITE requests and INVITE responses: 4 s. */
  readonly t2: number;
  /** Longest time a message stays in the network: 5 s. */
  readonly t4: number;
}

export const DEFAULT_TIMERS: TimerSettings = Object.freeze({ t1: 500, t2: 4000, t4: 5000 });

/** What a transaction does when one of its timers fires: one function per transaction class, not a closure per timer. */
export type TimerHandler<Owner> = (owner: Owner, letter: string) => void;

/**
 * One transaction's timers by letter, as ONE entry of a TimerQueue (the thread's
 * `transactionTimerQueue` unless told otherwise): no Timeout and no closure per timer. There are
 * thousands of these alive at a time (transactions linger up to 32 s over UDP), so it holds two
 * letters and their deadlines in fields of its own: a transaction runs at most two timers at
 * once (A and B, E and F, G and H; C alone; one of D, K, M, I, J, L). Starting a third throws (a
 * bug). A fired timer calls `fire(owner, letter)`; what that throws goes to `onError`, never to
 * the event loop. Nothing here keeps the process alive (the queue's one timer is unref'd).
 */
export class TransactionTimers<Owner = unknown> implements QueuedTimer {
  dueAt = NOT_QUEUED;
  queueIndex = -1;
  /** Deadlines are whole milliseconds (small integers, stored in place: no heap number per field); NONE when not running. */
  #letter0: string | undefined = undefined;
  #due0 = NONE;
  #letter1: string | undefined = undefined;
  #due1 = NONE;
  /** True while `expire` runs: starts and stops then requeue once, at its end. */
  #expiring = false;
  readonly #owner: Owner;
  readonly #fire: TimerHandler<Owner>;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #queue: TimerQueue;

  constructor(owner: Owner, fire: TimerHandler<Owner>, onError?: (error: unknown) => void, queue: TimerQueue = transactionTimerQueue) {
    this.#owner = owner;
    this.#fire = fire;
    this.#onError = onError;
    this.#queue = queue;
  }

  /** (Re)starts the timer `letter`, due in `milliseconds`. */
  start(letter: string, milliseconds: number): void {
    // Rounded up: never early.
    const due = Math.ceil(this.#queue.now() + milliseconds);
    if (this.#letter0 === letter || (this.#letter0 === undefined && this.#letter1 !== letter)) {
      this.#letter0 = letter;
      this.#due0 = due;
    } else if (this.#letter1 === letter || this.#letter1 === undefined) {
      this.#letter1 = letter;
      this.#due1 = due;
    } else {
      throw new RangeError(`transaction timers: ${letter} would be a third timer at once (${this.#letter0}, ${this.#letter1} running)`);
    }
    this.#requeue();
  }

  stop(letter: string): void {
    if (this.#letter0 === letter) this.#clear0();
    else if (this.#letter1 === letter) this.#clear1();
    else return;
    this.#requeue();
  }

  isRunning(letter: string): boolean {
    return this.#letter0 === letter || this.#letter1 === letter;
  }

  clearAll(): void {
    this.#clear0();
    this.#clear1();
    if (!this.#expiring) this.#queue.cancel(this);
  }

  /** TimerQueue: fires what is due, the earlier first, and requeues for what is left. */
  expire(limit: number): void {
    this.#expiring = true;
    try {
      const first0 = this.#due1 === NONE || (this.#due0 !== NONE && this.#due0 <= this.#due1);
      this.#fireIfDue(first0 ? 0 : 1, limit);
      this.#fireIfDue(first0 ? 1 : 0, limit);
    } finally {
      this.#expiring = false;
      this.#requeue();
    }
  }

  #fireIfDue(slot: 0 | 1, limit: number): void {
    const letter = slot === 0 ? this.#letter0 : this.#letter1;
    if (letter === undefined || (slot === 0 ? this.#due0 : this.#due1) > limit) return;
    if (slot === 0) this.#clear0();
    else this.#clear1();
    try {
      this.#fire(this.#owner, letter);
    } catch (error) {
      this.#onError?.(error);
    }
  }

  #clear0(): void {
    this.#letter0 = undefined;
    this.#due0 = NONE;
  }

  #clear1(): void {
    this.#letter1 = undefined;
    this.#due1 = NONE;
  }

  #requeue(): void {
    if (this.#expiring) return;
    const due0 = this.#due0;
    const due1 = this.#due1;
    const due = due0 === NONE ? due1 : due1 === NONE || due0 < due1 ? due0 : due1;
    if (due === NONE) this.#queue.cancel(this);
    else if (due !== this.dueAt || this.queueIndex < 0) this.#queue.schedule(this, due);
  }
}
