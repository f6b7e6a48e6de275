import { seededRandom } from '@switchboard/bench';

export interface Mg1SimulationOptions {
  /** Arrivals per second (Poisson). */
  readonly lambda: number;
  /** Draws one service time in seconds, given a uniform (0, 1) generator. */
  readonly service: (random: () => number) => number;
  readonly customers: number;
  readonly seed: number;
}

/**
 * Waiting times (seconds, in arrival order) of a simulated M/G/1 FIFO queue, by Lindley's
 * recursion W(n+1) = max(0, W(n) + S(n) − A(n+1)): the known answer the fit is tested against.
 */
export function simulateMg1(options: Mg1SimulationOptions): { waits: number[]; services: number[] } {
  const random = seededRandom(options.seed);
  const waits: number[] = [];
  const services: number[] = [];
  let wait = 0;
  for (let n = 0; n < options.customers; n++) {
    const service = options.service(random);
    waits.push(wait);
    services.push(service);
    const gap = -Math.log(random()) / options.lambda;
    wait = Math.max(0, wait + service - gap);
  }
  return { waits, services };
}
