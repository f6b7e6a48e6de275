/**
 * Configuration and runtime errors of the `switchboard` command (`ERR_SWITCHBOARD_*`), each
 * listed in docs/errors.md. Their messages name the flag or config key at fault.
 */
import { BENCH_ERROR_CODES } from '@switchboard/bench/constants';
import { CodedError } from '@switchboard/sip';
import { STATE_STORE_ERROR_CODES, WORKER_ERROR_CODES } from '@switchboard/cluster';
import { AUTH_ERROR_CODES } from '@switchboard/core';
import { EXPERIMENT_ERROR_CODES, REPORT_ERROR_CODES } from '@switchboard/lab/constants';

export const SWITCHBOARD_ERROR_CODES = {
  ...STATE_STORE_ERROR_CODES,
  ...WORKER_ERROR_CODES,
  ...AUTH_ERROR_CODES,
  ...BENCH_ERROR_CODES,
  ...EXPERIMENT_ERROR_CODES,
  ...REPORT_ERROR_CODES,
  ERR_SWITCHBOARD_INVALID_FLAG: 'A command-line flag has a value it cannot take; the message names the flag.',
  ERR_SWITCHBOARD_INVALID_CONFIG: 'The --config file cannot be read, is not YAML, or has an unknown key or a bad value; the message names the key.',
  ERR_SWITCHBOARD_LISTEN_FAILED: 'A listener (--listen or --metrics) could not be bound; the message names the flag, and whatever had started is stopped.',
  ERR_SWITCHBOARD_TLS_CREDENTIALS:
    'A TLS file cannot be read or does not hold what its flag needs: --tls-cert a PEM certificate, --tls-key the private key of that certificate, --tls-ca PEM CA certificates; the message names the flag.',
} as const;

export type SwitchboardErrorCode = keyof typeof SWITCHBOARD_ERROR_CODES;

export class SwitchboardError extends CodedError<SwitchboardErrorCode> {
  static override readonly codes = SWITCHBOARD_ERROR_CODES;
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;

  constructor(code: SwitchboardErrorCode, message: string, exitCode = 2) {
    super(code, message);
    this.exitCode = exitCode;
  }
}
