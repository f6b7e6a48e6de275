import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import { formatBranchId, parseBranchId } from '@switchboard/core';
import { callIdHash, ownerSlot, workerSlot, workerTag } from './message-owner.js';

const udp = { protocol: 'udp' as const, address: '127.0.0.1', port: 5060 };
const tcp = { ...udp, protocol: 'tcp' as const, connectionId: 7 };

function message(firstLine: string, via: string, extra: string[] = [], method = 'INVITE'): ReturnType<typeof parseMessage> {
  return parseMessage(Buffer.from([firstLine, `Via: ${via}`, 'From: <sip:a@x>;tag=1', 'To: <sip:b@x>', 'Call-ID: abc', `CSeq: 1 ${method}`, ...extra, 'Content-Length: 0', '', ''].join('\r\n')));
}

test('responses go to the worker tagged in our branch; UDP requests by Call-ID; the rest stay', () => {
  assert.equal(ownerSlot(message('SIP/2.0 200 OK', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-sb-abc-w1.5'), udp, 2), 1);
  assert.equal(ownerSlot(message('SIP/2.0 200 OK', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-sb-abc-w7.5'), udp, 2), undefined, 'no such worker');
  assert.equal(ownerSlot(message('SIP/2.0 200 OK', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-sb-abc-s9'), udp, 2), undefined, 'stateless branch');
  assert.equal(ownerSlot(message('INVITE sip:b@x SIP/2.0', 'SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1'), udp, 3), callIdHash('abc') % 3);
  assert.equal(ownerSlot(message('INVITE sip:b@x SIP/2.0', 'SIP/2.0/TCP 1.2.3.4;branch=z9hG4bK1'), tcp, 3), undefined);
  const ack2xx = message('ACK sip:b@x SIP/2.0', 'SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK2', ['Route: <sip:127.0.0.1:5060;lr;sbd>'], 'ACK');
  assert.equal(ownerSlot(ack2xx, udp, 3), undefined, 'the ACK of a 2xx carries our Record-Route and stays');
  const ackFailure = message('ACK sip:b@x SIP/2.0', 'SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1', [], 'ACK');
  assert.equal(ownerSlot(ackFailure, udp, 3), callIdHash('abc') % 3, 'the ACK of a failure goes to its INVITE');
});

test('worker tags round-trip through the core branch-id codec; other tags name no worker', () => {
  const branch = formatBranchId('abc', workerTag(12), 5);
  assert.equal(branch, 'z9hG4bK-sb-abc-w12.5');
  assert.equal(workerSlot(parseBranchId(branch)?.owner), 12);
  assert.equal(ownerSlot(message('SIP/2.0 200 OK', `SIP/2.0/UDP 127.0.0.1:5060;branch=${branch}`), udp, 13), 12);
  for (const tag of [undefined, 'w', 'x1', 'w1e1', 'w-1', 'w 1']) assert.equal(workerSlot(tag), undefined, String(tag));
  assert.equal(workerSlot('w0'), 0);
});
