import { CodedError } from '@switchboard/sip';

/** Errors of the state stores (`ERR_SWITCHBOARD_STATE_*`), each listed in docs/errors.md. */
export const STATE_STORE_ERROR_CODES = {
  ERR_SWITCHBOARD_STATE_UNAVAILABLE: 'The state store did not answer (Redis unreachable, or the SharedArrayBuffer table stayed locked past its wait limit); requests that need it get 503 with Retry-After until it returns.',
  ERR_SWITCHBOARD_STATE_FULL: 'A SharedArrayBuffer table (locations, auth nonce and failure counts, or transactions) has no free slot; start with a larger table or use Redis.',
  ERR_SWITCHBOARD_STATE_RECORD_TOO_LARGE: 'A record does not fit in one slot of its SharedArrayBuffer table (a binding with a very long Contact, or a transaction whose last response and branches outgrow the slot).',
} as const;

export type StateStoreErrorCode = keyof typeof STATE_STORE_ERROR_CODES;

/** An error of a location store shared by threads, processes or hosts; `code` says which. */
export class StateStoreError extends CodedError<StateStoreErrorCode> {
  static override readonly codes = STATE_STORE_ERROR_CODES;
}
