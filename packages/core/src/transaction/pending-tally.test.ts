import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import type { MessageSender, SendErrorHandler, TransportAddress } from '../transport-address.js';
import { ClientTransaction, type ClientTransactionState } from './client-transaction.js';
import { isClientPending, isServerPending, PendingTally } from './pending-tally.js';
import { ServerTransaction, type ServerTransactionState } from './server-transaction.js';
import { sipRequest, sipResponse, mockedTimerQueue } from './test-support.js';
import { DEFAULT_TIMERS } from './timers.js';

/** The transactions' timers run on a queue of their own, on the mocked clock. */
let timerQueue = mockedTimerQueue();
beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  timerQueue = mockedTimerQueue();
});
afterEach(() => mock.timers.reset());

/** mulberry32: a small seeded generator, so a failure replays. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UDP: TransportAddress = { protocol: 'udp', address: '192.0.2.1', port: 5060 };
const TCP: TransportAddress = { protocol: 'tcp', address: '192.0.2.1', port: 40000, connectionId: 7 };
const SERVER_STATES: ServerTransactionState[] = ['trying', 'proceeding', 'completed', 'confirmed', 'accepted'];
const CLIENT_STATES: ClientTransactionState[] = ['calling', 'trying', 'proceeding', 'completed'];

for (const seed of [1, 7, 42, 2026]) {
  test(`the pending tally equals a scan of every transaction after seeded random traffic (seed ${seed})`, async () => {
    const random = seeded(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const tally = new PendingTally();
    const servers: ServerTransaction[] = [];
    const clients: ClientTransaction[] = [];
    /** Sends that fail now and then, as a refused connection does (a transport error). */
    const sender: MessageSender = {
      send: (_target: TransportAddress, _bytes: Buffer, onError?: SendErrorHandler) => {
        if (onError !== undefined && random() < 0.05) process.nextTick(onError, new Error('connect ECONNREFUSED'));
      },
    };
    const scan = (): number => servers.filter((server) => isServerPending(server.state)).length + clients.filter((client) => isClientPending(client.state)).length;
    let sequence = 0;
    for (let step = 0; step < 3000; step++) {
      const roll = random();
      if (roll < 0.15) {
        const method = pick(['INVITE', 'OPTIONS', 'BYE']);
        const target = pick([UDP, TCP]);
        const request = parseMessage(sipRequest(method, `z9hG4bK-s${++sequence}`));
        const server = new ServerTransaction({ key: `s${sequence}`, request, source: target, responseTarget: target, sender, timers: DEFAULT_TIMERS, timerQueue, onTerminated: () => undefined, onPendingChanged: tally.changed });
        // Shared mode's adoption: a new transaction resumed in a stored state.
        if (random() < 0.1) server.resume(pick(SERVER_STATES), 486, Buffer.from('SIP/2.0 486 Busy\r\n\r\n'), { H: Date.now() + 1000, J: Date.now() + 500, I: Date.now() + 200, L: Date.now() + 800 }, Date.now());
        servers.push(server);
      } else if (roll < 0.3) {
        const method = pick(['INVITE', 'OPTIONS']);
        const client = new ClientTransaction({ key: `c${++sequence}`, method, bytes: sipRequest(method, `z9hG4bK-c${sequence}`), target: pick([UDP, TCP]), sender, timers: DEFAULT_TIMERS, timerQueue, timerC: method === 'INVITE' ? 180_000 : undefined, onResponse: () => undefined, onTimeout: () => undefined, onTransportError: () => undefined, onTerminated: () => undefined, onPendingChanged: tally.changed });
        if (random() < 0.1) client.resume(pick(CLIENT_STATES), { B: Date.now() + 1000, F: Date.now() + 1000, C: Date.now() + 2000 }, Date.now());
        else client.start();
        clients.push(client);
      } else if (roll < 0.5 && servers.length > 0) {
        pick(servers).respond(pick([100, 180, 200, 404, 486, 503]), Buffer.from('SIP/2.0 200 OK\r\n\r\n'));
      } else if (roll < 0.55 && servers.length > 0) {
        const server = pick(servers);
        if (random() < 0.5) server.receiveAck();
        else server.receiveRetransmission();
      } else if (roll < 0.75 && clients.length > 0) {
        const client = pick(clients);
        const method = client.isInvite ? 'INVITE' : 'OPTIONS';
        client.receiveResponse(parseMessage(sipResponse(pick([100, 180, 200, 404, 486]), method, 'z9hG4bK-x')));
      } else if (roll < 0.8) {
        const target = random() < 0.5 && servers.length > 0 ? pick(servers) : clients.length > 0 ? pick(clients) : undefined;
        if (random() < 0.5) target?.terminate();
        else target?.abandon();
      } else {
        // Time passes: retransmissions, timeouts (B, F, H, C) and the ends of lingering states (D, I, J, K, L).
        mock.timers.tick(Math.floor(random() * 4000));
        // And the transport errors of failed sends arrive (on a later tick).
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (step % 100 === 0) assert.equal(tally.count, scan(), `step ${step}`);
    }
    assert.equal(tally.count, scan());
    await new Promise((resolve) => setImmediate(resolve));
    mock.timers.tick(200_000);
    assert.equal(tally.count, scan());
    for (const transaction of [...servers, ...clients]) transaction.terminate();
    assert.equal(tally.count, 0, 'none pending once all are ended');
  });
}
