/** Errors of the pools' workers (`ERR_SWITCHBOARD_WORKER_*`), each listed in docs/errors.md. */
import { CodedError, errorRecord } from '@switchboard/sip';

export const WORKER_ERROR_CODES = {
  ERR_SWITCHBOARD_WORKER_START: 'A worker process or thread failed to start, or never said it was ready; the message says why (serve names --model).',
  ERR_SWITCHBOARD_WORKER_FRAME_TOO_LARGE: 'A frame on the byte stream between the process-pool supervisor and a worker announced more bytes than the limit; the stream is closed and the worker replaced.',
  ERR_SWITCHBOARD_WORKER_STREAM: 'The byte stream between the process-pool supervisor and a worker failed or closed while the worker was running.',
} as const;

export type WorkerErrorCode = keyof typeof WORKER_ERROR_CODES;

export class WorkerError extends CodedError<WorkerErrorCode> {
  static override readonly codes = WORKER_ERROR_CODES;
}

/**
 * What a worker reports when its start fails, as `{code, message}` for IPC or postMessage: a coded
 * error keeps its code (a store that is down stays ERR_SWITCHBOARD_STATE_UNAVAILABLE), anything
 * else becomes ERR_SWITCHBOARD_WORKER_START.
 */
export function startFailure(error: unknown): { code: string; message: string } {
  const start: WorkerErrorCode = 'ERR_SWITCHBOARD_WORKER_START';
  return errorRecord(error, start);
}

/** The error a pool's start rejects with, from a worker's `{code, message}`. */
export function reviveStartFailure(record: { readonly code: string; readonly message: string }): Error & { code: string } {
  if (record.code in WORKER_ERROR_CODES) return new WorkerError(record.code as WorkerErrorCode, record.message);
  return Object.assign(new Error(record.message), { code: record.code });
}
