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
 * There is one of these per transaction, thousands alive at a time (they linger up to 32 s), and
 * a transaction runs two timers at once (A and B, E and F, G and H), rarely three: two are held in
 * fields of their own, any further in an array made when needed, rather than a Map each.
 */
export class TransactionTimers {
  #letter0: string | undefined;
  #handle0: NodeJS.Timeout | undefined;
  #letter1: string | undefined;
  #handle1: NodeJS.Timeout | undefined;
  /** Letter, handle pairs beyond the first two. */
  #more: Array<string | NodeJS.Timeout> | undefined;
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
      this.#forget(letter, handle);
      try {
        fire();
      } catch (error) {
        this.#onError?.(error);
      }
    }, milliseconds);
    handle.unref?.();
    if (this.#letter0 === undefined) {
      this.#letter0 = letter;
      this.#handle0 = handle;
    } else if (this.#letter1 === undefined) {
      this.#letter1 = letter;
      this.#handle1 = handle;
    } else {
      (this.#more ??= []).push(letter, handle);
    }
  }

  stop(letter: string): void {
    const handle = this.#forget(letter, undefined);
    if (handle !== undefined) clearTimeout(handle);
  }

  isRunning(letter: string): boolean {
    if (this.#letter0 === letter || this.#letter1 === letter) return true;
    const more = this.#more;
    if (more !== undefined) for (let i = 0; i < more.length; i += 2) if (more[i] === letter) return true;
    return false;
  }

  clearAll(): void {
    if (this.#handle0 !== undefined) clearTimeout(this.#handle0);
    if (this.#handle1 !== undefined) clearTimeout(this.#handle1);
    const more = this.#more;
    if (more !== undefined) for (let i = 1; i < more.length; i += 2) clearTimeout(more[i] as NodeJS.Timeout);
    this.#letter0 = this.#handle0 = this.#letter1 = this.#handle1 = this.#more = undefined;
  }

  /**
   * Drops the timer of `letter` (only if its handle is `only`, when given) from the running ones;
   * returns its handle, undefined when none was running.
   */
  #forget(letter: string, only: NodeJS.Timeout | undefined): NodeJS.Timeout | undefined {
    const handle0 = this.#handle0;
    if (this.#letter0 === letter && (only === undefined || only === handle0)) {
      this.#letter0 = this.#handle0 = undefined;
      return handle0;
    }
    const handle1 = this.#handle1;
    if (this.#letter1 === letter && (only === undefined || only === handle1)) {
      this.#letter1 = this.#handle1 = undefined;
      return handle1;
    }
    const more = this.#more;
    if (more === undefined) return undefined;
    for (let i = 0; i < more.length; i += 2) {
      const handle = more[i + 1] as NodeJS.Timeout;
      if (more[i] === letter && (only === undefined || only === handle)) {
        more.splice(i, 2);
        return handle;
      }
    }
    return undefined;
  }
}
