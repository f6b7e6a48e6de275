// filter-cost.mjs (run from anywhere, after npx tsc -b): the cost of one sample's filter work on a real
// socket, no CPU quota: reading the program back and parsing it, and building and attaching one with two notes.
import dgram from 'node:dgram';
import { attachSocketFilter, datagramSocketFd, readSocketFilter } from '../../packages/core/dist/transport/socket-filter.js';
import { readRegisterFilter, registerFilterProgram } from '../../packages/core/dist/overload/register-filter.js';
const socket = dgram.createSocket('udp4');
await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
const fd = datagramSocketFd(socket);
const notes = [0, 1].map((reader) => ({ reader, wantedPass: 0.25, offeredRate: 800, at: Date.now() }));
const N = 20000;
for (let round = 0; round < 3; round++) {
  let t = process.hrtime.bigint();
  for (let n = 0; n < N; n++) readRegisterFilter(readSocketFilter(fd));
  const read = Number(process.hrtime.bigint() - t) / N / 1000;
  t = process.hrtime.bigint();
  for (let n = 0; n < N; n++) attachSocketFilter(fd, registerFilterProgram(0.25 + (n % 2) / 64, notes));
  const write = Number(process.hrtime.bigint() - t) / N / 1000;
  console.log(`round ${round}: read and parse ${read.toFixed(2)} µs, build and attach ${write.toFixed(2)} µs`);
}
socket.close();
