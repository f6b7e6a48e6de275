import type net from 'node:net';
import { ConnectionIndex } from '@switchboard/core';

/** How many invalidated ids a cache remembers. */
const INVALIDATED_REMEMBERED = 4096;

/**
 * A worker's bounded cache of handles to connections other workers own (Kamailio keeps 8 per
 * process). Least recently used goes first; evicting or invalidating a handle closes this
 * worker's copy only: the connection stays open in its owner. Handles are TCP only (a TLS
 * connection's handle is useless without its session keys).
 */
export class FdCache {
  readonly #capacity: number;
  /** By id and by remote address; its order is recency order (touched on use). */
  readonly #handles = new ConnectionIndex<net.Socket>();
  /** Ids invalidated lately, oldest first (bounded): an answer that comes after its invalidation is not cached. */
  readonly #invalidated = new Set<number>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#handles.size;
  }

  get(id: number | undefined, remoteKey: string): net.Socket | undefined {
    const entry = id === undefined ? this.#handles.lookup('tcp', remoteKey) : this.#handles.get(id);
    if (entry === undefined) return undefined;
    this.#handles.touch(entry.id);
    return entry.value;
  }

  put(id: number, remoteKey: string, socket: net.Socket): void {
    this.#forget(id);
    this.#handles.add(id, 'tcp', remoteKey, socket);
    while (this.#handles.size > this.#capacity) {
      const oldest = this.#handles.values().next().value;
      if (oldest === undefined) break;
      this.#forget(oldest.id);
    }
  }

  /** Closes and forgets the cached handle of connection `id`, if any, and remembers that `id` is gone. */
  invalidate(id: number): void {
    this.#forget(id);
    this.#invalidated.add(id);
    if (this.#invalidated.size > INVALIDATED_REMEMBERED) this.#invalidated.delete(this.#invalidated.values().next().value as number);
  }

  /** Whether connection `id` was invalidated lately (its handle, arriving now, is of a closed connection). */
  wasInvalidated(id: number): boolean {
    return this.#invalidated.has(id);
  }

  #forget(id: number): void {
    this.#handles.remove(id)?.value.destroy();
  }

  clear(): void {
    for (const entry of [...this.#handles.values()]) this.#forget(entry.id);
  }
}
