/**
 * A thread of the thread-pool model. Slot 0 binds the TCP and TLS listeners and shares their fds;
 * every thread accepts its own connections from them (doing the TLS handshakes of its own) and
 * reads only those. Datagrams arrive from the parent
 * thread, which owns the UDP socket; writes on another thread's connection and messages of another
 * thread's transactions are posted to that thread over a MessageChannel. No socket handle ever
 * crosses a thread boundary.
 */
import type { MessagePort } from 'node:worker_threads';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { ConnectionIndex, ProxyServer, type ConnectionDirectory, type DatagramTransport, type StreamProtocol, type StreamTransport, type TransportAddress, type UdpTransportOptions } from '@switchboard/core';
import { connectionIdAllocator, originOf } from '../connection-ids.js';
import { ownerSlot, workerTag } from '../message-owner.js';
import { proxyServerOptions } from '../proxy-settings.js';
import { openAuthenticator } from '../state/open-authenticator.js';
import { openLocationStore } from '../state/open-location-store.js';
import { TimedLocationStore } from '../state/timed-location-store.js';
import { startFailure } from '../worker-error.js';
import { LatencyHistogram, newModelCounters, workerStats } from '../worker-stats.js';
import { asBuffer, detachedCopy, type ThreadConfig, type ThreadMessage } from './thread-messages.js';

const config = workerData as ThreadConfig;
const parent = parentPort as MessagePort;
const counters = newModelCounters();
const storeLatency = new LatencyHistogram();
const ipcRoundTrip = new LatencyHistogram();
let peers: ReadonlyArray<MessagePort | undefined> = [];
let server: ProxyServer | undefined;
let onDatagram: UdpTransportOptions['onMessage'] | undefined;
/** Connections other threads own, by protocol, remote address and alias (the owner is in the id). */
const remote = new ConnectionIndex();

function post(port: MessagePort | undefined, message: ThreadMessage, bytes?: Uint8Array): void {
  if (port === undefined) return;
  const started = performance.now();
  port.postMessage(message, bytes === undefined ? [] : [bytes.buffer as ArrayBuffer]);
  counters.ipcMilliseconds += performance.now() - started;
}

function broadcast(message: ThreadMessage): void {
  for (const port of peers) post(port, message);
}

/** The thread that owns connection `id` (ids carry their thread's origin, slot + 1). */
function ownerOf(id: number): number {
  return originOf(id) - 1;
}

const directory: ConnectionDirectory = {
  opened(id, _socket, remoteKey, _kind, protocol) {
    broadcast({ t: 'opened', id, remoteKey, protocol });
  },
  closed(id) {
    broadcast({ t: 'closed', id });
  },
  // Peers keep only an address index: dropping its entries is all an ended connection needs.
  ended(id) {
    broadcast({ t: 'closed', id });
  },
  aliased(id, key, protocol) {
    broadcast({ t: 'alias', id, key, protocol });
  },
  sendElsewhere(target, remoteKey, bytes, openHere) {
    const id = target.connectionId ?? remote.lookup(target.protocol === 'tls' ? 'tls' : 'tcp', remoteKey)?.id;
    const owner = id === undefined ? undefined : ownerOf(id);
    if (id !== undefined && owner !== undefined && owner !== config.slot && peers[owner] !== undefined) {
      counters.remoteWrites++;
      const copy = detachedCopy(bytes);
      post(peers[owner], { t: 'write', bytes: copy, target, connectionId: id }, copy);
      return;
    }
    if (openHere !== undefined) openHere();
    else streamOf(target)?.reportLostConnection(target);
  },
};

/** The UDP side of a thread: the parent owns the socket and relays both ways. */
class RelayedDatagrams implements DatagramTransport {
  constructor(options: UdpTransportOptions) {
    onDatagram = options.onMessage;
  }

  async listen(): Promise<{ address: string; port: number }> {
    return { address: '', port: config.udpPort ?? 0 };
  }

  send(target: TransportAddress, bytes: Buffer): void {
    const copy = detachedCopy(bytes);
    post(parent, { t: 'send-datagram', bytes: copy, target }, copy);
  }

  async close(): Promise<void> {
    onDatagram = undefined;
  }
}


