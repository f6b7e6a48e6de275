import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage, parseUri } from '@switchboard/sip';
import type { TransportAddress } from '../transport-address.js';
import { MemoryLocationStore } from './location-store.js';
import { addressOfRecord, handleRegister } from './registrar.js';

/** The registrar matches Contacts by URI equality (RFC 3261 §10.3 step 7, §19.1.4), not text. */

const SOURCE: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };
const AOR = 'sip:bob@example.com';

function register(cseq: number, contacts: string[], expires?: number, callId = 'reg-eq'): ReturnType<typeof parseMessage> {
  return parseMessage(
    Buffer.from(
      [
        'REGISTER sip:example.com SIP/2.0',
        `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKe${cseq}`,
        'From: <sip:bob@example.com>;tag=r1',
        'To: <sip:bob@example.com>',
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

const SPELLINGS: Array<[registered: string, removedWith: string]> = [
  ['<sip:bob@192.0.2.10:5070;transport=udp;ob>', '<sip:bob@192.0.2.10:5070;ob;transport=UDP>'],
  ['<sip:bob@Phone.Example.COM>', '<sip:bob@phone.example.com>'],
  ['<sip:%62ob@192.0.2.10>', '<sip:bob@192.0.2.10>'],
  ['<sip:bob@192.0.2.10;user=phone;lr>', '<sip:bob@192.0.2.10;User=Phone>'],
  ['<sip:bob@[2001:db8::10]>', '<sip:bob@[2001:DB8:0:0:0:0:0:10]>'],
  ['<sip:bob@192.0.2.10;x-extra=1>', '<sip:bob@192.0.2.10>'],
];

for (const [registered, removedWith] of SPELLINGS) {
  test(`Expires: 0 with ${removedWith} removes the binding registered as ${registered}`, async () => {
    const store = new MemoryLocationStore(0);
    assert.equal((await handleRegister(register(1, [registered], 600), SOURCE, store)).status, 200);
    assert.equal((await store.lookup(AOR, Date.now())).length, 1);
    const result = await handleRegister(register(2, [removedWith], 0), SOURCE, store);
    assert.equal(result.status, 200);
    assert.deepEqual((await store.lookup(AOR, Date.now())).map((binding) => binding.contact), []);
    await store.close();
  });
}

test('a refresh in another spelling replaces the binding (latest spelling kept), never adds a second one', async () => {
  const store = new MemoryLocationStore(0);
  await handleRegister(register(1, ['<sip:bob@Phone.example.com;transport=tcp>'], 600), SOURCE, store);
  const result = await handleRegister(register(2, ['<sip:bob@phone.example.com;TRANSPORT=TCP>'], 900), SOURCE, store);
  assert.equal(result.status, 200);
  const bindings = await store.lookup(AOR, Date.now());
  assert.deepEqual(bindings.map((binding) => binding.contact), ['sip:bob@phone.example.com;TRANSPORT=TCP']);
  assert.equal(result.headers.filter(([name]) => name === 'Contact').length, 1);
  await store.close();
});

test('the out-of-order CSeq check sees an equivalent spelling as the same contact', async () => {
  const store = new MemoryLocationStore(0);
  await handleRegister(register(5, ['<sip:bob@192.0.2.10;transport=udp>'], 600), SOURCE, store);
  assert.equal((await handleRegister(register(4, ['<sip:bob@192.0.2.10;transport=UDP>'], 600), SOURCE, store)).status, 500);
  await store.close();
});

test('URIs that differ by §19.1.4 stay separate bindings', async () => {
  const store = new MemoryLocationStore(0);
  await handleRegister(register(1, ['<sip:bob@192.0.2.10>'], 600), SOURCE, store);
  for (const [cseq, other] of [[2, '<sip:bob@192.0.2.10:5060>'], [3, '<sip:bob@192.0.2.10;transport=tcp>'], [4, '<sip:Bob@192.0.2.10>'], [5, '<sips:bob@192.0.2.10>']] as const) {
    await handleRegister(register(cseq, [other], 600), SOURCE, store);
  }
  assert.equal((await store.lookup(AOR, Date.now())).length, 5);
  await handleRegister(register(6, ['<sip:bob@192.0.2.10:5060>'], 0), SOURCE, store);
  assert.equal((await store.lookup(AOR, Date.now())).length, 4, 'only the one with the explicit port goes');
  await store.close();
});

test('the same contact twice in one REGISTER in two spellings makes one binding', async () => {
  const store = new MemoryLocationStore(0);
  await handleRegister(register(1, ['<sip:bob@h.example.com>, <sip:bob@H.EXAMPLE.COM>'], 600), SOURCE, store);
  assert.equal((await store.lookup(AOR, Date.now())).length, 1);
  await store.close();
});

test('addressOfRecord keeps users whose escapes are not UTF-8 apart, in text any store can hold', () => {
  const aor = (text: string): string | undefined => addressOfRecord(parseUri(text));
  const ff = aor('sip:%FF@example.com') ?? '';
  assert.notEqual(ff, aor('sip:%FE@example.com'));
  assert.notEqual(ff, aor('sip:%25FF@example.com'), 'a literal "%FF" user is another user');
  assert.equal(ff, aor('sip:%ff@EXAMPLE.com'));
  // Redis and the SharedArrayBuffer table store UTF-8: a lone surrogate would become U+FFFD.
  assert.equal(Buffer.from(ff, 'utf8').toString('utf8'), ff);
  assert.equal(aor('sip:jos%C3%A9@example.com'), 'sip:jos\u00e9@example.com');
  assert.equal(aor('sip:%61lice@example.com'), 'sip:alice@example.com');
  assert.equal(aor('sip:%F0%9F%92%80@example.com'), 'sip:\u{1F480}@example.com', 'a character outside the BMP is not an escaped byte');
});
