// The hostile-input test's noise (test/interop/hostile-input.test.ts, "calls in progress all
// complete while hostile input keeps coming"), for the scripts that measure what it costs: INVITEs
// without From or To, every third with a CSeq that is no number, each answered 400 by the RFC.
import dgram from 'node:dgram';

/** The `n`th malformed INVITE. */
export function malformedInvite(n) {
  return Buffer.from(`INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK${n}\r\nCSeq: ${n % 3 === 0 ? 'x' : '1'} INVITE\r\nCall-ID: n${n}\r\n\r\n`);
}

/**
 * Sends up to `count` malformed INVITEs to 127.0.0.1:`port` from one socket, in bursts of 50 every
 * 10 ms (up to 5,000/s, as the test), until `stopped()` says so; resolves with how many were sent.
 * Their 400s go to the Via's address (127.0.0.1:9), not back to this socket.
 */
export async function sendNoise(port, count, { stopped = () => false } = {}) {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let sent = 0;
  while (!stopped() && sent < count) {
    socket.send(malformedInvite(sent), port, '127.0.0.1');
    sent++;
    if (sent % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
  socket.close();
  return sent;
}
