import { buildResponse, buildResponseWithin, rejectionResponse, type ResponseOptions, type SipMessage } from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';

/**
 * The size rule for responses this element generates (rejections, 100 Trying, 4xx/5xx of the
 * proxy and registrar, 408, 487, 503 ...), so that a forged source address cannot turn the proxy
 * into a reflection amplifier: over UDP a response is never larger than the request it answers,
 * give or take ADDED_BYTES. The full response when it fits; else the minimal one (Via, From, To,
 * Call-ID, CSeq and the headers its status requires, see buildResponseWithin); else none, and the
 * caller drops and counts. Over TCP and TLS the peer completed a handshake: nothing is cut.
 */

/**
 * What RFC 3261 makes a response add to the bytes it copies, whatever the request holds: a status
 * line longer than a short request line (up to about 30 bytes), the To tag (17),
 * `;received=` with an IPv6 address and `;rport=65535` on the top Via (RFC 3581: up to 61), and
 * `Content-Length: 0` (19). Without it the minimal answer to a minimal request (a REGISTER of
 * the mandatory headers with `rport`: its 200 and 503 run 5 and 20 bytes over) would never be
 * sent. It is a constant: the response can outgrow the request by this many bytes, never by a
 * factor. Copied bytes, and headers that grow with the request or the AOR, must fit within the
 * request's own size plus this.
 */
export const ADDED_BYTES = 128;

/**
 * How large a 2xx to REGISTER may always be over UDP, whatever the request's size: the §18.1.1
 * threshold. RFC 3261 §10.3 step 8 makes that 200 list every binding of the address-of-record,
 * so it grows with the phones of the AOR, not with the request; under the plain rule a phone
 * whose AOR held a few other bindings got no 200 at all (and retransmitted until Timer F). Only
 * an AOR that exists answers 200 (and, with `--auth`, only a request with the user's
 * credentials), so the reflection stays bounded by this constant.
 */
export const REGISTER_OK_UDP_BYTES = 1300;

/** The response to a parsed request, within the size rule for the transport it came over. */
export function generatedResponse(request: SipMessage, source: TransportAddress, status: number, options: ResponseOptions = {}): Buffer | undefined {
  if (source.protocol !== 'udp') return buildResponse(request, status, options);
  const budget = request.rawBytes.length + ADDED_BYTES;
  const registerOk = request.method === 'REGISTER' && status >= 200 && status < 300;
  return buildResponseWithin(request, status, registerOk ? Math.max(budget, REGISTER_OK_UDP_BYTES) : budget, options);
}

/**
 * The response to input that failed to parse (see rejectionResponse), within the size rule.
 * `oversized` tells a response dropped for its size from input that cannot be answered at all.
 */
export function generatedRejection(input: Buffer, error: unknown, source: TransportAddress): { bytes: Buffer | undefined; oversized: boolean } {
  const bytes = rejectionResponse(input, error);
  if (bytes !== undefined && source.protocol === 'udp' && bytes.length > input.length + ADDED_BYTES) return { bytes: undefined, oversized: true };
  return { bytes, oversized: false };
}
