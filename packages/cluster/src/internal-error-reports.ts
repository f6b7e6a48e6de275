import diagnostics from 'node:diagnostics_channel';

/** The diagnostics channel core publishes a bug on (`{ error }`), caught at an entry point. */
export const INTERNAL_ERROR_CHANNEL = 'switchboard:internal-error';

/**
 * A bug the core caught at an entry point (a socket, timer or store callback), as plain data so it
 * crosses a thread or process boundary: its name, code (when it has one), message and stack.
 */
export interface InternalErrorRecord {
  readonly name: string;
  readonly code?: string;
  readonly message: string;
  readonly stack?: string;
  /** Reports left out by the rate limit since the previous one reported. */
  readonly suppressed: number;
}

export interface InternalErrorReportsOptions {
  /** At most this many reports a second (default 5); the rest are counted into the next one. */
  readonly perSecond?: number;
  readonly now?: () => number;
}

/** `error` as an InternalErrorRecord. */
export function internalErrorRecord(error: unknown, suppressed = 0): InternalErrorRecord {
  const failure = error instanceof Error ? error : new Error(String(error));
  const code = (error as { code?: unknown } | null)?.code;
  return {
    name: failure.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: failure.message,
    ...(failure.stack === undefined ? {} : { stack: failure.stack }),
    suppressed,
  };
}

/**
 * Subscribes to core's internal-error channel in this thread (diagnostics channels are per thread)
 * and passes each bug on to `report` (a worker's pool, the CLI's log), at most `perSecond` a
 * second: a bug hit by every message must not flood IPC or the log. Every one is counted by the
 * core anyway (`internal_errors`); those left out are counted into the next report.
 */
export class InternalErrorReports {
  readonly #report: (record: InternalErrorRecord) => void;
  readonly #perSecond: number;
  readonly #now: () => number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #inWindow = 0;
  #suppressed = 0;
  #subscribed = false;
  readonly #onMessage = (message: unknown): void => {
    this.take((message as { error?: unknown } | null)?.error);
  };

  constructor(report: (record: InternalErrorRecord) => void, options: InternalErrorReportsOptions = {}) {
    this.#report = report;
    this.#perSecond = options.perSecond ?? 5;
    this.#now = options.now ?? Date.now;
  }

  subscribe(): this {
    if (!this.#subscribed) diagnostics.subscribe(INTERNAL_ERROR_CHANNEL, this.#onMessage);
    this.#subscribed = true;
    return this;
  }

  unsubscribe(): void {
    if (this.#subscribed) diagnostics.unsubscribe(INTERNAL_ERROR_CHANNEL, this.#onMessage);
    this.#subscribed = false;
  }

  /** One bug: reported, or counted into the next report when this second's reports are spent. Never throws. */
  take(error: unknown): void {
    const now = this.#now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    if (this.#inWindow >= this.#perSecond) {
      this.#suppressed++;
      return;
    }
    this.#inWindow++;
    const record = internalErrorRecord(error, this.#suppressed);
    this.#suppressed = 0;
    try {
      this.#report(record);
    } catch {
      // A report that cannot be sent (a closed channel) is lost; the counter still has it.
    }
  }
}
