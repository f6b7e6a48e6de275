import { detachedBuffer } from '@switchboard/sip';

/**
 * The bytes to hand a server transaction as its response: a final response it keeps to answer
 * retransmissions (every final but the 2xx of an INVITE, RFC 6026; 32 s over UDP) in a block of
 * its own (detached-buffer.ts), so it does not keep a pool block or a stream chunk alive; others
 * as they are (a provisional one or an INVITE's 2xx is let go at once).
 */
export function keptFinal(isInvite: boolean, status: number, bytes: Buffer): Buffer {
  if (status < 200 || (isInvite && status < 300)) return bytes;
  return detachedBuffer(bytes);
}
