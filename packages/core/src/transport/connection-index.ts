/** The transports that carry SIP as a byte stream over a connection. */
export type StreamProtocol = 'tcp' | 'tls';

/** The address key of a connection's peer: `host:port`, host in lower case. */
export function remoteKeyOf(address: string, port: number): string {
  return `${address.toLowerCase()}:${port}`;
}

/** One connection of a `ConnectionIndex`. */
export interface IndexedConnection<T> {
  readonly id: number;
  readonly protocol: StreamProtocol;
  /** The peer's address as `remoteKeyOf` writes it. */
  readonly remoteKey: string;
  /** Other names of the connection (Via sent-bys, RFC 5923 aliases), as `remoteKeyOf` writes them. */
  readonly aliases: ReadonlySet<string>;
  /** False once the peer has sent its FIN (`unroute`): the connection is no longer found by address. */
  readonly routed: boolean;
  /** What the holder keeps beside it (a socket, an owner). */
  readonly value: T;
}

interface Entry<T> {
  readonly id: number;
  readonly protocol: StreamProtocol;
  readonly remoteKey: string;
  readonly aliases: Set<string>;
  routed: boolean;
  value: T;
}

/**
 * Connection id ↔ protocol + peer address, plus the aliases a connection is also known by: the
 * one map every place that reuses stream connections keeps (the stream transport, the
 * process-pool supervisor and its workers' fd caches, the thread-pool threads). A TCP and a TLS
 * connection to the same address are different entries. An address names the connection filed
 * under it last; removing a connection (or unrouting it, when its peer sent a FIN) drops every
 * address that still names it, and none that names another.
 */
export class ConnectionIndex<T = undefined> {
  readonly #byId = new Map<number, Entry<T>>();
  readonly #byAddress = new Map<string, number>();

  get size(): number {
    return this.#byId.size;
  }

  /** Files connection `id` (replacing an entry of the same id) and routes its peer address to it. */
  add(id: number, protocol: StreamProtocol, remoteKey: string, value: T): void {
    this.remove(id);
    this.#byId.set(id, { id, protocol, remoteKey, aliases: new Set(), routed: true, value });
    this.#byAddress.set(addressKey(protocol, remoteKey), id);
  }

  /**
   * Files `key` (`remoteKeyOf(host, port)`) as another name of connection `id`, of the
   * connection's protocol. Returns false when nothing changed: no such connection, one no longer
   * routed, or a key it already has.
   */
  alias(id: number, key: string): boolean {
    const entry = this.#byId.get(id);
    if (entry === undefined || !entry.routed || key === entry.remoteKey || entry.aliases.has(key)) return false;
    entry.aliases.add(key);
    this.#byAddress.set(addressKey(entry.protocol, key), id);
    return true;
  }

  get(id: number): IndexedConnection<T> | undefined {
    return this.#byId.get(id);
  }

  has(id: number): boolean {
    return this.#byId.has(id);
  }

  /** The connection routed to `key` (`remoteKeyOf(host, port)`, a peer address or an alias). */
  lookup(protocol: StreamProtocol, key: string): IndexedConnection<T> | undefined {
    const id = this.#byAddress.get(addressKey(protocol, key));
    return id === undefined ? undefined : this.#byId.get(id);
  }

  /**
   * The peer sent its FIN: the connection stays (responses by id still go out on it) but no
   * address leads to it any more.
   */
  unroute(id: number): IndexedConnection<T> | undefined {
    const entry = this.#byId.get(id);
    if (entry === undefined) return undefined;
    entry.routed = false;
    for (const key of [entry.remoteKey, ...entry.aliases]) {
      const indexed = addressKey(entry.protocol, key);
      if (this.#byAddress.get(indexed) === id) this.#byAddress.delete(indexed);
    }
    return entry;
  }

  /** Forgets connection `id` and every address that names it; returns what it was. */
  remove(id: number): IndexedConnection<T> | undefined {
    const entry = this.unroute(id);
    if (entry !== undefined) this.#byId.delete(id);
    return entry;
  }

  /** Moves connection `id` to the end of the `values()` order (a least-recently-used list), its addresses unchanged. */
  touch(id: number): void {
    const entry = this.#byId.get(id);
    if (entry === undefined) return;
    this.#byId.delete(id);
    this.#byId.set(id, entry);
  }

  /** Every connection, oldest filed (or touched) first. */
  values(): IterableIterator<IndexedConnection<T>> {
    return this.#byId.values();
  }

  clear(): void {
    this.#byId.clear();
    this.#byAddress.clear();
  }
}

function addressKey(protocol: StreamProtocol, key: string): string {
  return `${protocol} ${key}`;
}
