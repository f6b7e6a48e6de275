import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import { newProxyCounters } from '../proxy/proxy-counters.js';
import type { TransportAddress } from '../transport-address.js';
import { OVERLOAD_TAG_PREFIX } from './message-class.js';
import { DEFAULT_OVERLOAD_SETTINGS, OverloadControl } from './overload-control.js';

const source: TransportAddress = { protocol: 'udp', address: '192.0.2.1', port: 5060 };

function invite(callId: string, via = 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport'): Buffer {
  return Buffer.from(
    [
      'INVITE sip:bob@example.com SIP/2.0',
      `Via: ${via}`,
      'Max-Forwards: 70',
      'From: "Alice" <sip:alice@example.com>;tag=a1',
      'To: <sip:bob@example.com>',
      `Call-ID: ${callId}`,
      'CSeq: 1 INVITE',
      'Contact: <sip:alice@192.0.2.1>',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

function control(rejectRate = 1000): { control: OverloadControl; sent: Buffer[]; counters: ReturnType<typeof newProxyCounters> } {
  const sent: Buffer[] = [];
  const counters = newProxyCounters();
  const oc = new OverloadControl({ ...DEFAULT_OVERLOAD_SETTINGS, rejectRate }, counters, { send: (_target, bytes) => sent.push(bytes) });
  return { control: oc, sent, counters };
}

/** Drives the detector by hand: overloaded, then 1,000 new requests a second offered and none admitted: 100% shed. */
function overloadFully(oc: OverloadControl): void {
  for (let n = 0; n < 3; n++) oc.detector.update(1, 0, 100);
  for (let n = 0; n < 100; n++) oc.detector.noteNewWork(false);
  oc.detector.update(1, 0, 100);
  assert.equal(oc.reduction, 1);
}

test('not overloaded: nothing is shed', () => {
  const { control: oc, sent } = control();
  assert.equal(oc.shedOnArrival(invite('c1'), source), false);
  assert.equal(sent.length, 0);
});

test('overloaded: new work gets a 503 with Retry-After copied from its bytes; its ACK is absorbed', () => {
  const { control: oc, sent, counters } = control();
  overloadFully(oc);
  assert.equal(oc.shedOnArrival(invite('c1'), source), true);
  assert.equal(sent.length, 1);
  const response = parseMessage(sent[0] as Buffer);
  assert.equal(response.status, 503);
  assert.equal(response.header('retry-after'), '2');
  assert.equal(response.headerBytes('via'), 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport', 'Via copied exactly (no oc asked: none added)');
  assert.equal(response.headerBytes('from'), '"Alice" <sip:alice@example.com>;tag=a1');
  assert.equal(response.callId, 'c1');
  assert.equal(response.headerBytes('cseq'), '1 INVITE');
  assert.ok(response.toTag?.startsWith(OVERLOAD_TAG_PREFIX));
  assert.equal(response.has('contact'), false);
  assert.equal(counters.overloadShed, 1);
  assert.equal(counters.overloadRejected, 1);

  const ack = Buffer.from(`ACK sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>;tag=${response.toTag}\r\nCall-ID: c1\r\nCSeq: 1 ACK\r\n\r\n`);
  assert.equal(oc.shedOnArrival(ack, source), true);
  assert.equal(counters.overloadAcksAbsorbed, 1);
});

test('overloaded: BYE, in-dialog requests and responses go on', () => {
  const { control: oc, sent } = control();
  overloadFully(oc);
  const bye = Buffer.from('BYE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK2\r\nFrom: <sip:a@h>;tag=a\r\nTo: <sip:b@h>;tag=b\r\nCall-ID: c\r\nCSeq: 2 BYE\r\n\r\n');
  assert.equal(oc.shedOnArrival(bye, source), false);
  const reinvite = Buffer.from('INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK3\r\nFrom: <sip:a@h>;tag=a\r\nTo: <sip:b@h>;tag=b\r\nCall-ID: c\r\nCSeq: 3 INVITE\r\n\r\n');
  assert.equal(oc.shedOnArrival(reinvite, source), false);
  assert.equal(oc.shedOnArrival(Buffer.from('SIP/2.0 180 Ringing\r\n\r\n'), source), false);
  assert.equal(sent.length, 0);
});

test('a client that supports RFC 7339 gets our reduction in the 503 top Via', () => {
  const { control: oc, sent } = control();
  overloadFully(oc);
  oc.shedOnArrival(invite('c1', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;oc;oc-algo="loss"'), source);
  const via = parseMessage(sent[0] as Buffer).topVia;
  assert.equal(via?.params.get('oc'), '100');
  assert.equal(via?.params.get('oc-algo'), '"loss"');
  assert.equal(via?.params.get('oc-validity'), '500');
  assert.match(via?.params.get('oc-seq') ?? '', /^\d+\.\d{3}$/);
});

test('beyond the reject rate, shed requests are dropped and counted', () => {
  const { control: oc, sent, counters } = control(10);
  overloadFully(oc);
  for (let n = 0; n < 50; n++) assert.equal(oc.shedOnArrival(invite(`c${n}`), source), true);
  assert.equal(sent.length, 1, 'a burst of a tenth of a second: one 503 at 10/s');
  assert.equal(counters.overloadShed, 50);
  assert.equal(counters.overloadRejected, 1);
  assert.equal(counters.overloadDropped, 49);
});

test('a request missing a header to answer with is dropped, never answered half', () => {
  const { control: oc, sent, counters } = control();
  overloadFully(oc);
  // No From (the classification reads only the To, Call-ID and CSeq; a request without one of those is processed, and the parser answers it).
  const noFrom = Buffer.from('INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n');
  assert.equal(oc.shedOnArrival(noFrom, source), true);
  assert.equal(sent.length, 0);
  assert.equal(counters.overloadDropped, 1);
});

test('RFC 7339 as server on forwarded responses, and as client toward next hops', () => {
  const { control: oc, counters } = control();
  const upstream = parseMessage(Buffer.from('SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;oc\r\nFrom: <sip:a@h>;tag=a\r\nTo: <sip:b@h>;tag=b\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n'));
  oc.announceUpstream(upstream);
  assert.equal(upstream.topVia?.params.get('oc'), null, 'not overloaded: left alone');
  overloadFully(oc);
  oc.announceUpstream(upstream);
  assert.equal(upstream.topVia?.params.get('oc'), '100');
  assert.equal(counters.overloadAnnouncementsSent, 1);

  const hop: TransportAddress = { protocol: 'udp', address: '192.0.2.9', port: 5060 };
  const fromDownstream = parseMessage(Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK-sb-1;oc=100;oc-validity=10000;oc-seq=5\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=a\r\nTo: <sip:b@h>;tag=b\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n'));
  assert.equal(oc.shedForNextHop(hop), false);
  oc.observeNextHop(hop, fromDownstream);
  assert.equal(counters.overloadAnnouncementsReceived, 1);
  assert.equal(oc.shedForNextHop(hop), true, 'oc=100: every new request shed');
  assert.equal(counters.overloadNextHopShed, 1);
});

test('503s follow the admitted rate: one per request admitted, the rest of what is shed is dropped', () => {
  const { control: oc, sent, counters } = control(10_000);
  for (let n = 0; n < 3; n++) oc.detector.update(1, 0, 100);
  // 100 offered and 50 admitted in 100 ms: an admitted rate of 400/s (500/s less the decrease).
  for (let n = 0; n < 100; n++) oc.detector.noteNewWork(n % 2 === 0);
  oc.detector.update(1, 0, 100);
  assert.equal(oc.detector.admittedRate, 400);
  // All at one instant: a burst of a tenth of a second at 400 503s a second (not the cap's 1,000).
  let shed = 0;
  for (let n = 0; n < 200; n++) if (oc.shedOnArrival(invite(`burst${n}`), source)) shed++;
  // (Plus what the clock adds while the loop runs: 0.4 a millisecond.)
  assert.ok(sent.length >= 40 && sent.length < 60, `about 40 503s, not the cap's burst of 1,000: ${sent.length}`);
  assert.equal(counters.overloadRejected, sent.length);
  assert.equal(counters.overloadDropped, shed - sent.length);
});

test('past the 503 budget a request over TCP holds its connection instead of being dropped; over UDP it is dropped', () => {
  const sent: Buffer[] = [];
  const holds: Array<{ source: TransportAddress; ms: number; message: Buffer }> = [];
  const counters = newProxyCounters();
  let holding = true;
  const oc = new OverloadControl({ ...DEFAULT_OVERLOAD_SETTINGS, rejectRate: 10 }, counters, { send: (_target, bytes) => sent.push(bytes) }, (source, ms, message) => {
    if (!holding) return false;
    holds.push({ source, ms, message });
    return true;
  });
  overloadFully(oc);
  const tcp: TransportAddress = { protocol: 'tcp', address: '192.0.2.1', port: 5060, connectionId: 7 };
  // The burst of 10/s is one 503; the next three are past it.
  for (let n = 0; n < 4; n++) assert.equal(oc.shedOnArrival(invite(`t${n}`), tcp), true);
  assert.equal(sent.length, 1);
  assert.equal(holds.length, 3);
  assert.equal(holds[0]?.ms, DEFAULT_OVERLOAD_SETTINGS.retryAfterSeconds * 1000, 'for the Retry-After');
  assert.equal(holds[0]?.message.toString().includes('Call-ID: t1'), true);
  assert.equal(counters.overloadReadsHeld, 3);
  assert.equal(counters.overloadShed, 1, 'a held request is not shed');
  assert.equal(counters.overloadDropped, 0);
  oc.shedOnArrival(invite('u1'), source);
  assert.equal(counters.overloadDropped, 1, 'a datagram past the budget is dropped');
  holding = false;
  oc.shedOnArrival(invite('t9'), tcp);
  assert.equal(counters.overloadDropped, 2, 'a connection that cannot be held: dropped');
  assert.equal(counters.overloadReadsHeld, 3);
});

test('after an overload, a retransmission over UDP of a request refused during it gets a 503 again; fresh work goes on', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  const { control: oc, sent, counters } = control();
  overloadFully(oc);
  assert.equal(oc.shedOnArrival(invite('refused'), source), true);
  assert.equal(sent.length, 1);
  // Calm, nothing offered: the admitted rate climbs past the offered one and limiting ends.
  for (let n = 0; n < 60 && oc.detector.limiting; n++) oc.detector.update(0, 0, 100);
  assert.equal(oc.detector.limiting, false);
  assert.equal(oc.detector.screening, true, 'a refusal is still remembered');
  assert.equal(oc.shedOnArrival(invite('refused'), source), true, 'the retransmission');
  assert.equal(sent.length, 2);
  assert.equal(parseMessage(sent[1] as Buffer).status, 503);
  assert.equal(oc.shedOnArrival(invite('fresh'), source), false, 'a new call');
  const tcp: TransportAddress = { protocol: 'tcp', address: '192.0.2.1', port: 5060, connectionId: 7 };
  assert.equal(oc.shedOnArrival(invite('refused'), tcp), false, 'over a stream nothing is remembered');
  assert.equal(counters.overloadRejected, 2);
  // Its client's transaction has ended (Timer B, 32 s): nothing is looked at before the parse again.
  t.mock.timers.tick(32_000);
  oc.detector.update(0, 0, 100);
  assert.equal(oc.detector.screening, false);
  assert.equal(oc.shedOnArrival(invite('refused'), source), false);
});

test('while limiting, a retransmission of a request dropped past the budget gets its 503 (the cap alone limits those)', () => {
  const { control: oc, sent, counters } = control(10_000);
  for (let n = 0; n < 3; n++) oc.detector.update(1, 0, 100);
  // 100 offered, 5 admitted in 100 ms: an admitted rate of 40/s, so 503s to new requests at 40/s (a burst of 4).
  for (let n = 0; n < 100; n++) oc.detector.noteNewWork(n < 5);
  oc.detector.update(1, 0, 100);
  assert.equal(oc.detector.admittedRate, 40);
  for (let n = 0; n < 50; n++) assert.equal(oc.shedOnArrival(invite(`new${n}`), source), true);
  const rejectedNew = sent.length;
  assert.ok(rejectedNew >= 4 && rejectedNew < 10, `new requests: the budget's burst, ${rejectedNew}`);
  assert.equal(counters.overloadDropped, 50 - rejectedNew);
  // Their retransmissions, all at once: each refused again, and now answered.
  for (let n = 0; n < 50; n++) assert.equal(oc.shedOnArrival(invite(`new${n}`), source), true);
  assert.equal(sent.length, rejectedNew + 50, 'every retransmission answered 503');
  assert.equal(counters.overloadDropped, 50 - rejectedNew, 'none dropped');
  assert.ok(sent.slice(rejectedNew).every((bytes) => parseMessage(bytes).status === 503));
  // New requests still meet their own budget, which the retransmissions' 503s did not take from.
  for (let n = 0; n < 50; n++) oc.shedOnArrival(invite(`later${n}`), source);
  assert.ok(sent.length - rejectedNew - 50 < 10, 'new requests past the budget: dropped');
});

test('new requests read while nothing is shed are counted: limiting starts from the rate carried', () => {
  const { control: oc } = control();
  // 20 INVITEs and 20 ACKs per 100 ms sample, calm, for 2 s: 200 new requests a second carried.
  let call = 0;
  const ack = Buffer.from('ACK sip:bob@example.com SIP/2.0\r\n\r\n');
  for (let sample = 0; sample < 20; sample++) {
    for (let n = 0; n < 20; n++) {
      assert.equal(oc.shedOnArrival(invite(`carried-${call++}`), source), false);
      assert.equal(oc.shedOnArrival(ack, source), false);
    }
    oc.detector.update(0.1, 0, 100);
  }
  for (let n = 0; n < 3; n++) oc.detector.update(1, 0, 100);
  assert.equal(oc.detector.limiting, true);
  const rate = oc.admittedRate ?? 0;
  assert.ok(rate > 150 && rate <= 200, `starts at the carried rate (a moving average of 200/s): ${rate}`);
});

test('a request handed on to another worker is not counted here as carried (that worker counts it)', () => {
  const { control: oc } = control();
  let call = 0;
  for (let sample = 0; sample < 20; sample++) {
    for (let n = 0; n < 20; n++) {
      const bytes = invite(`handed-${call++}`);
      assert.equal(oc.shedOnArrival(bytes, source), false);
      // Half of them belong to another worker.
      if (n % 2 === 0) oc.handedOn(bytes);
    }
    oc.detector.update(0.1, 0, 100);
  }
  for (let n = 0; n < 3; n++) oc.detector.update(1, 0, 100);
  const rate = oc.admittedRate ?? 0;
  assert.ok(rate > 75 && rate <= 100, `starts at the 100/s this worker carried itself: ${rate}`);
});
