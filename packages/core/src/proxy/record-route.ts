import { isSipUri, type SipMessage } from '@switchboard/sip';
import type { Listener } from './listeners.js';

/**
 * A parameter of our Record-Route URI. A request whose Route carries it is inside a dialog we
 * record-routed: an ACK with it acknowledges a 2xx and belongs to no transaction, which lets
 * models that spread transactions over workers forward it where it was read.
 */
export const DIALOG_ROUTE_MARK = 'sbd';

/** Methods whose requests we record-route (when `recordRoute` is on): they can create a dialog. */
export const DIALOG_CREATING: ReadonlySet<string> = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY']);

/** Whether a request's Route set holds one of our Record-Route entries (see DIALOG_ROUTE_MARK). */
export function routedByOurRecordRoute(request: SipMessage): boolean {
  return request.route.some((entry) => isSipUri(entry.uri) && entry.uri.params.has(DIALOG_ROUTE_MARK));
}

/**
 * Our Record-Route entry for a listener: `sips:` on the TLS listener of a request for a SIPS URI
 * (TLS is implied), otherwise `sip:` with the listener's transport (RFC 5630 keeps
 * `transport=tls` for hops that use TLS without SIPS).
 */
export function recordRouteValue(listener: Listener, sips: boolean): string {
  const host = listener.host.includes(':') ? `[${listener.host}]` : listener.host;
  if (sips && listener.protocol === 'tls') return `<sips:${host}:${listener.port};lr;${DIALOG_ROUTE_MARK}>`;
  const transport = listener.protocol === 'udp' ? '' : `;transport=${listener.protocol}`;
  return `<sip:${host}:${listener.port}${transport};lr;${DIALOG_ROUTE_MARK}>`;
}
