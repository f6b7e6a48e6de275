import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { test } from 'node:test';
import { freePort, portIsFree, portsBelowEphemeralRange } from './free-port.js';

test('freePort: distinct ports below the ephemeral range, bindable for TCP and UDP', async () => {
  const { low, high } = portsBelowEphemeralRange();
  assert.ok(low >= 10_000 && high > low, `range ${low}-${high}`);
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  assert.equal(new Set(ports).size, ports.length, 'never the same port twice');
  for (const port of ports) assert.ok(port >= low && port <= high, `${port} in ${low}-${high}`);
  const [port] = ports as [number];
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
  socket.close();
  server.close();
});

test('portIsFree: false while a TCP listener or a UDP socket holds the port', async () => {
  const port = await freePort();
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  assert.equal(await portIsFree(port), false);
  await new Promise((resolve) => server.close(resolve));
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
  assert.equal(await portIsFree(port), false);
  await new Promise<void>((resolve) => socket.close(resolve));
  assert.equal(await portIsFree(port), true);
});

test('freePort with a span: port + span is free and below the range too (a cluster bus port)', async () => {
  const { high } = portsBelowEphemeralRange();
  const port = await freePort(10_000);
  assert.ok(port + 10_000 <= high);
  assert.equal(await portIsFree(port + 10_000), true);
});
