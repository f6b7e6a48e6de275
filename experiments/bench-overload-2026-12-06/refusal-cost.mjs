// What a refused INVITE costs the worker that reads a TCP trunk, against a call (issue 17, next
// step 3): 64 KiB reads of SIPp-like INVITEs framed (StreamFramer) and screened by a limiting
// OverloadControl (shedOnArrival: classified, then dropped or answered 503 to a sender that keeps
// nothing), and, for comparison, the full parse of the same INVITEs. One process, no quota; run
// it pinned (taskset -c 1) with nothing else on that CPU. Prints microseconds per message.
// Usage: node refusal-cost.mjs [ROOT]   (ROOT: the tree whose dist/ is measured; default ../..)
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(process.argv[2] ?? new URL('../..', import.meta.url).pathname);
const load = (file) => import(pathToFileURL(path.join(root, file)).href);
const { OverloadControl, DEFAULT_OVERLOAD_SETTINGS } = await load('packages/core/dist/overload/overload-control.js');
const { newProxyCounters } = await load('packages/core/dist/proxy/proxy-counters.js');
const { StreamFramer, parseMessage } = await load('packages/sip/dist/index.js');

function invite(n) {
  const body = 'v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
  return Buffer.from(
    `INVITE sip:bob@127.0.0.1:45070 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:46000;branch=z9hG4bK-${n}-1-0\r\n` +
      `From: sipp <sip:sipp@127.0.0.1:46000>;tag=${n}SIPpTag00${n}\r\nTo: bob <sip:bob@127.0.0.1:45070>\r\n` +
      `Call-ID: ${n}-4242@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:sipp@127.0.0.1:46000;transport=tcp>\r\n` +
      `Max-Forwards: 70\r\nSubject: Switchboard interop\r\nContent-Type: application/sdp\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
}

const CHUNK = 65_536;
const MESSAGES = 200_000;
const stream = Buffer.concat(Array.from({ length: MESSAGES }, (_, n) => invite(n)));
const chunks = [];
for (let offset = 0; offset < stream.length; offset += CHUNK) chunks.push(stream.subarray(offset, offset + CHUNK));
const source = { protocol: 'tcp', address: '127.0.0.1', port: 46000, connectionId: 1 };

function screen(rejectRate) {
  const counters = newProxyCounters();
  let sent = 0;
  const control = new OverloadControl({ ...DEFAULT_OVERLOAD_SETTINGS, rejectRate }, counters, { send: () => sent++ });
  // Limiting, with the admitted rate cut to nothing: three busy samples, then busy ones with no new work admitted.
  for (let n = 0; n < 3; n++) control.detector.update(1, 0, 100);
  for (let n = 0; n < 20; n++) {
    for (let k = 0; k < 100; k++) control.detector.noteNewWork(false);
    control.detector.update(1, 0, 100);
  }
  const framer = new StreamFramer();
  let admitted = 0;
  const started = process.hrtime.bigint();
  for (const chunk of chunks) {
    for (const event of framer.push(chunk)) if (event.kind === 'message' && !control.shedOnArrival(event.bytes, source)) admitted++;
  }
  const us = Number(process.hrtime.bigint() - started) / 1000;
  return { us: us / MESSAGES, rejected: counters.overloadRejected, dropped: counters.overloadDropped, admitted, sent };
}

function frameOnly() {
  const framer = new StreamFramer();
  let n = 0;
  const started = process.hrtime.bigint();
  for (const chunk of chunks) for (const event of framer.push(chunk)) if (event.kind === 'message') n++;
  return Number(process.hrtime.bigint() - started) / 1000 / n;
}

function parseAll() {
  const framer = new StreamFramer();
  let n = 0;
  const started = process.hrtime.bigint();
  for (const chunk of chunks) for (const event of framer.push(chunk)) if (event.kind === 'message') {
    const message = parseMessage(event.bytes);
    if (message.callId !== undefined && message.topVia !== undefined) n++;
  }
  return Number(process.hrtime.bigint() - started) / 1000 / n;
}

console.log(`# refusal-cost ${new Date().toISOString()} node ${process.version}; ${MESSAGES} INVITEs of ${invite(1).length} bytes in ${chunks.length} reads of 64 KiB; tree ${root}`);
for (let round = 1; round <= 5; round++) {
  const dropped = screen(0);
  const rejected = screen(1_000_000);
  console.log(
    `round ${round}: framing alone ${frameOnly().toFixed(2)} us/message; framing + screening, dropped ${dropped.us.toFixed(2)} us (dropped ${dropped.dropped}, 503 ${dropped.rejected}, admitted ${dropped.admitted}); ` +
      `answered 503 ${rejected.us.toFixed(2)} us (503 ${rejected.rejected}, dropped ${rejected.dropped}, admitted ${rejected.admitted}); framing + full parse ${parseAll().toFixed(2)} us`,
  );
}
