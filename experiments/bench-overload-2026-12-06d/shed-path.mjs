// What the TCP shed path costs in JavaScript, hot, no quota (bench-overload-2026-12-06d README):
// framer.push on 64 KB chunks of SIPp-shaped INVITEs, then classify + shedOnArrival (limiting, drop).
// usage: node shed-path.mjs [TREE] (a built checkout; default: this one)
const root = process.argv[2] ?? new URL('../..', import.meta.url).pathname;
const { StreamFramer } = await import(`${root}/packages/sip/dist/framer.js`);
const { classifyMessage } = await import(`${root}/packages/core/dist/overload/message-class.js`);
const { OverloadControl, DEFAULT_OVERLOAD_SETTINGS } = await import(`${root}/packages/core/dist/overload/overload-control.js`);
const { newProxyCounters } = await import(`${root}/packages/core/dist/proxy/proxy-counters.js`);
const { invite } = await import('./sipp-invite.mjs');
let all = ''; let n = 0; while (all.length < 64 * 1024 * 40) all += invite(n++);
const stream = Buffer.from(all);
const chunks = []; for (let o = 0; o < stream.length; o += 65536) chunks.push(stream.subarray(o, o + 65536));
console.log('message bytes', invite(1).length, 'messages', n);
const counters = newProxyCounters();
const control = new OverloadControl({ ...DEFAULT_OVERLOAD_SETTINGS, rejectRate: 0 }, counters, { send() {} });
// force limiting with a small rate
const d = control.detector; for (let k = 0; k < 5; k++) d.update(1, 0, 100);
for (let k = 0; k < 3; k++) { for (let j = 0; j < 300; j++) d.noteNewWork(j < 10); d.update(1, 0, 100); }
console.log('limiting', d.limiting, 'rate', d.admittedRate);
const source = { protocol: 'tcp', address: '127.0.0.1', port: 46010, connectionId: 1 };
function run(mode) {
  const framer = new StreamFramer();
  let msgs = 0; const t0 = process.hrtime.bigint();
  for (let r = 0; r < 5; r++) for (const c of chunks) {
    const events = framer.push(c);
    if (mode === 'frame') { msgs += events.length; continue; }
    for (const e of events) { msgs++; if (mode === 'classify') classifyMessage(e.bytes); else control.shedOnArrival(e.bytes, source); }
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / msgs;
}
for (let round = 0; round < 5; round++) console.log(['frame','classify','shed'].map(m => `${m} ${run(m).toFixed(2)} us`).join('  '), 'shed', counters.overloadShed, 'dropped', counters.overloadDropped);
