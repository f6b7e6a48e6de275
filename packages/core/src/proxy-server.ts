import type { SipLimits } from '@switchboard/sip';
import type { DigestAuthenticator } from './auth/digest-authenticator.js';
import type { Listener } from './proxy/listeners.js';
import { OVERLOAD_UDP_RECEIVE_BUFFER_BYTES, type OverloadSettings } from './overload/overload-control.js';
import { ProxyCore, type ProxySender } from './proxy/proxy-core.js';
import type { MessageTimingRecorder } from './timing/message-timing.js';
import type { SharedTransactionsOptions } from './proxy/shared-transactions.js';
import type { LocationStore } from './registrar/location-store.js';
import { MemoryLocationStore } from './registrar/location-store.js';
import type { RegistrarOptions } from './registrar/registrar.js';
import type { TimerSettings } from './transaction/timers.js';
import type { SipMessage } from '@switchboard/sip';
import type { IdleStrategy } from './transport/idle-connections.js';
import type { ConnectionQuota } from './transport/connection-quota.js';
import type { ConnectionDirectory, StreamProtocol, StreamTransport, StreamTransportEvent, TlsFailureReason } from './transport/stream-transport.js';
import { TcpTransport } from './transport/tcp-transport.js';
import { TlsTransport, type TlsSettings } from './transport/tls-transport.js';
import { UdpTransport, type DatagramTransport, type UdpTransportOptions } from './transport/udp-transport.js';
import { UdpKernelShedder } from './overload/udp-kernel-shedder.js';
import { UdpQueueProbe } from './overload/udp-queue-probe.js';
import { reportSendError, type TransportAddress, type TransportProtocol } from './transport-address.js';

export interface ListenSpec {
  readonly protocol: TransportProtocol;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

export interface ProxyServerOptions {
  readonly listen: readonly ListenSpec[];
  /** Host written into Via and Record-Route when listening on a wildcard address. */
  readonly advertise?: string;
  readonly domains?: readonly string[];
  readonly defaultRoute?: string;
  readonly stateless?: boolean;
  readonly recordRoute?: boolean;
  readonly idleTimeoutMs?: number;
  readonly headerTimeoutMs?: number;
  /** Accepted connections open at once per stream listener of this server (default: no cap). */
  readonly maxConnections?: number;
  /** A cap on accepted connections shared with other servers (the thread-pool's threads), over every stream listener. */
  readonly connectionQuota?: ConnectionQuota;
  readonly timers?: TimerSettings;
  readonly registrar?: RegistrarOptions;
  readonly limits?: Partial<SipLimits>;
  readonly store?: LocationStore;
  /** TLS credentials and choices; required with a `tls` listener. */
  readonly tls?: TlsSettings;
  /** TCP and TLS connection events (accepted, closed, framing errors, handshakes ...), for logs and counters. */
  readonly onTransportEvent?: (event: StreamTransportEvent) => void;
  readonly idleStrategy?: IdleStrategy;
  /** Seconds a 503 asks clients to wait when the location store fails (default 5). */
  readonly storeRetryAfterSeconds?: number;
  /** Digest authentication (`--auth`); closed with the server. */
  readonly authenticator?: DigestAuthenticator;
  /** Per-message timing (`--timing`), passed to the core. */
  readonly timing?: MessageTimingRecorder;
  /** Overload control (`--overload on`), one detector per server (per worker). */
  readonly overload?: OverloadSettings;
  /** Datagrams arrive already admitted by overload control where they were read (ProxyCoreOptions). */
  readonly datagramsAdmitted?: boolean;

