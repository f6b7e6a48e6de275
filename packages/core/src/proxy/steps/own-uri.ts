import { isSipUri, type SipMessage } from '@switchboard/sip';
import type { TransportAddress } from '../../transport-address.js';
import { isUs } from '../listeners.js';
import type { RoutingContext } from '../routing-context.js';
import { CONTINUE, type HeaderList, type StepResult } from '../routing-step.js';

const NOT_FOUND: StepResult = Object.freeze({ kind: 'respond', status: 404 });

/**
 * A request for this proxy itself (our address with no user part): OPTIONS is answered with our
 * capabilities (RFC 3261 §11), anything else 404, since nobody is there to take it.
 */
export function ownUri(request: SipMessage, _source: TransportAddress, context: RoutingContext): StepResult {
  const uri = request.requestUri;
  if (uri === undefined || !isSipUri(uri) || uri.user !== undefined || !isUs(context.listeners, uri)) return CONTINUE;
  if (request.method === 'OPTIONS') return { kind: 'respond', status: 200, headers: ownCapabilities(context) };
  return NOT_FOUND;
}

/** The headers of our answer to an OPTIONS for this proxy (RFC 3261 §11.2). */
export function ownCapabilities(_context: RoutingContext): HeaderList {
  return [
    ['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, PRACK, SUBSCRIBE, NOTIFY, REFER, MESSAGE'],
    ['Accept', 'application/sdp'],
  ];
}