/** A message this thread cannot act on is dropped and counted (ipc_errors), never fatal. */
function onMessage(message: ThreadMessage): void {
  try {
    act(message);
  } catch {
    counters.ipcErrors++;
  }
}

function act(message: ThreadMessage): void {
  switch (message.t) {
    case 'datagram':
      onDatagram?.(asBuffer(message.bytes), message.source);
      break;
    case 'hand-off':
      counters.handOffsReceived++;
      server?.core.receive(asBuffer(message.bytes), message.source, true);
      break;
    case 'write': {
      const stream = streamOf(message.target);
      // By address: this thread's own index decides, so a connection whose peer sent its FIN
      // after the sender looked it up is not written to; a new one is opened instead.
      if (message.target.connectionId === undefined) stream?.send(message.target, asBuffer(message.bytes));
      else if (stream !== undefined && stream.has(message.connectionId)) stream.send(message.target, asBuffer(message.bytes));
      else stream?.reportLostConnection(message.target);
      break;
    }
    case 'opened':
      remote.add(message.id, message.protocol, message.remoteKey, undefined);
      break;
    case 'alias':
      remote.alias(message.id, message.key);
      break;
    case 'closed':
      remote.remove(message.id);
      break;
    case 'stats-request':
      post(parent, { t: 'stats', request: message.request, stats: workerStats(config.slot, server, counters, ipcRoundTrip, storeLatency) });
      break;
    case 'stop': {
      // Stopped either way: a close that fails must not leave the parent waiting.
      const stopped = (): void => post(parent, { t: 'stopped' });
      (server?.close() ?? Promise.resolve()).then(stopped, stopped);
      break;
    }
    default:
      break;
  }
}

/** The TCP or TLS transport a stream target is for. */
function streamOf(target: TransportAddress): StreamTransport | undefined {
  return target.protocol === 'udp' ? undefined : server?.streamTransport(target.protocol);
}

type SharedListeners = Extract<ThreadMessage, { t: 'stream-listening' }>['listeners'];

/** Slot 0 starts with `shared` undefined and binds; the others accept from slot 0's listeners. */
async function start(shared: SharedListeners | undefined): Promise<void> {
  const store = new TimedLocationStore(await openLocationStore(config.settings, config.sharedState), storeLatency);
  const listener = (protocol: StreamProtocol): 'bind' | { fd: number } => {
    const fd = shared?.[protocol]?.fd;
    return fd === undefined ? 'bind' : { fd };
  };
  server = await ProxyServer.start({
    ...proxyServerOptions(config.settings),
    store,
    authenticator: await openAuthenticator(config.settings, config.sharedAuthState),
    tcpListener: listener('tcp'),
    tlsListener: listener('tls'),
    udpTransport: (options) => new RelayedDatagrams(options),
    nextConnectionId: connectionIdAllocator(config.slot + 1),
    connectionDirectory: directory,
    branchTag: workerTag(config.slot),
    handOff(message, bytes, source) {
      const owner = ownerSlot(message, source, config.workers);
      if (owner === undefined || owner === config.slot) return false;
      counters.handOffsSent++;
      const copy = detachedCopy(bytes);
      post(peers[owner], { t: 'hand-off', bytes: copy, source }, copy);
      return true;
    },
  });
  if (shared === undefined && needsStreams) {
    const listeners: SharedListeners = {};
    for (const protocol of ['tcp', 'tls'] as const) {
      const bound = server.listeners.find((candidate) => candidate.protocol === protocol);
      if (bound !== undefined) listeners[protocol] = { fd: server.streamTransport(protocol)?.listeningFd ?? -1, port: bound.port };
    }
    post(parent, { t: 'stream-listening', listeners });
  }
  post(parent, { t: 'ready' });
}

parent.on('message', (message: ThreadMessage) => {
  if (message.t === 'peers') {
    peers = message.ports;
    for (const port of peers) port?.on('message', onMessage);
    return;
  }
  if (message.t === 'stream-listening') {
    start(message.listeners).catch(fail);
    return;
  }
  onMessage(message);
});

function fail(error: Error & { code?: string }): void {
  post(parent, { t: 'start-failed', error: startFailure(error) });
}

const needsStreams = config.settings.listen.some((spec) => spec.protocol !== 'udp');
if (config.slot === 0 || !needsStreams) start(undefined).catch(fail);
