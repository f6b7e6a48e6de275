import { buildResponse, rejectionResponse, type SipError, type SipMessage } from '@switchboard/sip';
import { responseTarget } from '../response-target.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import type { MessageSender, TransportAddress } from '../transport-address.js';
import type { ProxyCounters } from './proxy-counters.js';
import type { HeaderList } from './routing-step.js';

/** A response of our own on a request's server transaction. */
export function answer(server: ServerTransaction, status: number, reason?: string, headers?: HeaderList): void {
  server.respond(status, buildResponse(server.request, status, { reason, headers }));
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
  sender.send(responseTarget(request, source), buildResponse(request, status, { reason, headers }));
}

/** A message that could not be parsed: the RFC's answer (400, 413 ...) when one can be made, else dropped. */
export function answerUnparseable(sender: MessageSender, counters: ProxyCounters, bytes: Buffer, source: TransportAddress, error: SipError): void {
  const response = rejectionResponse(bytes, error);
  if (response === undefined) {
    counters.messagesDropped++;
    return;
  }
  counters.requestsRejected++;
  sender.send(source, response);
}
