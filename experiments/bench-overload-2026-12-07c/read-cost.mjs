// What one read of a TCP socket costs a Node process that keeps up with a trunk (bench-overload-2026-12-07c):
// a sender pinned to CPU 0 writes three 528-byte messages every 1 ms (about what SIPp's trunk
// brings at 2x), a receiver pinned to CPU 1 reads them, with the stream's 'data' events or with
// net's `onread` (a static buffer, no stream), and prints its user and system CPU per read over
// 5 s after 1.5 s of warm-up. Two runs of each; bounded (each run ends within 8 s).
// Usage: node read-cost.mjs
import net from 'node:net';
import { spawn } from 'node:child_process';
const [role, mode, portArg] = process.argv.slice(2);
const self = new URL(import.meta.url).pathname;
const msg = Buffer.alloc(528, 'x');
if (role === 'sender') {
  const server = net.createServer({ noDelay: true }, (s) => {
    s.on('error', () => {});
    const t = setInterval(() => s.write(Buffer.concat([msg, msg, msg])), 1);
    setTimeout(() => { clearInterval(t); s.destroy(); server.close(); }, 8000);
  });
  server.listen(0, '127.0.0.1', () => { process.stdout.write(String(server.address().port) + '\n'); });
} else if (role === 'receiver') {
  let reads = 0, bytes = 0, t0, r0, b0;
  const onChunk = (n) => { reads++; bytes += n; };
  const opts = { port: Number(portArg), host: '127.0.0.1' };
  let s;
  if (mode === 'onread') s = net.connect({ ...opts, onread: { buffer: Buffer.alloc(65536), callback: (n) => { onChunk(n); return true; } } });
  else { s = net.connect(opts); s.on('data', (c) => onChunk(c.length)); }
  s.on('error', () => {});
  setTimeout(() => { t0 = process.cpuUsage(); r0 = reads; b0 = bytes; }, 1500);
  setTimeout(() => { const u = process.cpuUsage(t0); const n = reads - r0; console.log(`${mode.padEnd(7)} reads ${n} bytes/read ${((bytes - b0) / n).toFixed(0)} user ${(u.user / n).toFixed(2)} us sys ${(u.system / n).toFixed(2)} us per read`); process.exit(0); }, 6500);
} else {
  for (const m of ['data', 'onread', 'data', 'onread']) {
    const snd = spawn('taskset', ['-c', '0', process.execPath, self, 'sender'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise((r) => snd.stdout.once('data', (d) => r(String(d).trim())));
    const rcv = spawn('taskset', ['-c', '1', process.execPath, self, 'receiver', m, port], { stdio: 'inherit' });
    await new Promise((r) => rcv.once('exit', r));
    snd.kill();
  }
}
