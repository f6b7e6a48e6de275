/** @switchboard/bench: the phone-simulating load generator behind `switchboard bench`. */
export * from './bench-result.js';
export { BENCH_ERROR_CODES, BenchError, type BenchErrorCode } from './bench-error.js';
export { ARRIVALS, interArrival, seededRandom } from './arrivals.js';
export { benchSettings, runBench, type BenchOptions, type BenchProgress } from './run-bench.js';
export { operationsPerConnection, type BenchTlsOptions } from './phone-links.js';
export { cpuCount, cpuNumbers, descendants } from './process-usage.js';
export { cpuBusyBetween, parseCpuTimes, readCpuTimes, type CpuBusy, type CpuTimesSnapshot } from './cpu-busy.js';
export type { UdpCounters } from './udp-drops.js';
export { lateCountersReason } from './proxy-counters.js';
export { runRegistration, type RegistrationRunOptions } from './registration/run-registration.js';
export { REGISTRATION_MODES, RETRY_AFTER_BEHAVIOURS, type RegistrationMode, type RetryAfterBehaviour } from './registration/registering-clients.js';
export type { RegistrationFigures, RegistrationWorkload, ProbeResult, PhaseCost, MemoryPerConnection } from './registration/registration-result.js';
export { spreadConnections, sourceAddress, localPortsPerAddress } from './registration/source-addresses.js';
