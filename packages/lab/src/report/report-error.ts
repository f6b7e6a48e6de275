import { CodedError } from '@switchboard/sip';

/** Coded errors of `switchboard report` (listed in docs/errors.md). */
export const REPORT_ERROR_CODES = {
  ERR_SWITCHBOARD_REPORT_NO_RESULTS: 'the directory has no experiment results to report on; the message says what is missing',
  ERR_SWITCHBOARD_REPORT_BAD_FIGURE: 'a published figure of the experiment config names a metric the report does not know',
} as const;

export type ReportErrorCode = keyof typeof REPORT_ERROR_CODES;

export class ReportError extends CodedError<ReportErrorCode> {
  static override readonly codes = REPORT_ERROR_CODES;
}
