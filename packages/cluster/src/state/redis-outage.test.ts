import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, test } from 'node:test';
import { MemoryLocationStore, ProxyServer, type Binding } from '@switchboard/core';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { Redis } from 'ioredis';
import { RedisLocationStore } from './redis-location-store.js';
import { RedisTransactionStore } from './redis-transaction-store.js';
import { startRedisServer, type RedisTestServer } from '@switchboard/testkit/redis-server';
import { StateStoreError } from './state-store-error.js';
import { REDIS_CALL_DEADLINE_MS } from './redis-connection.js';

/**
 * Redis failing while the proxy runs: a real redis-server is killed and started again on the same
 * port. Store calls fail fast with ERR_SWITCHBOARD_STATE_UNAVAILABLE, the proxy answers 503 with
 * Retry-After meanwhile, and the same store works again once Redis is back, without being recreated.
 */

const servers: RedisTestServer[] = [];
after(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

async function redis(): Promise<RedisTestServer> {
  const server = await startRedisServer();
  servers.push(server);
  return server;
}

const AOR = 'sip:bob@example.com';

function binding(contact: string, expiresAt: number): Binding {
  return { aor: AOR, contact, expiresAt, q: 1, callId: 'c1', cseq: 1, source: { protocol: 'udp', address: '192.0.2.1', port: 5060 } };
}

/** Runs `call`, expects it to reject as "state unavailable" within 3 s; returns how long it took. */
async function rejectsUnavailable(label: string, call: () => Promise<unknown>, limitMs = 3_000): Promise<number> {
  const started = Date.now();
  await assert.rejects(call(), (error: unknown) => {
    assert.ok(error instanceof StateStoreError, `${label}: a StateStoreError (${String(error)})`);
    assert.equal(error.code, 'ERR_SWITCHBOARD_STATE_UNAVAILABLE', label);
    assert.deepEqual(Object.keys(error.toJSON()).sort(), ['code', 'message']);
    return true;
  });
  const elapsed = Date.now() - started;
  assert.ok(elapsed < limitMs, `${label} failed after ${elapsed} ms (limit ${limitMs} ms)`);
  return elapsed;
}

/** Retries `attempt` every 100 ms until it resolves, for at most `limitMs`. */
async function eventually<T>(limitMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

test('Redis killed: every store call fails fast and coded; restarted on the same port: the same store works again', { timeout: 30_000 }, async () => {
  const server = await redis();
  const store = await RedisLocationStore.connect(server.url, { prefix: 'outage:' });
  try {
    const now = Date.now();
    await store.put(binding('sip:bob@192.0.2.20', now + 60_000));
    assert.equal((await store.lookup(AOR, now)).length, 1);

    // A command in flight when the server dies: CLIENT PAUSE holds it in the server, then the
    // server is killed under it.
    const admin = new Redis(server.url);
    admin.on('error', () => {});
    await admin.call('CLIENT', 'PAUSE', '10000', 'ALL');
    const inFlightStarted = Date.now();
    const inFlight = store.lookup(AOR, Date.now());
    inFlight.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    await server.kill();
    admin.disconnect();
    await rejectsUnavailable('in-flight lookup', () => inFlight);
    assert.ok(Date.now() - inFlightStarted < 3_000, 'the in-flight command failed within 3 s of being sent');

    // While it is down, calls fail at once (well under the 3 s bound): no offline queue to wait
    // in, no retries; a second round later, while ioredis keeps reconnecting, the same.
    for (let round = 0; round < 2; round++) {
      const at = Date.now();
      await rejectsUnavailable('lookup', () => store.lookup(AOR, at), 500);
      await rejectsUnavailable('put', () => store.put(binding('sip:bob@192.0.2.21', at + 60_000)), 500);
      await rejectsUnavailable('remove', () => store.remove(AOR, 'sip:bob@192.0.2.20'), 500);
      await rejectsUnavailable('removeAll', () => store.removeAll(AOR), 500);
      await rejectsUnavailable('size', () => store.size(at), 500);
      await new Promise((resolve) => setTimeout(resolve, 700));
    }

    await server.restart();
    const backAfter = Date.now();
    // The server came back empty (no persistence): the store reconnects by itself and takes
    // bindings again, the putBinding script included (reloaded after NOSCRIPT).
    await eventually(10_000, () => store.put(binding('sip:bob@192.0.2.22', Date.now() + 60_000)));
    const recovered = Date.now() - backAfter;
    assert.ok(recovered < 10_000, `recovered after ${recovered} ms`);
    assert.deepEqual((await store.lookup(AOR, Date.now())).map((b) => b.contact), ['sip:bob@192.0.2.22']);
    assert.equal(await store.size(Date.now()), 1);
    await store.removeAll(AOR);
    assert.deepEqual(await store.lookup(AOR, Date.now()), []);
  } finally {
    await store.close();
  }
});

test('a server that stops answering (connection open, no reply) fails the command at the call deadline', { timeout: 30_000 }, async () => {
  const server = await redis();
  const store = await RedisLocationStore.connect(server.url, { prefix: 'stall:' });
  const admin = new Redis(server.url);
  try {
    await store.put(binding('sip:bob@192.0.2.20', Date.now() + 60_000));
    // CLIENT PAUSE holds every client's commands, like a server that hangs.
    await admin.call('CLIENT', 'PAUSE', '2500', 'ALL');
    const elapsed = await rejectsUnavailable('lookup on a stalled server', () => store.lookup(AOR, Date.now()));
    assert.ok(elapsed >= REDIS_CALL_DEADLINE_MS - 100, `it waited for the call deadline (${elapsed} ms)`);
    await admin.call('CLIENT', 'UNPAUSE');
    const found = await eventually(5_000, () => store.lookup(AOR, Date.now()));
    assert.equal(found.length, 1, 'the same connection serves again after the stall');
  } finally {
    admin.disconnect();
    await store.close();
  }
});

// ---- end to end: a ProxyServer on UDP with the Redis store ------------------------------------

interface Client {
  readonly port: number;
  /** Sends a REGISTER and waits (up to 3 s) for the final response with its branch. */
  register(cseq: number): Promise<{ message: SipMessage; elapsedMs: number }>;
  close(): Promise<void>;
}

async function sipClient(proxyPort: number): Promise<Client> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  const waiting = new Map<string, (message: SipMessage) => void>();
  socket.on('message', (bytes) => {
    let message: SipMessage;
    try {
      message = parseMessage(bytes);
    } catch {
      return;
    }
    const status = message.status ?? 0;
    const branch = message.topVia?.branch;
    if (status >= 200 && branch !== undefined) waiting.get(branch)?.(message);
  });
  return {
    port,
    async register(cseq) {
      const branch = `z9hG4bK-outage-${cseq}-${Math.random().toString(36).slice(2)}`;
      const text = [
        'REGISTER sip:example.com SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch};rport`,
        'Max-Forwards: 70',
        'To: <sip:bob@example.com>',
        'From: <sip:bob@example.com>;tag=reg-tag-1',
        'Call-ID: outage-register-1@127.0.0.1',
        `CSeq: ${cseq} REGISTER`,
        `Contact: <sip:bob@127.0.0.1:${port}>`,
        'Expires: 600',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      const started = Date.now();
      const answered = new Promise<SipMessage>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(branch);
          reject(new Error(`no final response to REGISTER CSeq ${cseq} within 3 s`));
        }, 3_000);
        waiting.set(branch, (message) => {
          clearTimeout(timer);
          waiting.delete(branch);
          resolve(message);
        });
      });
      socket.send(Buffer.from(text), proxyPort, '127.0.0.1');
      const message = await answered;
      return { message, elapsedMs: Date.now() - started };
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

test('end to end over UDP: REGISTER 200 while Redis is up, 503 with Retry-After while it is down, 200 again after it returns', { timeout: 30_000 }, async () => {
  const server = await redis();
  const store = await RedisLocationStore.connect(server.url, { prefix: 'e2e:' });
  const proxy = await ProxyServer.start({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], domains: ['example.com'], store });
  const client = await sipClient((proxy.listeners[0] as { port: number }).port);
  try {
    let cseq = 1;
    const up = await client.register(cseq++);
    assert.equal(up.message.status, 200);
    assert.match(up.message.header('contact') ?? '', new RegExp(`sip:bob@127\\.0\\.0\\.1:${client.port}`));

    await server.kill();
    const down = await client.register(cseq++);
    assert.equal(down.message.status, 503);
    assert.equal(down.message.header('retry-after'), '5');
    assert.ok(down.elapsedMs < 3_000, `503 after ${down.elapsedMs} ms`);
    const downAgain = await client.register(cseq++);
    assert.equal(downAgain.message.status, 503, 'still 503 while Redis is down');
    // Long enough for several reconnection attempts to fail: ioredis must keep trying.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const downLater = await client.register(cseq++);
    assert.equal(downLater.message.status, 503);
    assert.ok(downLater.elapsedMs < 3_000, `503 after ${downLater.elapsedMs} ms`);
    assert.equal(proxy.core.counters.stateStoreFailures, 3);

    await server.restart();
    const back = await eventually(10_000, async () => {
      const result = await client.register(cseq++);
      if (result.message.status !== 200) throw new Error(`still ${result.message.status}`);
      return result;
    });
    assert.equal(back.message.status, 200);
    assert.match(back.message.header('contact') ?? '', /sip:bob@127\.0\.0\.1/);
    // The binding is in the restarted Redis, put there through the same store.
    assert.equal((await store.lookup(AOR, Date.now())).length, 1);
  } finally {
    await client.close();
    await proxy.close();
  }
});

