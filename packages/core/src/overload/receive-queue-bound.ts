/**
 * Bounds a UDP socket's receive queue in time rather than in bytes: after each sample of the
 * queue delay (UdpQueueProbe), the receive buffer (SO_RCVBUF) to ask for. A buffer sized in bytes
 * holds a different time of work in each model and on each machine: the 512 KiB that are a
 * fifth of a second for the event-loop on 0.15 core held 0.8–1.4 s in the process-pool, whose
 * messages cost more (bench-overload-2026-12-06d, traced), so every request waited past its
 * client's first retransmission (T1, 500 ms) and the admitted calls' responses past the
 * goodput's 4 s. Shrunk to what the worker reads in `boundMs`, the queue keeps what is read fresh,
 * and what does not fit is dropped by the kernel, at no cost to the worker.
 *
 * Pure and deterministic: fed one sample at a time (tests feed synthetic ones).
 */

export interface ReceiveQueueBoundSettings {
  /** The queue delay (ms) above which the buffer shrinks. */
  readonly boundMs: number;
  /** The smallest buffer asked for (bytes). */
  readonly minBytes: number;
  /** The largest buffer asked for (bytes): the buffer the socket started with. */
  readonly maxBytes: number;
}

/** The factor by which one sample shrinks the buffer at most (a delay far above the bound). */
export const MAX_SHRINK = 0.5;
/** The factor by which a sample below a quarter of the bound grows the buffer (back to maxBytes). */
export const GROWTH = 1.25;
/** The smallest receive buffer asked for: about 28 datagrams of a SIP call as the kernel counts them. */
export const MIN_RECEIVE_BUFFER_BYTES = 32 * 1024;

export class ReceiveQueueBound {
  readonly #settings: ReceiveQueueBoundSettings;
  /** No shrink before this time (ms): what was queued at the last shrink has not yet been read. */
  #holdUntilMs = 0;

  constructor(settings: ReceiveQueueBoundSettings) {
    this.#settings = settings;
  }

  /**
   * The buffer to ask for after a sample whose queue delay was `delayMs` (`null`: not measured,
   * the buffer stays), given the buffer asked for now. Above the bound it shrinks in proportion
   * (the queue holds what a buffer holds, so its delay scales with it), by MAX_SHRINK at most,
   * and not again until what was queued at the shrink has been read: the probes read meanwhile
   * waited behind the queue of the larger buffer, and shrinking on them again would overshoot.
   * Below a quarter of the bound (the queue is short: the buffer is not what keeps it so) it
   * grows by GROWTH up to maxBytes, so a burst after the overload finds the whole buffer.
   */
  next(currentBytes: number, delayMs: number | null, nowMs: number): number {
    if (delayMs === null) return currentBytes;
    const { boundMs, minBytes, maxBytes } = this.#settings;
    if (delayMs > boundMs) {
      if (nowMs < this.#holdUntilMs) return currentBytes;
      const next = Math.max(minBytes, Math.round(currentBytes * Math.max(MAX_SHRINK, boundMs / delayMs)));
      if (next < currentBytes) this.#holdUntilMs = nowMs + delayMs;
      return next;
    }
    if (delayMs < boundMs / 4) return Math.min(maxBytes, Math.round(currentBytes * GROWTH));
    return currentBytes;
  }
}
