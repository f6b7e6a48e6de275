import type { NamedRoutingStep } from './routing-step.js';
import { auth } from './steps/auth.js';
import { defaultRoute } from './steps/default-route.js';
import { location } from './steps/location.js';
import { loopDetection } from './steps/loop-detection.js';
import { looseRoute } from './steps/loose-route.js';
import { maxForwards } from './steps/max-forwards.js';
import { ownUri } from './steps/own-uri.js';
import { proxyRequire } from './steps/proxy-require.js';
import { registrar } from './steps/registrar.js';
import { requestUri } from './steps/request-uri.js';

/**
 * How a request is routed, in order (RFC 3261 §16.3 checks, §16.4 route processing, §16.5
 * targets), as Kamailio's `request_route` calls maxfwd, sanity, rr, registrar, auth, location
 * and t_relay. The order is data: overload control or per-step timing go in as entries of their
 * own (ProxyCoreOptions.routingSteps). The last step always decides.
 */
export const ROUTING_STEPS: readonly NamedRoutingStep[] = Object.freeze([
  { name: 'max-forwards', run: maxForwards },
  { name: 'loop-detection', run: loopDetection },
  { name: 'proxy-require', run: proxyRequire },
  { name: 'auth', run: auth },
  { name: 'loose-route', run: looseRoute },
  { name: 'registrar', run: registrar },
  { name: 'own-uri', run: ownUri },
  { name: 'location', run: location },
  { name: 'default-route', run: defaultRoute },
  { name: 'request-uri', run: requestUri },
]);
