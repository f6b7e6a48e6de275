import { CodedError } from '@switchboard/sip';

/** Coded errors of experiments (listed in docs/errors.md). */
export const EXPERIMENT_ERROR_CODES = {
  ERR_SWITCHBOARD_EXPERIMENT_CONFIG: 'an experiment config cannot be read or has a bad key or value; the message names the file and key',
  ERR_SWITCHBOARD_EXPERIMENT_PROXY_START: 'the proxy of an experiment point did not start (the point is recorded as failed and the run goes on)',
  ERR_SWITCHBOARD_EXPERIMENT_RUN: 'a run of an experiment point failed for another reason, named in the message (recorded; the run goes on)',
} as const;

export type ExperimentErrorCode = keyof typeof EXPERIMENT_ERROR_CODES;

export class ExperimentError extends CodedError<ExperimentErrorCode> {
  static override readonly codes = EXPERIMENT_ERROR_CODES;
}
