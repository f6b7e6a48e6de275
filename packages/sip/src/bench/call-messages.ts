/**
 * The six messages of a record-routed call as a proxy receives them (SIPp-like UAs on the two
 * sides): INVITE, 180 Ringing, 200 OK, ACK, BYE, 200 OK.
 */

const SDP_OFFER = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 192.0.2.101',
  's=-',
  'c=IN IP4 192.0.2.101',
  't=0 0',
  'm=audio 49172 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  '',
].join('\r\n');

const SDP_ANSWER = SDP_OFFER.replaceAll('alice', 'bob').replaceAll('192.0.2.101', '192.0.2.201').replace('49172', '3456');

function message(lines: string[], body = ''): Buffer {
  const length = Buffer.byteLength(body);
  return Buffer.from([...lines, `Content-Length: ${length}`, '', body].join('\r\n'), 'utf8');
}

const CALL = 'a84b4c76e66710@pc33.atlanta.example.com';
const FROM = 'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774';
const TO = 'To: <sip:bob@biloxi.example.com>';
const TO_TAGGED = 'To: <sip:bob@biloxi.example.com>;tag=a6c85cf';
const ALICE_VIA = 'Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.101';
const PROXY_VIA = 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK.proxy.1f3a9c0e2b';
const RECORD_ROUTE = 'Record-Route: <sip:192.0.2.1:5060;lr>';

/** What the callee's 180 and 200 to the INVITE carry, as they reach the proxy. */
const INVITE_RESPONSE_HEADERS = [
  PROXY_VIA,
  ALICE_VIA,
  RECORD_ROUTE,
  FROM,
  TO_TAGGED,
  `Call-ID: ${CALL}`,
  'CSeq: 314159 INVITE',
  'Contact: <sip:bob@192.0.2.201:5060>',
];

export const CALL_MESSAGES: ReadonlyArray<{ readonly name: string; readonly bytes: Buffer }> = [
  {
    name: 'INVITE',
    bytes: message(
      [
        'INVITE sip:bob@biloxi.example.com SIP/2.0',
        'Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;rport',
        'Max-Forwards: 70',
        FROM,
        TO,
        `Call-ID: ${CALL}`,
        'CSeq: 314159 INVITE',
        'Contact: <sip:alice@192.0.2.101:5060>',
        'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO',
        'Supported: replaces, timer',
        'User-Agent: Switchboard bench UA',
        'Subject: Performance Test',
        'Content-Type: application/sdp',
      ],
      SDP_OFFER,
    ),
  },
  {
    name: '180 Ringing',
    bytes: message(['SIP/2.0 180 Ringing', ...INVITE_RESPONSE_HEADERS]),
  },
  {
    name: '200 OK (INVITE)',
    bytes: message(
      [
        'SIP/2.0 200 OK',
        ...INVITE_RESPONSE_HEADERS,
        'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE',
        'Content-Type: application/sdp',
      ],
      SDP_ANSWER,
    ),
  },
  {
    name: 'ACK',
    bytes: message([
      'ACK sip:bob@192.0.2.201:5060 SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bKnashds8;rport',
      'Route: <sip:192.0.2.1:5060;lr>',
      'Max-Forwards: 70',
      FROM,
      TO_TAGGED,
      `Call-ID: ${CALL}`,
      'CSeq: 314159 ACK',
    ]),
  },
  {
    name: 'BYE',
    bytes: message([
      'BYE sip:bob@192.0.2.201:5060 SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bKnashds9;rport',
      'Route: <sip:192.0.2.1:5060;lr>',
      'Max-Forwards: 70',
      FROM,
      TO_TAGGED,
      `Call-ID: ${CALL}`,
      'CSeq: 314160 BYE',
    ]),
  },
  {
    name: '200 OK (BYE)',
    bytes: message([
      'SIP/2.0 200 OK',
      'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK.proxy.77aa0e1',
      'Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bKnashds9;rport=5060;received=192.0.2.101',
      FROM,
      TO_TAGGED,
      `Call-ID: ${CALL}`,
      'CSeq: 314160 BYE',
    ]),
  },
];
