import { CodedError } from '@switchboard/sip';

/** Coded errors of E9's queueing lab: `switchboard model` (listed in docs/errors.md). */
export const QUEUEING_ERROR_CODES = {
  ERR_SWITCHBOARD_PCAP_FORMAT: 'a capture is no classic pcap file (pcapng and truncated headers are not read)',
  ERR_SWITCHBOARD_MODEL_CONFIG: 'a queueing experiment config (configs/experiments/e9.yaml) cannot be read or has a bad value; the message names the key',
  ERR_SWITCHBOARD_MODEL_CAPTURE: 'tcpdump could not capture the proxy\'s loopback traffic (not installed, or no permission)',
  ERR_SWITCHBOARD_MODEL_NO_RESULTS: '`switchboard model report` was pointed at a directory without E9 results',
} as const;

export type QueueingErrorCode = keyof typeof QUEUEING_ERROR_CODES;

export class QueueingError extends CodedError<QueueingErrorCode> {
  static override readonly codes = QUEUEING_ERROR_CODES;
}
