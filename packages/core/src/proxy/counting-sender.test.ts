import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TransportAddress } from '../transport-address.js';
import { countingSender } from './counting-sender.js';
import { newProxyCounters } from './proxy-counters.js';

const TARGET: TransportAddress = { protocol: 'udp', address: '192.0.2.20', port: 5060 };

test('counting sender: a throwing send, a failing send and a bad port are counted and reported later, never thrown', async () => {
  const counters = newProxyCounters();
  const errors: string[] = [];
  const onError = (error: Error): void => {
    errors.push((error as NodeJS.ErrnoException).code ?? error.message);
  };
  const throwing = countingSender({ send: () => { throw Object.assign(new Error('boom'), { code: 'EBADF' }); } }, counters);
  throwing.send(TARGET, Buffer.from('x'), onError);
  const failing = countingSender({ send: (_target, _bytes, report) => report?.(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })) }, counters);
  failing.send(TARGET, Buffer.from('x'), onError);
  const sent: TransportAddress[] = [];
  const fine = countingSender({ send: (target) => sent.push(target) }, counters);
  fine.send({ ...TARGET, port: 0 }, Buffer.from('x'), onError);
  fine.send(TARGET, Buffer.from('x'), onError);
  assert.deepEqual(errors, ['ECONNREFUSED'], 'a throw is reported on a later tick');
  await new Promise((resolve) => process.nextTick(resolve));
  assert.deepEqual(errors.sort(), ['EBADF', 'ECONNREFUSED', 'ERR_SOCKET_BAD_PORT']);
  assert.equal(counters.transportErrors, 3);
  assert.deepEqual(sent, [TARGET]);
});