  // ---- hooks for the models that run several workers (packages/cluster) ----
  /**
   * How the TCP listener is had: bound here from the listen spec (default), accepted from a
   * listening socket other threads share (`{ fd }`), or not at all (`'none'`: a supervisor
   * accepts and hands connections over through `tcpTransport.adopt`; the spec's port is the
   * supervisor's).
   */
  readonly tcpListener?: 'bind' | 'none' | { readonly fd: number };
  /** The same for the TLS listener (its listening socket is a plain TCP one too). */
  readonly tlsListener?: 'bind' | 'none' | { readonly fd: number };
  /** Replaces the UDP socket (a thread that sends and receives datagrams through another). */
  readonly udpTransport?: (options: UdpTransportOptions) => DatagramTransport;
  readonly nextConnectionId?: () => number;
  readonly connectionDirectory?: ConnectionDirectory;
  /** `--transactions shared`: see ProxyCoreOptions.sharedTransactions. */
  readonly sharedTransactions?: SharedTransactionsOptions;
  /** See ProxyCoreOptions.branchTag and handOff. */
  readonly branchTag?: string;
  readonly handOff?: (message: SipMessage, bytes: Buffer, source: TransportAddress) => boolean;
  /**
   * Replaces the transports as the core's way out (io-dispatch: every send and alias goes to the
   * I/O process, which owns every socket); the listeners are still made, for their addresses.
   */
  readonly sender?: ProxySender;
}

/** Transport counters kept beside the proxy's own. */
export interface TransportCounters {
  tcpConnectionsAccepted: number;
  tcpConnectionsOpened: number;
  /** Framing errors, idle and slow-message closes count TCP and TLS connections alike. */
  tcpFramingErrors: number;
  tcpIdleClosed: number;
  tcpSlowMessagesClosed: number;
  /** Incoming TCP and TLS connections closed at once: at --max-connections, or out of files (EMFILE). */
  tcpConnectionsRefused: number;
  /** TCP connections accepted on the TLS listener, and TLS connections the proxy opened. */
  tlsConnectionsAccepted: number;
  tlsConnectionsOpened: number;
  /** Handshakes finished as TLS server (accepted connections), and of those resumed. */
  tlsHandshakes: number;
  tlsHandshakesResumed: number;
  /** Handshakes finished as TLS client (connections to callees), and of those resumed. */
  tlsClientHandshakes: number;
  tlsClientHandshakesResumed: number;
  /** Failed handshakes (either side) by reason. */
  tlsHandshakeFailuresBadCertificate: number;
  tlsHandshakeFailuresTimeout: number;
  tlsHandshakeFailuresPlaintext: number;
  tlsHandshakeFailuresProtocol: number;
  tlsHandshakeFailuresAborted: number;
  /** Connections whose handshake failed that are closed, and of those closed in order (no reset). */
  tlsFailedConnectionsClosed: number;
  tlsFailedConnectionsClosedCleanly: number;
  sendErrors: number;
  /** Idle sweeps run, connections they examined, and the time they took in all. */
  idleSweeps: number;
  idleSweepVisited: number;
  idleSweepMilliseconds: number;
}

export function newTransportCounters(): TransportCounters {
  return {
    tcpConnectionsAccepted: 0,
    tcpConnectionsOpened: 0,
    tcpFramingErrors: 0,
    tcpIdleClosed: 0,
    tcpSlowMessagesClosed: 0,
    tcpConnectionsRefused: 0,
    tlsConnectionsAccepted: 0,
    tlsConnectionsOpened: 0,
    tlsHandshakes: 0,
    tlsHandshakesResumed: 0,
    tlsClientHandshakes: 0,
    tlsClientHandshakesResumed: 0,
    tlsHandshakeFailuresBadCertificate: 0,
    tlsHandshakeFailuresTimeout: 0,
    tlsHandshakeFailuresPlaintext: 0,
    tlsHandshakeFailuresProtocol: 0,
    tlsHandshakeFailuresAborted: 0,
    tlsFailedConnectionsClosed: 0,
    tlsFailedConnectionsClosedCleanly: 0,
    sendErrors: 0,
    idleSweeps: 0,
    idleSweepVisited: 0,
    idleSweepMilliseconds: 0,
  };
}

/**
 * The proxy on one event loop: UDP, TCP and TLS listeners feeding one ProxyCore (the event-loop
 * model; the other models reuse the same pieces). `start` binds every listener before resolving.
 */
export class ProxyServer {
  readonly core: ProxyCore;
  readonly listeners: Listener[];
  readonly transportCounters: TransportCounters = newTransportCounters();

  readonly #udp: DatagramTransport | undefined;
  readonly #streams: Partial<Record<StreamProtocol, StreamTransport>>;
  readonly #store: LocationStore;
  readonly #authenticator: DigestAuthenticator | undefined;

  private constructor(core: ProxyCore, listeners: Listener[], udp: DatagramTransport | undefined, streams: Partial<Record<StreamProtocol, StreamTransport>>, store: LocationStore, authenticator: DigestAuthenticator | undefined) {
    this.core = core;
    this.listeners = listeners;
    this.#udp = udp;
    this.#streams = streams;
    this.#store = store;
    this.#authenticator = authenticator;
  }

