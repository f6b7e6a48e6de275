/** Upper bounds of the service-time buckets, in milliseconds (5 µs to 50 ms). */
export const SERVICE_BOUNDS_MS: readonly number[] = [0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 50];

/** Bucket counts of a histogram in milliseconds (Prometheus-style upper bounds; the last count is +Inf). */
export interface ServiceHistogramSnapshot {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
  /** Sum of squares, for E[X²] without the trace. */
  readonly sumOfSquares: number;
}

/** A fixed-bucket histogram of service times, fine enough below 100 µs where one message's work lies. */
export class ServiceHistogram {
  readonly #counts = new Array<number>(SERVICE_BOUNDS_MS.length + 1).fill(0);
  #sum = 0;
  #sumOfSquares = 0;
  #count = 0;

  observe(milliseconds: number): void {
    let i = 0;
    while (i < SERVICE_BOUNDS_MS.length && milliseconds > (SERVICE_BOUNDS_MS[i] as number)) i++;
    this.#counts[i] = (this.#counts[i] as number) + 1;
    this.#sum += milliseconds;
    this.#sumOfSquares += milliseconds * milliseconds;
    this.#count++;
  }

  snapshot(): ServiceHistogramSnapshot {
    return { bounds: SERVICE_BOUNDS_MS, counts: [...this.#counts], sum: this.#sum, sumOfSquares: this.#sumOfSquares, count: this.#count };
  }
}
