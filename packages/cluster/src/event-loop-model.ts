import { MessageTimingRecorder, ProxyServer, type Listener, type TransactionStore } from '@switchboard/core';
import { EventLoopHealth } from './event-loop-health.js';
import { InternalErrorReports, type InternalErrorRecord } from './internal-error-reports.js';
import { proxyServerOptions, type ProxySettings } from './proxy-settings.js';
import type { RunningModel } from './running-model.js';
import { openAuthenticator, settleNonceSecret } from './state/open-authenticator.js';
import { openLocationStore } from './state/open-location-store.js';
import { openTransactionStore, transactionLeaseOptions, transactionOwnerId } from './state/open-transaction-store.js';
import { TimedLocationStore } from './state/timed-location-store.js';
import { TraceFile } from './trace-file.js';
import { LatencyHistogram, newModelCounters, workerStats, type WorkerStats } from './worker-stats.js';

/** What the event-loop reports for the CLI's log: a bug its core caught (as the pools' workers report theirs). */
export type EventLoopEvent = { readonly kind: 'internal-error'; readonly worker: number; readonly error: InternalErrorRecord };

/** One process, one thread: the baseline every other model must beat per core. */
export class EventLoopModel implements RunningModel {
  readonly model = 'event-loop' as const;
  readonly server: ProxyServer;
  readonly #storeLatency: LatencyHistogram;
  readonly #timing: MessageTimingRecorder | undefined;
  readonly #trace: TraceFile | undefined;
  readonly #transactionStore: TransactionStore | undefined;
  /** The one event loop's health (its counters are the model counters this model reports). */
  readonly #counters = newModelCounters();
  readonly #health = new EventLoopHealth(this.#counters);
  #internalErrors: InternalErrorReports | undefined;

  private constructor(server: ProxyServer, storeLatency: LatencyHistogram, timing: MessageTimingRecorder | undefined, trace: TraceFile | undefined, transactionStore: TransactionStore | undefined) {
    this.server = server;
    this.#storeLatency = storeLatency;
    this.#timing = timing;
    this.#trace = trace;
    this.#transactionStore = transactionStore;
    this.#health.start();
  }

  /** `onEvent` hears of the bugs the core catches (rate-limited, see InternalErrorReports). */
  static async start(settings: ProxySettings, onEvent?: (event: EventLoopEvent) => void): Promise<EventLoopModel> {
    const model = await EventLoopModel.#start(settings);
    if (onEvent !== undefined) model.#internalErrors = new InternalErrorReports((error) => onEvent({ kind: 'internal-error', worker: 0, error })).subscribe();
    return model;
  }

  static async #start(settings: ProxySettings): Promise<EventLoopModel> {
    const storeLatency = new LatencyHistogram();
    const settled = await settleNonceSecret(settings);
    const store = new TimedLocationStore(await openLocationStore(settled), storeLatency);
    let authenticator;
    const trace = settings.timing?.traceFile === undefined ? undefined : new TraceFile(settings.timing.traceFile);
    const timing = settings.timing === undefined ? undefined : new MessageTimingRecorder({ sampleRatio: settings.timing.sampleRatio, sink: trace?.sink });
    let transactionStore;
    try {
      authenticator = await openAuthenticator(settled);
      transactionStore = await openTransactionStore(settled);
      const sharedTransactions = transactionStore === undefined ? {} : { sharedTransactions: { store: transactionStore, owner: transactionOwnerId(0), ...transactionLeaseOptions(settled) } };
      return new EventLoopModel(await ProxyServer.start({ ...proxyServerOptions(settled), store, authenticator, timing, ...sharedTransactions }), storeLatency, timing, trace, transactionStore);
    } catch (error) {
      await trace?.close();
      // The start failure is what the caller needs; a failing close must not replace it.
      await store.close().catch(() => undefined);
      await authenticator?.close().catch(() => undefined);
      await transactionStore?.close().catch(() => undefined);
      throw error;
    }
  }

  get listeners(): readonly Listener[] {
    return this.server.listeners;
  }

  async stats(): Promise<WorkerStats[]> {
    const timing = this.#timing?.snapshot();
    return [{ ...workerStats(0, this.server, this.#counters, new LatencyHistogram(), this.#storeLatency), ...(timing === undefined ? {} : { messageTiming: timing }) }];
  }

  stopAccepting(): void {
    this.server.stopAccepting();
  }

  async close(): Promise<void> {
    this.#internalErrors?.unsubscribe();
    this.#health.stop();
    await this.server.close();
    await this.#trace?.close();
    await this.#transactionStore?.close();
  }
}
