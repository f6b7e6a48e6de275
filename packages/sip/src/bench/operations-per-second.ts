/** Results kept from the optimiser: an operation whose result is never read could be dropped. */
let sink = 0;

/** How many times to run an operation before timing it, and per clock reading, by default. */
const WARM_UP = 2000;
const BATCH = 500;

/**
 * Operations per second: the median of `rounds` timed rounds of at least `roundMs` each, after
 * `warmUp` untimed runs; the clock is read every `batch` operations.
 */
export function operationsPerSecond(operation: () => unknown, rounds: number, roundMs: number, warmUp = WARM_UP, batch = BATCH): number {
  for (let i = 0; i < warmUp; i++) operation();
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let iterations = 0;
    const started = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < roundMs) {
      for (let i = 0; i < batch; i++) {
        const result = operation();
        if (result === undefined) sink++;
      }
      iterations += batch;
      elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    }
    rates.push((iterations * 1000) / elapsed);
  }
  rates.sort((a, b) => a - b);
  if (sink < 0) throw new Error('unreachable');
  return rates[Math.floor(rates.length / 2)] as number;
}
