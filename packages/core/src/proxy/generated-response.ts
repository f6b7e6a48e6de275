import { buildResponse, buildResponseWithin, rejectionResponse, type ResponseOptions, type SipMessage } from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';

/**
 * The size rule for responses this element generates (rejections, 100 Trying, 4xx/5xx of the
 * proxy and registrar, 408, 487, 503 ...): over UDP a response is never larger than the request
 * it answers, so a forged source address cannot turn the proxy into a reflection amplifier. The
 * full response when it fits; else the minimal one (Via, From, To, Call-ID, CSeq and the headers
 * its status requires, see buildResponseWithin); else none, and the caller drops and counts.
 * Over TCP and TLS the peer completed a handshake, so nothing is cut.
 */


/** The response to a parsed request, within the size rule for the transport it came over. */
export function generatedResponse(request: SipMessage, source: TransportAddress, status: number, options: ResponseOptions = {}): Buffer | undefined {
  if (source.protocol !== 'udp') return buildResponse(request, status, options);
  return buildResponseWithin(request, status, request.rawBytes.length, options);
}

/**
 * The response to input that failed to parse (see rejectionResponse), within the size rule.
 * `oversized` tells a response dropped for its size from input that cannot be answered at all.
 */
export function generatedRejection(input: Buffer, error: unknown, source: TransportAddress): { bytes: Buffer | undefined; oversized: boolean } {
  const bytes = rejectionResponse(input, error);
  if (bytes !== undefined && source.protocol === 'udp' && bytes.length > input.length) return { bytes: undefined, oversized: true };
  return { bytes, oversized: false };
}
