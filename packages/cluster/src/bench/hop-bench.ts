/**
 * `npm run bench:hops -w packages/cluster`: what one hop between workers costs on this machine,
 * the numbers behind the models' design (docs/architecture.md). Round trips of a 600-byte SIP
 * message: between two worker threads over a MessagePort (thread-pool's hand-off and write
 * forwarding), between two processes over Node's IPC channel with msgpackr (process-pool's
 * hand-off, one way through the supervisor), and a socket handle passed over IPC and back (the
 * process-pool's fd request). Medians of one run.
 */
import { fork } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { machineFacts } from '@switchboard/sip/machine-facts';
import { decodeToWorker, encodeControl } from '../process-pool/control-messages.js';

const MESSAGE = new Uint8Array(600).fill(65);
const ROUNDS = 5000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function threadRoundTrip(): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { role: 'echo-thread', port: port2 }, transferList: [port2] });
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const copy = MESSAGE.slice();
    const started = performance.now();
    await new Promise<void>((resolve) => {
      port1.once('message', () => resolve());
      port1.postMessage(copy, [copy.buffer]);
    });
    times.push(performance.now() - started);
  }
  await worker.terminate();
  port1.close();
  return median(times) * 1000;
}

async function processRoundTrip(withHandle: boolean): Promise<number> {
  const child = fork(fileURLToPath(import.meta.url), ['echo-process'], { serialization: 'advanced' });
  await new Promise((resolve) => child.once('message', resolve));
  let socket: net.Socket | undefined;
  let server: net.Server | undefined;
  if (withHandle) {
    server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
    socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => socket?.once('connect', resolve));
  }
  const times: number[] = [];
  const rounds = withHandle ? 1000 : ROUNDS;
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      child.once('message', (raw: Uint8Array, handle?: net.Socket) => {
        decodeToWorker(raw);
        handle?.destroy();
        resolve();
      });
      const bytes = encodeControl({ t: 'deliver', bytes: MESSAGE, source: { protocol: 'udp', address: '127.0.0.1', port: 5060 } });
      if (socket !== undefined) child.send(bytes, socket, { keepOpen: true });
      else child.send(bytes);
    });
    times.push(performance.now() - started);
  }
  child.kill();
  socket?.destroy();
  server?.close();
  return median(times) * 1000;
}

async function main(): Promise<void> {
  const facts = machineFacts();
  const thread = await threadRoundTrip();
  const ipc = await processRoundTrip(false);
  const handle = await processRoundTrip(true);
  process.stdout.write(
    [
      `Machine: ${facts.cpu}, ${facts.cores} cores, Node ${facts.node}; ${facts.date}. Medians of one run.`,
      '',
      '| hop (round trip, 600-byte message) | median (µs) |',
      '| --- | ---: |',
      `| worker thread <-> worker thread, MessagePort, buffer transferred | ${thread.toFixed(1)} |`,
      `| process <-> process, IPC (advanced serialization) + msgpackr | ${ipc.toFixed(1)} |`,
      `| process <-> process, IPC with a socket handle passed each way | ${handle.toFixed(1)} |`,
      '',
    ].join('\n'),
  );
}

if (!isMainThread && (workerData as { role?: string }).role === 'echo-thread') {
  const port = (workerData as { port: import('node:worker_threads').MessagePort }).port;
  port.on('message', (bytes: Uint8Array) => port.postMessage(bytes, [bytes.buffer as ArrayBuffer]));
  void parentPort;
} else if (process.argv[2] === 'echo-process') {
  process.on('message', (raw: Uint8Array, handle?: net.Socket) => {
    if (handle !== undefined) process.send?.(raw, handle, { keepOpen: false });
    else process.send?.(raw);
  });
  process.send?.('ready');
} else if (isMainThread) {
  main().catch((error: Error) => {
    process.stderr.write(`bench:hops: ${error.message}\n`);
    process.exitCode = 1;
  });
}
