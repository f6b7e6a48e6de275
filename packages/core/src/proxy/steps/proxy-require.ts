import type { SipMessage } from '@switchboard/sip';
import type { TransportAddress } from '../../transport-address.js';
import type { RoutingContext } from '../routing-context.js';
import { CONTINUE, type StepResult } from '../routing-step.js';

/** RFC 3261 §16.3 step 5: option tags in Proxy-Require that we do not support get 420 and Unsupported. */
export function proxyRequire(request: SipMessage, _source: TransportAddress, context: RoutingContext): StepResult {
  const tags = request.optionTags('proxy-require');
  if (tags.length === 0) return CONTINUE;
  const unsupported = tags.filter((tag) => !context.supported.has(tag));
  if (unsupported.length === 0) return CONTINUE;
  return { kind: 'respond', status: 420, headers: [['Unsupported', unsupported.join(', ')]] };
}
