import { StateStoreError } from './state-store-error.js';

/** A size option of a shared table: a positive whole number, or a RangeError naming it. */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, not ${value}`);
  return value;
}

const LOCK = 0;
const UNLOCKED = 0;
const LOCKED = 1;
const CONTENDED = 2;
/** Lock attempts before sleeping in Atomics.wait: critical sections are a few microseconds. */
const SPINS = 64;

/**
 * A futex-style lock in one Int32 word of a SharedArrayBuffer, for the tables threads share:
 * Atomics.compareExchange to take it (LOCKED), a short spin, then Atomics.wait while it is held
 * (CONTENDED once a thread sleeps on it); the holder calls Atomics.notify on release only when some
 * thread waits. A thread waits at most `waitMs`, then gives up with ERR_SWITCHBOARD_STATE_UNAVAILABLE
 * (a thread stopped while holding it must give 503s, not a hang). `what` names the table in that
 * error.
 */
export class SabLock {
  readonly #word: Int32Array;
  readonly #waitMs: number;
  readonly #what: string;

  constructor(control: SharedArrayBuffer, waitMs: number, what: string) {
    this.#word = new Int32Array(control);
    this.#waitMs = waitMs;
    this.#what = what;
  }

  locked<T>(work: () => T): T {
    this.#acquire();
    try {
      return work();
    } finally {
      if (Atomics.exchange(this.#word, LOCK, UNLOCKED) === CONTENDED) Atomics.notify(this.#word, LOCK, 1);
    }
  }

  #acquire(): void {
    const word = this.#word;
    for (let spin = 0; spin < SPINS; spin++) {
      if (Atomics.compareExchange(word, LOCK, UNLOCKED, LOCKED) === UNLOCKED) return;
    }
    const deadline = performance.now() + this.#waitMs;
    while (Atomics.exchange(word, LOCK, CONTENDED) !== UNLOCKED) {
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new StateStoreError('ERR_SWITCHBOARD_STATE_UNAVAILABLE', `the ${this.#what} stayed locked for ${this.#waitMs} ms (a thread stopped while holding it?)`);
      }
      Atomics.wait(word, LOCK, CONTENDED, left);
    }
  }
}
