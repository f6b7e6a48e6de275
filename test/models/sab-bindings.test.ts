import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startProxy } from '../interop/harness.js';
import { sipRequest, UdpClient } from './test-phones.js';

/**
 * `--sab-bindings` sizes the thread-pool's SharedArrayBuffer location table: a real `serve`
 * process with room for 4 registrations answers four users 200 and the fifth 503 (the table is
 * full), and a user already registered still refreshes. E5 found the fixed 16,384 slots when the
 * thread-pool held 16,384 of 19,000 registered connections and answered the rest 503.
 */

test('thread-pool: --sab-bindings 4 holds four users, the fifth gets 503, a refresh of the first still 200', { timeout: 60_000 }, async () => {
  const proxy = await startProxy(['--model', 'thread-pool', '--workers', '2', '--domain', 'example.com', '--sab-bindings', '4']);
  const client = new UdpClient();
  await client.open();
  try {
    const local = `127.0.0.1:${client.socket.address().port}`;
    const register = async (user: string, callId: string): Promise<number | undefined> => {
      client.send(proxy.udpPort, sipRequest('REGISTER', 'sip:example.com', { via: client.via, callId, from: `sip:${user}@example.com`, to: `sip:${user}@example.com`, extra: [`Contact: <sip:${user}@${local}>`, 'Expires: 300'] }));
      const deadline = Date.now() + 10_000;
      while (!client.finals.has(callId) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      return client.finals.get(callId);
    };
    const statuses: Array<number | undefined> = [];
    for (let n = 1; n <= 5; n++) statuses.push(await register(`user${n}`, `sab-bindings-${process.pid}-${n}`));
    assert.deepEqual(statuses, [200, 200, 200, 200, 503]);
    assert.equal(await register('user1', `sab-bindings-${process.pid}-refresh`), 200, 'a binding already held is refreshed in its slot');
  } finally {
    client.close();
    await proxy.stop();
  }
});
