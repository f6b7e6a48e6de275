// What reading a datagram costs the receiver, no quota: `node udp-receive-cost.mjs dgram|raw [N]`
// receives N 900-byte datagrams (default 200,000, sent by a child process in bursts of 200 a ms)
// and prints the receiver's CPU per datagram over the first 90%: `dgram` through the socket's
// 'message' event, `raw` through the UDP handle's own onmessage (Node internals), to tell
// dgram's JavaScript layer from the rest. (`send` is the child's mode.)
import dgram from 'node:dgram';
import { fork } from 'node:child_process';
const mode = process.argv[2] ?? 'dgram';
const total = Number(process.argv[3] ?? 200000);
if (mode === 'send') {
  const port = Number(process.argv[4]);
  const s = dgram.createSocket('udp4');
  const msg = Buffer.alloc(900, 0x41);
  let sent = 0;
  const burst = () => { for (let k = 0; k < 200 && sent < total; k++, sent++) s.send(msg, port, '127.0.0.1'); if (sent < total) setTimeout(burst, 1); else setTimeout(() => process.exit(0), 500); };
  burst();
} else {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  let got = 0, c0;
  const done = () => { const c = process.cpuUsage(c0); console.log(mode, got, 'datagrams', ((c.user + c.system) / got).toFixed(2), 'us CPU each'); process.exit(0); };
  const onMsg = (buf, rinfo) => { if (got++ === 0) { c0 = process.cpuUsage(); } if (got === total * 0.9) done(); };
  sock.bind(0, '127.0.0.1', () => {
    if (mode === 'raw') {
      const handle = sock[Object.getOwnPropertySymbols(sock).find((s) => String(s) === 'Symbol(state symbol)')].handle;
      handle.onmessage = (nread, h, buf, rinfo) => onMsg(buf, rinfo);
    } else sock.on('message', onMsg);
    const child = fork(new URL(import.meta.url).pathname, ['send', String(total), String(sock.address().port)]);
    child.on('exit', () => setTimeout(done, 200));
  });
}
