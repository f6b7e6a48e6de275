// What an INVITE the proxy refuses over UDP costs the process that reads it, system calls
// included (issue 17: the UDP goodput at 4x and 8x). refusal-cost.mjs (bench-overload-2026-12-06)
// measured the screening of a TCP trunk in memory; over UDP every datagram is its own read (Node
// has no recvmmsg) and every 503 its own send, and those are the cost that grows with the offered
// load. A receiver pinned to CPU 1 (nothing else there, no quota) reads SIPp-shaped INVITEs that a
// sender on CPU 0 offers at a fixed rate for a fixed time, and does one of:
//   read      nothing but count (the floor: the read and Node's callback),
//   drop      classifyMessage, then drop (what a refusal past the 503 budget costs),
//   reject    classifyMessage, overloadResponse (the 503, built from the bytes), and its send.
// It prints the receiver's user and system CPU time per datagram (process.cpuUsage over the
// offered seconds, from its first datagram on). Bounded: each pair runs SECONDS + 3 s at most.
// Usage: node udp-refusal-cost.mjs [ROOT] [--rates 5000,20000] [--seconds 5] [--rounds 3]
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const role = args[0];

function invite(n, port) {
  const body = 'v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
  return Buffer.from(
    `INVITE sip:bob@127.0.0.1:45070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${n}-1-0\r\n` +
      `From: sipp <sip:sipp@127.0.0.1:${port}>;tag=${n}SIPpTag00${n}\r\nTo: bob <sip:bob@127.0.0.1:45070>\r\n` +
      `Call-ID: ${n}-4242@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:sipp@127.0.0.1:${port}>\r\n` +
      `Max-Forwards: 70\r\nSubject: Switchboard interop\r\nContent-Type: application/sdp\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
}

async function receiver(root, mode, seconds) {
  const load = (file) => import(pathToFileURL(path.join(root, file)).href);
  const { classifyMessage } = await load('packages/core/dist/overload/message-class.js');
  const { overloadResponse } = await load('packages/core/dist/overload/overload-response.js');
  const socket = dgram.createSocket('udp4');
  const key = { cseqHash: 0 };
  let count = 0;
  let tags = 0;
  let started;
  let sendErrors = 0;
  const onSent = (error) => {
    if (error) sendErrors++;
  };
  socket.on('message', (bytes, rinfo) => {
    if (count++ === 0) {
      started = process.cpuUsage();
      setTimeout(finish, seconds * 1000);
    }
    if (mode === 'read') return;
    if (classifyMessage(bytes, key) < 0) return;
    if (mode === 'drop') return;
    const response = overloadResponse(bytes, { toTag: `sbol-bench${(++tags).toString(36)}`, retryAfterSeconds: 2 });
    if (response !== undefined) socket.send(response, rinfo.port, rinfo.address, onSent);
  });
  const finish = () => {
    const used = process.cpuUsage(started);
    process.stdout.write(`${JSON.stringify({ mode, count, userUs: used.user / count, systemUs: used.system / count, sendErrors })}\n`);
    process.exit(0);
  };
  socket.bind(0, '127.0.0.1', () => process.stdout.write(`port ${socket.address().port}\n`));
}

function sender(port, rate, seconds) {
  const socket = dgram.createSocket('udp4');
  socket.on('message', () => {});
  socket.bind(0, '127.0.0.1', () => {
    const own = socket.address().port;
    const messages = Array.from({ length: 1000 }, (_, n) => invite(n, own));
    const perTick = Math.max(1, Math.round(rate / 1000));
    const end = Date.now() + seconds * 1000 + 1000;
    let n = 0;
    const timer = setInterval(() => {
      if (Date.now() > end) {
        clearInterval(timer);
        socket.close();
        return;
      }
      for (let k = 0; k < perTick; k++) socket.send(messages[n++ % messages.length], port, '127.0.0.1');
    }, 1);
  });
}

function run(command, argv) {
  return spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function pair(root, mode, rate, seconds) {
  const rx = run('taskset', ['-c', '1', process.execPath, self, 'receiver', root, mode, String(seconds)]);
  const killer = setTimeout(() => rx.kill('SIGKILL'), (seconds + 3) * 1000);
  let text = '';
  let tx;
  await new Promise((resolve) => {
    rx.stdout.on('data', (chunk) => {
      text += chunk;
      const match = /port (\d+)\n/.exec(text);
      if (match && tx === undefined) tx = run('taskset', ['-c', '0', process.execPath, self, 'sender', match[1], String(rate), String(seconds)]);
    });
    rx.on('exit', resolve);
  });
  clearTimeout(killer);
  tx?.kill('SIGKILL');
  const line = text.split('\n').find((l) => l.startsWith('{'));
  return line ? JSON.parse(line) : { mode, failed: true };
}

if (role === 'receiver') await receiver(args[1], args[2], Number(args[3]));
else if (role === 'sender') sender(Number(args[1]), Number(args[2]), Number(args[3]));
else {
  const options = { rates: '5000,20000', seconds: '5', rounds: '3' };
  let root = path.resolve(path.dirname(self), '../..');
  for (let n = 0; n < args.length; n++) {
    if (args[n].startsWith('--')) options[args[n].slice(2)] = args[++n];
    else root = path.resolve(args[n]);
  }
  console.log(`# udp-refusal-cost ${new Date().toISOString()} node ${process.version}; INVITEs of ${invite(1, 40000).length} bytes; receiver on CPU 1, sender on CPU 0; tree ${root}`);
  for (let round = 1; round <= Number(options.rounds); round++) {
    for (const rate of options.rates.split(',').map(Number)) {
      for (const mode of ['read', 'drop', 'reject']) {
        const r = await pair(root, mode, rate, Number(options.seconds));
        console.log(`round ${round} rate ${rate}/s ${mode}: ${r.failed ? 'failed' : `${r.count} datagrams read, user ${r.userUs.toFixed(2)} + system ${r.systemUs.toFixed(2)} = ${(r.userUs + r.systemUs).toFixed(2)} us each${r.sendErrors ? `, ${r.sendErrors} send errors` : ''}`}`);
      }
    }
  }
}
