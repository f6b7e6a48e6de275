import { CodedError } from '@switchboard/sip';

/** Coded errors of the load generator (listed in docs/errors.md). */
export const BENCH_ERROR_CODES = {
  ERR_SWITCHBOARD_BENCH_OPTION: 'a bench option is invalid; the message names the flag',
  ERR_SWITCHBOARD_BENCH_PROXY_UNREACHABLE: 'no simulated phone could register with the proxy under test',
  ERR_SWITCHBOARD_BENCH_PROCESS: 'a generator process failed, exited or stopped answering',
} as const;

export type BenchErrorCode = keyof typeof BENCH_ERROR_CODES;

export class BenchError extends CodedError<BenchErrorCode> {
  static override readonly codes = BENCH_ERROR_CODES;
}
