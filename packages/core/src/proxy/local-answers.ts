import type { SipError, SipMessage } from '@switchboard/sip';
import { responseTarget } from '../response-target.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import type { MessageSender, TransportAddress } from '../transport-address.js';
import { generatedRejection, generatedResponse } from './generated-response.js';
import { keptFinal } from './kept-final.js';
import type { ProxyCounters } from './proxy-counters.js';
import type { HeaderList } from './routing-step.js';

/**
 * A response of our own on a request's server transaction, within the UDP size rule
 * (generated-response.ts); when even its minimal form is too large, none, and the transaction ends.
 * Nothing once the transaction has sent its final response (it has released its request).
 */
export function answer(server: ServerTransaction, counters: ProxyCounters, status: number, reason?: string, headers?: HeaderList): void {
  const request = server.request;
  if (request === undefined) return;
  const bytes = generatedResponse(request, server.source, status, { reason, headers });
  if (bytes !== undefined) {
    server.respond(status, keptFinal(server.isInvite, status, bytes));
    return;
  }
  counters.oversizedResponsesDropped++;
  server.terminate();
}

/** A response of our own without a transaction (validation failures, stateless mode); never to an ACK. */
export function answerStatelessly(
  sender: MessageSender,
  counters: ProxyCounters,
  request: SipMessage,
  source: TransportAddress,
  status: number,
  reason?: string,
  headers?: HeaderList,
): void {
  if (request.method === 'ACK') return;
  counters.requestsRejected++;
  const bytes = generatedResponse(request, source, status, { reason, headers });
  if (bytes === undefined) counters.oversizedResponsesDropped++;
  else sender.send(responseTarget(request, source), bytes);
}

/** A message that could not be parsed: the RFC's answer (400, 413 ...) when one can be made within the size rule, else dropped. */
export function answerUnparseable(sender: MessageSender, counters: ProxyCounters, bytes: Buffer, source: TransportAddress, error: SipError): void {
  const { bytes: response, oversized } = generatedRejection(bytes, error, source);
  if (response === undefined) {
    counters.messagesDropped++;
    if (oversized) counters.oversizedResponsesDropped++;
    return;
  }
  counters.requestsRejected++;
  sender.send(source, response);
}
