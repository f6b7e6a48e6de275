/**
 * A stand-in for worker-main in supervisor tests: speaks the control protocol, runs no proxy. What
 * it does beyond `ready` and `stats` is chosen by SCRIPTED_WORKER, and it starts on the first
 * stats request (by then every worker is ready):
 * - `ended`: slot 0 opens a TCP connection, files it (`opened`), reports its FIN (`ended`), then
 *   asks slot 1 (by a hand-off) to request a handle for its address (`fd-request`).
 * - `garbage`: slot 0 sends malformed control messages.
 * - `huge-frame`: slot 0 (not its replacement) announces a frame over the limit on its stream.
 * - `fail-replacements`: every replacement (an origin above the first workers') fails to start.
 * - `die-with-connections`: slot 0 files three connections to SCRIPTED_PORT (TCP with its handle,
 *   sent so it arrives before its `opened`; TLS; and TCP whose handle it never sends; the first
 *   with an alias), then exits; a worker
 *   handed a connection writes `adopted by SLOT as ALIASES` on it and hands a message to slot 0
 *   (dead by then).
 * - `write-through`: slot 0 opens a TCP connection to SCRIPTED_TARGET_PORT and files it with its
 *   handle, then tells slot 1 its id (by a hand-off); slot 1 asks for SCRIPTED_WRITES writes on it
 *   (`fd-request` with bytes `w0;`, `w1;` …, wanting the handle, as a worker with an fd cache does).
 */
import { writeSync } from 'node:fs';
import net from 'node:net';
import { decodeToWorker, encodeControl, type ToSupervisor, type ToWorker } from './control-messages.js';
import { openSupervisorLink, WORKER_STREAM_FD } from './supervisor-link.js';
import { LatencyHistogram, newModelCounters, type WorkerStats } from '../worker-stats.js';
import type { WorkerConfig } from './supervisor.js';
import { startFailure } from '../worker-error.js';

const config = JSON.parse(process.env.SWITCHBOARD_WORKER ?? '{}') as WorkerConfig;
const script = process.env.SCRIPTED_WORKER ?? '';
let started = false;

const link = openSupervisorLink({ message: (raw, handle) => onMessage(raw, handle), failed: () => undefined });

function tell(message: ToSupervisor, handle?: net.Socket): void {
  link.send(encodeControl(message), handle);
}

function stats(request: number): void {
  const empty = new LatencyHistogram().snapshot();
  const own: WorkerStats = { worker: String(config.slot), pid: process.pid, core: undefined, transport: undefined, model: newModelCounters(), transactions: 0, tcpConnections: 0, tlsConnections: 0, ipcRoundTrip: empty, storeLatency: empty };
  tell({ t: 'stats', request, stats: own });
}

async function endedScript(): Promise<void> {
  const server = net.createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const remoteKey = `127.0.0.1:${socket.remotePort}`;
  const id = config.origin * 2 ** 32 + 1;
  tell({ t: 'opened', id, remoteKey, protocol: 'tcp' });
  tell({ t: 'handle', id }, socket);
  tell({ t: 'alias', id, key: 'phone.example.com:5060' });
  tell({ t: 'ended', id });
  const ask = (key: string): void => tell({ t: 'hand-off', to: 1, bytes: Buffer.from(key), source: { protocol: 'udp', address: '', port: 0 } });
  ask(remoteKey);
  ask('phone.example.com:5060');
}

async function dieWithConnectionsScript(): Promise<void> {
  const port = Number(process.env.SCRIPTED_PORT);
  const connect = async (): Promise<net.Socket> => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    return socket;
  };
  const [tcp, tls, pending] = [await connect(), await connect(), await connect()];
  const base = config.origin * 2 ** 32;
  tell({ t: 'opened', id: base + 1, remoteKey: `127.0.0.1:${port}`, protocol: 'tcp' });
  tell({ t: 'alias', id: base + 1, key: 'phone.example.com:5060' });
  // The handle goes on the IPC channel at once, `opened` on the stream (corked until the next
  // tick): the handle arrives first, and the supervisor must keep it for its `opened`.
  tell({ t: 'handle', id: base + 1 }, tcp);
  tell({ t: 'opened', id: base + 2, remoteKey: `127.0.0.1:${tls.localPort}`, protocol: 'tls' });
  tell({ t: 'opened', id: base + 3, remoteKey: `127.0.0.1:${pending.localPort}`, protocol: 'tcp' });
  // Long enough for the handle to reach the supervisor; then a crash.
  setTimeout(() => process.exit(1), 300);
}

