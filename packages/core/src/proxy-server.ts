import type { SipLimits } from '@switchboard/sip';
import { ProxyCore, type Listener } from './proxy/proxy-core.js';
import type { LocationStore } from './registrar/location-store.js';
import { MemoryLocationStore } from './registrar/location-store.js';
import type { RegistrarOptions } from './registrar/registrar.js';
import type { TimerSettings } from './transaction/timers.js';
import { TcpTransport, type TcpTransportEvent } from './transport/tcp-transport.js';
import { UdpTransport } from './transport/udp-transport.js';
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
}

/** Transport counters kept beside the proxy's own. */
export interface TransportCounters {
  tcpConnectionsAccepted: number;
  tcpConnectionsOpened: number;
  tcpFramingErrors: number;
  tcpIdleClosed: number;
  tcpSlowMessagesClosed: number;
  sendErrors: number;
}

/**
 * The proxy on one event loop: UDP and TCP listeners feeding one ProxyCore (the event-loop model;
 * the other models reuse the same pieces). `start` binds every listener before resolving.
 */
export class ProxyServer {
  readonly core: ProxyCore;
  readonly listeners: Listener[];
  readonly transportCounters: TransportCounters = {
    tcpConnectionsAccepted: 0,
    tcpConnectionsOpened: 0,
    tcpFramingErrors: 0,
    tcpIdleClosed: 0,
    tcpSlowMessagesClosed: 0,
    sendErrors: 0,
  };
  readonly #udp: UdpTransport | undefined;
  readonly #tcp: TcpTransport | undefined;
  readonly #store: LocationStore;

  private constructor(core: ProxyCore, listeners: Listener[], udp: UdpTransport | undefined, tcp: TcpTransport | undefined, store: LocationStore) {
    this.core = core;
    this.listeners = listeners;
    this.#udp = udp;
    this.#tcp = tcp;
    this.#store = store;
  }

  static async start(options: ProxyServerOptions): Promise<ProxyServer> {
    const store = options.store ?? new MemoryLocationStore();
    const listeners: Listener[] = [];
    let udp: UdpTransport | undefined;
    let tcp: TcpTransport | undefined;
    let core: ProxyCore | undefined;
    let server: ProxyServer | undefined;
    const deliver = (bytes: Buffer, source: TransportAddress): void => core?.receive(bytes, source);
    const counters = (): TransportCounters | undefined => server?.transportCounters;

    for (const spec of options.listen) {
      if (spec.protocol === 'udp') {
        if (udp !== undefined) throw new Error('only one UDP listener is supported');
        udp = new UdpTransport({
          host: spec.host,
          port: spec.port,
          onMessage: deliver,
          onSendError: () => {
            const c = counters();
            if (c) c.sendErrors++;
          },
        });
        const bound = await udp.listen();
        listeners.push({ protocol: 'udp', host: advertised(spec.host, options.advertise), port: bound.port });
      } else if (spec.protocol === 'tcp') {
        if (tcp !== undefined) throw new Error('only one TCP listener is supported');
        tcp = new TcpTransport({
          host: spec.host,
          port: spec.port,
          limits: options.limits,
          idleTimeoutMs: options.idleTimeoutMs ?? 120_000,
          headerTimeoutMs: options.headerTimeoutMs ?? 10_000,
          onMessage: deliver,
          onEvent: (event) => {
            const c = counters();
            if (c) countTransportEvent(c, event);
            options.onTransportEvent?.(event);
          },
        });
        const bound = await tcp.listen();
        listeners.push({ protocol: 'tcp', host: advertised(spec.host, options.advertise), port: bound.port });
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
    server = new ProxyServer(core, listeners, udp, tcp, store);
    return server;
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
  }
}

function advertised(host: string, advertise: string | undefined): string {
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
    default:
      break;
  }
}
