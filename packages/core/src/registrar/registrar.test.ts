import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';
import { MemoryLocationStore } from './location-store.js';
import { addressOfRecord, handleRegister } from './registrar.js';

const SOURCE: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };

function register(cseq: number, contacts: string[], expires?: number, callId = 'reg-1'): ReturnType<typeof parseMessage> {
  return parseMessage(
    Buffer.from(
      [
        'REGISTER sip:example.com SIP/2.0',
        'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKr' + cseq,
        'Max-Forwards: 70',
        'From: <sip:bob@Example.COM>;tag=r1',
        'To: <sip:bob@Example.COM>',
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} REGISTER`,
        ...contacts.map((contact) => `Contact: ${contact}`),
        ...(expires === undefined ? [] : [`Expires: ${expires}`]),
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    ),
  );
}

test('add, refresh, query and remove bindings; lapsed ones vanish by themselves', async () => {
  const store = new MemoryLocationStore(0);
  const now = 1_000_000;
  let result = await handleRegister(register(1, ['<sip:bob@192.0.2.10:5060>;q=0.5', '<sip:bob@192.0.2.11>'], 600), SOURCE, store, undefined, now);
  assert.equal(result.status, 200);
  assert.deepEqual(
    result.headers.filter(([name]) => name === 'Contact').map(([, value]) => value),
    ['<sip:bob@192.0.2.11>;expires=600', '<sip:bob@192.0.2.10:5060>;expires=600;q=0.5'],
  );
  assert.deepEqual((await store.lookup('sip:bob@example.com', now)).map((b) => b.contact), ['sip:bob@192.0.2.11', 'sip:bob@192.0.2.10:5060']);
  result = await handleRegister(register(2, ['<sip:bob@192.0.2.11>;expires=0']), SOURCE, store, undefined, now);
  assert.equal(result.headers.filter(([name]) => name === 'Contact').length, 1);
  result = await handleRegister(register(3, []), SOURCE, store, undefined, now);
  assert.equal(result.status, 200, 'a REGISTER without Contact is a query');
  assert.equal(result.headers.filter(([name]) => name === 'Contact').length, 1);
  assert.deepEqual(await store.lookup('sip:bob@example.com', now + 601_000), []);
  await store.close();
});

test('Contact: * with Expires: 0 removes every binding; with another expiry it is a 400', async () => {
  const store = new MemoryLocationStore(0);
  await handleRegister(register(1, ['<sip:bob@192.0.2.10>', '<sip:bob@192.0.2.11>']), SOURCE, store);
  assert.equal((await handleRegister(register(2, ['*'], 30), SOURCE, store)).status, 400);
  assert.equal((await handleRegister(register(3, ['*'], 0), SOURCE, store)).status, 200);
  assert.deepEqual(await store.lookup('sip:bob@example.com', Date.now()), []);
  await store.close();
});

test('too-brief intervals get 423 with Min-Expires; long ones are shortened; old CSeqs get 500', async () => {
  const store = new MemoryLocationStore(0);
  const brief = await handleRegister(register(1, ['<sip:bob@192.0.2.10>'], 10), SOURCE, store);
  assert.equal(brief.status, 423);
  assert.deepEqual(brief.headers, [['Min-Expires', '60']]);
  const long = await handleRegister(register(2, ['<sip:bob@192.0.2.10>'], 999_999), SOURCE, store, undefined, 0);
  assert.match(long.headers[0]?.[1] ?? '', /expires=7200/);
  assert.equal((await handleRegister(register(2, ['<sip:bob@192.0.2.10>'], 600), SOURCE, store, undefined, 0)).status, 500);
  assert.equal((await handleRegister(register(1, ['<sip:bob@192.0.2.10>'], 600, 'other-call'), SOURCE, store, undefined, 0)).status, 200);
  await store.close();
});

test('addressOfRecord drops port and parameters and lower-cases the host', () => {
  const request = register(1, []);
  assert.equal(addressOfRecord(request.to!.uri), 'sip:bob@example.com');
});
