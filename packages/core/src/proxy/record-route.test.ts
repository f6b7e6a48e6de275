import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSipUri, parseMessage } from '@switchboard/sip';
import { DIALOG_ROUTE_MARK, recordRouteEntry, recordRouteValue, routedByOurRecordRoute } from './record-route.js';

test('recordRouteEntry is recordRouteValue written and parsed once per listener and SIPS choice', () => {
  const tls = { protocol: 'tls' as const, host: '192.0.2.1', port: 5061 };
  const plain = recordRouteEntry(tls, false);
  const sips = recordRouteEntry(tls, true);
  assert.equal(plain.text, recordRouteValue(tls, false));
  assert.equal(sips.text, recordRouteValue(tls, true));
  assert.equal(plain.text, '<sip:192.0.2.1:5061;transport=tls;lr;sbd>');
  assert.equal(sips.text, '<sips:192.0.2.1:5061;lr;sbd>');
  assert.equal(recordRouteEntry(tls, false), plain, 'the same entry the second time');
  assert.equal(recordRouteEntry(tls, true), sips);
  assert.ok(isSipUri(plain.parsed.uri) && plain.parsed.uri.params.has('lr') && plain.parsed.uri.params.has(DIALOG_ROUTE_MARK));
  const v6 = recordRouteEntry({ protocol: 'udp', host: '2001:db8::1', port: 5060 }, false);
  assert.equal(v6.text, '<sip:[2001:db8::1]:5060;lr;sbd>');
});

test('a request carrying our cached entry in its Route set is routed by our Record-Route', () => {
  const entry = recordRouteEntry({ protocol: 'udp', host: '192.0.2.1', port: 5060 }, false);
  const ack = parseMessage(Buffer.from(`ACK sip:bob@192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\nRoute: ${entry.text}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n`));
  assert.equal(routedByOurRecordRoute(ack), true);
});
