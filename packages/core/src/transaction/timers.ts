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

/**
 * One transaction's timers by letter. Every timer is unref'd, so pending transactions never keep
 * a process alive on their own, and `clearAll` stops them when the transaction ends.
 *
 * A transaction runs two or three timers at once at most, and there is one of these per
 * transaction, thousands alive at a time (they linger up to 32 s): the running ones are kept as
 * letter, handle pairs in one small array, scanned, rather than in a Map of their own.
 */
export class TransactionTimers {
  readonly #running: Array<string | NodeJS.Timeout> = [];
  readonly #onError: ((error: unknown) => void) | undefined;

  /**
   * `onError` gets what a timer callback throws: a bug in one transaction's handling must not
   * reach the event loop and stop the process (without it, the error is dropped).
   */
  constructor(onError?: (error: unknown) => void) {
    this.#onError = onError;
  }

  start(letter: string, milliseconds: number, fire: () => void): void {
    this.stop(letter);
    const handle = setTimeout(() => {
      this.#forget(handle);
      try {
        fire();
      } catch (error) {
        this.#onError?.(error);
      }
    }, milliseconds);
    handle.unref?.();
    this.#running.push(letter, handle);
  }

  stop(letter: string): void {
    const running = this.#running;
    for (let i = 0; i < running.length; i += 2) {
      if (running[i] === letter) {
        clearTimeout(running[i + 1] as NodeJS.Timeout);
        removePair(running, i);
        return;
      }
    }
  }

  isRunning(letter: string): boolean {
    const running = this.#running;
    for (let i = 0; i < running.length; i += 2) if (running[i] === letter) return true;
    return false;
  }

  clearAll(): void {
    const running = this.#running;
    for (let i = 1; i < running.length; i += 2) clearTimeout(running[i] as NodeJS.Timeout);
    running.length = 0;
  }

  /** A timer that fired is no longer running. */
  #forget(handle: NodeJS.Timeout): void {
    const running = this.#running;
    for (let i = 1; i < running.length; i += 2) {
      if (running[i] === handle) {
        removePair(running, i - 1);
        return;
      }
    }
  }
}

/** Removes the pair at `index` (order does not matter): the last pair moves into its place. */
function removePair(pairs: Array<string | NodeJS.Timeout>, index: number): void {
  const last = pairs.length - 2;
  if (index !== last) {
    pairs[index] = pairs[last] as string;
    pairs[index + 1] = pairs[last + 1] as NodeJS.Timeout;
  }
  pairs.length = last;
}
