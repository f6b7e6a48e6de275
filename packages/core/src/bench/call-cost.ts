/**
 * `node packages/core/dist/bench/call-cost.js [--calls N] [--rounds R] [--json]`: what one
 * record-routed call costs the proxy core, without sockets (issue 15). A ProxyCore with a default
 * route is fed the messages of SIPp's uac-rr.xml and uas-rr.xml calls (INVITE, 180, 200, ACK,
 * BYE, 200; the core adds its 100 Trying) through `receive`, synchronously; the callee's
 * responses are built from the requests the core forwards, as SIPp's [last_Via:] does.
 *
 * Per round of N calls it reports heap bytes allocated per call (from the heap's size before and
 * after every GC, v8.GCProfiler) and user CPU µs per call (process.cpuUsage): figures that hold
 * on a machine shared with other load, unlike wall-clock time. Both include the harness's own
 * message building (a few strings and one Buffer per message), the same for every build.
 *
 * Then the heap a finished call leaves behind while its transactions linger (the INVITE's
 * Accepted states and the BYE's Completed state last up to 32 s over UDP, so at 400 calls/s about
 * 12,800 calls' worth stays in the old generation, which every major GC marks): the heap after a
 * full GC with every call of the run lingering, less the heap before the first call, per call.
 */
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { MemoryLocationStore } from '../registrar/location-store.js';
import type { TransportAddress } from '../transport-address.js';
import { ProxyCore } from '../proxy/proxy-core.js';

const PROXY = { address: '192.0.2.1', port: 5060 };
const CALLER: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5061 };
const CALLEE: TransportAddress = { protocol: 'udp', address: '192.0.2.20', port: 5062 };

const SDP = [
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 192.0.2.10',
  's=-',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 6000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
].join('\r\n');

function invite(call: number): Buffer {
  return Buffer.from(
    `INVITE sip:bob@192.0.2.20:5062 SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 192.0.2.10:5061;branch=z9hG4bK-${call}-1-0\r\n` +
      `From: sipp <sip:sipp@192.0.2.10:5061>;tag=4242SIPpTag00${call}\r\n` +
      `To: bob <sip:bob@192.0.2.20:5062>\r\n` +
      `Call-ID: ${call}-4242@192.0.2.10\r\n` +
      `CSeq: 1 INVITE\r\n` +
      `Contact: <sip:sipp@192.0.2.10:5061;transport=UDP>\r\n` +
      `Max-Forwards: 70\r\n` +
      `Subject: Switchboard interop\r\n` +
      `Content-Type: application/sdp\r\n` +
      `Content-Length: ${SDP.length}\r\n\r\n${SDP}`,
    'latin1',
  );
}

function inDialog(method: 'ACK' | 'BYE', call: number, seq: number, routes: string): Buffer {
  return Buffer.from(
    `${method} sip:192.0.2.20:5062;transport=UDP SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 192.0.2.10:5061;branch=z9hG4bK-${call}-${seq + 1}-${method}\r\n` +
      routes +
      `From: sipp <sip:sipp@192.0.2.10:5061>;tag=4242SIPpTag00${call}\r\n` +
      `To: bob <sip:bob@192.0.2.20:5062>;tag=4343SIPpTag01${call}\r\n` +
      `Call-ID: ${call}-4242@192.0.2.10\r\n` +
      `CSeq: ${seq} ${method}\r\n` +
      `Contact: <sip:sipp@192.0.2.10:5061;transport=UDP>\r\n` +
      `Max-Forwards: 70\r\n` +
      `Content-Length: 0\r\n\r\n`,
    'latin1',
  );
}

/**
 * A response of the callee to `request`, as uas-rr.xml writes it: the request's Via lines (and
 * Record-Route lines when `dialog`), From, To (tagged when `dialog`), Call-ID and CSeq copied.
 */
function response(status: string, request: Buffer, call: number, dialog: boolean, body = ''): Buffer {
  const text = request.toString('latin1', 0, request.indexOf('\r\n\r\n') + 2);
  let via = '';
  let copied = '';
  for (let at = text.indexOf('\r\n') + 2; at < text.length; ) {
    const end = text.indexOf('\r\n', at) + 2;
    const line = text.slice(at, end);
    if (line.startsWith('Via:')) via += line;
    else if (dialog && line.startsWith('Record-Route:')) copied += line;
    else if (dialog && line.startsWith('To:')) copied += `${line.slice(0, -2)};tag=4343SIPpTag01${call}\r\n`;
    else if (line.startsWith('From:') || line.startsWith('To:') || line.startsWith('Call-ID:') || line.startsWith('CSeq:')) copied += line;
    at = end;
  }
  const contact = dialog ? 'Contact: <sip:192.0.2.20:5062;transport=UDP>\r\n' : '';
  const type = body.length > 0 ? 'Content-Type: application/sdp\r\n' : '';
  return Buffer.from(`SIP/2.0 ${status}\r\n${via}${copied}${contact}${type}Content-Length: ${body.length}\r\n\r\n${body}`, 'latin1');
}

interface Round {
  readonly calls: number;
  readonly heapBytesPerCall: number;
  readonly userMicrosPerCall: number;
  readonly systemMicrosPerCall: number;
  readonly scavenges: number;
  readonly markCompacts: number;
}

