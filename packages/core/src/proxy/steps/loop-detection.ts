import type { SipMessage, Via } from '@switchboard/sip';
import type { TransportAddress } from '../../transport-address.js';
import { BRANCH_ID_PREFIX, hasLoopHash, loopHash } from '../branch-id.js';
import { isOurSentBy } from '../listeners.js';
import type { RoutingContext } from '../routing-context.js';
import { CONTINUE, type StepResult } from '../routing-step.js';

const LOOP_DETECTED: StepResult = Object.freeze({ kind: 'respond', status: 482 });

/**
 * RFC 3261 §16.3 step 4: our Via carrying this request's loop hash means it came back to us
 * unchanged (a loop, 482); with a different hash it changed on the way (a spiral) and goes on.
 */
export function loopDetection(request: SipMessage, _source: TransportAddress, context: RoutingContext): StepResult {
  const vias = request.via;
  for (let i = 0; i < vias.length - 1; i++) {
    const via = vias[i] as Via;
    if (via.branch?.startsWith(BRANCH_ID_PREFIX) !== true || !isOurSentBy(context.listeners, via)) continue;
    // Our Via at i: the request as we first received it had vias[i + 1] on top.
    if (hasLoopHash(via.branch, loopHash(request, vias[i + 1]))) {
      context.counters.loopsDetected++;
      return LOOP_DETECTED;
    }
  }
  return CONTINUE;
}
