import { parseUri, type SipMessage, type Uri } from '@switchboard/sip';
import { addressOfRecord } from '../../registrar/registrar.js';
import type { TransportAddress } from '../../transport-address.js';
import { isUs } from '../listeners.js';
import { isLocalDomain, storeUnavailable, type RoutingContext } from '../routing-context.js';
import { CONTINUE, type StepResult } from '../routing-step.js';
import { uriTarget } from '../uri-target.js';

const NOT_FOUND: StepResult = Object.freeze({ kind: 'respond', status: 404 });

/**
 * RFC 3261 §16.5 (Kamailio's `lookup`): a request for a user of one of our domains (or at our
 * address) is forwarded to every contact registered for it, forking when there are several; a
 * user of our domains with none gets 404. Anything else goes on to the next step.
 */
export function location(request: SipMessage, _source: TransportAddress, context: RoutingContext): StepResult | Promise<StepResult> {
  const uri = request.requestUri;
  const local = isLocalDomain(context, uri);
  if (!local && !isUs(context.listeners, uri)) return CONTINUE;
  const aor = addressOfRecord(uri as Uri);
  if (aor === undefined) return local ? NOT_FOUND : CONTINUE;
  return lookUp(aor, local, context);
}

async function lookUp(aor: string, local: boolean, context: RoutingContext): Promise<StepResult> {
  let bindings;
  try {
    bindings = await context.store.lookup(aor, Date.now());
  } catch {
    return storeUnavailable(context);
  }
  if (bindings.length > 0) {
    return {
      kind: 'forward',
      targets: bindings.map((binding) => ({ requestUri: binding.contact, nextHop: contactHop(binding.contact, binding.source) })),
    };
  }
  return local ? NOT_FOUND : CONTINUE;
}

/** The next hop for a registered contact: over TCP/TLS, the connection it registered on. */
export function contactHop(contact: string, registeredFrom: TransportAddress): TransportAddress | undefined {
  const target = uriTarget(parseUri(contact));
  if (target === undefined) return undefined;
  if (registeredFrom.protocol !== 'udp' && target.protocol === registeredFrom.protocol) return registeredFrom;
  return target;
}