/** Runs `calls` calls through `core`; every one must reach the caller's final 200 to BYE. */
function runCalls(core: ProxyCore, sent: Array<{ target: TransportAddress; bytes: Buffer }>, first: number, calls: number): void {
  for (let call = first; call < first + calls; call++) {
    sent.length = 0;
    core.receive(invite(call), CALLER);
    const forwarded = sent.find((entry) => entry.target.port === CALLEE.port);
    if (forwarded === undefined) throw new Error(`call ${call}: the INVITE was not forwarded synchronously`);
    core.receive(response('180 Ringing', forwarded.bytes, call, true), CALLEE);
    core.receive(response('200 OK', forwarded.bytes, call, true, SDP), CALLEE);
    const routes = `Route: <sip:${PROXY.address}:${PROXY.port};lr>\r\n`;
    core.receive(inDialog('ACK', call, 1, routes), CALLER);
    sent.length = 0;
    core.receive(inDialog('BYE', call, 2, routes), CALLER);
    const bye = sent.find((entry) => entry.target.port === CALLEE.port);
    if (bye === undefined) throw new Error(`call ${call}: the BYE was not forwarded synchronously`);
    sent.length = 0;
    core.receive(response('200 OK', bye.bytes, call, false), CALLEE);
    if (sent.length !== 1 || sent[0]?.target.port !== CALLER.port) throw new Error(`call ${call}: the 200 to BYE did not reach the caller`);
  }
}

/** One measured round: heap bytes allocated (GCProfiler) and CPU time per call. */
function measureRound(core: ProxyCore, sent: Array<{ target: TransportAddress; bytes: Buffer }>, first: number, calls: number): Round {
  const profiler = new v8.GCProfiler();
  const startUsed = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  const cpu = process.cpuUsage();
  runCalls(core, sent, first, calls);
  const spent = process.cpuUsage(cpu);
  const endUsed = v8.getHeapStatistics().used_heap_size;
  const { statistics } = profiler.stop();
  let allocated = 0;
  let previous = startUsed;
  let scavenges = 0;
  let markCompacts = 0;
  for (const entry of statistics) {
    allocated += entry.beforeGC.heapStatistics.usedHeapSize - previous;
    previous = entry.afterGC.heapStatistics.usedHeapSize;
    if (entry.gcType === 'Scavenge') scavenges++;
    else if (entry.gcType === 'MarkSweepCompact') markCompacts++;
  }
  allocated += endUsed - previous;
  return {
    calls,
    heapBytesPerCall: allocated / calls,
    userMicrosPerCall: spent.user / calls,
    systemMicrosPerCall: spent.system / calls,
    scavenges,
    markCompacts,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '2000' },
      rounds: { type: 'string', default: '7' },
      json: { type: 'boolean', default: false },
    },
  });
  const calls = Number(values.calls);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(calls) || calls < 1) throw new Error(`--calls must be a positive integer, got ${values.calls}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);

  v8.setFlagsFromString('--expose-gc');
  const fullGc = vm.runInNewContext('gc') as () => void;
  const sent: Array<{ target: TransportAddress; bytes: Buffer }> = [];
  fullGc();
  const heapBefore = v8.getHeapStatistics().used_heap_size;
  const core = new ProxyCore({
    listeners: [{ protocol: 'udp', host: PROXY.address, port: PROXY.port }],
    defaultRoute: `sip:${CALLEE.address}:${CALLEE.port}`,
    store: new MemoryLocationStore(0),
    sender: { send: (target, bytes) => sent.push({ target, bytes }) },
  });
  let next = 1;
  // Warm-up: the JIT settles before anything is counted.
  runCalls(core, sent, next, calls);
  next += calls;
  const measured: Round[] = [];
  for (let round = 0; round < rounds; round++) {
    // Timers of earlier calls run between rounds, as they would between calls of a real load.
    await new Promise((resolve) => setImmediate(resolve));
    measured.push(measureRound(core, sent, next, calls));
    next += calls;
  }
  fullGc();
  const retainedBytesPerCall = (v8.getHeapStatistics().used_heap_size - heapBefore) / (next - 1);
  core.close();
  const heap = measured.map((round) => round.heapBytesPerCall);
  const user = measured.map((round) => round.userMicrosPerCall);
  const summary = {
    callsPerRound: calls,
    rounds,
    heapBytesPerCall: { median: median(heap), min: Math.min(...heap), max: Math.max(...heap) },
    userMicrosPerCall: { median: median(user), min: Math.min(...user), max: Math.max(...user) },
    retainedBytesPerLingeringCall: retainedBytesPerCall,
    measured,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const range = (stats: { median: number; min: number; max: number }, digits: number): string =>
    `${stats.median.toFixed(digits)} (${stats.min.toFixed(digits)}-${stats.max.toFixed(digits)})`;
  console.log(`${rounds} rounds of ${calls} record-routed calls (6 messages in, 7 out per call), median (min-max):`);
  console.log(`heap bytes allocated per call: ${range(summary.heapBytesPerCall, 0)}`);
  console.log(`user CPU µs per call:          ${range(summary.userMicrosPerCall, 1)}`);
  console.log(`heap bytes retained per lingering call: ${retainedBytesPerCall.toFixed(0)} (${next - 1} calls lingering, after a full GC)`);
}

await main();
