import diagnostics from 'node:diagnostics_channel';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import { answer } from './local-answers.js';
import type { ProxyCounters } from './proxy-counters.js';

/**
 * Published with `{ error }` when handling one message, timer or store answer threw something
 * that is not a SipError (a bug): it is counted (`internalErrors`) and dropped, never rethrown.
 */
const internalErrorChannel = diagnostics.channel('switchboard:internal-error');

/** Counts and publishes a bug caught at an entry point (a socket, timer or store callback). */
export function reportInternalError(counters: ProxyCounters, error: unknown): void {
  counters.internalErrors++;
  if (internalErrorChannel.hasSubscribers) internalErrorChannel.publish({ error });
}

/**
 * Runs work for a request's server transaction from a callback (a store answer, a timer, a
 * transport error): a bug there is counted and the request answered 500, never thrown.
 */
export function guarded(server: ServerTransaction, counters: ProxyCounters, work: () => void): void {
  try {
    work();
  } catch (error) {
    answerInternalError(server, counters, error);
  }
}

/** After a bug in the handling of a request with a transaction: counted, and the request answered 500. */
export function answerInternalError(server: ServerTransaction, counters: ProxyCounters, error: unknown): void {
  reportInternalError(counters, error);
  try {
    answer(server, counters, 500);
  } catch (again) {
    reportInternalError(counters, again);
  }
}
