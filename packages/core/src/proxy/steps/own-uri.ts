import { isSipUri, type SipMessage, type Uri } from '@switchboard/sip';
import type { TransportAddress } from '../../transport-address.js';
import { isUs } from '../listeners.js';
import { isLocalDomain, type RoutingContext } from '../routing-context.js';
import { CONTINUE, type HeaderList, type StepResult } from '../routing-step.js';

const NOT_FOUND: StepResult = Object.freeze({ kind: 'respond', status: 404 });

/**
 * A request for this server itself (§11): a URI without a user part at our address or at a
 * domain we serve (`sip:example.com`). OPTIONS is answered with our capabilities, anything else
 * 404, since no user is there to reach.
 */
export function ownUri(request: SipMessage, _source: TransportAddress, context: RoutingContext): StepResult {
  if (!addressesThisServer(request.requestUri, context)) return CONTINUE;
  if (request.method === 'OPTIONS') return { kind: 'respond', status: 200, headers: ownCapabilities(context) };
  return NOT_FOUND;
}

/** Whether a URI has no user part and names our address or a domain we serve. */
export function addressesThisServer(uri: Uri | undefined, context: RoutingContext): boolean {
  if (uri === undefined || !isSipUri(uri) || uri.user !== undefined) return false;
  return isUs(context.listeners, uri) || isLocalDomain(context, uri);
}

/** What an OPTIONS to this server answers (RFC 3261 §11.2). */
export function ownCapabilities(context: RoutingContext): HeaderList {
  return [
    ['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, PRACK, SUBSCRIBE, NOTIFY, REFER, MESSAGE'],
    ['Accept', 'application/sdp'],
    ['Accept-Encoding', 'identity'],
    ['Accept-Language', 'en'],
    ['Supported', [...context.supported].join(', ')],
  ];
}
