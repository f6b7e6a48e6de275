import type { AuthCounters } from '../auth/digest-authenticator.js';
import type { OverloadCounters } from '../overload/overload-control.js';

/**
 * Counters the proxy keeps; the CLI exposes them on --metrics. Plain numbers, cheap to bump.
 * The digest authentication ones (`--auth`) are AuthCounters, overload control's (`--overload`)
 * OverloadCounters.
 */
export interface ProxyCounters extends AuthCounters, OverloadCounters {
  requestsReceived: number;
  responsesReceived: number;
  /** Requests answered with a 4xx/5xx because they could not be parsed or validated. */
  requestsRejected: number;
  /** Input dropped: unparseable responses, ACKs and requests with no way to answer. */
  messagesDropped: number;
  /**
   * Responses of ours not sent because over UDP even their minimal form was larger than the
   * request they answered (no reflection amplification; see generated-response.ts).
   */
  oversizedResponsesDropped: number;
  retransmissionsAbsorbed: number;
  requestsForwarded: number;
  responsesForwarded: number;
  serverTransactions: number;
  clientTransactions: number;
  registrations: number;
  loopsDetected: number;
  tooManyHops: number;
  transactionTimeouts: number;
  /** Requests answered 503 because the location store (or the auth state or credential store) failed. */
  stateStoreFailures: number;
  /**
   * Sends that failed in the transport (a bad port, a refused or reset connection, a socket
   * error): a request's failure ends its client transaction as if it got a 503 (RFC 3261 §16.9).
   */
  transportErrors: number;
  /** Requests with no next hop (a binding or Request-URI that is no SIP URI): answered 503, ACKs dropped. */
  requestsUnroutable: number;
  /** Requests whose next hop needs a transport we have no sender for (TLS without credentials): answered 503 "Transport Not Available", ACKs dropped. */
  transportUnavailable: number;
  /** Requests over 1300 bytes sent over TCP instead of UDP (RFC 3261 §18.1.1), and of those retried over UDP because the connection was refused or reset. */
  largeRequestsOverTcp: number;
  largeRequestsUdpFallbacks: number;
  /** `--transactions shared`: operations sent to the transaction store on the message path (claims, lookups, write-through). */
  transactionStoreRoundTrips: number;
  /** `--transactions shared`: retransmissions of a transaction in the store answered with its stored response. */
  sharedRetransmissionsReplayed: number;
  /** `--transactions shared`: retransmissions of a transaction in the store that has no response stored yet: dropped (the client retransmits). */
  sharedRetransmissionsDropped: number;
  /** `--shared-responses where-read`: responses sent upstream by the worker that read them, for a transaction another worker ran. */
  sharedResponsesHandledHere: number;
  /** `--shared-responses where-read`: provisional responses dropped because the store says another worker sent the final one (§16.7 step 5). */
  sharedLateProvisionalsDropped: number;
  /** `--transactions shared`: transactions this worker adopted after their lease lapsed (their worker died or stalled). */
  transactionsAdopted: number;
  /** Of those, requests routed again because no branch of theirs had been recorded (the dead worker never forwarded them). */
  transactionsAdoptedRerouted: number;
  /** Of the adopted, those taken over at their worker's death notice (before their lease lapsed). */
  transactionsTakenOver: number;
  /** `--transactions shared`: death notices of sibling workers this worker acted on (the pool saw them exit). */
  transactionOwnerDeaths: number;
  /** `--transactions shared`: searches for lapsed leases of any owner (the sweep, and every tick for a while after a death notice). */
  transactionAdoptionSearches: number;
  /** `--transactions shared`: lease renewals (one per held transaction per tick). */
  transactionLeasesRenewed: number;
  /** `--transactions shared`: held transactions whose lease another worker took (or whose record was gone): their timers stop here. */
  transactionLeasesLost: number;
  /** `--transactions shared`: lease ticks the store failed (nothing is dropped; the next tick tries again). */
  transactionLeaseFailures: number;
  /** Bugs caught at an entry point (a socket, timer or store callback): the message is dropped, or answered 500 when it has a transaction. */
  internalErrors: number;
}

export function newProxyCounters(): ProxyCounters {
  return {
    requestsReceived: 0,
    responsesReceived: 0,
    requestsRejected: 0,
    messagesDropped: 0,
    oversizedResponsesDropped: 0,
    retransmissionsAbsorbed: 0,
    requestsForwarded: 0,
    responsesForwarded: 0,
    serverTransactions: 0,
    clientTransactions: 0,
    registrations: 0,
    loopsDetected: 0,
    tooManyHops: 0,
    transactionTimeouts: 0,
    stateStoreFailures: 0,
    transportErrors: 0,
    requestsUnroutable: 0,
    transportUnavailable: 0,
    largeRequestsOverTcp: 0,
    largeRequestsUdpFallbacks: 0,
    internalErrors: 0,
    transactionStoreRoundTrips: 0,
    sharedRetransmissionsReplayed: 0,
    sharedRetransmissionsDropped: 0,
    sharedResponsesHandledHere: 0,
    sharedLateProvisionalsDropped: 0,
    transactionsAdopted: 0,
    transactionsAdoptedRerouted: 0,
    transactionsTakenOver: 0,
    transactionOwnerDeaths: 0,
    transactionAdoptionSearches: 0,
    transactionLeasesRenewed: 0,
    transactionLeasesLost: 0,
    transactionLeaseFailures: 0,
    authChallenges: 0,
    authAccepted: 0,
    authRejected: 0,
    authStaleNonces: 0,
    authForgedNonces: 0,
    authReplays: 0,
    authThrottled: 0,
    authMalformed: 0,
    overloadEntered: 0,
    overloadLeft: 0,
    overloadMilliseconds: 0,
    overloadQueueDelayed: 0,
    overloadStreamBacklogged: 0,
    overloadShed: 0,
    overloadRejected: 0,
    overloadDropped: 0,
    overloadReadsHeld: 0,
    overloadAcksAbsorbed: 0,
    overloadAnnouncementsSent: 0,
    overloadAnnouncementsReceived: 0,
    overloadNextHopShed: 0,
    overloadKernelFilters: 0,
    overloadKernelFilterFailures: 0,
  };
}
