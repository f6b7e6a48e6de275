import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENTS_WAITING, registerOpenLoop } from './register-load.js';
import type { RegisteringClients, RegisterOutcome } from './registering-clients.js';

/** Clients whose REGISTERs are answered after `answerMs`; records which client each one used. */
function fakeClients(size: number, answerMs: number): { clients: RegisteringClients; used: number[]; overlapped: () => number } {
  const inFlight = new Set<number>();
  const used: number[] = [];
  let overlaps = 0;
  const clients = {
    size,
    idle: (offset: number) => !inFlight.has(offset),
    register: async (offset: number): Promise<RegisterOutcome> => {
      used.push(offset);
      if (inFlight.has(offset)) overlaps++;
      inFlight.add(offset);
      await new Promise((resolve) => setTimeout(resolve, answerMs));
      inFlight.delete(offset);
      return { ok: true, ms: answerMs };
    },
  };
  return { clients: clients as unknown as RegisteringClients, used, overlapped: () => overlaps };
}

test('a client with a REGISTER in flight is passed over; with every client waiting the REGISTER is not sent and fails as such', async () => {
  // 200/s for 0.3 s over 3 clients answered after 100 ms: about 20 in flight would be needed.
  const { clients, used, overlapped } = fakeClients(3, 100);
  const counts = await registerOpenLoop(clients, { rate: 200, seconds: 0.3, warmupSeconds: 0, mode: 'udp' });
  assert.equal(overlapped(), 0, 'no client had two REGISTERs in flight');
  assert.ok(used.length >= 3 && used.length <= 12, `each client sends at most every 100 ms (${used.length})`);
  assert.equal(counts.completed, used.length);
  assert.ok((counts.failures[CLIENTS_WAITING] ?? 0) > 30, 'the rest were not sent');
  assert.equal(counts.attempted, counts.completed + (counts.failures[CLIENTS_WAITING] ?? 0));
});

test('with enough clients none is reused while in flight and nothing is counted busy', async () => {
  const { clients, used, overlapped } = fakeClients(50, 20);
  const counts = await registerOpenLoop(clients, { rate: 500, seconds: 0.2, warmupSeconds: 0, mode: 'udp' });
  assert.equal(counts.failures[CLIENTS_WAITING], undefined);
  assert.equal(overlapped(), 0);
  assert.equal(counts.completed, counts.attempted);
  assert.equal(new Set(used.slice(0, 10)).size, 10, 'consecutive REGISTERs go round the clients');
});
