/**
 * @switchboard/bench/constants: what the `switchboard` command needs to describe `bench` (its error
 * codes, the arrival processes it offers) without loading the generator itself, so that
 * `switchboard serve` and its workers do not carry the bench's code.
 */
export { BENCH_ERROR_CODES } from './bench-error.js';
export { ARRIVALS } from './arrivals.js';
