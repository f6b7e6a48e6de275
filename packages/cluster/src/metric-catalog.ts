/**
 * Every metric `--metrics` serves, once: its Prometheus name, type and help. The metrics server
 * registers from it, the lab's report and benchmarks read counters through `counterMetric`, and
 * docs/metrics.md is generated from it (a test fails when the page is stale). The docs tables are
 * typed by the counter interfaces, so a counter added without its line here does not compile.
 */
import type { ProxyCounters, TransportCounters } from '@switchboard/core';
import type { ModelCounters } from './worker-stats.js';

const PROXY_COUNTERS: Readonly<Record<keyof ProxyCounters, string>> = {
  requestsReceived: 'Requests parsed (retransmissions included).',
  responsesReceived: 'Responses parsed.',
  requestsRejected: 'Requests answered with a 4xx/5xx because they could not be parsed or validated (400, 416, 420, 505, 513 ...).',
  messagesDropped: 'Input dropped and not answered: unparsable responses, ACKs, responses not for us, requests with no way to answer.',
  oversizedResponsesDropped: 'Responses of ours not sent because over UDP even their minimal form outgrew the request they answered by more than the fixed bytes a response adds (no reflection amplification).',
  retransmissionsAbsorbed: 'Request retransmissions answered from their server transaction (and ACKs of non-2xx finals).',
  requestsForwarded: 'Requests sent downstream (each branch of a fork counts).',
  responsesForwarded: 'Responses sent upstream.',
  serverTransactions: 'Server transactions created.',
  clientTransactions: 'Client transactions created.',
  registrations: 'REGISTER requests handled by the registrar.',
  loopsDetected: 'Requests answered 482 (loop detected, §16.3).',
  tooManyHops: 'Requests answered 483 (Max-Forwards reached 0).',
  transactionTimeouts: 'Transactions that ended on a timer without a final response (Timer B, F or H).',
  transportErrors: 'Sends that failed in the transport (a bad port, a refused or reset connection, a socket error); a request\'s failure ends its branch as a 503 at once (§16.9).',
  requestsUnroutable: 'Requests with no next hop (a binding or Request-URI that is no SIP URI): answered 503, ACKs dropped.',
  transportUnavailable: 'Requests whose next hop needs a transport we have no sender for (TLS without credentials): answered 503 Transport Not Available, ACKs dropped.',
  largeRequestsOverTcp: 'Requests over 1300 bytes sent over TCP instead of UDP (RFC 3261 §18.1.1).',
  largeRequestsUdpFallbacks: 'Of those, retried over UDP because the TCP connection was refused or reset.',
  internalErrors: 'Bugs caught at an entry point (a socket, timer or store callback): the message dropped, or answered 500 when it has a transaction.',
  stateStoreFailures: 'Requests answered 503 with Retry-After because a state store (location, auth state, credentials, transactions) failed.',
  transactionStoreRoundTrips: '--transactions shared: transaction-store operations on the message path: one claim per new request, a lookup per CANCEL or ACK that matches no local transaction, and the write-through of each server transaction (a transition per response sent and per ACK of a failure, a delete when it ends).',
  sharedRetransmissionsReplayed: '--transactions shared: retransmitted requests answered with the response stored for their transaction (whichever worker made it).',
  sharedRetransmissionsDropped: '--transactions shared: retransmitted requests dropped because their transaction had no response stored yet (the client retransmits).',
  sharedResponsesHandledHere: '--shared-responses where-read: provisional and 2xx responses a worker sent upstream itself for a transaction another worker ran (no hand-off: two store round trips).',
  sharedLateProvisionalsDropped: '--shared-responses where-read: provisional responses dropped because the store said another worker had sent the final one (RFC 3261 §16.7 step 5).',
  transactionsAdopted: '--transactions shared: transactions a worker adopted after their lease lapsed (their worker died or stalled), timers re-armed from the stored deadlines.',
  transactionsAdoptedRerouted: '--transactions shared: of the adopted, requests routed again because no branch of theirs was recorded (their worker died before forwarding them).',
  transactionsTakenOver: '--transactions shared: of the adopted, transactions taken over at their worker\'s death notice (the pool saw it exit), before their lease lapsed.',
  transactionOwnerDeaths: '--transactions shared: death notices of sibling workers a worker acted on (it took over the dead worker\'s leases).',
  transactionAdoptionSearches: '--transactions shared: searches for lapsed leases of any owner: one per --transaction-adoption-sweep-ms, and one per lease tick for a lease and two ticks after a death notice (in Redis, 256 scripts each).',
  transactionLeasesRenewed: '--transactions shared: lease renewals (one per transaction a worker holds, per --transaction-lease-tick-ms).',
  transactionLeasesLost: '--transactions shared: transactions whose lease another worker took (or whose record was gone) at renewal: their timers stop in the worker that lost them.',
  transactionLeaseFailures: '--transactions shared: lease ticks the transaction store failed (nothing is dropped; the next tick tries again).',
  authChallenges: '401/407 challenges sent, stale ones included.',
  authAccepted: 'Requests whose credentials were verified.',
  authRejected: '403 for wrong credentials, an unknown user, or a user who may not use the identity.',
  authStaleNonces: 'A nonce of ours that expired: a new challenge with stale=true; nothing checked, no failure counted.',
  authForgedNonces: 'A nonce this proxy never issued (bad HMAC, or another secret): a new challenge with stale=true; nothing checked, no failure counted.',
  authReplays: 'Right response with a nonce count already used: a new challenge with stale=true.',
  authThrottled: 'Credentials not checked because the source failed too often (403 with Retry-After).',
  authMalformed: '400 for malformed credentials or a qop other than auth.',
  overloadEntered: '--overload on: times a worker became overloaded (the queue delay, of the UDP socket or of a thread-pool thread\'s inbox, at --overload-queue-delay, the event-loop utilization at --overload-utilization with TCP or TLS traffic or no UDP socket, or the lag at --overload-lag, for three samples in a row), so it started limiting new work.',
  overloadLeft: 'Times a worker stopped limiting new work (its admitted rate had covered the whole offered load for ten samples).',
  overloadMilliseconds: 'Time workers spent limiting new work, in milliseconds (summed over workers).',
  overloadQueueDelayed: 'Samples (--overload-interval) in which a datagram waited at least --overload-queue-delay in the UDP socket\'s receive queue before it was read (measured by a probe the worker sends itself once a sample), or work handed to a thread-pool thread waited that long in its inbox (a probe from each other thread): busy samples, as utilization or lag at their thresholds are elsewhere.',
  overloadStreamBacklogged: 'Samples (--overload-interval) in which at least half of the reads of trunk TCP connections (ones whose reads carry several messages at once) filled the 64 KiB read buffer, so at least that much was queued in the kernel: busy samples, as a queue delay at its target is for datagrams.',
  overloadShed: 'New requests (out-of-dialog INVITE, REGISTER, SUBSCRIBE, OPTIONS ...) shed before the parse while overloaded (and, for 32 s after, UDP retransmissions of those refused): answered 503 or dropped.',
  overloadRejected: 'Of those, answered 503 Service Unavailable with Retry-After (with RFC 7339 oc values in the top Via when it asked for them).',
  overloadDropped: 'Of those, dropped unanswered: beyond one 503 per new request admitted (at least 20 a second, at most --overload-reject-rate; a UDP retransmission of a refused request: beyond --overload-reject-rate alone), or with no way to answer (a header missing, or a 503 larger than the request over UDP).',
  overloadReadsHeld: 'New requests over TCP or TLS past that budget: instead of dropping them, their connection was not read for the Retry-After, and they were decided again afterwards (counted each time).',
  overloadAcksAbsorbed: 'ACKs of our overload 503s, absorbed before the parse.',
  overloadAnnouncementsSent: 'Responses sent upstream with our RFC 7339 oc values in the top Via (the client supports oc and we are overloaded).',
  overloadAnnouncementsReceived: 'RFC 7339 oc values taken from next hops\' responses (honoured until their oc-validity ends).',
  overloadNextHopShed: 'New requests answered 503 Next Hop Overloaded here because their next hop announced an oc reduction (RFC 7339 loss algorithm).',
  overloadKernelFilters: '--overload-kernel-filter on: socket filters the kernel took on the UDP socket, each a share of REGISTERs kept while the worker limits (set, changed, or removed when limiting ends).',
  overloadKernelFilterFailures: '--overload-kernel-filter on: socket filters the kernel (or a system without SO_ATTACH_FILTER) did not take; the worker then reads every REGISTER.',
};

