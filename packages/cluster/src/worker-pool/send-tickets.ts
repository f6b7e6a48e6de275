import type { SendErrorHandler } from '@switchboard/core';

/**
 * The error handlers of a worker's sends that another process carries out (io-dispatch's I/O
 * process; in the process-pool, the worker owning the connection a write is relayed to), by ticket
 * number, until it reports a failure. Success is never reported, so tickets are forgotten by age: every
 * `rotateMs` the newest generation becomes the old one and the old one is dropped, so a ticket
 * lives between one and two periods. A failure reported later than that finds no handler (the
 * transaction's timers end the send's transaction instead).
 */
export class SendTickets {
  #current = new Map<number, SendErrorHandler>();
  #previous = new Map<number, SendErrorHandler>();
  #next = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(rotateMs = 5000) {
    this.#timer = setInterval(() => this.rotate(), rotateMs);
    this.#timer.unref();
  }

  /** A ticket for `handler` (never 0, which means "no ticket"). */
  open(handler: SendErrorHandler): number {
    this.#next = (this.#next % 0x7fffffff) + 1;
    this.#current.set(this.#next, handler);
    return this.#next;
  }

  /** The send of `ticket` failed: its handler hears of it, once. */
  fail(ticket: number, error: Error): void {
    const handler = this.#current.get(ticket) ?? this.#previous.get(ticket);
    this.#current.delete(ticket);
    this.#previous.delete(ticket);
    handler?.(error);
  }

  /** Drops the old generation; the current one becomes old. */
  rotate(): void {
    this.#previous = this.#current;
    this.#current = new Map();
  }

  /** Tickets held now. */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#current.clear();
    this.#previous.clear();
  }
}
