import type { PoolEvent } from './worker-pool.js';

type Exited = Extract<PoolEvent, { kind: 'exited' }>;

/** A worker process's event in the words the process pools (process-pool, io-dispatch) report it; the CLI logs them alike. */
export type ProcessWorkerEvent =
  | { readonly kind: 'worker-started'; readonly worker: number; readonly pid: number }
  | ({ readonly kind: 'worker-exited'; readonly pid: number } & Omit<Exited, 'kind' | 'id'>)
  | Extract<PoolEvent, { kind: 'ipc-error' | 'internal-error' }>;

/** The pool's event as reported, or undefined for a crash (its exit, which follows, is reported). */
export function processWorkerEvent(event: PoolEvent): ProcessWorkerEvent | undefined {
  if (event.kind === 'crashed') return undefined;
  if (event.kind === 'started') return { kind: 'worker-started', worker: event.worker, pid: event.id };
  if (event.kind === 'exited') {
    const { kind: _kind, id, ...rest } = event;
    return { kind: 'worker-exited', pid: id, ...rest };
  }
  return event;
}
