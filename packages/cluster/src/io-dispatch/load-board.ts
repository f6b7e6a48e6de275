/**
 * Messages outstanding per worker (sent, not yet reported done), and the least-loaded choice
 * io-dispatch makes for every message: the ready worker with the fewest outstanding, the lowest
 * slot on a tie after the last one chosen (so an idle pool still takes turns).
 */
export class LoadBoard {
  readonly #outstanding: number[];
  readonly #dispatched: number[];
  #last = -1;

  constructor(workers: number) {
    this.#outstanding = new Array<number>(workers).fill(0);
    this.#dispatched = new Array<number>(workers).fill(0);
  }

  /** The least-loaded worker among those `ready` says can take one, or undefined when none can. */
  pick(ready: (slot: number) => boolean): number | undefined {
    const workers = this.#outstanding.length;
    let best: number | undefined;
    for (let step = 1; step <= workers; step++) {
      const slot = (this.#last + step) % workers;
      if (!ready(slot)) continue;
      if (best === undefined || (this.#outstanding[slot] as number) < (this.#outstanding[best] as number)) best = slot;
    }
    if (best !== undefined) this.#last = best;
    return best;
  }

  /** One more message sent to `slot`. */
  sent(slot: number): void {
    this.#outstanding[slot] = (this.#outstanding[slot] ?? 0) + 1;
    this.#dispatched[slot] = (this.#dispatched[slot] ?? 0) + 1;
  }

  /** `slot` has handled `count` of its messages (never below zero: a late report after a restart). */
  done(slot: number, count: number): void {
    this.#outstanding[slot] = Math.max(0, (this.#outstanding[slot] ?? 0) - count);
  }

  /** `slot`'s worker is gone: what it had outstanding is lost with it. */
  clear(slot: number): void {
    this.#outstanding[slot] = 0;
  }

  outstanding(slot: number): number {
    return this.#outstanding[slot] ?? 0;
  }

  /** Messages sent to each worker since the start, by slot. */
  get dispatched(): readonly number[] {
    return this.#dispatched;
  }

  /** Messages outstanding in every worker together (the queue depth). */
  get depth(): number {
    return this.#outstanding.reduce((sum, count) => sum + count, 0);
  }
}
