import type { ConnectionDirectory, LocationStore, ProxyServer, TransactionStore, TransportAddress } from '@switchboard/core';
import { connectionIdAllocator } from '../connection-ids.js';
import { ownerSlot, workerTag } from '../message-owner.js';
import { proxyServerOptions, type ProxySettings } from '../proxy-settings.js';
import { openAuthenticator } from '../state/open-authenticator.js';
import type { SabAuthStateShared } from '../state/sab-auth-state-store.js';
import type { SabLocationStoreShared } from '../state/sab-location-store.js';
import { openLocationStore } from '../state/open-location-store.js';
import { openTransactionStore, ownerIdSlot, transactionLeaseOptions, transactionOwnerId } from '../state/open-transaction-store.js';
import type { SabTransactionStoreShared } from '../state/sab-transaction-store.js';
import { TimedLocationStore } from '../state/timed-location-store.js';
import { EventLoopHealth } from '../event-loop-health.js';
import { InternalErrorReports } from '../internal-error-reports.js';
import { startFailure } from '../worker-error.js';
import { LatencyHistogram, newModelCounters, workerStats } from '../worker-stats.js';
import type { LifecycleToPool, LifecycleToWorker, WorkerPort } from './channel.js';

export interface PoolWorkerOptions<Out, Attachment> {
  readonly slot: number;
  /** Workers in the pool (a message's owner is one of them). */
  readonly workers: number;
  readonly settings: ProxySettings;
  readonly port: WorkerPort<Out, Attachment>;
  /** How the worker ends once stopped (process.exit; tests give their own). */
  readonly exit?: (code: number) => void;
}

/**
 * A worker's side of the lifecycle, whatever its pool: it opens its store and starts its proxy,
 * then says `ready` (or `start-failed` with a `{code, message}`), answers stats requests with its
 * counters, and on `stop` closes its proxy and exits. A class, so a worker runs in-process in
 * unit tests with a port of the test's own.
 */
export abstract class PoolWorker<Out, Attachment> {
  readonly counters = newModelCounters();
  /** This worker's event loop and collections, counted from its start to its stop. */
  readonly #health = new EventLoopHealth(this.counters);
  /** fd request round trips (process-pool). */
  readonly ipcRoundTrip = new LatencyHistogram();
  readonly storeLatency = new LatencyHistogram();
  protected readonly slot: number;
  protected readonly workers: number;
  protected readonly settings: ProxySettings;
  protected readonly port: WorkerPort<Out, Attachment>;
  readonly #exit: (code: number) => void;
  #server: ProxyServer | undefined;
  /** `--transactions shared`: the store and this worker's lease owner id in it. */
  #transactions: { readonly store: TransactionStore; readonly owner: string; readonly leaseMs?: number; readonly leaseTickMs?: number; readonly adoptionSweepMs?: number; readonly responsesWhereRead?: boolean } | undefined;
  /** Bugs this worker's core catches, passed to the pool for its log (the counter is the core's). */
  readonly #internalErrors = new InternalErrorReports((error) => this.port.send({ t: 'internal-error', error }));

  constructor(options: PoolWorkerOptions<Out, Attachment>) {
    this.slot = options.slot;
    this.workers = options.workers;
    this.settings = options.settings;
    this.port = options.port;
    this.#exit = options.exit ?? ((code) => process.exit(code));
  }

  /** The proxy, once started. */
  get server(): ProxyServer | undefined {
    return this.#server;
  }

