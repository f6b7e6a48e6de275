import type { Writable } from 'node:stream';
import type { SendErrorHandler } from '../transport-address.js';

/**
 * The messages one turn of the loop sends on a stream connection, written as one buffer when the
 * turn's callbacks are done (process.nextTick), in the order they were sent. A trunk's read
 * carries tens of messages, each answered or forwarded on the same few connections; written one
 * by one, a system call each, the writes were the largest single cost over TCP (14% of the
 * event-loop's CPU at 4x overload, perf, bench-overload-2026-12-06b). One buffer, not a corked
 * socket's writev: the socket keeps no request and callback per message. Nothing waits longer
 * than the turn that sent it.
 */
export class StreamOutbox {
  readonly #socket: Writable;
  /** The socket's own error, when it has failed: it names the cause better than the write's. */
  readonly #failure: () => Error | undefined;
  #messages: Buffer[] = [];
  #onErrors: SendErrorHandler[] = [];
  #scheduled = false;

  constructor(socket: Writable, failure: () => Error | undefined) {
    this.#socket = socket;
    this.#failure = failure;
  }

  /** Sends `bytes` at the end of this turn; `onError` hears once if the write fails. */
  add(bytes: Buffer, onError?: SendErrorHandler): void {
    this.#messages.push(bytes);
    if (onError !== undefined) this.#onErrors.push(onError);
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(flushOutbox, this);
    }
  }

  /** Writes what this turn sent (the end of the turn calls it). Never throws. */
  flush(): void {
    this.#scheduled = false;
    const messages = this.#messages;
    if (messages.length === 0) return;
    const onErrors = this.#onErrors;
    this.#messages = [];
    this.#onErrors = [];
    const bytes = messages.length === 1 ? (messages[0] as Buffer) : Buffer.concat(messages);
    const failed = onErrors.length === 0 ? undefined : (error: Error): void => {
      const reported = this.#failure() ?? error;
      for (const onError of onErrors) onError(reported);
    };
    try {
      this.#socket.write(bytes, (error) => {
        if (error) failed?.(error);
      });
    } catch (error) {
      failed?.(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

function flushOutbox(outbox: StreamOutbox): void {
  outbox.flush();
}
