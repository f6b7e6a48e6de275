import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { MIN_PASS, UdpKernelShedder } from '../overload/udp-kernel-shedder.js';
import { SOCKET_FILTER_PLATFORM } from './socket-filter.js';
import { UdpTransport } from './udp-transport.js';

const linux = SOCKET_FILTER_PLATFORM;

test('a UdpTransport gives its socket to the kernel shedder: while it limits, most REGISTERs never reach onMessage, other requests all do', { skip: !linux && 'Linux socket filters' }, async () => {
  const read = { REGISTER: 0, OPTIONS: 0, END: 0 };
  const shedder = new UdpKernelShedder();
  const transport = new UdpTransport({
    host: '127.0.0.1',
    port: 0,
    receiveBufferBytes: 4 * 1024 * 1024,
    kernelShedder: shedder,
    onMessage: (bytes) => {
      const word = bytes.toString('latin1').split(' ')[0] as keyof typeof read;
      if (word in read) read[word]++;
    },
  });
  const sender = dgram.createSocket('udp4');
  try {
    const { port } = await transport.listen();
    const burst = async (count: number): Promise<void> => {
      read.END = 0;
      for (let n = 0; n < count; n++) {
        for (const method of ['REGISTER', 'OPTIONS']) {
          await new Promise<void>((resolve) => sender.send(Buffer.from(`${method} sip:example.com SIP/2.0\r\n\r\n`), port, '127.0.0.1', () => resolve()));
        }
      }
      await new Promise<void>((resolve) => sender.send(Buffer.from('END'), port, '127.0.0.1', () => resolve()));
      const deadline = Date.now() + 5000;
      while (read.END === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(read.END, 1, 'everything sent was read or dropped');
    };
    // 10,000 REGISTERs a second offered, 10 admitted: the share falls to its floor.
    for (let n = 0; n < 1000; n++) shedder.noteRegister();
    shedder.steer(true, 10, 100);
    assert.equal(shedder.passFraction, MIN_PASS);
    await burst(200);
    assert.equal(read.OPTIONS, 200);
    // Binomial(200, 1/16): a mean of 12.5 and a standard deviation of 3.4.
    assert.ok(read.REGISTER < 50, `${read.REGISTER} of 200 REGISTERs read`);
    shedder.steer(false, undefined, 100);
    read.REGISTER = 0;
    await burst(50);
    assert.equal(read.REGISTER, 50, 'limiting over: the filter is removed');
  } finally {
    sender.close();
    await transport.close();
  }
});
