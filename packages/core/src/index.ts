/** @switchboard/core: transports, transactions, proxy core and registrar. */
export { isReliable, formatAddress, reportSendError, type TransportAddress, type TransportProtocol, type MessageSender, type SendErrorHandler } from './transport-address.js';
export { responseTarget } from './response-target.js';
export { DEFAULT_TIMERS, TransactionTimers, type TimerHandler, type TimerSettings } from './transaction/timers.js';
export { TimerQueue, transactionTimerQueue, type Clock, type QueuedTimer } from './transaction/timer-queue.js';
export { serverTransactionKey, clientTransactionKey, rfc2543Key } from './transaction/keys.js';
export {
  ServerTransaction,
  type ServerTransactionOptions,
  type ServerTransactionState,
  type TerminationReason,
} from './transaction/server-transaction.js';
export {
  type BranchChange,
  type BranchRecord,
  type NewTransaction,
  type TransactionChange,
  type TransactionLease,
  type TransactionOutcome,
  type TransactionRecord,
  type TransactionSide,
  type TransactionStore,
} from './transaction/transaction-store.js';
export {
  acquireLeaseMutation,
  addBranchMutation,
  createMutation,
  leaseLapsed,
  releaseLeaseMutation,
  renewLeaseMutation,
  transitionMutation,
  updateBranchMutation,
  type Mutation,
} from './transaction/transaction-mutations.js';
export { MemoryTransactionStore } from './transaction/memory-transaction-store.js';
export { LeaseKeeper, type LeaseKeeperOptions, type LeaseTick } from './transaction/lease-keeper.js';
export { TransactionMirror, type TransactionMirrorOptions, type TransactionMirrorStats } from './proxy/transaction-mirror.js';
export { SharedTransactions, type SharedTransactionsOptions, type Claim } from './proxy/shared-transactions.js';
export { ClientTransaction, type ClientTransactionOptions, type ClientTransactionState } from './transaction/client-transaction.js';
export { UdpTransport, type UdpTransportOptions, type DatagramTransport } from './transport/udp-transport.js';
export {
  StreamTransport,
  remoteKeyOf,
  type StreamTransportOptions,
  type StreamTransportEvent,
  type StreamProtocol,
  type StreamLayer,
  type ConnectionDirectory,
  type TlsFailureReason,
} from './transport/stream-transport.js';
export { ConnectionIndex, type IndexedConnection } from './transport/connection-index.js';
export type { ConnectionQuota } from './transport/connection-quota.js';
export { TcpTransport, type TcpTransportOptions } from './transport/tcp-transport.js';
export { TlsTransport, TLS_VERSIONS, tlsFailureReason, type TlsTransportOptions, type TlsSettings, type TlsVersion } from './transport/tls-transport.js';
export { TlsSessionCache } from './transport/tls-session-cache.js';
export { createIdleTracker, type IdleStrategy, type IdleConnectionTracker } from './transport/idle-connections.js';
export { MemoryLocationStore, type Binding, type LocationStore } from './registrar/location-store.js';
export { handleRegister, addressOfRecord, DEFAULT_REGISTRAR_OPTIONS, type RegistrarOptions, type RegistrarResult } from './registrar/registrar.js';
export { ProxyCore, type ProxyCoreOptions, type ProxySender } from './proxy/proxy-core.js';
export { type Listener } from './proxy/listeners.js';
export { branchOwner, formatBranchId, formatStatelessBranchId, parseBranchId, BRANCH_ID_PREFIX, type BranchId } from './proxy/branch-id.js';
export { routedByOurRecordRoute, DIALOG_ROUTE_MARK } from './proxy/record-route.js';
export { viaTarget } from './proxy/via-addressing.js';
export {
  CONTINUE,
  routeRequest,
  type ForwardTarget,
  type NamedRoutingStep,
  type RoutingDecision,
  type RoutingStep,
  type StepResult,
} from './proxy/routing-step.js';
export { newRoutingContext, type RoutingContext, type RoutingContextOptions } from './proxy/routing-context.js';
export { ROUTING_STEPS } from './proxy/routing-steps.js';
export { newProxyCounters, type ProxyCounters } from './proxy/proxy-counters.js';
export { OverloadControl, DEFAULT_OVERLOAD_SETTINGS, OVERLOAD_UDP_RECEIVE_BUFFER_BYTES, type OverloadSettings, type OverloadCounters } from './overload/overload-control.js';
export { UdpQueueProbe, type QueueDelaySource } from './overload/udp-queue-probe.js';
export { UdpKernelShedder, type KernelShedderCounters } from './overload/udp-kernel-shedder.js';
export { SOCKET_FILTER_PLATFORM } from './transport/socket-filter.js';
export { OverloadDetector, DEFAULT_OVERLOAD_THRESHOLDS, type OverloadThresholds } from './overload/overload-detector.js';
export { classifyMessage, inShedFraction, MUST_PROCESS, OVERLOAD_ACK, OVERLOAD_TAG_PREFIX } from './overload/message-class.js';
export { readOcAnnouncement, ocServerParams, withOcParams, OC_CLIENT_PARAMS, type OcAnnouncement } from './overload/oc-params.js';
export { ADDED_BYTES, REGISTER_OK_UDP_BYTES, generatedResponse, generatedRejection } from './proxy/generated-response.js';
export { UDP_REQUEST_SIZE_LIMIT } from './proxy/message-size.js';
export { uriTarget } from './proxy/uri-target.js';
export { ProxyServer, advertisedHost, newTransportCounters, countTransportEvent, type ProxyServerOptions, type ListenSpec, type TransportCounters } from './proxy-server.js';
export { NonceMint, newNonceSecret, type NonceState } from './auth/nonce.js';
export { MemoryAuthStateStore, type AttemptSlot, type AuthStateStore } from './auth/auth-state-store.js';
export {
  AUTH_ERROR_CODES,
  AuthConfigError,
  MemoryCredentialStore,
  checkUserCredentials,
  credentialKey,
  formatUsersFile,
  loadUsersFile,
  parseUsersFile,
  userCredentials,
  type AuthErrorCode,
  type CredentialStore,
  type UserCredentials,
} from './auth/credential-store.js';
export {
  AUTH_MODES,
  DEFAULT_AUTH_ALGORITHMS,
  DigestAuthenticator,
  authChallengeKind,
  claimedIdentity,
  failureKey,
  type AuthChallengeKind,
  type AuthCounters,
  type AuthMode,
  type AuthRejectedEvent,
  type AuthResult,
  type DigestAuthenticatorOptions,
} from './auth/digest-authenticator.js';
export { MESSAGE_KINDS, messageKind, type MessageKind } from './timing/message-kind.js';
export { MessageTimingRecorder, callIdHash, type MessageTrace, type MessageTimingOptions, type MessageTimingSnapshot, type TraceSink } from './timing/message-timing.js';
export { SERVICE_BOUNDS_MS, ServiceHistogram, type ServiceHistogramSnapshot } from './timing/service-histogram.js';
