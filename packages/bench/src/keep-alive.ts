/**
 * RFC 5626 §4.4.1 CRLF keep-alives for the connections phones open to the proxy, as real phones
 * keep their flows alive: a link with no bytes written or read for `intervalMs` gets a ping
 * (`CRLF CRLF`), and the proxy answers with a pong (`CRLF`). A pong that does not come within
 * `pongTimeoutMs` means the flow is dead: the link is destroyed, and the phone recovers as it does
 * from any lost connection (a persistent phone registers again on a new one).
 *
 * One sweep per generator process walks every watched link (a timer per link is too many for
 * 20,000 links); a link's idle time is therefore measured to within one sweep period.
 */

/** What the keep-alive needs of a link (StreamLink implements it). */
export interface KeptAliveLink {
  /** When a byte was last written or read (performance.now()). */
  readonly lastActivityAt: number;
  /** When the outstanding ping was sent; undefined when none is outstanding. */
  pingSentAt: number | undefined;
  readonly closed: boolean;
  /** Writes the ping (bypassing the activity clock). */
  ping(): void;
  /** Gives up on the link: the flow is dead. */
  destroy(): void;
}

export interface KeepAliveCounts {
  /** Pings written. */
  pingsSent: number;
  /** Pongs received for them. */
  pongsReceived: number;
  /** Pings without a pong within the timeout; each one closed its link. */
  pongsMissing: number;
}

export interface KeepAliveOptions {
  /** Idle time after which a link is pinged. */
  readonly intervalMs: number;
  /** How long a pong may take (RFC 5626 §4.4.1 suggests 10 s). */
  readonly pongTimeoutMs?: number;
  /** Sweep period; default a quarter of the interval, between 100 ms and 1 s. */
  readonly sweepMs?: number;
  /** The clock (tests). */
  readonly now?: () => number;
}

export const DEFAULT_PONG_TIMEOUT_MS = 10_000;

export function emptyKeepAliveCounts(): KeepAliveCounts {
  return { pingsSent: 0, pongsReceived: 0, pongsMissing: 0 };
}

export class KeepAliveSweeper {
  readonly counts: KeepAliveCounts = emptyKeepAliveCounts();
  readonly #links = new Set<KeptAliveLink>();
  readonly #intervalMs: number;
  readonly #pongTimeoutMs: number;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;

  constructor(options: KeepAliveOptions) {
    this.#intervalMs = options.intervalMs;
    this.#pongTimeoutMs = options.pongTimeoutMs ?? DEFAULT_PONG_TIMEOUT_MS;
    this.#now = options.now ?? (() => performance.now());
    const sweepMs = options.sweepMs ?? Math.max(100, Math.min(1000, options.intervalMs / 4));
    this.#timer = setInterval(() => this.sweep(), sweepMs);
    this.#timer.unref();
  }

  /** Keeps `link` alive until it closes (the caller calls `forget` then). */
  watch(link: KeptAliveLink): void {
    this.#links.add(link);
  }

  forget(link: KeptAliveLink): void {
    this.#links.delete(link);
  }

  /** A pong arrived on a link with a ping outstanding. */
  pong(link: KeptAliveLink): void {
    if (link.pingSentAt === undefined) return;
    link.pingSentAt = undefined;
    this.counts.pongsReceived++;
  }

  get watched(): number {
    return this.#links.size;
  }

  /** Pings idle links and gives up on links whose pong is late (the timer calls this). */
  sweep(): void {
    const now = this.#now();
    for (const link of this.#links) {
      if (link.closed) {
        this.#links.delete(link);
        continue;
      }
      if (link.pingSentAt !== undefined) {
        if (now - link.pingSentAt >= this.#pongTimeoutMs) {
          this.counts.pongsMissing++;
          link.pingSentAt = undefined;
          this.#links.delete(link);
          link.destroy();
        }
        continue;
      }
      if (now - link.lastActivityAt >= this.#intervalMs) {
        link.pingSentAt = now;
        this.counts.pingsSent++;
        link.ping();
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#links.clear();
  }
}
