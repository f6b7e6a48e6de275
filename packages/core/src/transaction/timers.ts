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
 */
export class TransactionTimers {
  readonly #handles = new Map<string, NodeJS.Timeout>();
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
      this.#handles.delete(letter);
      try {
        fire();
      } catch (error) {
        this.#onError?.(error);
      }
    }, milliseconds);
    handle.unref?.();
    this.#handles.set(letter, handle);
  }

  stop(letter: string): void {
    const handle = this.#handles.get(letter);
    if (handle !== undefined) {
      clearTimeout(handle);
      this.#handles.delete(letter);
    }
  }

  isRunning(letter: string): boolean {
    return this.#handles.has(letter);
  }

  clearAll(): void {
    for (const handle of this.#handles.values()) clearTimeout(handle);
    this.#handles.clear();
  }
}
