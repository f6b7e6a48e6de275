import dgram from 'node:dgram';
import { reportSendError, type SendErrorHandler, type TransportAddress } from '../transport-address.js';

export interface UdpTransportOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly onMessage: (bytes: Buffer, source: TransportAddress) => void;
  /** A send failed (unreachable host, buffer full): counted by the owner, never thrown. */
  readonly onSendError?: (error: Error, target: TransportAddress) => void;
}

/** What the proxy needs of its datagram side; a thread-pool worker relays through its parent. */
export interface DatagramTransport {
  listen(): Promise<{ address: string; port: number }>;
  /** Never throws: a failure goes to `onError` (and the transport's own error report). */
  send(target: TransportAddress, bytes: Buffer, onError?: SendErrorHandler): void;
  close(): Promise<void>;
}

/** One UDP socket: every datagram is one message (RFC 3261 §18.1.1). */
export class UdpTransport implements DatagramTransport {
  readonly #options: UdpTransportOptions;
  #socket: dgram.Socket | undefined;

  constructor(options: UdpTransportOptions) {
    this.#options = options;
  }

  /** Binds the socket; resolves with the bound address and port. */
  async listen(): Promise<{ address: string; port: number }> {
    const type = this.#options.host.includes(':') ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({ type, recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024 });
    this.#socket = socket;
    socket.on('message', (bytes, remote) => {
      this.#options.onMessage(bytes, { protocol: 'udp', address: remote.address, port: remote.port });
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.#options.port, this.#options.host, () => {
        socket.off('error', reject);
        socket.on('error', () => {
          // Errors after bind concern single datagrams (ICMP unreachable); sends report their own.
        });
        resolve();
      });
    });
    const bound = socket.address();
    return { address: bound.address, port: bound.port };
  }

  send(target: TransportAddress, bytes: Buffer, onError?: SendErrorHandler): void {
    const socket = this.#socket;
    const failed = (error: Error): void => {
      this.#options.onSendError?.(error, target);
      onError?.(error);
    };
    if (socket === undefined) {
      reportSendError(failed, new Error('the UDP socket is closed'));
      return;
    }
    try {
      // dgram throws at once for a port it cannot send to (0, above 65535) and on a closed socket.
      socket.send(bytes, target.port, target.address, (error) => {
        if (error) failed(error);
      });
    } catch (error) {
      reportSendError(failed, error);
    }
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
