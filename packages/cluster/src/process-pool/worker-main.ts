/**
 * A process-pool worker: runs the proxy core on the connections the supervisor hands it and on the
 * shared UDP socket; writes on other workers' TCP connections with handles asked of the supervisor
 * (kept in an fd cache when one is configured), and on their TLS connections by relaying the bytes
 * through the supervisor to the owner; hands messages of other workers' transactions over.
 * Started by ProcessPoolSupervisor through node:cluster with SWITCHBOARD_WORKER set.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ProxyServer, type ConnectionDirectory, type TransportAddress } from '@switchboard/core';
import { connectionIdAllocator } from '../connection-ids.js';
import { ownerSlot, workerTag } from '../message-owner.js';
import { proxyServerOptions } from '../proxy-settings.js';
import { openAuthenticator } from '../state/open-authenticator.js';
import { openLocationStore } from '../state/open-location-store.js';
import { TimedLocationStore } from '../state/timed-location-store.js';
import { startFailure } from '../worker-error.js';
import { LatencyHistogram, newModelCounters, workerStats } from '../worker-stats.js';
import { borrowForWriting } from './borrowed-socket.js';
import { decodeToWorker, encodeControl, type ToSupervisor, type ToWorker } from './control-messages.js';
import { FdCache } from './fd-cache.js';
import type { WorkerConfig } from './supervisor.js';

const config = JSON.parse(process.env.SWITCHBOARD_WORKER ?? '{}') as WorkerConfig;
const counters = newModelCounters();
const ipcRoundTrip = new LatencyHistogram();
const storeLatency = new LatencyHistogram();
const cache = config.fdCache > 0 ? new FdCache(config.fdCache) : undefined;

function tell(message: ToSupervisor, handle?: net.Socket): void {
  if (!process.connected) return;
  const started = performance.now();
  const bytes = encodeControl(message);
  // A send that fails (the channel closing under it) is counted; without a callback it would be
  // an 'error' event nobody listens to, and kill the worker.
  process.send?.(bytes, handle, { keepOpen: true }, (error: Error | null) => {
    if (error !== null) counters.ipcErrors++;
  });
  counters.ipcMilliseconds += performance.now() - started;
}

interface PendingSend {
  readonly target: TransportAddress;
  readonly bytes: Buffer;
  readonly openHere: (() => void) | undefined;
}

/** Sends waiting for a handle, by request number; later sends to the same place join them. */
const waiting = new Map<number, { readonly key: string; readonly sends: PendingSend[]; readonly started: number }>();
const waitingByKey = new Map<string, number>();
let nextRequest = 0;
let server: ProxyServer | undefined;

/** Relays waiting for the supervisor's answer (by remote address only), by request number. */
const relaying = new Map<number, { readonly key: string; readonly sends: PendingSend[] }>();
const relayingByKey = new Map<string, number>();

/**
 * A write on a TLS connection this worker does not hold: the supervisor passes the bytes to the
 * owner. Addressed by connection id (a response, a request to a registered contact), nothing
 * waits; by remote address, the answer says whether a connection exists or this worker must open
 * one, and later sends to the same address wait for it.
 */
function relay(target: TransportAddress, remoteKey: string, bytes: Buffer, openHere: (() => void) | undefined): void {
  if (openHere === undefined) {
    counters.tlsRelaysSent++;
    tell({ t: 'relay', request: 0, id: target.connectionId, remoteKey, bytes });
    return;
  }
  const joined = relayingByKey.get(remoteKey);
  if (joined !== undefined) {
    relaying.get(joined)?.sends.push({ target, bytes, openHere });
    return;
  }
  const request = ++nextRequest;
  relaying.set(request, { key: remoteKey, sends: [{ target, bytes, openHere }] });
  relayingByKey.set(remoteKey, request);
  counters.tlsRelaysSent++;
  tell({ t: 'relay', request, id: undefined, remoteKey, bytes });
}

function onRelayed(message: Extract<ToWorker, { t: 'relayed' }>): void {
  const tls = server?.tlsTransport;
  const pending = relaying.get(message.request);
  if (pending === undefined) {
    // An unanswered relay by id whose connection is gone.
    if (!message.found) tls?.reportLostConnection({ protocol: 'tls', address: '', port: 0, connectionId: message.id });
    return;
  }
  relaying.delete(message.request);
  relayingByKey.delete(pending.key);
  const [first, ...rest] = pending.sends;
  if (first === undefined || tls === undefined) return;
  if (message.found) {
    // The first one went with the question; the rest follow it by id.
    for (const send of rest) relay({ ...send.target, connectionId: message.id }, pending.key, send.bytes, undefined);
    return;
  }
  first.openHere?.();
  for (const send of rest) tls.send(send.target, send.bytes);
}

/** Bytes another worker relayed for a TLS connection held here. */
function onRelayedWrite(message: Extract<ToWorker, { t: 'write' }>): void {
  counters.tlsRelaysReceived++;
  const tls = server?.tlsTransport;
  const target: TransportAddress = { protocol: 'tls', address: '', port: 0, connectionId: message.id };
  if (tls?.has(message.id) === true) tls.send(target, Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength));
  else tls?.reportLostConnection(target);
}

