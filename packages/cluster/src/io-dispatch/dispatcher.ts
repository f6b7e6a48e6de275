import type { SendErrorHandler, StreamProtocol, TransportAddress } from '@switchboard/core';
import type { ModelCounters } from '../worker-stats.js';
import { CallAffinity } from './call-affinity.js';
import { scanCallId } from './call-id-scan.js';
import { LoadBoard } from './load-board.js';
import { responseOwnerSlot } from './response-owner.js';

/** What the dispatcher writes through: the I/O process's UDP socket and stream transports. */
export interface DispatchTransports {
  udp(): { send(target: TransportAddress, bytes: Buffer, onError?: SendErrorHandler): void } | undefined;
  stream(protocol: StreamProtocol): { has(id: number): boolean; send(target: TransportAddress, bytes: Buffer, onError?: SendErrorHandler): void } | undefined;
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
  /** How long a call stays with its worker after its last message there (default CALL_LINGER_MS). */
  readonly callLingerMs?: number;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * io-dispatch's routing, without sockets (the I/O process wires it to them): every message read
 * goes to the least-loaded worker, except a response whose branch names a worker that is up (its
 * client transaction is there) and a message of a call that a worker has heard from just now (it
 * joins the call there, see CallAffinity, so a call's messages are handled in order); every write a
 * worker returns goes out on the connection it names, over UDP, or to its address; a write for a
 * connection that has closed is dropped and counted.
 */
export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly board: LoadBoard;
  readonly calls: CallAffinity;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.board = new LoadBoard(options.workers);
    this.calls = new CallAffinity(options.workers, options.callLingerMs);
  }

  /** A message read from a socket: to the worker holding its transaction, or the least loaded. */
  dispatch(bytes: Uint8Array, source: TransportAddress): void {
    const counters = this.#options.counters;
    const ready = this.#options.ready;
    const owner = responseOwnerSlot(bytes);
    const call = scanCallId(bytes);
    const joined = this.calls.slotOf(call);
    let slot: number | undefined;
    if (owner !== undefined && owner < this.#options.workers && ready(owner)) {
      slot = owner;
      counters.ioResponsesRoutedByBranch++;
    } else if (joined !== undefined && ready(joined)) {
      slot = joined;
      counters.ioMessagesKeptWithCall++;
    } else slot = this.board.pick(ready);
    if (slot === undefined) {
      // No worker up (all restarting): the client retransmits.
      counters.ioMessagesDropped++;
      return;
    }
    this.#send(slot, bytes, source, false, call);
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

  #send(slot: number, bytes: Uint8Array, source: TransportAddress, handedOff: boolean, call?: string): void {
    this.board.sent(slot);
    this.calls.sent(slot, call);
    this.#options.counters.ioMessagesDispatched++;
    this.#options.deliver(slot, bytes, source, handedOff);
  }

  /** Worker `slot` has handled `count` messages. */
  done(slot: number, count: number): void {
    this.board.done(slot, count);
    this.calls.done(slot, count);
  }

  /** Worker `slot` is gone: its outstanding messages are lost with it. */
  workerGone(slot: number): void {
    this.board.clear(slot);
    this.calls.clear(slot);
  }

  /**
   * Bytes a worker returned, written here: the I/O process holds every socket. `onError` (the
   * worker asked to hear of a failure) is told of a failed or dropped write, once.
   */
  write(target: TransportAddress, bytes: Uint8Array, onError?: SendErrorHandler): void {
    const counters = this.#options.counters;
    const buffer = asBuffer(bytes);
    if (target.protocol === 'udp') {
      const udp = this.#options.transports.udp();
      if (udp === undefined) {
        counters.ioWritesDropped++;
        onError?.(new Error('no UDP transport'));
        return;
      }
      counters.ioWrites++;
      counters.ioBytesWritten += buffer.byteLength;
      udp.send(target, buffer, onError);
      return;
    }
    const stream = this.#options.transports.stream(target.protocol);
    // A connection named by id that has closed: its peer's port was its own, so there is nowhere
    // else to send (RFC 3261 §18.2.2); the peer retransmits or times out.
    if (stream === undefined || (target.connectionId !== undefined && !stream.has(target.connectionId))) {
      counters.ioWritesDropped++;
      onError?.(new Error(stream === undefined ? `no ${target.protocol.toUpperCase()} transport` : 'connection closed before the message was sent'));
      return;
    }
    counters.ioWrites++;
    counters.ioBytesWritten += buffer.byteLength;
    stream.send(target, buffer, onError);
  }

  /** A write the stream transport found no connection for, by id (it closed between the check and the send). */
  lost(): void {
    this.#options.counters.ioWritesDropped++;
  }
}
