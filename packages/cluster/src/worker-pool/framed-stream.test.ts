import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { FramedStream } from './framed-stream.js';

/** Two ends of a real loopback TCP connection (a socketpair's stand-in). */
async function pair(): Promise<[net.Socket, net.Socket, () => void]> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => client.once('connect', resolve));
  return [client, await accepted, () => server.close()];
}

test('sends made in one turn arrive in order, as frames', async () => {
  const [a, b, close] = await pair();
  const received: string[] = [];
  const done = new Promise<void>((resolve) => {
    new FramedStream(b, { frame: (payload) => (received.push(payload.toString()), received.length === 1000 && resolve()), failed: () => undefined });
  });
  const sender = new FramedStream(a, { frame: () => undefined, failed: () => undefined });
  for (let index = 0; index < 1000; index++) assert.equal(sender.send(Buffer.from(`message ${index}`)), true);
  await done;
  assert.deepEqual(received, Array.from({ length: 1000 }, (_, index) => `message ${index}`));
  sender.close();
  close();
});

test('a hostile frame header ends the stream with a coded failure, once, and nothing is delivered', async () => {
  const [a, b, close] = await pair();
  const failures: string[] = [];
  const frames: Buffer[] = [];
  const failed = new Promise<void>((resolve) => {
    new FramedStream(b, { frame: (payload) => frames.push(payload), failed: (code) => (failures.push(code), resolve()) }, 1024);
  });
  const header = Buffer.alloc(4);
  header.writeUInt32BE(1 << 30, 0);
  a.on('error', () => undefined);
  a.write(header);
  a.write(Buffer.alloc(2048));
  await failed;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(failures, ['ERR_SWITCHBOARD_WORKER_FRAME_TOO_LARGE']);
  assert.equal(frames.length, 0);
  a.destroy();
  close();
});

test('a send on a stream that is gone says so and throws nothing', async () => {
  const [a, b, close] = await pair();
  const failures: string[] = [];
  const stream = new FramedStream(a, { frame: () => undefined, failed: (code) => failures.push(code) });
  b.destroy();
  await new Promise((resolve) => a.once('close', resolve));
  assert.equal(stream.send(Buffer.from('late')), false);
  assert.deepEqual(failures, ['ERR_SWITCHBOARD_WORKER_STREAM']);
  assert.equal(stream.send(Buffer.alloc(10), ), false);
  close();
});
