import type { StreamProtocol, TransportAddress } from '@switchboard/core';
import type { ModelCounters } from '../worker-stats.js';
import { LoadBoard } from './load-board.js';
import { responseOwnerSlot } from './response-owner.js';

/** What the dispatcher writes through: the I/O process's UDP socket and stream transports. */
export interface DispatchTransports {
  udp(): { send(target: TransportAddress, bytes: Buffer): void } | undefined;
  stream(protocol: StreamProtocol): { has(id: number): boolean; send(target: TransportAddress, bytes: Buffer): void } | undefined;
}

export interface DispatcherOptions {
  readonly workers: number;
  /** Whether worker `slot` is up and can be sent to. */
  readonly ready: (slot: number) => boolean;
  /** Sends a message to worker `slot` (`handedOff`: another worker passed it on). */
  readonly deliver: (slot: number, bytes: Uint8Array, source: TransportAddress, handedOff: boolean) => void;
  readonly transports: DispatchTransports;
  /** The I/O process's counters (io-dispatch's are in ModelCounters). */
  readonly counters: ModelCounters;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * io-dispatch's routing, without sockets (the I/O process wires it to them): every message read
 * goes to the least-loaded worker, except a response whose branch names a worker that is up (its
 * client transaction is there); every write a worker returns goes out on the connection it names,
 * over UDP, or to its address; a write for a connection that has closed is dropped and counted.
 */
export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly board: LoadBoard;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.board = new LoadBoard(options.workers);
  }

  /** A message read from a socket: to the worker holding its transaction, or the least loaded. */
  dispatch(bytes: Uint8Array, source: TransportAddress): void {
    const counters = this.#options.counters;
    const owner = responseOwnerSlot(bytes);
    let slot: number | undefined;
    if (owner !== undefined && owner < this.#options.workers && this.#options.ready(owner)) {
      slot = owner;
      counters.ioResponsesRoutedByBranch++;
    } else slot = this.board.pick(this.#options.ready);
    if (slot === undefined) {
      // No worker up (all restarting): the client retransmits.
      counters.ioMessagesDropped++;
      return;
    }
    this.#send(slot, bytes, source, false);
  }

  /** A message a worker passes to worker `to` (its transaction's holder); the least loaded if `to` is not up. */
  handOff(to: number, bytes: Uint8Array, source: TransportAddress): void {
    const slot = to < this.#options.workers && this.#options.ready(to) ? to : this.board.pick(this.#options.ready);
    if (slot === undefined) {
      this.#options.counters.ioMessagesDropped++;
      return;
    }
    this.#options.counters.handOffsSent++;
    this.#send(slot, bytes, source, true);
  }

  #send(slot: number, bytes: Uint8Array, source: TransportAddress, handedOff: boolean): void {
    this.board.sent(slot);
    this.#options.counters.ioMessagesDispatched++;
    this.#options.deliver(slot, bytes, source, handedOff);
  }

  /** Worker `slot` has handled `count` messages. */
  done(slot: number, count: number): void {
    this.board.done(slot, count);
  }

  /** Worker `slot` is gone: its outstanding messages are lost with it. */
  workerGone(slot: number): void {
    this.board.clear(slot);
  }

  /** Bytes a worker returned, written here: the I/O process holds every socket. */
  write(target: TransportAddress, bytes: Uint8Array): void {
    const counters = this.#options.counters;
    const buffer = asBuffer(bytes);
    if (target.protocol === 'udp') {
      const udp = this.#options.transports.udp();
      if (udp === undefined) {
        counters.ioWritesDropped++;
        return;
      }
      counters.ioWrites++;
      counters.ioBytesWritten += buffer.byteLength;
      udp.send(target, buffer);
      return;
    }
    const stream = this.#options.transports.stream(target.protocol);
    // A connection named by id that has closed: its peer's port was its own, so there is nowhere
    // else to send (RFC 3261 §18.2.2); the peer retransmits or times out.
    if (stream === undefined || (target.connectionId !== undefined && !stream.has(target.connectionId))) {
      counters.ioWritesDropped++;
      return;
    }
    counters.ioWrites++;
    counters.ioBytesWritten += buffer.byteLength;
    stream.send(target, buffer);
  }

  /** A write the stream transport found no connection for, by id (it closed between the check and the send). */
  lost(): void {
    this.#options.counters.ioWritesDropped++;
  }
}
