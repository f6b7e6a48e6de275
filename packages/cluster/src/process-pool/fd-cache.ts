import type net from 'node:net';

/**
 * A worker's bounded cache of handles to connections other workers own (Kamailio keeps 8 per
 * process). Least recently used goes first; evicting or invalidating a handle closes this
 * worker's copy only: the connection stays open in its owner.
 */
export class FdCache {
  readonly #capacity: number;
  /** Insertion order is recency order (re-inserted on use). */
  readonly #byId = new Map<number, { socket: net.Socket; remoteKey: string }>();
  readonly #byRemote = new Map<string, number>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#byId.size;
  }

  get(id: number | undefined, remoteKey: string): net.Socket | undefined {
    const key = id ?? this.#byRemote.get(remoteKey);
    if (key === undefined) return undefined;
    const entry = this.#byId.get(key);
    if (entry === undefined) return undefined;
    this.#byId.delete(key);
    this.#byId.set(key, entry);
    return entry.socket;
  }

  put(id: number, remoteKey: string, socket: net.Socket): void {
    this.invalidate(id);
    this.#byId.set(id, { socket, remoteKey });
    this.#byRemote.set(remoteKey, id);
    while (this.#byId.size > this.#capacity) {
      const oldest = this.#byId.keys().next().value as number;
      this.invalidate(oldest);
    }
  }

  /** Closes and forgets the cached handle of connection `id`, if any. */
  invalidate(id: number): void {
    const entry = this.#byId.get(id);
    if (entry === undefined) return;
    this.#byId.delete(id);
    if (this.#byRemote.get(entry.remoteKey) === id) this.#byRemote.delete(entry.remoteKey);
    entry.socket.destroy();
  }

  clear(): void {
    for (const id of [...this.#byId.keys()]) this.invalidate(id);
  }
}
