import { parseMessage, type SipMessage } from '@switchboard/sip';
import type { LocationStore } from '../../registrar/location-store.js';
import { MemoryLocationStore } from '../../registrar/location-store.js';
import type { TransportAddress } from '../../transport-address.js';
import { newRoutingContext, type RoutingContext, type RoutingContextOptions } from '../routing-context.js';

/**
 * Fixtures for testing one routing step alone (imported by tests only): a routing context for a
 * proxy at 192.0.2.1:5060 (UDP and TCP) serving example.com, and requests from Alice.
 */

export const PROXY_ADDRESS = '192.0.2.1';
export const ALICE: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };

export function stepContext(options: Partial<RoutingContextOptions> = {}): RoutingContext {
  return newRoutingContext({
    listeners: [
      { protocol: 'udp', host: PROXY_ADDRESS, port: 5060 },
      { protocol: 'tcp', host: PROXY_ADDRESS, port: 5060 },
    ],
    domains: ['example.com'],
    store: new MemoryLocationStore(0),
    ...options,
  });
}

export interface StepRequestOptions {
  /** Header lines put before Content-Length. */
  readonly extra?: readonly string[];
  readonly maxForwards?: number;
  /** A To tag: the request is inside a dialog. */
  readonly toTag?: string;
}

/** A request as Alice would send it to Bob. */
export function stepRequest(method: string, uri: string, options: StepRequestOptions = {}): SipMessage {
  return parseMessage(
    Buffer.from(
      [
        `${method} ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP ${ALICE.address}:${ALICE.port};branch=z9hG4bKalice1`,
        `Max-Forwards: ${options.maxForwards ?? 70}`,
        'From: <sip:alice@example.com>;tag=a1',
        `To: <sip:bob@example.com>${options.toTag === undefined ? '' : `;tag=${options.toTag}`}`,
        'Call-ID: call-1',
        `CSeq: 1 ${method}`,
        'Contact: <sip:alice@192.0.2.10>',
        ...(options.extra ?? []),
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    ),
  );
}

/** A location store whose every call fails, as Redis does when it is down. */
export function failingStore(): LocationStore {
  const down = (): Promise<never> => Promise.reject(Object.assign(new Error('store down'), { code: 'ERR_SWITCHBOARD_STATE_UNAVAILABLE' }));
  return { lookup: down, put: down, remove: down, removeAll: down, size: down, close: async () => undefined };
}
