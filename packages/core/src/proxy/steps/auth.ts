import { isSipError, type SipMessage } from '@switchboard/sip';
import { authChallengeKind, claimedIdentity, type DigestAuthenticator } from '../../auth/digest-authenticator.js';
import type { TransportAddress } from '../../transport-address.js';
import { isUs } from '../listeners.js';
import { routedByOurRecordRoute } from '../record-route.js';
import { isLocalDomain, storeUnavailable, type RoutingContext } from '../routing-context.js';
import { CONTINUE, type StepResult } from '../routing-step.js';

/**
 * RFC 3261 §22 (`--auth`): challenges the request or checks its credentials when the mode says
 * it must be authenticated. Our realm's Proxy-Authorization is removed from every request that
 * goes on (§22.3), checked or not. Without `--auth` every request passes, synchronously.
 */
export function auth(request: SipMessage, source: TransportAddress, context: RoutingContext): StepResult | Promise<StepResult> {
  const authenticator = context.auth;
  if (authenticator === undefined) return CONTINUE;
  return authenticate(authenticator, request, source, context);
}

async function authenticate(authenticator: DigestAuthenticator, request: SipMessage, source: TransportAddress, context: RoutingContext): Promise<StepResult> {
  const uri = request.requestUri;
  const forRegistrar =
    request.method === 'REGISTER' &&
    request.route.every((entry) => isUs(context.listeners, entry.uri)) &&
    (isLocalDomain(context, uri) || isUs(context.listeners, uri));
  const realm = authenticator.realm.toLowerCase();
  const kind = authChallengeKind(authenticator.mode, request, {
    forRegistrar,
    inOurDialog: routedByOurRecordRoute(request),
    isOurDomain: (candidate) => context.domains.has(candidate) || candidate === realm,
  });
  if (kind === undefined) {
    // Not challenged (ACK, CANCEL, in our dialog, incoming): our realm's credentials still
    // stay here (§22.3), or the ACK, BYE and re-INVITE would hand the caller's to the callee.
    authenticator.removeOwnCredentials(request);
    return CONTINUE;
  }
  let result;
  try {
    result = await authenticator.authenticate(request, source, kind, claimedIdentity(request), context.counters);
  } catch (error) {
    if (isSipError(error)) throw error;
    return storeUnavailable(context, 'Authentication Service Unavailable');
  }
  if (result.kind === 'respond') return { kind: 'respond', status: result.status, reason: result.reason, headers: result.headers };
  authenticator.removeOwnCredentials(request);
  return CONTINUE;
}
