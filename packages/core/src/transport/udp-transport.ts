import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';
import type { UdpKernelShedder } from '../overload/udp-kernel-shedder.js';
import type { UdpQueueProbe } from '../overload/udp-queue-probe.js';
import { reportSendError, type SendErrorHandler, type TransportAddress } from '../transport-address.js';
import { attachSocketFilter, datagramSocketFd, detachSocketFilter, readSocketFilter } from './socket-filter.js';

export interface UdpTransportOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly onMessage: (bytes: Buffer, source: TransportAddress) => void;
  /** A send failed (unreachable host, buffer full): counted by the owner, never thrown. */
  readonly onSendError?: (error: Error, target: TransportAddress) => void;
  /** SO_RCVBUF to ask for (the kernel doubles it); default 4 MiB. Overload control asks for less. */
  readonly receiveBufferBytes?: number;
  /**
   * Overload control's queue probe (`--overload on`): sent to this socket itself once a sample,
   * and taken out of the datagrams read before they reach `onMessage`.
   */
  readonly queueProbe?: UdpQueueProbe;
  /** Overload control's kernel stage (`--overload on`, a socket of this worker's own): given the socket's filter once bound. */
  readonly kernelShedder?: UdpKernelShedder;
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
    const socket = dgram.createSocket({ type, recvBufferSize: this.#options.receiveBufferBytes ?? 4 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024, lookup: literalFirstLookup });
    this.#socket = socket;
    const probe = this.#options.queueProbe;
    socket.on('message', (bytes, remote) => {
      if (probe !== undefined && probe.take(bytes)) return;
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
    if (probe !== undefined) {
      const to = selfAddress(bound.address);
      probe.attach((bytes) => socket.send(bytes, bound.port, to, ignoreSendError));
    }
    const shedder = this.#options.kernelShedder;
    const fd = shedder === undefined ? undefined : datagramSocketFd(socket);
    if (shedder !== undefined && fd !== undefined) shedder.attach({ attach: (program) => attachSocketFilter(fd, program), detach: () => detachSocketFilter(fd), read: () => readSocketFilter(fd) });
    return { address: bound.address, port: bound.port };
  }

  send(target: TransportAddress, bytes: Buffer, onError?: SendErrorHandler): void {
    const socket = this.#socket;
    // One closure per send: dgram calls it (on a later tick) with the outcome.
    const sent = (error: Error | null): void => {
      if (!error) return;
      this.#options.onSendError?.(error, target);
      onError?.(error);
    };
    if (socket === undefined) {
      reportSendError(sent, new Error('the UDP socket is closed'));
      return;
    }
    try {
      // dgram throws at once for a port it cannot send to (0, above 65535) and on a closed socket.
      socket.send(bytes, target.port, target.address, sent);
    } catch (error) {
      reportSendError(sent, error);
    }
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#options.queueProbe?.detach();
    this.#options.kernelShedder?.detach();
    if (socket !== undefined) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

/** Where a socket reaches itself: its own address, or loopback for a wildcard one. */
function selfAddress(bound: string): string {
  if (bound === '0.0.0.0') return '127.0.0.1';
  if (bound === '::') return '::1';
  return bound;
}

function ignoreSendError(): void {
  // A probe that was not sent is a probe not read (UdpQueueProbe counts its age).
}

/**
 * dgram resolves the address of every datagram it sends (dns.lookup), and for an IP address that
 * costs a process.nextTick before the send. Addresses of SIP peers are IP addresses nearly always
 * (Via received, Contact of a binding, the default route): those are handed back at once, in the
 * same tick; a host name is still looked up.
 */
function literalFirstLookup(
  address: string,
  options: dns.LookupOneOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const literal = isIP(address);
  if (literal !== 0) callback(null, address, literal);
  else dns.lookup(address, options, callback);
}
