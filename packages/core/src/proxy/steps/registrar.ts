import { isSipError, type SipMessage } from '@switchboard/sip';
import { handleRegister } from '../../registrar/registrar.js';
import type { TransportAddress } from '../../transport-address.js';
import { isUs } from '../listeners.js';
import { isLocalDomain, storeUnavailable, type RoutingContext } from '../routing-context.js';
import { CONTINUE, type StepResult } from '../routing-step.js';

/**
 * RFC 3261 §10.3: a REGISTER for one of our domains (or for this proxy's address) is handled by
 * the registrar here; any other REGISTER is proxied like every request.
 */
export function registrar(request: SipMessage, source: TransportAddress, context: RoutingContext): StepResult | Promise<StepResult> {
  if (request.method !== 'REGISTER') return CONTINUE;
  const uri = request.requestUri;
  if (!isLocalDomain(context, uri) && !isUs(context.listeners, uri)) return CONTINUE;
  context.counters.registrations++;
  return register(request, source, context);
}

async function register(request: SipMessage, source: TransportAddress, context: RoutingContext): Promise<StepResult> {
  let result;
  try {
    result = await handleRegister(request, source, context.store, context.registrar);
  } catch (error) {
    if (isSipError(error)) throw error;
    return storeUnavailable(context);
  }
  return { kind: 'respond', status: result.status, reason: result.reason, headers: result.headers };
}
