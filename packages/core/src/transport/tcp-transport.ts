import net from 'node:net';
import type { TransportAddress } from '../transport-address.js';
import { StreamTransport, type StreamLayer, type StreamTransportOptions } from './stream-transport.js';

export type TcpTransportOptions = StreamTransportOptions;

/** Plain TCP: an accepted socket carries SIP as it is. */
const TCP_LAYER: StreamLayer = {
  protocol: 'tcp',
  accept(socket, _connectionId, ready) {
    ready(socket);
  },
  connect(target: TransportAddress) {
    return net.connect({ host: target.address, port: target.port, noDelay: true });
  },
  close() {
    // Nothing is held before a TCP connection is filed.
  },
  // libuv reads a stream into 64 KiB: a read of that size found at least that much queued.
  fullReadBytes: 65_536,
};

/** SIP over TCP (RFC 3261 §18): see StreamTransport for the connection table and timers. */
export class TcpTransport extends StreamTransport {
  constructor(options: TcpTransportOptions) {
    super(options, TCP_LAYER);
  }
}
