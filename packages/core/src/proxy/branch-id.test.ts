import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import { branchOwner, formatBranchId, formatStatelessBranchId, hasLoopHash, loopHash, parseBranchId, statelessHash } from './branch-id.js';

function request(uri: string, branch = 'z9hG4bKa1'): ReturnType<typeof parseMessage> {
  return parseMessage(
    Buffer.from(
      [`INVITE ${uri} SIP/2.0`, `Via: SIP/2.0/UDP 192.0.2.10;branch=${branch}`, 'From: <sip:a@x>;tag=1', 'To: <sip:b@x>', 'Call-ID: c1', 'CSeq: 1 INVITE', 'Content-Length: 0', '', ''].join('\r\n'),
    ),
  );
}

test('branch ids: the wire forms, and parse reads back what format wrote', () => {
  assert.equal(formatBranchId('abc', undefined, 35), 'z9hG4bK-sb-abc-z');
  assert.equal(formatBranchId('abc', 'w3', 36), 'z9hG4bK-sb-abc-w3.10');
  assert.equal(formatStatelessBranchId('abc', 'def'), 'z9hG4bK-sb-abc-sdef');
  assert.deepEqual(parseBranchId('z9hG4bK-sb-abc-w3.10'), { loopHash: 'abc', owner: 'w3', suffix: '10' });
  assert.deepEqual(parseBranchId('z9hG4bK-sb-abc-z'), { loopHash: 'abc', owner: undefined, suffix: 'z' });
  assert.deepEqual(parseBranchId('z9hG4bK-sb-abc-sdef'), { loopHash: 'abc', owner: undefined, suffix: 'sdef' });
  for (const other of ['z9hG4bK776asdhds', 'z9hG4bK-sb-nodash', '']) assert.equal(parseBranchId(other), undefined, other);
});

test('branch ids: branchOwner agrees with parseBranchId', () => {
  for (const branch of ['z9hG4bK-sb-abc-w3.10', 'z9hG4bK-sb-abc-7', 'z9hG4bK-sb-abc-sdef', 'z9hG4bK-sb-x', 'z9hG4bK1.2-3', 'z9hG4bK-sb-a-b.c.d']) {
    assert.equal(branchOwner(branch), parseBranchId(branch)?.owner, branch);
  }
});

test('branch ids: the loop hash changes with the Request-URI; hasLoopHash matches the whole field', () => {
  const first = request('sip:bob@example.com');
  const hash = loopHash(first, first.topVia);
  assert.equal(hash, loopHash(request('sip:bob@example.com'), first.topVia), 'the same request, the same hash');
  assert.notEqual(hash, loopHash(request('sip:bob@192.0.2.20'), first.topVia), 'a spiral');
  assert.ok(hasLoopHash(formatBranchId(hash, 'w1', 1), hash));
  assert.ok(hasLoopHash(formatStatelessBranchId(hash, 'x'), hash));
  assert.equal(hasLoopHash(formatBranchId(`${hash}0`, undefined, 1), hash), false, 'a longer hash is another hash');
  assert.equal(hasLoopHash(`z9hG4bK-${hash}-1`, hash), false);
});

test('branch ids: the stateless hash is the same for a retransmission, different for another request', () => {
  assert.equal(statelessHash(request('sip:bob@example.com')), statelessHash(request('sip:bob@example.com')));
  assert.notEqual(statelessHash(request('sip:bob@example.com')), statelessHash(request('sip:bob@example.com', 'z9hG4bKa2')));
});

test('branch ids: the hashes are FNV-1a of the fields joined by "|", as the branch ids already on the wire were made', () => {
  const fnv1a = (text: string): string => {
    let hash = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
    return hash.toString(36);
  };
  const message = parseMessage(
    Buffer.from(
      ['INVITE sip:bob@example.com SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKa1', 'From: <sip:a@x>;tag=1', 'To: <sip:b@x>;tag=2', 'Call-ID: c1', 'CSeq: 17 INVITE', 'Proxy-Require: foo', 'Content-Length: 0', '', ''].join('\r\n'),
    ),
  );
  assert.equal(loopHash(message, message.topVia), fnv1a('2|1|c1|17|sip:bob@example.com|z9hG4bKa1|foo'));
  assert.equal(loopHash(message, undefined), fnv1a('2|1|c1|17|sip:bob@example.com||foo'));
  assert.equal(statelessHash(message), fnv1a('z9hG4bKa1|192.0.2.10|5070|c1|17'));
  const bare = request('sip:bob@example.com');
  assert.equal(loopHash(bare, bare.topVia), fnv1a('|1|c1|1|sip:bob@example.com|z9hG4bKa1|'));
  assert.equal(statelessHash(bare), fnv1a('z9hG4bKa1|192.0.2.10||c1|1'));
});
