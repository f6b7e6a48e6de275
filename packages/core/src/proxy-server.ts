import type { SipLimits } from '@switchboard/sip';
import type { DigestAuthenticator } from './auth/digest-authenticator.js';
import { ProxyCore, type Listener } from './proxy/proxy-core.js';
import type { LocationStore } from './registrar/location-store.js';
import { MemoryLocationStore } from './registrar/location-store.js';
import type { RegistrarOptions } from './registrar/registrar.js';
import type { TimerSettings } from './transaction/timers.js';
import type { SipMessage } from '@switchboard/sip';
import type { IdleStrategy } from './transport/idle-connections.js';
import { TcpTransport, type ConnectionDirectory, type TcpTransportEvent } from './transport/tcp-transport.js';
import { UdpTransport, type DatagramTransport, type UdpTransportOptions } from './transport/udp-transport.js';
import type { TransportAddress, TransportProtocol } from './transport-address.js';

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
  readonly timers?: TimerSettings;
  readonly registrar?: RegistrarOptions;
  readonly limits?: Partial<SipLimits>;
  readonly store?: LocationStore;
  /** TCP connection events (accepted, closed, framing errors ...), for logs and counters. */
  readonly onTransportEvent?: (event: TcpTransportEvent) => void;
  readonly idleStrategy?: IdleStrategy;
  /** Seconds a 503 asks clients to wait when the location store fails (default 5). */
  readonly storeRetryAfterSeconds?: number;
  /** Digest authentication (`--auth`); closed with the server. */
  readonly authenticator?: DigestAuthenticator;

  // ---- hooks for the models that run several workers (packages/cluster) ----
  /**
   * How the TCP listener is had: bound here from the listen spec (default), accepted from a
   * listening socket other threads share (`{ fd }`), or not at all (`'none'`: a supervisor
   * accepts and hands connections over through `tcpTransport.adopt`; the spec's port is the
   * supervisor's).
   */
  readonly tcpListener?: 'bind' | 'none' | { readonly fd: number };
  /** Replaces the UDP socket (a thread that sends and receives datagrams through another). */
  readonly udpTransport?: (options: UdpTransportOptions) => DatagramTransport;
  readonly nextConnectionId?: () => number;
  readonly connectionDirectory?: ConnectionDirectory;
  /** See ProxyCoreOptions.branchTag and handOff. */
  readonly branchTag?: string;
  readonly handOff?: (message: SipMessage, bytes: Buffer, source: TransportAddress) => boolean;
}

/** Transport counters kept beside the proxy's own. */
export interface TransportCounters {
  tcpConnectionsAccepted: number;
  tcpConnectionsOpened: number;
  tcpFramingErrors: number;
  tcpIdleClosed: number;
  tcpSlowMessagesClosed: number;
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
    sendErrors: 0,
    idleSweeps: 0,
    idleSweepVisited: 0,
    idleSweepMilliseconds: 0,
  };
}

/**
 * The proxy on one event loop: UDP and TCP listeners feeding one ProxyCore (the event-loop model;
 * the other models reuse the same pieces). `start` binds every listener before resolving.
 */
export class ProxyServer {
  readonly core: ProxyCore;
  readonly listeners: Listener[];
  readonly transportCounters: TransportCounters = newTransportCounters();

  readonly #udp: DatagramTransport | undefined;
  readonly #tcp: TcpTransport | undefined;
  readonly #store: LocationStore;
  readonly #authenticator: DigestAuthenticator | undefined;

  private constructor(core: ProxyCore, listeners: Listener[], udp: DatagramTransport | undefined, tcp: TcpTransport | undefined, store: LocationStore, authenticator: DigestAuthenticator | undefined) {
    this.core = core;
    this.listeners = listeners;
    this.#udp = udp;
    this.#tcp = tcp;
    this.#store = store;
    this.#authenticator = authenticator;
  }

  static async start(options: ProxyServerOptions): Promise<ProxyServer> {
    const store = options.store ?? new MemoryLocationStore();
    const listeners: Listener[] = [];
    let udp: DatagramTransport | undefined;
    let tcp: TcpTransport | undefined;
    let core: ProxyCore | undefined;
    let server: ProxyServer | undefined;
    const deliver = (bytes: Buffer, source: TransportAddress): void => core?.receive(bytes, source);
    const counters = (): TransportCounters | undefined => server?.transportCounters;

    for (const spec of options.listen) {
      if (spec.protocol === 'udp') {
        if (udp !== undefined) throw new Error('only one UDP listener is supported');
        const udpOptions: UdpTransportOptions = {
          host: spec.host,
          port: spec.port,
          onMessage: deliver,
          onSendError: () => {
            const c = counters();
            if (c) c.sendErrors++;
          },
        };
        udp = options.udpTransport?.(udpOptions) ?? new UdpTransport(udpOptions);
        const bound = await udp.listen();
        listeners.push({ protocol: 'udp', host: advertisedHost(spec.host, options.advertise), port: bound.port });
      } else if (spec.protocol === 'tcp') {
        if (tcp !== undefined) throw new Error('only one TCP listener is supported');
        tcp = new TcpTransport({
          host: spec.host,
          port: spec.port,
          limits: options.limits,
          idleTimeoutMs: options.idleTimeoutMs ?? 120_000,
          idleStrategy: options.idleStrategy,
          headerTimeoutMs: options.headerTimeoutMs ?? 10_000,
          nextConnectionId: options.nextConnectionId,
          directory: options.connectionDirectory,
          onMessage: deliver,
          onEvent: (event) => {
            const c = counters();
            if (c) countTransportEvent(c, event);
            options.onTransportEvent?.(event);
          },
        });
        const how = options.tcpListener ?? 'bind';
        const port = how === 'none' ? spec.port : (await tcp.listen(how === 'bind' ? undefined : how)).port;
        listeners.push({ protocol: 'tcp', host: advertisedHost(spec.host, options.advertise), port });
      } else {
        throw new Error(`transport ${spec.protocol} is not supported yet`);
      }
    }
    const udpTransport = udp;
    const tcpTransport = tcp;
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
      auth: options.authenticator,
      sender: {
        send(target, bytes) {
          if (target.protocol === 'udp') udpTransport?.send(target, bytes);
          else if (target.protocol === 'tcp') tcpTransport?.send(target, bytes);
        },
        addAlias(connectionId, host, port) {
          tcpTransport?.addAlias(connectionId, host, port);
        },
      },
    });
    server = new ProxyServer(core, listeners, udp, tcp, store, options.authenticator);
    return server;
  }

  /** The TCP transport, for models that hand it connections accepted elsewhere. */
  get tcpTransport(): TcpTransport | undefined {
    return this.#tcp;
  }

  get tcpConnections(): number {
    return this.#tcp?.connectionCount ?? 0;
  }

  /** Stops accepting new TCP connections (first step of a graceful stop). */
  stopAccepting(): void {
    this.#tcp?.stopAccepting();
  }

  async close(): Promise<void> {
    this.core.close();
    await Promise.all([this.#udp?.close(), this.#tcp?.close()]);
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

function countTransportEvent(counters: TransportCounters, event: TcpTransportEvent): void {
  switch (event.kind) {
    case 'accepted':
      counters.tcpConnectionsAccepted++;
      break;
    case 'connected':
      counters.tcpConnectionsOpened++;
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
    case 'send-error':
      counters.sendErrors++;
      break;
    case 'idle-sweep':
      counters.idleSweeps++;
      counters.idleSweepVisited += event.visited;
      counters.idleSweepMilliseconds += event.durationMs;
      break;
    default:
      break;
  }
}
