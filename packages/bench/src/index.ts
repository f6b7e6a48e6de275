/** @switchboard/bench: the phone-simulating load generator behind `switchboard bench`. */
export const PACKAGE_NAME = '@switchboard/bench';
export * from './bench-result.js';
