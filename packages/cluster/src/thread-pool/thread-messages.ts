import type { MessagePort } from 'node:worker_threads';
import type { StreamProtocol, TransportAddress } from '@switchboard/core';
import type { SabAuthStateShared } from '../state/sab-auth-state-store.js';
import type { SabLocationStoreShared } from '../state/sab-location-store.js';
import type { SabTransactionStoreShared } from '../state/sab-transaction-store.js';
import type { SharedConnectionQuotaMemory } from './shared-connection-quota.js';
import type { DatagramBatch } from './datagram-batch.js';
import type { ProxySettings } from '../proxy-settings.js';
import type { InternalErrorRecord } from '../internal-error-reports.js';
import type { WorkerStats } from '../worker-stats.js';

/** What a thread of the pool starts with (`workerData`); its ports come in the first message. */
export interface ThreadConfig {
  readonly slot: number;
  readonly workers: number;
  readonly settings: ProxySettings;
  readonly sharedState: SabLocationStoreShared | undefined;
  /** The auth state table (`--auth` with `--state sab`). */
  readonly sharedAuthState: SabAuthStateShared | undefined;
  /** The transaction table (`--transactions shared` with `--state sab`). */
  readonly sharedTransactions?: SabTransactionStoreShared | undefined;
  /** `--max-connections`: the cap every thread takes from (the settings' own cap is then not applied per thread). */
  readonly connectionQuota?: SharedConnectionQuotaMemory | undefined;
  /** The UDP port the parent thread owns (datagrams are relayed through it). */
  readonly udpPort: number | undefined;
  /**
   * `none` for a replacement: it accepts no connections. Every thread's listener wraps the one fd
   * slot 0 bound, so the thread that died closed it for all (Node 20 can neither duplicate an fd
   * nor set SO_REUSEPORT); the fd number may since name another socket, which must not be touched.
   */
  readonly listening: 'none' | undefined;
}

/** Between threads (a MessageChannel per pair) and between a thread and its parent. */
export type ThreadMessage =
  /** Peer ports, by slot (the thread's own slot is empty). */
  | { readonly t: 'peers'; readonly ports: ReadonlyArray<MessagePort | undefined> }
  /**
   * The thread in `slot` was replaced: its new port (the old one is closed, and what the old thread
   * had told of its connections forgotten); `port` undefined while it is dead.
   */
  | { readonly t: 'peer'; readonly slot: number; readonly port: MessagePort | undefined }
  /**
   * Slot 0 listened on TCP and TLS: the listening sockets' fds, for the other threads to accept
   * from (a TLS listener is a plain TCP one; each thread does the handshakes of what it accepts).
   */
  | { readonly t: 'stream-listening'; readonly listeners: Partial<Record<StreamProtocol, { readonly fd: number; readonly port: number }>> }
  /** `owner`: the thread's lease owner id (`--transactions shared`), for the death notice. */
  | { readonly t: 'ready'; readonly owner?: string }
  /** `--transactions shared`: the thread with this lease owner id died; take its transactions over now. */
  | { readonly t: 'worker-died'; readonly owner: string }
  | { readonly t: 'start-failed'; readonly error: { readonly code: string; readonly message: string } }
  /** Datagrams the parent read, for this thread (`addresses`: their sources; datagram-batch.ts). */
  | ({ readonly t: 'datagrams' } & DatagramBatch)
  /** Datagrams for the parent to send on the UDP socket (`addresses`: their targets). */
  | ({ readonly t: 'send-datagrams' } & DatagramBatch)
  | { readonly t: 'hand-off'; readonly bytes: Uint8Array; readonly source: TransportAddress }
  /** `--overload on`: a peer's queue probe, posted at `sentMs` (PeerQueueProbe): how long this thread's inbox holds work. */
  | { readonly t: 'queue-probe'; readonly sentMs: number }
  /** Write on a connection the receiving thread owns (`target.protocol` says TCP or TLS). */
  /**
   * Send on connection `connectionId`, which the receiving thread owns. `target` is the send as
   * asked: without a connection id it was by address, and the owner re-routes it by address when
   * that connection's peer has ended it meanwhile. A failure goes back to thread `from` as
   * `send-failed` when `ticket` is not 0.
   */
  | { readonly t: 'write'; readonly bytes: Uint8Array; readonly target: TransportAddress; readonly connectionId: number; readonly from?: number; readonly ticket?: number }
  /** A `write` of yours (with this `ticket`) failed where it was carried out: its error handler hears of it. */
  | { readonly t: 'send-failed'; readonly ticket: number; readonly message: string }
  | { readonly t: 'opened'; readonly id: number; readonly remoteKey: string; readonly protocol: StreamProtocol }
  | { readonly t: 'closed'; readonly id: number }
  | { readonly t: 'alias'; readonly id: number; readonly key: string; readonly protocol: StreamProtocol }
  | { readonly t: 'stats-request'; readonly request: number }
  | { readonly t: 'stats'; readonly request: number; readonly stats: WorkerStats }
  | { readonly t: 'internal-error'; readonly error: InternalErrorRecord }
  /** The first step of a stop: accept no new connections. */
  | { readonly t: 'stop-accepting' }
  | { readonly t: 'stop' };

/**
 * Bytes ready to post: an exact-size copy whose buffer is transferred (posting a view of a
 * pooled Buffer would clone the whole pool).
 */
export function detachedCopy(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
