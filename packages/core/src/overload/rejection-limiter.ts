/**
 * A token bucket for the 503s overload control sends, at a rate that may change with every
 * request: bursts of up to a tenth of a second's worth. Past it, a shed request is dropped (and
 * counted) instead: under a flood, answering every request would itself become the overload.
 */
export class RejectionLimiter {
  #tokens: number | undefined;
  #lastMs: number;

  constructor(nowMs: number) {
    this.#lastMs = nowMs;
  }

  /** True when a 503 may be sent now at `perSecond` 503s a second (and takes its token). */
  tryTake(nowMs: number, perSecond: number): boolean {
    const burst = Math.max(1, perSecond / 10);
    const elapsed = nowMs - this.#lastMs;
    if (this.#tokens === undefined) this.#tokens = burst;
    else if (elapsed > 0) this.#tokens = this.#tokens + (elapsed * perSecond) / 1000;
    if (elapsed > 0) this.#lastMs = nowMs;
    // A rate that fell takes the bucket down with it.
    if (this.#tokens > burst) this.#tokens = burst;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * 503s a second a worker may send while it admits `admittedRate` new requests a second (undefined
 * before one is measured): REJECTIONS_PER_ADMITTED for each, at least MIN_REJECTION_RATE, at most
 * `cap` (`--overload-reject-rate`).
 *
 * Why tied to the admitted rate: a 503 is not free. Measured on 0.15 of a core, a worker sent
 * 6,600 503s a second and had nothing left for the REGISTERs it admitted (25 a second, where it
 * serves 1,400 with no control), because phones that ignore Retry-After over TCP send again at
 * once: every refusal brought the next. A 503 costs about a third of an admitted REGISTER (23 µs
 * against about 75 µs of a core there: 0.15 core over the ~2,000/s it served without control), so one 503 per admitted request keeps refusals near a
 * quarter of the worker (by that ratio; not measured apart); what is shed beyond that is dropped
 * over UDP (the datagram is read and forgotten until its client retransmits it, and that
 * retransmission gets its 503 within `cap` alone) and, over TCP and TLS, waits in its held
 * connection (overload-control.ts).
 */
export function rejectionRate(admittedRate: number | undefined, cap: number): number {
  if (admittedRate === undefined) return cap;
  return Math.min(cap, Math.max(MIN_REJECTION_RATE, admittedRate * REJECTIONS_PER_ADMITTED));
}

/** 503s allowed per request admitted (rejectionRate). */
export const REJECTIONS_PER_ADMITTED = 1;
/** 503s a second allowed however few requests are admitted, so that some clients still hear why. */
export const MIN_REJECTION_RATE = 20;
