/** @switchboard/cluster: the concurrency models and the state stores they share. */
export { RedisLocationStore } from './state/redis-location-store.js';
export { SabLocationStore, type SabLocationStoreShared, type SabLocationStoreOptions } from './state/sab-location-store.js';
export { StateStoreError, STATE_STORE_ERROR_CODES, type StateStoreErrorCode } from './state/state-store-error.js';
export { TimedLocationStore } from './state/timed-location-store.js';
export { SabAuthStateStore, type SabAuthStateShared, type SabAuthStateOptions } from './state/sab-auth-state-store.js';
export { RedisAuthStateStore } from './state/redis-auth-state-store.js';
export { RedisCredentialStore } from './state/redis-credential-store.js';
export { openAuthenticator, settleNonceSecret } from './state/open-authenticator.js';
export { MODELS, STATE_KINDS, STATE_FOR_MODEL, DEFAULT_STATE, proxyServerOptions, withSharedTicketKeys, loadTlsSettings, type Model, type StateKind, type ProxySettings, type AuthSettings, type TlsFileSettings } from './proxy-settings.js';
export { startModel, type ModelOptions } from './start-model.js';
export type { RunningModel } from './running-model.js';
export { EventLoopModel } from './event-loop-model.js';
export { ProcessPoolSupervisor, SUPERVISOR_HANDLES, type AssignStrategy, type SupervisorHandles, type SupervisorEvent } from './process-pool/supervisor.js';
export { ThreadPool, type ThreadPoolEvent } from './thread-pool/thread-pool.js';
export { LatencyHistogram, newModelCounters, type ModelCounters, type WorkerStats, type HistogramSnapshot } from './worker-stats.js';
export { ownerSlot, callIdHash, workerTag, workerSlot } from './message-owner.js';
export { COUNTER_METRICS, OTHER_METRICS, counterMetric, renderMetricsDoc, type CounterName, type CounterMetric, type CounterSection } from './metric-catalog.js';
export { WORKER_ERROR_CODES, WorkerError, type WorkerErrorCode } from './worker-error.js';