const TRANSPORT_COUNTERS: Readonly<Record<keyof TransportCounters, string>> = {
  tcpConnectionsAccepted: 'TCP connections accepted.',
  tcpConnectionsOpened: 'TCP connections the proxy opened (toward callees).',
  tcpFramingErrors: 'TCP and TLS connections closed because their stream could not be framed.',
  tcpIdleClosed: 'TCP and TLS connections closed after --idle-timeout without traffic.',
  tcpSlowMessagesClosed: 'TCP and TLS connections closed because a message took longer than --header-timeout to arrive.',
  tcpConnectionsRefused: "Incoming TCP and TLS connections a worker's own listener closed at once: --max-connections reached, out of files (EMFILE/ENFILE on accept), or a thread-pool stopping (its threads keep the listener they share open until they stop). The process-pool's supervisor counts its own as connections_refused.",
  tlsConnectionsAccepted: 'TCP connections accepted on a TLS listener.',
  tlsConnectionsOpened: 'TLS connections the proxy opened (toward callees).',
  tlsHandshakes: 'TLS handshakes finished as server.',
  tlsHandshakesResumed: 'Of those, resumed sessions.',
  tlsClientHandshakes: 'TLS handshakes finished as client (connections to callees).',
  tlsClientHandshakesResumed: 'Of those, resumed sessions.',
  tlsHandshakeFailuresBadCertificate: 'Failed handshakes: a certificate missing, untrusted or not matching.',
  tlsHandshakeFailuresTimeout: 'Failed handshakes: not done within --tls-handshake-timeout.',
  tlsHandshakeFailuresPlaintext: 'Failed handshakes: plaintext (SIP without TLS) on a TLS port.',
  tlsHandshakeFailuresProtocol: 'Failed handshakes: a protocol error (versions, ciphers, malformed records).',
  tlsHandshakeFailuresAborted: 'Failed handshakes: the peer closed or reset the connection during the handshake.',
  tlsFailedConnectionsClosed: 'Connections whose handshake failed that were closed.',
  tlsFailedConnectionsClosedCleanly: 'Of those, closed in order (no reset).',
  sendErrors: 'Sends that failed (unreachable address, closed connection, full buffer).',
  idleSweeps: 'Idle-connection sweeps run.',
  idleSweepVisited: 'Connections the idle sweeps examined (--idle-strategy scan visits every one; heap only the expired).',
  idleSweepMilliseconds: 'Time the idle sweeps took, in milliseconds.',
};