  static async start(options: ProxyServerOptions): Promise<ProxyServer> {
    const store = options.store ?? new MemoryLocationStore();
    const listeners: Listener[] = [];
    let udp: DatagramTransport | undefined;
    const streams: Partial<Record<StreamProtocol, StreamTransport>> = {};
    let core: ProxyCore | undefined;
    let server: ProxyServer | undefined;
    const overload = options.overload;
    const queueProbe = overload === undefined ? undefined : new UdpQueueProbe(overload.intervalMs, overload.queueProbeToken);
    // On a socket this worker reads: not a thread's relayed datagrams (the thread-pool's parent
    // filters its socket). The process-pool's workers share one socket and its one filter, whose
    // share they set together (UdpKernelShedder).
    const kernelShedder = options.udpTransport === undefined ? UdpKernelShedder.forSettings(overload) : undefined;
    const deliver = (bytes: Buffer, source: TransportAddress): void => core?.receive(bytes, source);
    const counters = (): TransportCounters | undefined => server?.transportCounters;
    // One id sequence for TCP and TLS, so a connection id names one connection.
    let lastId = 0;
    const nextConnectionId = options.nextConnectionId ?? (() => ++lastId);
    const clientOnly: TransportProtocol[] = [];
    const streamTransport = (protocol: StreamProtocol, host: string, port: number): StreamTransport => {
      const streamOptions = {
        host,
        port,
        limits: options.limits,
        idleTimeoutMs: options.idleTimeoutMs ?? 120_000,
        idleStrategy: options.idleStrategy,
        headerTimeoutMs: options.headerTimeoutMs ?? 10_000,
        ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
        ...(options.connectionQuota === undefined ? {} : { connectionQuota: options.connectionQuota }),
        nextConnectionId,
        directory: options.connectionDirectory,
        onMessage: deliver,
        ...(overload === undefined ? {} : { onRead: (full: boolean, trunk: boolean) => core?.overload?.noteStreamRead(full, trunk) }),
        onEvent: (event: StreamTransportEvent) => {
          const c = counters();
          if (c) countTransportEvent(c, event);
          options.onTransportEvent?.(event);
        },
      };
      if (protocol === 'tcp') return new TcpTransport(streamOptions);
      return new TlsTransport({ ...streamOptions, tls: options.tls as TlsSettings });
    };

    try {
      for (const spec of options.listen) {
        if (spec.protocol === 'udp') {
          if (udp !== undefined) throw new Error('only one UDP listener is supported');
          const udpOptions: UdpTransportOptions = {
            host: spec.host,
            port: spec.port,
            onMessage: deliver,
            ...(queueProbe === undefined ? {} : { receiveBufferBytes: OVERLOAD_UDP_RECEIVE_BUFFER_BYTES, queueProbe }),
            ...(kernelShedder === undefined ? {} : { kernelShedder }),
            onSendError: () => {
              const c = counters();
              if (c) c.sendErrors++;
            },
          };
          udp = options.udpTransport?.(udpOptions) ?? new UdpTransport(udpOptions);
          const bound = await udp.listen();
          listeners.push({ protocol: 'udp', host: advertisedHost(spec.host, options.advertise), port: bound.port });
          continue;
        }
        const protocol = spec.protocol;
        if (streams[protocol] !== undefined) throw new Error(`only one ${protocol.toUpperCase()} listener is supported`);
        if (protocol === 'tls' && options.tls === undefined) throw new Error('a TLS listener needs a certificate and key (tls settings)');
        const transport = streamTransport(protocol, spec.host, spec.port);
        streams[protocol] = transport;
        const how = (protocol === 'tcp' ? options.tcpListener : options.tlsListener) ?? 'bind';
        const port = how === 'none' ? spec.port : (await transport.listen(how === 'bind' ? undefined : how)).port;
        listeners.push({ protocol, host: advertisedHost(spec.host, options.advertise), port });
      }
      // A proxy may be a TCP or TLS client without listening there (RFC 3261 §18.1.1: the
      // connection it opens carries the responses back): requests whose next hop says
      // transport=tcp (or TLS, given credentials) open a connection instead of vanishing.
      if (streams.tcp === undefined) {
        streams.tcp = streamTransport('tcp', '0.0.0.0', 0);
        clientOnly.push('tcp');
      }
      if (streams.tls === undefined && options.tls !== undefined) {
        streams.tls = streamTransport('tls', '0.0.0.0', 0);
        clientOnly.push('tls');
      }
    } catch (error) {
      await Promise.all([udp?.close(), streams.tcp?.close(), streams.tls?.close()]);
      throw error;
    }
    const udpTransport = udp;
    core = new ProxyCore({
      listeners,
      domains: options.domains,
      defaultRoute: options.defaultRoute,
      stateless: options.stateless,
      recordRoute: options.recordRoute,
      timers: options.timers,
      registrar: options.registrar,
      limits: options.limits,
      store,
      branchTag: options.branchTag,
      storeRetryAfterSeconds: options.storeRetryAfterSeconds,
      handOff: options.handOff,
      ...(options.sharedTransactions === undefined ? {} : { sharedTransactions: options.sharedTransactions }),
      auth: options.authenticator,
      timing: options.timing,
      overload: options.overload,
      ...(options.datagramsAdmitted === undefined ? {} : { datagramsAdmitted: options.datagramsAdmitted }),
      holdReading: (source, ms, message) => source.protocol !== 'udp' && source.connectionId !== undefined && (streams[source.protocol]?.holdReading(source.connectionId, ms, message) ?? false),
      clientTransports: clientOnly,
      sender: options.sender ?? {
        send(target, bytes, onError) {
          const transport = target.protocol === 'udp' ? udpTransport : streams[target.protocol];
          if (transport !== undefined) transport.send(target, bytes, onError);
          else reportSendError(onError, new Error(`no ${target.protocol.toUpperCase()} transport`));
        },
        addAlias(connectionId, host, port, protocol) {
          if (protocol !== 'udp') streams[protocol]?.addAlias(connectionId, host, port);
        },
      },
    });
    // A probe no socket attached (a thread's relayed datagrams) measures nothing, and the detector keeps to utilization.
    if (queueProbe !== undefined) core.overload?.useQueueDelay(queueProbe);
    if (kernelShedder !== undefined) core.overload?.useKernelShedder(kernelShedder);
    server = new ProxyServer(core, listeners, udp, streams, store, options.authenticator);
    return server;
  }