  /** Starts the proxy with `store` (timed), then tells the pool; a failure is told as a coded record. */
  protected async startWith(start: (store: LocationStore) => Promise<ProxyServer>, ready: (server: ProxyServer) => Out | LifecycleToPool, shared?: SabLocationStoreShared, sharedTransactions?: SabTransactionStoreShared): Promise<void> {
    this.#internalErrors.subscribe();
    this.#health.start();
    try {
      const transactionStore = await openTransactionStore(this.settings, sharedTransactions);
      if (transactionStore !== undefined) this.#transactions = { store: transactionStore, owner: transactionOwnerId(this.slot), ...transactionLeaseOptions(this.settings), ...(this.settings.sharedResponses === 'where-read' ? { responsesWhereRead: true } : {}) };
      const store = new TimedLocationStore(await openLocationStore(this.settings, shared), this.storeLatency);
      this.#server = await start(store);
    } catch (error) {
      this.#internalErrors.unsubscribe();
      this.#health.stop();
      this.port.send({ t: 'start-failed', error: startFailure(error) });
      throw error;
    }
    const message = ready(this.#server);
    const owner = this.#transactions?.owner;
    // The lease owner id rides on ready: the pool tells the others if this worker dies.
    this.port.send(owner === undefined ? message : ({ ...message, owner } as typeof message));
  }

  /** Where the proxy's transports report connections and send on connections other workers hold. */
  abstract readonly directory: ConnectionDirectory;

  /** Passes a message of a transaction `owner` holds to it. */
  protected abstract handOver(owner: number, bytes: Uint8Array, source: TransportAddress): void;

  /**
   * What every worker's proxy starts with: the settings, `store`, the authenticator, connection ids
   * of `origin`, this worker's directory and branch tag, and messages of other workers'
   * transactions handed over to them.
   */
  protected async proxyOptions(store: LocationStore, origin: number, sharedAuthState?: SabAuthStateShared) {
    const transactions = this.#transactions;
    return {
      ...(transactions === undefined ? {} : { sharedTransactions: { ...transactions, handOffTo: (owner: string, bytes: Uint8Array, source: TransportAddress) => this.#handOffTo(owner, bytes, source) } }),
      ...proxyServerOptions(this.settings),
      store,
      authenticator: await openAuthenticator(this.settings, sharedAuthState),
      nextConnectionId: connectionIdAllocator(origin),
      connectionDirectory: this.directory,
      branchTag: workerTag(this.slot),
      handOff: (message: Parameters<typeof ownerSlot>[0], bytes: Uint8Array, source: TransportAddress): boolean => {
        // Shared transactions: a request is handled where it is read (SharedTransactions finds its
        // transaction in the store); a response too with --shared-responses where-read (the core
        // hands a failure to the lease holder itself); otherwise responses go to the worker of their branch.
        if (transactions !== undefined && (message.isRequest || transactions.responsesWhereRead === true)) return false;
        const owner = ownerSlot(message, source, this.workers);
        if (owner === undefined || owner === this.slot) return false;
        this.counters.handOffsSent++;
        this.handOver(owner, bytes, source);
        return true;
      },
    };
  }

  /** A CANCEL or ACK to the worker holding its INVITE's lease (shared transactions); false when that is no other worker. */
  #handOffTo(owner: string, bytes: Uint8Array, source: TransportAddress): boolean {
    const slot = ownerIdSlot(owner);
    if (slot === undefined || slot === this.slot || slot >= this.workers) return false;
    this.counters.handOffsSent++;
    this.handOver(slot, bytes, source);
    return true;
  }

  /** Acts on a lifecycle message; false for any other. */
  protected lifecycle(message: { readonly t: string }): boolean {
    const lifecycle = message as LifecycleToWorker;
    if (lifecycle.t === 'stats-request') {
      this.port.send({ t: 'stats', request: lifecycle.request, stats: workerStats(this.slot, this.#server, this.counters, this.ipcRoundTrip, this.storeLatency) });
      return true;
    }
    if (lifecycle.t === 'worker-died') {
      // Never rejects (LeaseTicker.ownerDied counts what fails).
      void this.#server?.core.leaseOwnerDied(lifecycle.owner);
      return true;
    }
    if (lifecycle.t === 'stop') {
      this.beforeStop();
      this.#internalErrors.unsubscribe();
      this.#health.stop();
      // Stopped either way: a close that fails must not leave the pool waiting.
      (this.#server?.close() ?? Promise.resolve()).then(() => this.#transactions?.store.close()).then(
        () => this.#exit(0),
        () => this.#exit(1),
      );
      return true;
    }
    return false;
  }

  /** What to let go before the proxy closes (cached handles, say). */
  protected beforeStop(): void {}
}