const MODEL_COUNTERS: Readonly<Record<keyof ModelCounters, string>> = {
  fdRequests: "process-pool: handles asked of the supervisor for connections another worker owns.",
  fdRequestsMissed: 'Of those, how many the supervisor no longer had (connection closed meanwhile).',
  fdRequestsWritten: 'process-pool supervisor: of those, how many it wrote itself on its own handle instead of passing the handle (the worker keeps no fd cache, or a handle was already queued to it).',
  fdCacheHits: 'process-pool: sends on another worker\'s connection served from the --fd-cache.',
  fdCacheMisses: 'Sends on another worker\'s connection not in the cache (each an fd request).',
  handOffsSent: 'Messages handed to the worker that owns their transaction.',
  handOffsReceived: 'Messages received from another worker that way.',
  remoteWrites: 'thread-pool: writes passed to the thread owning a connection.',
  tlsRelaysSent: 'process-pool: writes on another worker\'s TLS connection asked of the supervisor (workers), or passed on (supervisor).',
  tlsRelaysReceived: 'process-pool: relayed TLS writes carried out by the owner.',
  tlsRelaysMissed: 'process-pool: relayed TLS writes whose connection was gone.',
  tcpRelaysSent: "process-pool, --supervisor-handles release: writes on another worker's TCP connection asked of the supervisor (workers), or passed on to its owner (supervisor).",
  tcpRelaysReceived: 'process-pool, --supervisor-handles release: relayed TCP writes carried out by the owner.',
  tcpRelaysMissed: 'process-pool, --supervisor-handles release: relayed TCP writes whose connection was gone.',
  connectionsRefused: 'Incoming connections closed at once: --max-connections reached, or the process out of files (EMFILE/ENFILE on accept).',
  connectionsHandedOver: "process-pool (supervisor): connections of a dead worker handed to another worker, or kept for its replacement, with the supervisor's own handle (--supervisor-handles keep); their clients see nothing.",
  connectionsLostWithWorker: 'process-pool (supervisor): connections closed because their worker died: TLS (the session keys died with it), TCP with --supervisor-handles release (no handle kept), or opened ones whose handle had not yet reached the supervisor.',
  handOffsReturned: "process-pool (supervisor): hand-offs to a worker that was not up (dead, or its replacement not yet ready), given back to the worker that read the message, which handles it as the replacement would (a response of the dead worker's transaction goes on statelessly by its next Via).",
  fdRequestWaitQueued: 'process-pool with --fd-request-wait: messages (SIP, and control messages other than the fd answer) a worker queued while one of its fd requests was outstanding, as OpenSER\'s blocking fd request held them.',
  fdRequestWaitExpired: 'process-pool with --fd-request-wait: fd requests a worker stopped waiting for after 2 s without an answer (its queued messages then ran).',
  ipcMilliseconds: 'Time spent in IPC code (encoding, sending, decoding, wrapping handles), in milliseconds.',
  eventLoopStalls: 'Event-loop stalls, every process and worker thread of the model: samples of a 50 ms timer that fired 50 ms or more late (a long collection, a long turn, or a process starved of its CPU).',
  eventLoopStallMilliseconds: 'How late those timers fired, summed, in milliseconds.',
  gcPauses: 'Garbage collections (V8, every process and worker thread).',
  gcPauseMilliseconds: 'Their pauses, summed, in milliseconds.',
  gcLongPauses: 'Collections that paused their loop for 50 ms or more.',
  gcMajorPauseMilliseconds: 'Of their pauses, those of full (mark-compact) collections of the old generation, summed, in milliseconds.',
  ioMessagesDispatched: 'io-dispatch, I/O process: SIP messages sent to workers (to the least loaded, or to the worker a response\'s branch names), hand-offs included.',
  ioMessagesDropped: 'io-dispatch, I/O process: messages read while no worker was up to take them (dropped; the client retransmits).',
  ioResponsesRoutedByBranch: 'io-dispatch, I/O process: responses sent to the worker named in their branch (it holds their client transaction) instead of the least loaded.',
  ioMessagesKeptWithCall: 'io-dispatch, I/O process: messages sent to the worker that still had messages of their call (by Call-ID) outstanding, instead of the least loaded, so a call\'s messages (an ACK and the BYE right behind it) are handled in order.',
  ioMessagesReceived: 'io-dispatch, workers: messages received from the I/O process; per worker, what the dispatcher gave it.',
  ioWrites: 'io-dispatch: writes the workers returned to the I/O process (workers), and writes it carried out for them (I/O process).',
  ioBytesWritten: 'io-dispatch, I/O process: bytes written for the workers (UDP, TCP and TLS payload).',
  ioWritesDropped: 'io-dispatch, I/O process: writes for a connection that had closed (or over a transport it lacks), dropped and counted.',
  redisCommandFailures: 'State store calls to Redis that failed or took longer than 2 s (each such call answered ERR_SWITCHBOARD_STATE_UNAVAILABLE, so 503 to its request).',
  redisClusterSlotRefreshes: 'Redis Cluster: slot maps fetched by the client (at start, and after each MOVED redirection, lost node or CLUSTERDOWN; ioredis follows MOVED and ASK without an event, so this is what counts them).',
  redisClusterNodeErrors: 'Redis Cluster: errors connecting to, or refreshing the slot map from, one node.',
  redisClusterNodesLost: 'Redis Cluster: node connections lost (a node down, or dropped from the slot map).',
  redisClusterFailovers: 'Redis Cluster: failovers seen by this worker\'s clients: a master whose slots are now served by what was its replica (each client counts it once).',
  ipcErrors: 'Control messages that could not be decoded, were malformed or failed to send (process-pool), or thread messages that failed to be handled (thread-pool); each dropped, never fatal.',
};