  /** The TCP transport, for models that hand it connections accepted elsewhere. */
  get tcpTransport(): StreamTransport | undefined {
    return this.#streams.tcp;
  }

  /** The TLS transport, for models that hand it connections accepted elsewhere (before their handshake). */
  get tlsTransport(): StreamTransport | undefined {
    return this.#streams.tls;
  }

  /** The transport of a stream protocol. */
  streamTransport(protocol: StreamProtocol): StreamTransport | undefined {
    return this.#streams[protocol];
  }

  get tcpConnections(): number {
    return this.#streams.tcp?.connectionCount ?? 0;
  }

  get tlsConnections(): number {
    return this.#streams.tls?.connectionCount ?? 0;
  }

  /** Stops accepting new TCP and TLS connections (first step of a graceful stop). */
  stopAccepting(): void {
    this.#streams.tcp?.stopAccepting();
    this.#streams.tls?.stopAccepting();
  }

  /** As `stopAccepting`, for listeners whose fd other threads share: they stay open until `close` and refuse (StreamTransport.refuseNewConnections). */
  refuseNewConnections(): void {
    this.#streams.tcp?.refuseNewConnections();
    this.#streams.tls?.refuseNewConnections();
  }

  async close(): Promise<void> {
    this.core.close();
    await Promise.all([this.#udp?.close(), this.#streams.tcp?.close(), this.#streams.tls?.close()]);
    await this.#store.close();
    await this.#authenticator?.close();
  }
}

/** The host written into Via and Record-Route for a listener bound to `host`. */
export function advertisedHost(host: string, advertise: string | undefined): string {
  if (advertise !== undefined) return advertise;
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

const FAILURE_COUNTERS: Record<TlsFailureReason, keyof TransportCounters> = {
  'bad-certificate': 'tlsHandshakeFailuresBadCertificate',
  timeout: 'tlsHandshakeFailuresTimeout',
  plaintext: 'tlsHandshakeFailuresPlaintext',
  protocol: 'tlsHandshakeFailuresProtocol',
  aborted: 'tlsHandshakeFailuresAborted',
};

/** Counts a stream transport event (io-dispatch's I/O process runs the transports without a ProxyServer). */
export function countTransportEvent(counters: TransportCounters, event: StreamTransportEvent): void {
  switch (event.kind) {
    case 'accepted':
      if (event.protocol === 'tls') counters.tlsConnectionsAccepted++;
      else counters.tcpConnectionsAccepted++;
      break;
    case 'connected':
      if (event.protocol === 'tls') counters.tlsConnectionsOpened++;
      else counters.tcpConnectionsOpened++;
      break;
    case 'framing-error':
      counters.tcpFramingErrors++;
      break;
    case 'idle-timeout':
      counters.tcpIdleClosed++;
      break;
    case 'slow-message':
      counters.tcpSlowMessagesClosed++;
      break;
    case 'refused':
      counters.tcpConnectionsRefused++;
      break;
    case 'send-error':
      counters.sendErrors++;
      break;
    case 'idle-sweep':
      counters.idleSweeps++;
      counters.idleSweepVisited += event.visited;
      counters.idleSweepMilliseconds += event.durationMs;
      break;
    case 'tls-handshake':
      if (event.side === 'server') {
        counters.tlsHandshakes++;
        if (event.resumed) counters.tlsHandshakesResumed++;
      } else {
        counters.tlsClientHandshakes++;
        if (event.resumed) counters.tlsClientHandshakesResumed++;
      }
      break;
    case 'tls-handshake-failed':
      counters[FAILURE_COUNTERS[event.reason]]++;
      break;
    case 'tls-failed-closed':
      counters.tlsFailedConnectionsClosed++;
      if (event.clean) counters.tlsFailedConnectionsClosedCleanly++;
      break;
    default:
      break;
  }
}
