// The INVITE SIPp's uac-rr.xml sends over TCP (528 bytes), numbered by n: shed-path.mjs and
// tcp-shed-cost.mjs feed it to the proxy's shed path.
export function invite(n) {
  const body = 'v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
  return (
    `INVITE sip:service@127.0.0.1:45060 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:46010;branch=z9hG4bK-1234-${n}-0\r\n` +
    `From: sipp <sip:sipp@127.0.0.1:46010>;tag=1234SIPpTag00${n}\r\nTo: service <sip:service@127.0.0.1:45060>\r\n` +
    `Call-ID: ${n}-1234@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:sipp@127.0.0.1:46010;transport=TCP>\r\nMax-Forwards: 70\r\n` +
    `Subject: Switchboard interop\r\nContent-Type: application/sdp\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  );
}
