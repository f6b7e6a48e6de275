import type { TransportAddress } from '@switchboard/core';

/**
 * Datagrams crossing between the parent thread (which owns the UDP socket) and a pool thread,
 * packed: one transferred buffer holding them back to back, where each ends, and each one's
 * source (parent to thread) or target (thread to parent).
 */
export interface DatagramBatch {
  readonly bytes: Uint8Array;
  readonly ends: readonly number[];
  readonly addresses: readonly TransportAddress[];
}

/** A batch is posted at once when it holds this many datagrams or bytes. */
export const MAX_BATCH_DATAGRAMS = 64;
export const MAX_BATCH_BYTES = 64 * 1024;

/**
 * Collects the datagrams one side posts to another during one turn of the event loop and posts
 * them as one message (`deliver`), at the turn's end (setImmediate) or when the batch is full.
 * Each relayed datagram cost a MessagePort message of its own before, and most of a message's
 * cost is per message, not per byte (`node scripts/message-port-batch.mjs`, 600-byte datagrams,
 * both threads counted: 6.9 µs of CPU per datagram one by one, 1.4 in batches of 8, 0.65 in
 * batches of 32). How many datagrams a turn carries under load was not measured: libuv reads up
 * to 32 per wake-up of the socket, and at 300 calls/s unsaturated batching saved nothing
 * measurable (experiments/bench-overload-2026-12-05c). A lone datagram waits for the end of its
 * turn only: nothing is held across turns.
 *
 * `deliver` is called from a timer: what it throws goes to `onError` (counted by the owner), never
 * to the event loop. The bytes given to `add` must not change before the batch is posted (as for
 * a dgram send); they are copied into the batch's buffer then.
 */
export class DatagramBatcher {
  readonly #deliver: (batch: DatagramBatch) => void;
  readonly #onError: (error: unknown) => void;
  #datagrams: Uint8Array[] = [];
  #addresses: TransportAddress[] = [];
  #bytes = 0;
  #scheduled: NodeJS.Immediate | undefined;

  constructor(deliver: (batch: DatagramBatch) => void, onError: (error: unknown) => void) {
    this.#deliver = deliver;
    this.#onError = onError;
  }

  /** Datagrams waiting for the end of the turn. */
  get pending(): number {
    return this.#datagrams.length;
  }

  add(bytes: Uint8Array, address: TransportAddress): void {
    this.#datagrams.push(bytes);
    this.#addresses.push(address);
    this.#bytes += bytes.byteLength;
    if (this.#datagrams.length >= MAX_BATCH_DATAGRAMS || this.#bytes >= MAX_BATCH_BYTES) this.flush();
    else this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** Posts what is waiting now (called at the end of the turn; by the owner before it closes). */
  flush(): void {
    const datagrams = this.#datagrams;
    const addresses = this.#addresses;
    const total = this.#bytes;
    this.clear();
    if (datagrams.length === 0) return;
    const bytes = new Uint8Array(total);
    const ends: number[] = [];
    let offset = 0;
    for (const datagram of datagrams) {
      bytes.set(datagram, offset);
      offset += datagram.byteLength;
      ends.push(offset);
    }
    try {
      this.#deliver({ bytes, ends, addresses });
    } catch (error) {
      this.#onError(error);
    }
  }

  /** Drops what is waiting (the receiver is gone). */
  clear(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#datagrams = [];
    this.#addresses = [];
    this.#bytes = 0;
  }
}

/**
 * Calls `each` with every datagram of a batch, in order, as a Buffer over the batch's buffer.
 * A datagram whose handler throws is counted by `onError` and the rest still go on.
 */
export function forEachDatagram(batch: DatagramBatch, each: (bytes: Buffer, address: TransportAddress) => void, onError: (error: unknown) => void): void {
  const { bytes, ends, addresses } = batch;
  let start = 0;
  for (let n = 0; n < ends.length; n++) {
    const end = ends[n] as number;
    const address = addresses[n];
    if (address === undefined || end < start || end > bytes.byteLength) {
      onError(new Error('malformed datagram batch'));
      return;
    }
    try {
      each(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start), address);
    } catch (error) {
      onError(error);
    }
    start = end;
  }
}
