/**
 * The floor under bench:efficiency: what Node's own sockets cost per SIPp call with no SIP in
 * between. `node node-relay.js --callee-port N` relays bytes between one caller and the callee
 * on 127.0.0.1:N and parses nothing:
 * - UDP: a datagram from anyone but the callee goes to the callee from a second socket, and the
 *   callee's datagrams go back to whoever sent last (SIPp sends every request of a call to the
 *   address it was given, and its callee answers the address a request came from, so INVITE, ACK,
 *   BYE and their responses all cross the relay: 6 datagrams in and 6 out per call, where a
 *   proxy also sends a 100 Trying);
 * - TCP: each accepted connection is piped to a new connection to the callee, both ways.
 * It prints the same `ready` line as `switchboard serve` (JSON, its listeners), so the benches
 * start it as they start the proxy. A measuring instrument, not a proxy: no Via, no routing, one
 * caller at a time over UDP.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HOST = '127.0.0.1';

export interface NodeRelay {
  readonly udpPort: number;
  readonly tcpPort: number;
  /** Datagrams and TCP connections that could not be relayed (send errors, a refused callee). */
  readonly failures: () => number;
  close(): Promise<void>;
}

function bound(socket: dgram.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, HOST, () => {
      socket.off('error', reject);
      resolve(socket.address().port);
    });
  });
}

export async function startNodeRelay(calleePort: number): Promise<NodeRelay> {
  let failures = 0;
  const failed = (): void => {
    failures++;
  };
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  front.on('error', failed);
  back.on('error', failed);
  const sent = (error: Error | null): void => {
    if (error !== null) failed();
  };
  let callerPort = 0;
  let callerAddress = HOST;
  front.on('message', (datagram, from) => {
    callerPort = from.port;
    callerAddress = from.address;
    back.send(datagram, calleePort, HOST, sent);
  });
  back.on('message', (datagram) => {
    if (callerPort !== 0) front.send(datagram, callerPort, callerAddress, sent);
  });
  const udpPort = await bound(front);
  await bound(back);

  const connections = new Set<net.Socket>();
  const server = net.createServer((caller) => {
    const callee = net.connect(calleePort, HOST);
    for (const socket of [caller, callee]) {
      connections.add(socket);
      socket.on('error', () => {
        failed();
        caller.destroy();
        callee.destroy();
      });
      socket.on('close', () => connections.delete(socket));
    }
    caller.pipe(callee);
    callee.pipe(caller);
  });
  server.on('error', failed);
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  const tcpPort = (server.address() as net.AddressInfo).port;

  return {
    udpPort,
    tcpPort,
    failures: () => failures,
    close: async () => {
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      front.close();
      back.close();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'callee-port': { type: 'string' } } });
  const calleePort = Number(values['callee-port']);
  if (!Number.isInteger(calleePort) || calleePort <= 0 || calleePort > 65535) throw new Error(`--callee-port takes a port number, got ${values['callee-port']}`);
  const relay = await startNodeRelay(calleePort);
  process.stdout.write(`${JSON.stringify({ msg: 'ready', listeners: [`udp:${HOST}:${relay.udpPort}`, `tcp:${HOST}:${relay.tcpPort}`] })}\n`);
  const stop = (): void => {
    void relay.close().then(() => {
      process.stderr.write(`node-relay: ${relay.failures()} failures\n`);
      process.exit(0);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: Error) => {
    process.stderr.write(`node-relay: ${error.message}\n`);
    process.exitCode = 1;
  });
}