const directory: ConnectionDirectory = {
  opened(id, socket, remoteKey, kind, protocol) {
    if (kind !== 'connected') return;
    if (protocol === 'tls') {
      // No handle: nobody else could use it. Filed at once, so others relay to it from now on.
      tell({ t: 'opened', id, remoteKey, protocol });
      return;
    }
    const register = (): void => tell({ t: 'opened', id, remoteKey, protocol }, socket);
    if (socket.connecting) socket.once('connect', register);
    else register();
  },
  closed(id) {
    tell({ t: 'closed', id });
  },
  ended(id) {
    tell({ t: 'ended', id });
  },
  aliased(id, key) {
    tell({ t: 'alias', id, key });
  },
  sendElsewhere(target, remoteKey, bytes, openHere) {
    if (target.protocol === 'tls') {
      relay(target, remoteKey, bytes, openHere);
      return;
    }
    const cached = cache?.get(target.connectionId, remoteKey);
    if (cached !== undefined) {
      counters.fdCacheHits++;
      cached.write(bytes);
      return;
    }
    if (cache !== undefined) counters.fdCacheMisses++;
    const key = target.connectionId === undefined ? `r:${remoteKey}` : `i:${target.connectionId}`;
    const joined = waitingByKey.get(key);
    if (joined !== undefined) {
      waiting.get(joined)?.sends.push({ target, bytes, openHere });
      return;
    }
    const request = ++nextRequest;
    waiting.set(request, { key, sends: [{ target, bytes, openHere }], started: performance.now() });
    waitingByKey.set(key, request);
    counters.fdRequests++;
    tell({ t: 'fd-request', request, id: target.connectionId, remoteKey });
  },
};

function onHandle(message: Extract<ToWorker, { t: 'fd' }>, handle: net.Socket | undefined): void {
  const pending = waiting.get(message.request);
  if (pending === undefined) {
    handle?.destroy();
    return;
  }
  waiting.delete(message.request);
  waitingByKey.delete(pending.key);
  ipcRoundTrip.observe(performance.now() - pending.started);
  const tcp = server?.tcpTransport;
  if (!message.found || handle === undefined) {
    counters.fdRequestsMissed++;
    // Nobody has a connection there: open one here (once; the rest reuse it), or, for a
    // connection named by id, report it gone.
    const [first, ...rest] = pending.sends;
    if (first === undefined || tcp === undefined) return;
    if (first.openHere === undefined) {
      for (const send of pending.sends) tcp.reportLostConnection(send.target);
      return;
    }
    first.openHere();
    for (const send of rest) tcp.send(send.target, send.bytes);
    return;
  }
  const socket = borrowForWriting(handle);
  const sends = pending.sends;
  if (cache !== undefined) {
    cache.put(message.id, pending.key.startsWith('r:') ? pending.key.slice(2) : `${socket.remoteAddress?.toLowerCase()}:${socket.remotePort}`, socket);
    for (const send of sends) socket.write(send.bytes);
    return;
  }
  sends.forEach((send, index) => {
    if (index < sends.length - 1) socket.write(send.bytes);
    // This copy is closed once the last write is flushed; `end` would shut the connection down.
    else socket.write(send.bytes, () => socket.destroy());
  });
}


process.on('message', (raw: unknown, handle?: net.Socket) => {
  const started = performance.now();
  try {
    onControl(decodeToWorker(raw), handle, started);
  } catch {
    // A message this worker cannot read or act on is dropped and counted (ipc_errors), never fatal.
    counters.ipcErrors++;
    handle?.destroy();
  }
});

function onControl(message: ToWorker, handle: net.Socket | undefined, started: number): void {
  switch (message.t) {
    case 'adopt': {
      const transport = server?.streamTransport(message.protocol);
      if (handle !== undefined && transport !== undefined) transport.adopt(handle, message.id);
      else handle?.destroy();
      break;
    }
    case 'relayed':
      onRelayed(message);
      break;
    case 'write':
      onRelayedWrite(message);
      break;
    case 'fd':
      onHandle(message, handle);
      break;
    case 'invalidate':
      cache?.invalidate(message.id);
      break;
    case 'deliver':
      counters.handOffsReceived++;
      counters.ipcMilliseconds += performance.now() - started;
      server?.core.receive(Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength), message.source, true);
      return;
    case 'stats-request':
      tell({ t: 'stats', request: message.request, stats: workerStats(config.slot, server, counters, ipcRoundTrip, storeLatency) });
      break;
    case 'stop':
      stop().catch(() => process.exit(1));
      break;
  }
  counters.ipcMilliseconds += performance.now() - started;
}

async function stop(): Promise<void> {
  cache?.clear();
  await server?.close();
  process.exit(0);
}

async function main(): Promise<void> {
  const store = new TimedLocationStore(await openLocationStore(config.settings), storeLatency);
  server = await ProxyServer.start({
    ...proxyServerOptions(config.settings),
    store,
    authenticator: await openAuthenticator(config.settings),
    tcpListener: 'none',
    tlsListener: 'none',
    nextConnectionId: connectionIdAllocator(config.origin),
    connectionDirectory: directory,
    branchTag: workerTag(config.slot),
    handOff(message, bytes, source) {
      const owner = ownerSlot(message, source, config.workers);
      if (owner === undefined || owner === config.slot) return false;
      counters.handOffsSent++;
      tell({ t: 'hand-off', to: owner, bytes, source });
      return true;
    },
  });
  const udp = server.listeners.find((listener) => listener.protocol === 'udp');
  tell({ t: 'ready', udpPort: udp?.port });
}

process.on('disconnect', () => process.exit(0));
// A signal sent to the whole process group (Ctrl-C, systemd's stop) reaches the workers with the
// supervisor: they leave stopping to it, so transactions drain, and exit when it says `stop` (or
// when it is gone: 'disconnect' above).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
main().catch((error: Error & { code?: string }) => {
  tell({ t: 'start-failed', error: startFailure(error) });
  setTimeout(() => process.exit(1), 100);
});
