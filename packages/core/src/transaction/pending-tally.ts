/**
 * How many transactions are still owed a final response (server: Trying, Proceeding; client:
 * Calling, Trying, Proceeding), kept as they change state rather than found by a scan: a graceful
 * stop asks every 50 ms and each metrics scrape asks once, and a scan walks every transaction
 * alive (up to 32 s of them over UDP). Each transaction tells it `true` when it is made (it starts
 * pending) and `false` once, when it leaves those states (a final response, a timeout, a transport
 * error, shutdown, or `resume`/`abandon` in shared mode).
 */
export class PendingTally {
  #count = 0;

  /** A transaction's `onPendingChanged`. */
  readonly changed = (pending: boolean): void => {
    this.#count += pending ? 1 : -1;
  };

  get count(): number {
    return this.#count;
  }
}

/** Whether a server transaction in `state` is still owed its final response. */
export function isServerPending(state: string): boolean {
  return state === 'trying' || state === 'proceeding';
}

/** Whether a client transaction in `state` is still waiting for its final response. */
export function isClientPending(state: string): boolean {
  return state === 'calling' || state === 'trying' || state === 'proceeding';
}
