import type net from 'node:net';

/** How long a handle may wait for the `opened` that files its connection. */
export const EARLY_HANDLE_WAIT_MS = 10_000;

/**
 * Handles of connections a worker opened that reached the supervisor before their `opened`: the
 * handle comes on the IPC channel, `opened` on the worker's stream, and the two are not ordered
 * (the stream is corked until the worker's next tick, and the supervisor reads whichever is ready
 * first). Dropping such a handle left its connection filed without one forever, and every fd
 * request for it waited for good. Each is kept until its `opened` comes, its connection closes,
 * or EARLY_HANDLE_WAIT_MS, whichever is first.
 */
export class EarlyHandles {
  readonly #handles = new Map<number, { readonly slot: number; readonly socket: net.Socket; readonly timer: NodeJS.Timeout }>();

  keep(id: number, slot: number, socket: net.Socket): void {
    this.drop(id);
    const timer = setTimeout(() => this.drop(id), EARLY_HANDLE_WAIT_MS);
    timer.unref();
    this.#handles.set(id, { slot, socket, timer });
  }

  /** The handle kept for connection `id` from worker `slot`, taken out. */
  take(id: number, slot: number): net.Socket | undefined {
    const early = this.#handles.get(id);
    if (early === undefined || early.slot !== slot) return undefined;
    clearTimeout(early.timer);
    this.#handles.delete(id);
    return early.socket;
  }

  /** Closes and forgets the handle kept for `id`, if any. */
  drop(id: number): void {
    const early = this.#handles.get(id);
    if (early === undefined) return;
    clearTimeout(early.timer);
    early.socket.destroy();
    this.#handles.delete(id);
  }

  clear(): void {
    for (const id of [...this.#handles.keys()]) this.drop(id);
  }

  get size(): number {
    return this.#handles.size;
  }
}
