/**
 * A token bucket for the 503s overload control sends: at most `perSecond` on average, bursts of
 * up to a tenth of a second's worth. Past it, a shed request is dropped (and counted) instead:
 * under a flood, answering every request would itself become the overload.
 */
export class RejectionLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  #tokens: number;
  #lastMs: number;

  constructor(perSecond: number, nowMs: number) {
    this.#perSecond = perSecond;
    this.#burst = Math.max(1, perSecond / 10);
    this.#tokens = this.#burst;
    this.#lastMs = nowMs;
  }

  /** True when a 503 may be sent now (and takes its token). */
  tryTake(nowMs: number): boolean {
    const elapsed = nowMs - this.#lastMs;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#perSecond) / 1000);
      this.#lastMs = nowMs;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
