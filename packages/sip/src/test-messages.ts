/** Messages shared by the tests of this package (not exported from the package). */

export function crlf(lines: string[]): Buffer {
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

/** The INVITE of RFC 3665 §3.1 F1, with a 4-byte body. */
export const INVITE = crlf([
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9',
  'Max-Forwards: 70',
  'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
  'To: Bob <sip:bob@biloxi.example.com>',
  'Call-ID: 3848276298220188511@atlanta.example.com',
  'CSeq: 1 INVITE',
  'Contact: <sip:alice@client.atlanta.example.com;transport=tcp>',
  'X-Unknown:   kept   exactly  ',
  'Content-Type: application/sdp',
  'Content-Length: 4',
  '',
  'v=0\n',
]);

export const RINGING = crlf([
  'SIP/2.0 180 Ringing',
  'Via: SIP/2.0/TCP proxy.example.com:5060;branch=z9hG4bK-proxy, SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101',
  'Record-Route: <sip:proxy.example.com;lr>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
  'To: Bob <sip:bob@biloxi.example.com>;tag=8321234356',
  'Call-ID: 3848276298220188511@atlanta.example.com',
  'CSeq: 1 INVITE',
  'Contact: <sip:bob@client.biloxi.example.com;transport=tcp>',
  'Content-Length: 0',
  '',
  '',
]);
