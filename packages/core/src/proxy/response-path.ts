import type { SipMessage, Via } from '@switchboard/sip';
import type { MessageSender } from '../transport-address.js';
import type { Forwarder } from './forwarding.js';
import { isOurSentBy, type Listener } from './listeners.js';
import type { ProxyCounters } from './proxy-counters.js';
import { viaTarget } from './via-addressing.js';

export interface ResponsePathOptions {
  readonly listeners: readonly Listener[];
  readonly sender: MessageSender;
  readonly counters: ProxyCounters;
}

/**
 * A response from downstream (RFC 3261 §16.7): to the client transaction of its branch when there
 * is one; otherwise (stateless mode, or a 2xx retransmitted after its transaction ended) our Via
 * comes off and it goes upstream by the next one (§16.11). Responses to a Via not ours are dropped.
 */
export function receiveResponse(response: SipMessage, forwarder: Forwarder, options: ResponsePathOptions): void {
  options.counters.responsesReceived++;
  const top = response.topVia;
  if (top === undefined || top.branch === undefined || !isOurSentBy(options.listeners, top)) {
    options.counters.messagesDropped++;
    return;
  }
  if (forwarder.receiveResponse(response, top.branch)) return;
  response.removeTopVia();
  const next = response.topVia;
  if (next === undefined) {
    options.counters.messagesDropped++;
    return;
  }
  sendByVia(next, response.serialize(), options);
}

/** A response sent upstream as a stateless proxy sends it (§16.11): to `next`, the Via below ours. */
export function sendByVia(next: Via, bytes: Buffer, options: Pick<ResponsePathOptions, 'sender' | 'counters'>): void {
  options.counters.responsesForwarded++;
  options.sender.send(viaTarget(next), bytes);
}
