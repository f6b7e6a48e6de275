import type { InternalErrorRecord } from '../internal-error-reports.js';
import type { WorkerStats } from '../worker-stats.js';

/** What the pool tells every worker, whatever the channel. */
export type LifecycleToWorker =
  | { readonly t: 'stats-request'; readonly request: number }
  | { readonly t: 'stop' }
  /**
   * `--transactions shared`: the worker whose lease owner id is `owner` died (its process or thread
   * exited): take its transactions over now rather than when their leases lapse.
   */
  | { readonly t: 'worker-died'; readonly owner: string };

/** What every worker tells its pool, whatever the channel. */
export type LifecycleToPool =
  /** `owner`: the worker's lease owner id (`--transactions shared`), for the death notice the pool sends if it dies. */
  | { readonly t: 'ready'; readonly owner?: string }
  | { readonly t: 'start-failed'; readonly error: { readonly code: string; readonly message: string } }
  | { readonly t: 'stats'; readonly request: number; readonly stats: WorkerStats }
  /** A bug the worker's core caught at an entry point (rate-limited at the worker), for the pool's log. */
  | { readonly t: 'internal-error'; readonly error: InternalErrorRecord };

/** What a channel reports to the pool that opened it. */
export interface ChannelHandlers<In, Attachment> {
  /** A message, already decoded and checked. */
  message(message: In, attachment: Attachment | undefined): void;
  /** A message that could not be read, or a send that failed: dropped, counted, never fatal. */
  ipcError(message: string): void;
  /** The worker itself failed (a thread's uncaught exception); its exit follows. */
  crashed(error: Error): void;
  exit(code: number | null, signal: string | null): void;
}

/**
 * One worker as its pool sees it: a process over Node's IPC channel (a socket handle may ride
 * beside a message) or a thread over its port (buffers and ports may be transferred). The pool's
 * lifecycle (ready handshake, stats, stop, restarts) is written once against this.
 */
export interface Channel<Out, Attachment> {
  /** Process id, or thread id. */
  readonly id: number;
  /** Whether a message sent now can arrive. */
  readonly connected: boolean;
  /**
   * Sends a message; never throws (a failure goes to `ipcError`). `keepOpen` false closes a handle
   * here once sent, or at once when it cannot be.
   */
  send(message: Out | LifecycleToWorker, attachment?: Attachment, keepOpen?: boolean): void;
  /** Ends the worker now (SIGKILL, or terminate). */
  kill(): void;
  /** Sends not yet flushed (process IPC); 0 where sends do not queue. */
  readonly pendingSends: number;
}

/** The pool as a worker sees it: the other end of its Channel. */
export interface WorkerPort<Out, Attachment> {
  /** Sends to the pool; never throws (a failed send is counted by the port's owner). */
  send(message: Out | LifecycleToPool, attachment?: Attachment): void;
}