test('--transactions shared over UDP: REGISTER claimed in Redis while it is up, 503 with Retry-After while it is down, claimed again after it returns', { timeout: 30_000 }, async () => {
  const server = await redis();
  const transactions = await RedisTransactionStore.connect(server.url, { prefix: 'e2e-tx:' });
  const proxy = await ProxyServer.start({
    listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }],
    domains: ['example.com'],
    store: new MemoryLocationStore(),
    sharedTransactions: { store: transactions, owner: 'w0.outage' },
  });
  const client = await sipClient((proxy.listeners[0] as { port: number }).port);
  try {
    let cseq = 1;
    assert.equal((await client.register(cseq++)).message.status, 200);
    const claims = proxy.core.counters.transactionStoreRoundTrips;
    assert.ok(claims >= 1, 'claimed in the store');

    await server.kill();
    const down = await client.register(cseq++);
    assert.equal(down.message.status, 503);
    assert.equal(down.message.header('retry-after'), '5');
    assert.ok(down.elapsedMs < 3_000, `503 after ${down.elapsedMs} ms`);
    assert.equal(proxy.core.counters.stateStoreFailures, 1);
    assert.equal(proxy.core.counters.internalErrors, 0);

    await server.restart();
    const back = await eventually(10_000, async () => {
      const result = await client.register(cseq++);
      if (result.message.status !== 200) throw new Error(`still ${result.message.status}`);
      return result;
    });
    assert.equal(back.message.status, 200);
    assert.ok(proxy.core.counters.transactionStoreRoundTrips > claims);
  } finally {
    await client.close();
    await proxy.close();
    await transactions.close();
  }
});
