/**
 * Free loopback ports for peers that must be told a port before they start (redis-server, SIPp's
 * callee, a stunnel, a proxy's metrics). They are drawn below the kernel's ephemeral range: a port
 * that `listen(0)` handed out and gave back is the next one any process's outgoing connection or
 * unbound socket may take in the gap before the peer binds it. Test files run two at a time, and
 * one CI run lost a suite's proxy start that way (inferred: the suite's hook failed in 4 s with no
 * output kept). Below the range, only another caller choosing at random can collide.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** The lowest port a caller may get: above the well-known and registered ports most daemons use. */
const LOWEST = 10_000;

/** Every port freePort has returned in this process: it is not returned twice. */
const handedOut = new Set<number>();

/** The ports to draw from: [LOWEST, the ephemeral range's first port). */
export function portsBelowEphemeralRange(): { readonly low: number; readonly high: number } {
  let first = 32_768;
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && Number.isInteger(low) && low > LOWEST + 1000) first = low;
  } catch {
    // Not Linux: the IANA range's start (49152) is above 32768, so 32768 stays below both.
  }
  return { low: LOWEST, high: first - 1 };
}

/** Whether `port` on 127.0.0.1 can be bound for TCP and UDP now. */
export async function portIsFree(port: number): Promise<boolean> {
  const server = net.createServer();
  const tcp = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  if (!tcp) return false;
  const udp = dgram.createSocket('udp4');
  return new Promise<boolean>((resolve) => {
    udp.once('error', () => {
      udp.close();
      resolve(false);
    });
    udp.bind(port, '127.0.0.1', () => udp.close(() => resolve(true)));
  });
}

/**
 * A port free for TCP and UDP on 127.0.0.1, below the ephemeral range, never one returned before
 * in this process. `span` > 0 asks that `port + span` be free and below the range too (a Redis
 * Cluster node's bus port).
 */
export async function freePort(span = 0): Promise<number> {
  const { low, high } = portsBelowEphemeralRange();
  const top = high - span;
  if (top <= low) throw new Error(`no ports below the ephemeral range leave room for a span of ${span}`);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (top - low + 1));
    if (handedOut.has(port) || handedOut.has(port + span)) continue;
    if (!(await portIsFree(port)) || (span > 0 && !(await portIsFree(port + span)))) continue;
    handedOut.add(port);
    if (span > 0) handedOut.add(port + span);
    return port;
  }
  throw new Error(`no free port found in ${low}-${top}`);
}
