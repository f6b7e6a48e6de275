/**
 * Requests waiting for an answer, by request number. Requests opened with the same key while one
 * is waiting join it (its items are answered together), so concurrent sends to one place make one
 * request; requests opened without a key never join.
 */
export interface PendingRequest<T> {
  readonly request: number;
  readonly key: string | undefined;
  readonly items: T[];
  /** performance.now() when the request was opened. */
  readonly started: number;
}

export class PendingRequests<T> {
  readonly #byRequest = new Map<number, PendingRequest<T>>();
  readonly #byKey = new Map<string, number>();
  #next = 0;

  /**
   * Adds `item` to the request waiting under `key`, or opens one: returns the new request number,
   * or undefined when the item joined a request already asked.
   */
  open(key: string | undefined, item: T): number | undefined {
    const joined = key === undefined ? undefined : this.#byKey.get(key);
    const waiting = joined === undefined ? undefined : this.#byRequest.get(joined);
    if (waiting !== undefined) {
      waiting.items.push(item);
      return undefined;
    }
    const request = ++this.#next;
    this.#byRequest.set(request, { request, key, items: [item], started: performance.now() });
    if (key !== undefined) this.#byKey.set(key, request);
    return request;
  }

  /** Whether a request is waiting under `key`. */
  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  get(request: number): PendingRequest<T> | undefined {
    return this.#byRequest.get(request);
  }

  /** The request answered: removed, so later sends to its key open a new one. */
  settle(request: number): PendingRequest<T> | undefined {
    const pending = this.#byRequest.get(request);
    if (pending === undefined) return undefined;
    this.#byRequest.delete(request);
    if (pending.key !== undefined) this.#byKey.delete(pending.key);
    return pending;
  }

  get size(): number {
    return this.#byRequest.size;
  }
}