async function writeThroughScript(): Promise<void> {
  const socket = net.connect(Number(process.env.SCRIPTED_TARGET_PORT), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const id = config.origin * 2 ** 32 + 1;
  tell({ t: 'opened', id, remoteKey: `127.0.0.1:${socket.remotePort}`, protocol: 'tcp' });
  tell({ t: 'handle', id }, socket);
  tell({ t: 'hand-off', to: 1, bytes: Buffer.from(String(id)), source: { protocol: 'udp', address: '', port: 0 } });
}

function writeThrough(id: number): void {
  const writes = Number(process.env.SCRIPTED_WRITES ?? 100);
  for (let index = 0; index < writes; index++) {
    tell({ t: 'fd-request', request: index + 1, id, remoteKey: '', bytes: Buffer.from(`w${index};`), wantsHandle: true });
  }
}

function garbageScript(): void {
  process.send?.(Buffer.from([0xc1, 0xc1, 0xc1]));
  process.send?.('not bytes at all');
  tell({ t: 'nonsense' } as unknown as ToSupervisor);
  tell({ t: 'closed' } as unknown as ToSupervisor);
  tell({ t: 'alias', id: 12345 } as unknown as ToSupervisor);
  tell({ t: 'hand-off', to: 99, bytes: Buffer.from('x'), source: { protocol: 'udp', address: '', port: 0 } });
  tell({ t: 'hand-off' } as unknown as ToSupervisor);
  tell({ t: 'relay', request: 3 } as unknown as ToSupervisor);
  tell({ t: 'fd-request', request: 4 } as unknown as ToSupervisor);
  tell({ t: 'opened', id: 7, protocol: 'tcp' } as unknown as ToSupervisor);
  tell({ t: 'stats', request: 999999 } as unknown as ToSupervisor);
}

/** Writes a frame header announcing 64 MiB straight on the stream: the supervisor must drop this worker, not read on. */
function hugeFrameScript(): void {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(64 * 1024 * 1024, 0);
  writeSync(WORKER_STREAM_FD, header);
}

function onMessage(raw: Uint8Array, handle: net.Socket | undefined): void {
  const message = decodeToWorker(raw);
  if (message.t === 'stats-request') {
    if (!started && config.slot === 0) {
      started = true;
      if (script === 'ended') void endedScript();
      if (script === 'garbage') garbageScript();
      if (script === 'write-through') void writeThroughScript();
      if (script === 'huge-frame' && config.origin <= config.workers) hugeFrameScript();
      if (script === 'die-with-connections' && config.origin <= config.workers) void dieWithConnectionsScript();
    }
    stats(message.request);
  } else if (message.t === 'adopt' && script === 'die-with-connections') {
    handle?.write(`adopted by ${config.slot} as ${(message.aliases ?? []).join(',')}`);
    tell({ t: 'hand-off', to: 0, bytes: Buffer.from('for the dead'), source: { protocol: 'udp', address: '', port: 0 } });
  } else if (message.t === 'deliver' && script === 'write-through') {
    writeThrough(Number(Buffer.from(message.bytes).toString()));
  } else if (message.t === 'deliver') {
    tell({ t: 'fd-request', request: 1, id: undefined, remoteKey: Buffer.from(message.bytes).toString() });
  } else if (message.t === 'stop') {
    process.exit(0);
  }
}
process.on('disconnect', () => process.exit(0));
if (script === 'fail-start-plain' || script === 'fail-start-coded') {
  // What worker-main reports when its start throws: a plain error, or one with a code of its own.
  const error = script === 'fail-start-plain' ? new Error('a bug at start') : Object.assign(new Error('redis down'), { code: 'ERR_SWITCHBOARD_STATE_UNAVAILABLE' });
  tell({ t: 'start-failed', error: startFailure(error) });
  setTimeout(() => process.exit(1), 10);
} else if (script === 'fail-replacements' && config.origin > config.workers) {
  tell({ t: 'start-failed', error: { code: 'ERR_TEST', message: 'scripted start failure' } });
  setTimeout(() => process.exit(1), 10);
} else {
  tell({ t: 'ready', udpPort: undefined });
}
