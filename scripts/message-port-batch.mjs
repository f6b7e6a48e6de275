#!/usr/bin/env node
// What a MessagePort message costs per datagram, one by one and in batches (a benchmark, not a
// test): the thread-pool's parent thread relays every UDP datagram to a pool thread and every
// datagram a thread sends back to the parent (packages/cluster/src/thread-pool/datagram-batch.ts).
//
// The main thread posts --count datagrams of --size bytes to a worker thread, either one message
// each (a fresh buffer transferred, as the relay did) or packed --batch at a time into one buffer
// (as DatagramBatcher does); the worker reads each datagram as a Buffer. Reports wall time and the
// process's CPU (both threads) per datagram, the median of --repeats runs.
//
// Usage: node scripts/message-port-batch.mjs [--count 200000] [--size 600] [--batches 1,8,32] [--repeats 5]
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { parseArgs } from 'node:util';

if (isMainThread) {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '200000' }, size: { type: 'string', default: '600' }, batches: { type: 'string', default: '1,8,32' }, repeats: { type: 'string', default: '5' } } });
  const count = Number(values.count);
  const size = Number(values.size);
  const repeats = Number(values.repeats);
  const source = { protocol: 'udp', address: '127.0.0.1', port: 5060 };
  const datagram = Buffer.alloc(size, 0x41);
  const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];

  async function run(batch) {
    const worker = new Worker(new URL(import.meta.url));
    await new Promise((resolve) => worker.once('message', resolve));
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    let pending = [];
    for (let n = 0; n < count; n++) {
      if (batch === 1) {
        const copy = Uint8Array.prototype.slice.call(datagram);
        worker.postMessage({ t: 'datagram', bytes: copy, source }, [copy.buffer]);
      } else {
        pending.push(datagram);
        if (pending.length === batch) {
          const bytes = new Uint8Array(size * batch);
          const ends = [];
          pending.forEach((one, index) => {
            bytes.set(one, index * size);
            ends.push((index + 1) * size);
          });
          worker.postMessage({ t: 'datagrams', bytes, ends, addresses: pending.map(() => source) }, [bytes.buffer]);
          pending = [];
        }
      }
      // Let the worker drain now and then, as a relay's turns would.
      if (n % 2000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    worker.postMessage({ t: 'end' });
    const received = await new Promise((resolve) => worker.once('message', resolve));
    const cpu = process.cpuUsage(cpuBefore);
    const wallMs = performance.now() - started;
    await worker.terminate();
    if (received !== count) throw new Error(`worker received ${received} of ${count}`);
    return { wallMicros: (wallMs * 1000) / count, cpuMicros: (cpu.user + cpu.system) / count };
  }

  console.log(`# MessagePort datagram relay, ${count} datagrams of ${size} bytes, median of ${repeats} runs; Node ${process.version}`);
  console.log('| datagrams per message | wall µs per datagram | CPU µs per datagram (both threads) |');
  console.log('| ---: | ---: | ---: |');
  for (const batch of values.batches.split(',').map(Number)) {
    const runs = [];
    for (let r = 0; r < repeats; r++) runs.push(await run(batch));
    console.log(`| ${batch} | ${median(runs.map((x) => x.wallMicros)).toFixed(2)} | ${median(runs.map((x) => x.cpuMicros)).toFixed(2)} |`);
  }
} else {
  let received = 0;
  let bytesSeen = 0;
  parentPort.on('message', (message) => {
    if (message.t === 'end') {
      parentPort.postMessage(received);
    } else if (message.t === 'datagram') {
      bytesSeen += Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength).length;
      received++;
    } else {
      let start = 0;
      for (const end of message.ends) {
        bytesSeen += Buffer.from(message.bytes.buffer, message.bytes.byteOffset + start, end - start).length;
        start = end;
        received++;
      }
    }
  });
  parentPort.postMessage('ready');
}
