/**
 * How long a call stays with its worker after its last message there was handled (default): long
 * enough for a call set up without pause (INVITE, retransmissions, ACK, BYE) to stay on one worker,
 * short enough that a long call's later messages are balanced again.
 */
export const CALL_LINGER_MS = 4000;

/**
 * Keeps the messages of one call on one worker while any of them is outstanding there, and for a
 * while after (`lingerMs`), so that a call's ACK and its BYE, sent back to back, are not handled by
 * two workers at once and forwarded in the wrong order, and a retransmission meets its transaction
 * where it is (absorbed there, not claimed again in the store). A worker reports a message done
 * when its synchronous handling ends; what it then waits for (a store round trip) may still be
 * under way, hence the linger. Each worker handles its messages in the order they were sent and
 * reports them done in that order, so a FIFO of call keys per worker says which calls its `done`
 * counts finish. A new call, or one quiet for longer than the linger, goes wherever the load says.
 */
export class CallAffinity {
  /** Outstanding messages and their worker, by call key; `until`: the end of the linger once none is outstanding. */
  readonly #calls = new Map<string, { slot: number; count: number; until: number }>();
  /** Calls with none outstanding, in the order their linger ends. */
  readonly #lingering = new Map<string, number>();
  readonly #lingerMs: number;
  readonly #now: () => number;
  /** Call keys of the messages outstanding in each worker, oldest first ('' for none). */
  readonly #queues: string[][];
  readonly #heads: number[];

  constructor(workers: number, lingerMs = CALL_LINGER_MS, now: () => number = Date.now) {
    this.#lingerMs = lingerMs;
    this.#now = now;
    this.#queues = Array.from({ length: workers }, () => []);
    this.#heads = new Array<number>(workers).fill(0);
  }

  /** The worker holding messages of call `key` now, if any. */
  slotOf(key: string | undefined): number | undefined {
    if (key === undefined) return undefined;
    this.#expire();
    return this.#calls.get(key)?.slot;
  }

  /** Forgets calls whose linger has ended. */
  #expire(): void {
    const now = this.#now();
    for (const [key, until] of this.#lingering) {
      if (until > now) break;
      this.#lingering.delete(key);
      const entry = this.#calls.get(key);
      if (entry !== undefined && entry.count === 0) this.#calls.delete(key);
    }
  }

  /** A message of call `key` (undefined: none known) sent to `slot`. */
  sent(slot: number, key: string | undefined): void {
    this.#queues[slot]?.push(key ?? '');
    if (key === undefined || key === '') return;
    const entry = this.#calls.get(key);
    this.#lingering.delete(key);
    if (entry !== undefined && entry.slot === slot) entry.count++;
    else this.#calls.set(key, { slot, count: 1, until: 0 });
  }

  /** `slot` has handled its `count` oldest outstanding messages. */
  done(slot: number, count: number): void {
    const queue = this.#queues[slot];
    if (queue === undefined) return;
    let head = this.#heads[slot] as number;
    for (let i = 0; i < count && head < queue.length; i++, head++) {
      const key = queue[head] as string;
      if (key === '') continue;
      const entry = this.#calls.get(key);
      if (entry === undefined || entry.slot !== slot) continue;
      if (--entry.count === 0) {
        entry.until = this.#now() + this.#lingerMs;
        this.#lingering.delete(key);
        this.#lingering.set(key, entry.until);
      }
    }
    // Compact now and then, so the queue does not grow for ever.
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    this.#heads[slot] = head;
  }

  /** `slot`'s worker is gone: its calls are free to go anywhere. */
  clear(slot: number): void {
    if (this.#queues[slot] === undefined) return;
    for (const [key, entry] of this.#calls) {
      if (entry.slot === slot) {
        this.#calls.delete(key);
        this.#lingering.delete(key);
      }
    }
    this.#queues[slot] = [];
    this.#heads[slot] = 0;
  }

  /** Calls with messages outstanding or lingering. */
  get size(): number {
    this.#expire();
    return this.#calls.size;
  }
}