export type CounterName = keyof ProxyCounters | keyof TransportCounters | keyof ModelCounters;

/** Which part of a worker's stats a counter is kept in. */
export type CounterSection = 'core' | 'transport' | 'model';

export interface CounterMetric {
  readonly key: CounterName;
  readonly section: CounterSection;
  readonly name: string;
  readonly help: string;
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function counters(section: CounterSection, docs: Readonly<Record<string, string>>): CounterMetric[] {
  return Object.entries(docs).map(([key, help]) => ({ key: key as CounterName, section, name: `switchboard_${snake(key)}_total`, help }));
}

/** Every per-worker counter, in the order they are served and documented. */
export const COUNTER_METRICS: readonly CounterMetric[] = [...counters('core', PROXY_COUNTERS), ...counters('transport', TRANSPORT_COUNTERS), ...counters('model', MODEL_COUNTERS)];

const BY_KEY = new Map(COUNTER_METRICS.map((metric) => [metric.key, metric]));

/** The Prometheus name of a counter (`fdRequests` → `switchboard_fd_requests_total`). */
export function counterMetric(key: CounterName): string {
  return (BY_KEY.get(key) as CounterMetric).name;
}

/** The metrics that are not per-worker counters: gauges and histograms. */
export const OTHER_METRICS = {
  transactions: { name: 'switchboard_transactions', type: 'gauge', help: 'Server and client transactions alive, per worker.' },
  tcpConnections: { name: 'switchboard_tcp_connections', type: 'gauge', help: 'TCP connections each worker owns (the supervisor: its table).' },
  tlsConnections: { name: 'switchboard_tls_connections', type: 'gauge', help: 'TLS connections each worker owns, handshake done (the supervisor: its table).' },
  supervisorQueueDepth: { name: 'switchboard_supervisor_queue_depth', type: 'gauge', help: 'process-pool: IPC messages the supervisor has sent that are not yet flushed; io-dispatch: messages the I/O process has sent to workers that they have not yet handled.' },
  ioQueueDepth: { name: 'switchboard_io_queue_depth', type: 'gauge', help: 'io-dispatch: messages the I/O process has sent each worker that it has not yet handled (what the least-loaded choice compares), per worker.' },
  workerRestarts: { name: 'switchboard_worker_restarts_total', type: 'counter', help: 'Workers replaced after they died.' },
  overloadReduction: { name: 'switchboard_overload_reduction', type: 'gauge', help: '--overload on: the share of new requests each worker sheds now, 0 to 1 (0 while not limiting; RFC 7339\'s oc value is it times 100).' },
  overloadAdmittedRate: { name: 'switchboard_overload_admitted_rate', type: 'gauge', help: '--overload on, while a worker limits: the new requests a second it admits (its AIMD rate; absent while not limiting or before the first measurement).' },
  overloadKernelRegisterPass: { name: 'switchboard_overload_kernel_register_pass', type: 'gauge', help: '--overload-kernel-filter on: the share of REGISTER datagrams the kernel keeps on the UDP socket, 0 to 1 (1 while not limiting), for the event-loop\'s worker, the thread-pool\'s parent and the process-pool\'s workers (one filter on their shared socket, each reading it at its samples).' },
  ipcRoundTrip: { name: 'switchboard_ipc_round_trip_seconds', type: 'histogram', help: 'process-pool: fd request round trips (request to handle), in seconds.' },
  storeLatency: { name: 'switchboard_state_store_seconds', type: 'histogram', help: 'State store call latency, in seconds.' },
  messageServiceTime: { name: 'switchboard_message_service_seconds', type: 'histogram', help: 'With --timing (event-loop): each message\'s service time, from its read to the end of its sends (datagrams handed to the kernel), in seconds, labelled by type: INVITE, 100, 180, 200, ACK, BYE, 200-BYE, other.' },
} as const;

/** docs/metrics.md, as `npm run docs:metrics` writes it. */
export function renderMetricsDoc(): string {
  const sectionTitle: Record<CounterSection, string> = { core: 'Proxy', transport: 'Transports', model: 'Concurrency model' };
  const lines = [
    '# Metrics reference',
    '',
    'Generated from `packages/cluster/src/metric-catalog.ts` by `npm run docs:metrics`; a test fails when this page is stale.',
    '`switchboard serve --metrics HOST:PORT` serves them in Prometheus text at `http://HOST:PORT/metrics`, each labelled',
    'by `worker` (`0`, `1` ... and `supervisor` or `parent` for the process that runs a pool). `switchboard bench',
    '--proxy-metrics URL` records their differences over its window, and the lab\'s reports read them by these names.',
    '',
  ];
  for (const section of ['core', 'transport', 'model'] as const) {
    lines.push(`## ${sectionTitle[section]} counters`, '', '| metric | meaning |', '| --- | --- |');
    for (const metric of COUNTER_METRICS.filter((candidate) => candidate.section === section)) lines.push(`| \`${metric.name}\` | ${metric.help} |`);
    lines.push('');
  }
  lines.push('## Gauges and histograms', '', '| metric | type | meaning |', '| --- | --- | --- |');
  for (const metric of Object.values(OTHER_METRICS)) lines.push(`| \`${metric.name}\` | ${metric.type} | ${metric.help} |`);
  return `${lines.join('\n')}\n`;
}
