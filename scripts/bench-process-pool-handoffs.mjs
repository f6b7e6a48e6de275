// Benchmark, not a test: cross-worker MESSAGEs (a write on a connection the other worker owns) while a burst of
// new TCP connections is handed to the workers. Prints how many were answered within 20 s and their latency.
// Usage (after npx tsc -b, with redis-server on 127.0.0.1:17999): node scripts/bench-process-pool-handoffs.mjs . 1500 [serve flags...]
// The proxy runs on CPU 0 (taskset); pin this process elsewhere: taskset -c 1 node scripts/...
import { spawn } from 'node:child_process';
import { TcpPhone, UdpClient, sipRequest } from '../test/dist/models/test-phones.js';
const tree = process.argv[2]; const burst = Number(process.argv[3] ?? 1500); const extra = process.argv.slice(4);
const proxy = spawn('taskset', ['-c', '0', process.execPath, `${tree}/packages/cli/bin/switchboard.js`, 'serve', '--listen', 'udp:127.0.0.1:0', '--listen', 'tcp:127.0.0.1:0', '--domain', 'example.com', '--model', 'process-pool', '--workers', '2', '--redis-url', 'redis://127.0.0.1:17999', ...extra], { stdio: ['ignore', 'pipe', 'ignore'] });
const ports = await new Promise((resolve) => { let buf = ''; proxy.stdout.on('data', (c) => { buf += c; const m = buf.match(/"listeners":\["udp:127.0.0.1:(\d+)","tcp:127.0.0.1:(\d+)"\][^\n]*"ready"/); if (m) resolve({ udp: Number(m[1]), tcp: Number(m[2]) }); }); });
const phones = [];
for (let i = 0; i < 40; i++) { const p = await TcpPhone.connect(ports.tcp); if ((await p.register(`h${i}`, 'example.com', 30000)) !== 200) throw new Error('register'); phones.push(p); }
const client = new UdpClient(); await client.open();
const sentAt = new Map(); const answeredAt = new Map(); const bytes = new Map();
client.socket.on('message', (b) => { const m = /Call-ID: (\S+)/i.exec(b.toString()); if (m && / 200 /.test(b.toString().split('\r\n')[0]) && !answeredAt.has(m[1])) answeredAt.set(m[1], performance.now()); });
const start = performance.now();
const newcomers = Array.from({ length: burst }, async () => { try { const p = await TcpPhone.connect(ports.tcp); p.socket.write(sipRequest('OPTIONS', `sip:127.0.0.1:${ports.tcp};transport=tcp`, { via: `SIP/2.0/TCP 127.0.0.1:${p.socket.localPort}` })); await p.until(() => p.responses.length > 0, 30000).catch(() => {}); return p; } catch { return undefined; } });
for (let round = 0; round < 25; round++) for (let i = 0; i < 40; i++) { const id = `hol-${round}-${i}-${Math.random().toString(36).slice(2)}`; const b = sipRequest('MESSAGE', `sip:h${i}@example.com`, { via: client.via, callId: id }); bytes.set(id, b); sentAt.set(id, performance.now()); client.send(ports.udp, b); }
const resend = setInterval(() => { for (const [id, b] of bytes) if (!answeredAt.has(id)) client.send(ports.udp, b); }, 2000);
const deadline = performance.now() + 20000;
while (answeredAt.size < sentAt.size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
clearInterval(resend);
const lat = [...sentAt].filter(([id]) => answeredAt.has(id)).map(([id, t]) => answeredAt.get(id) - t).sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]?.toFixed(0);
const conns = (await Promise.all(newcomers)).filter((p) => p && p.responses.length > 0).length;
console.log(JSON.stringify({ tree, extra, burst, messages: sentAt.size, answered: answeredAt.size, p50ms: q(0.5), p90ms: q(0.9), p99ms: q(0.99), maxms: lat.at(-1)?.toFixed(0), newcomersAnswered: conns, wallms: (performance.now() - start).toFixed(0) }));
for (const p of phones) p.close(); (await Promise.all(newcomers)).forEach((p) => p?.close()); client.close(); proxy.kill('SIGTERM');
setTimeout(() => process.exit(0), 500);
