/**
 * Overload control over the wire (issue 17 item 4): `switchboard serve --overload on` with a low
 * utilization threshold, so that a real burst of new INVITEs and REGISTERs overloads it without
 * any test-only hook. The burst must be shed with 503 + Retry-After (counted), while the BYE of a
 * call set up before it still goes through; TCP clients sending a request at a time past the 503
 * budget have their connections held and every request answered in the end, while one that
 * pipelines has its excess dropped instead; and RFC 7339's `oc` from a next hop is honoured.
 * Nothing here asserts on timings: the burst runs until the counters say it was shed.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { buildResponse, parseMessage, type SipMessage } from '@switchboard/sip';
import { freePort, MODEL_VARIANTS, prepareModel, proxyCounter, settledCounter, startProxy, type RunningProxy } from '../interop/harness.js';

/** A UDP endpoint that collects what it receives and can answer it. */
class Endpoint {
  readonly socket = dgram.createSocket('udp4');
  readonly received: SipMessage[] = [];
  onRequest: ((request: SipMessage) => void) | undefined;

  async open(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
    this.socket.on('message', (bytes) => {
      let message: SipMessage;
      try {
        message = parseMessage(bytes);
      } catch {
        return;
      }
      this.received.push(message);
      if (message.isRequest) this.onRequest?.(message);
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(port: number, bytes: Buffer): void {
    this.socket.send(bytes, port, '127.0.0.1');
  }

  reply(request: SipMessage, status: number, headers: Array<[string, string]> = []): void {
    const top = request.topVia;
    const port = top?.rport ?? top?.port ?? 5060;
    this.send(typeof port === 'number' ? port : 5060, buildResponse(request, status, { toTag: 'callee', copyRecordRoute: true, headers }));
  }

  async until<T>(find: () => T | undefined, ms: number, resend?: () => void): Promise<T | undefined> {
    const deadline = Date.now() + ms;
    let nextResend = Date.now() + 500;
    while (Date.now() < deadline) {
      const found = find();
      if (found !== undefined) return found;
      if (resend !== undefined && Date.now() >= nextResend) {
        resend();
        nextResend = Date.now() + 500;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return undefined;
  }

  close(): void {
    this.socket.close();
  }
}

function request(method: string, via: string, callId: string, options: { to?: string; cseq?: number; uri?: string; extra?: string[] } = {}): Buffer {
  return Buffer.from(
    [
      `${method} ${options.uri ?? 'sip:bob@example.com'} SIP/2.0`,
      `Via: ${via}`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=caller',
      `To: ${options.to ?? '<sip:bob@example.com>'}`,
      `Call-ID: ${callId}`,
      `CSeq: ${options.cseq ?? 1} ${method}`,
      ...(options.extra ?? []),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

/** Calls `onHead` with each message head read off `socket` (no bodies here: each ends at its blank line). */
function onHeads(socket: net.Socket, onHead: (head: string) => void): void {
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    let end: number;
    while ((end = text.indexOf('\r\n\r\n')) >= 0) {
      const head = text.slice(0, end);
      text = text.slice(end + 4);
      onHead(head);
    }
  });
}

/** The proxy is killed, not drained: the burst left thousands of transactions a graceful stop would wait for. */
async function stopAtOnce(proxy: RunningProxy | undefined): Promise<void> {
  if (proxy === undefined || proxy.process.exitCode !== null) return;
  const exited = new Promise((resolve) => proxy.process.once('exit', resolve));
  proxy.process.kill('SIGKILL');
  await exited;
}

const finalFor = (endpoint: Endpoint, callId: string, method: string) => (): SipMessage | undefined =>
  endpoint.received.find((message) => message.isResponse && (message.status ?? 0) >= 200 && message.callId === callId && message.cseq?.method === method);

// The process-pool runs the same check in each worker process (ProxyCore.receive); it is left out
// here because its start (Redis, forked workers) would double this file's time.
for (const variant of MODEL_VARIANTS.filter((candidate) => candidate.name !== 'process-pool')) {
  describe(`overload control, ${variant.name}`, () => {
    let proxy: RunningProxy;
    let metricsPort = 0;
    const caller = new Endpoint();
    const callee = new Endpoint();
    const burst = new Endpoint();
    let model: { args: string[]; stop(): Promise<void> } | undefined;

    before(async () => {
      model = await prepareModel(variant);
      await Promise.all([caller.open(), callee.open(), burst.open()]);
      // The callee: 200 for the call and its BYE; 486 for the burst's INVITEs that get through.
      callee.onRequest = (message) => {
        if (message.method === 'ACK') return;
        if (message.method === 'INVITE' && !(message.callId ?? '').startsWith('dialog-')) callee.reply(message, 486);
        else callee.reply(message, 200, message.method === 'INVITE' ? [['Contact', `<sip:bob@127.0.0.1:${callee.port}>`]] : []);
      };
      metricsPort = await freePort();
      proxy = await startProxy([
        ...model.args,
        '--default-route', `sip:127.0.0.1:${callee.port}`,
        '--metrics', `127.0.0.1:${metricsPort}`,
        '--overload', 'on',
        // Low enough that a real burst overloads it on any machine; high enough that an idle
        // proxy is not (its loop is idle between the 100 ms samples).
        '--overload-utilization', '0.05',
        // Utilization judges the datagrams too (not the UDP queue delay, which a burst on a fast
        // machine need not raise): what is tested here is what happens once a worker limits.
        '--overload-queue-delay', '0',
        '--overload-reject-rate', '100000',
      ]);
    });

    after(async () => {
      await stopAtOnce(proxy);
      await model?.stop();
      caller.close();
      callee.close();
      burst.close();
    });

    test('a burst of new INVITEs and REGISTERs is shed with 503 and Retry-After while the call in progress ends with its BYE', async () => {
      const counter = (name: string): Promise<number> => proxyCounter(metricsPort, `switchboard_${name}`);
      // 1. A call, set up before the burst (retried with a new Call-ID should the proxy still be
      //    shedding what its start-up cost).
      let ok: SipMessage | undefined;
      let callId = '';
      for (let attempt = 0; attempt < 10 && ok === undefined; attempt++) {
        callId = `dialog-${process.pid}-${attempt}`;
        const invite = request('INVITE', `SIP/2.0/UDP 127.0.0.1:${caller.port};rport;branch=z9hG4bK-dialog-${attempt}`, callId, { extra: [`Contact: <sip:alice@127.0.0.1:${caller.port}>`] });
        caller.send(proxy.udpPort, invite);
        const final = await caller.until(finalFor(caller, callId, 'INVITE'), 3000, () => caller.send(proxy.udpPort, invite));
        if (final?.status === 200) ok = final;
        else await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      assert.ok(ok, 'the call was set up');
      const route = ok.headers('record-route').reverse().map((value) => `Route: ${value}`);
      const dialogTo = ok.headerBytes('to') ?? '';
      caller.send(proxy.udpPort, request('ACK', `SIP/2.0/UDP 127.0.0.1:${caller.port};rport;branch=z9hG4bK-dialog-ack`, callId, { to: dialogTo, uri: `sip:bob@127.0.0.1:${callee.port}`, extra: route }));

      // 2. The burst: new INVITEs (half of them from a client that supports RFC 7339) and
      //    REGISTERs, 20 every 10 ms, until the proxy has shed at least 50 of them.
      let sent = 0;
      let stop = false;
      const flood = (async () => {
        const deadline = Date.now() + 20_000;
        while (!stop && Date.now() < deadline) {
          for (let n = 0; n < 20; n++) {
            sent++;
            const method = sent % 4 === 0 ? 'REGISTER' : 'INVITE';
            const oc = sent % 2 === 0 ? ';oc;oc-algo="loss"' : '';
            burst.send(proxy.udpPort, request(method, `SIP/2.0/UDP 127.0.0.1:${burst.port};branch=z9hG4bK-burst-${sent}${oc}`, `burst-${process.pid}-${sent}`));
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      const rejected = (): SipMessage[] => burst.received.filter((message) => message.status === 503);
      const shedEnough = await burst.until(() => (rejected().length >= 50 ? true : undefined), 20_000);
      // While the burst goes on, the shedding workers say how much they shed (their oc value / 100).
      const reduction = await proxyCounter(metricsPort, 'switchboard_overload_reduction');

      // 3. The BYE of the call, while the burst is still being shed.
      const bye = request('BYE', `SIP/2.0/UDP 127.0.0.1:${caller.port};rport;branch=z9hG4bK-dialog-bye`, callId, { to: dialogTo, cseq: 2, uri: `sip:bob@127.0.0.1:${callee.port}`, extra: route });
      caller.send(proxy.udpPort, bye);
      const byeFinal = await caller.until(finalFor(caller, callId, 'BYE'), 15_000, () => caller.send(proxy.udpPort, bye));
      stop = true;
      await flood;

      assert.ok(shedEnough, `the burst was shed (503s received: ${rejected().length} of ${sent} sent)`);
      assert.ok(reduction > 0, `switchboard_overload_reduction while shedding: ${reduction}`);
      assert.equal(byeFinal?.status, 200, 'the BYE went through during the overload');
      assert.ok(callee.received.some((message) => message.method === 'BYE' && message.callId === callId), 'the callee got the BYE');

      const sample = rejected();
      for (const response of sample) {
        assert.equal(response.header('retry-after'), '2');
        assert.match(response.toTag ?? '', /^sbol-/);
        assert.match(response.callId ?? '', /^burst-/, 'only new work is shed');
      }
      assert.ok(sample.some((response) => response.cseq?.method === 'REGISTER'), 'REGISTERs shed too');
      const announced = sample.filter((response) => response.topVia?.params.has('oc'));
      assert.ok(announced.length > 0 && announced.every((response) => /^\d+$/.test(response.topVia?.params.get('oc') ?? '')), 'RFC 7339 clients get an oc value in the top Via');
      assert.ok(sample.filter((response) => !response.topVia?.params.has('oc')).length > 0, 'clients without oc get none');

      // The ACK of a 503 is absorbed while overloaded (best effort: the proxy may have recovered).
      const first = sample[0] as SipMessage;
      burst.send(proxy.udpPort, request('ACK', first.headerBytes('via') ?? '', first.callId ?? '', { to: first.headerBytes('to') ?? '' }));

      assert.ok((await counter('overload_shed_total')) >= 50, 'counted');
      assert.ok((await counter('overload_rejected_total')) >= 50);
      assert.ok((await counter('overload_entered_total')) >= 1);
      // Time limiting is added by each sample taken while limiting (every 100 ms), and --metrics
      // gathers the workers' stats at most every 100 ms: all of the above can fit in between, so
      // wait for both (limiting lasts ten samples at least).
      assert.ok((await settledCounter(metricsPort, 'switchboard_overload_milliseconds_total', (ms) => ms > 0, 5000)) > 0, 'time spent limiting is counted');
    });

    test('TCP clients that send one new request at a time and again on every answer (phones ignoring Retry-After) are held past the 503 budget, and every request is answered in the end', async () => {
      const counter = (name: string): Promise<number> => proxyCounter(metricsPort, `switchboard_${name}`);
      const heldBefore = await counter('overload_reads_held_total');
      const PHONES = 40;
      let sending = true;
      let sent = 0;
      const answered = new Map<string, number>();
      const phones = await Promise.all(
        Array.from({ length: PHONES }, async (_, phone) => {
          const socket = net.connect(proxy.tcpPort, '127.0.0.1');
          await once(socket, 'connect');
          socket.on('error', () => undefined);
          const { port } = socket.address() as net.AddressInfo;
          const next = (): void => {
            sent++;
            const callId = `tcp-phone-${process.pid}-${phone}-${sent}`;
            socket.write(request('REGISTER', `SIP/2.0/TCP 127.0.0.1:${port};branch=z9hG4bK-ph-${sent}`, callId));
          };
          // Each final response brings the next request.
          onHeads(socket, (head) => {
            const status = Number(/^SIP\/2\.0 (\d{3})/.exec(head)?.[1]);
            const callId = /\r\nCall-ID: *([^\r]+)/i.exec(head)?.[1];
            if (status < 200 || callId === undefined) return;
            answered.set(callId, status);
            if (sending) next();
          });
          next();
          return socket;
        }),
      );
      // Until a hold is counted (at most 15 s), then no new requests; what is held is answered later.
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && (await counter('overload_reads_held_total')) === heldBefore) await new Promise((resolve) => setTimeout(resolve, 200));
      sending = false;
      const held = (await counter('overload_reads_held_total')) - heldBefore;
      const allAnswered = await burst.until(() => (answered.size >= sent ? true : undefined), 60_000);
      for (const socket of phones) socket.destroy();
      assert.ok(held > 0, `a connection was held (${sent} REGISTERs sent)`);
      assert.ok(allAnswered, `every request answered: ${answered.size} of ${sent}`);
      const statuses = new Set(answered.values());
      assert.ok([...statuses].every((status) => status === 200 || status === 503), `200 or 503 only: ${[...statuses].join(', ')}`);
    });

    test('a TCP client that pipelines new requests (a trunk, a queue in the kernel already) is read on past the 503 budget: its excess is dropped, not held', async () => {
      const counter = (name: string): Promise<number> => proxyCounter(metricsPort, `switchboard_${name}`);
      const [heldBefore, droppedBefore] = [await counter('overload_reads_held_total'), await counter('overload_dropped_total')];
      const socket = net.connect(proxy.tcpPort, '127.0.0.1');
      await once(socket, 'connect');
      socket.on('error', () => undefined);
      const statuses: number[] = [];
      onHeads(socket, (head) => statuses.push(Number(/^SIP\/2\.0 (\d{3})/.exec(head)?.[1])));
      const { port } = socket.address() as net.AddressInfo;
      // 20 new REGISTERs in each write, every 10 ms, until drops are counted (at most 15 s).
      let sent = 0;
      const deadline = Date.now() + 15_000;
      for (let round = 1; Date.now() < deadline; round++) {
        let batch = '';
        for (let n = 0; n < 20; n++) {
          sent++;
          batch += request('REGISTER', `SIP/2.0/TCP 127.0.0.1:${port};branch=z9hG4bK-trunk-${sent}`, `tcp-trunk-${process.pid}-${sent}`).toString('latin1');
        }
        socket.write(batch, 'latin1');
        await new Promise((resolve) => setTimeout(resolve, 10));
        if (round % 20 === 0 && (await counter('overload_dropped_total')) > droppedBefore) break;
      }
      const [held, dropped] = [(await counter('overload_reads_held_total')) - heldBefore, (await counter('overload_dropped_total')) - droppedBefore];
      socket.destroy();
      assert.ok(dropped > 0, `its excess was dropped (${sent} REGISTERs sent, ${statuses.length} answered)`);
      assert.equal(held, 0, 'and its connection was never held');
      assert.ok(statuses.length > 0 && statuses.every((status) => status === 100 || status === 200 || status === 503), `what was answered got 200 or 503: ${[...new Set(statuses)].join(', ')}`);
    });
  });
}

describe('RFC 7339 toward a next hop', () => {
  let proxy: RunningProxy;
  const caller = new Endpoint();
  const callee = new Endpoint();
  let metricsPort = 0;

  before(async () => {
    await Promise.all([caller.open(), callee.open()]);
    // An overloaded callee: 486 with oc=100 (valid 30 s) in the proxy's Via, RFC 7339 §5.2.
    callee.onRequest = (message) => {
      if (message.method === 'ACK') return;
      const top = message.topVia;
      const via = message.headersBytes('via')[0] ?? '';
      const response = buildResponse(message, 486, { toTag: 'callee' });
      const announced = Buffer.from(response.toString('latin1').replace(via, `${via.replace(/;oc(?=;|$)/, '')};oc=100;oc-validity=30000;oc-seq=1`), 'latin1');
      callee.send(typeof top?.rport === 'number' ? top.rport : (top?.port ?? 5060), announced);
    };
    metricsPort = await freePort();
    proxy = await startProxy([
      '--default-route', `sip:127.0.0.1:${callee.port}`,
      '--metrics', `127.0.0.1:${metricsPort}`,
      '--overload', 'on',
    ]);
  });

  after(async () => {
    await stopAtOnce(proxy);
    caller.close();
    callee.close();
  });

  test('our Via says oc; a next hop that announces oc=100 gets no new INVITE until it expires, in-dialog requests still go', async () => {
    const first = request('INVITE', `SIP/2.0/UDP 127.0.0.1:${caller.port};rport;branch=z9hG4bK-oc-1`, 'oc-1');
    caller.send(proxy.udpPort, first);
    assert.equal((await caller.until(finalFor(caller, 'oc-1', 'INVITE'), 5000, () => caller.send(proxy.udpPort, first)))?.status, 486);
    const forwarded = callee.received.find((message) => message.callId === 'oc-1' && message.method === 'INVITE');
    assert.equal(forwarded?.topVia?.params.get('oc'), null, 'our Via carries oc (no value)');
    assert.equal(forwarded?.topVia?.params.get('oc-algo'), '"loss"');

    const second = request('INVITE', `SIP/2.0/UDP 127.0.0.1:${caller.port};rport;branch=z9hG4bK-oc-2`, 'oc-2');
    caller.send(proxy.udpPort, second);
    const answer = await caller.until(finalFor(caller, 'oc-2', 'INVITE'), 5000, () => caller.send(proxy.udpPort, second));
    assert.equal(answer?.status, 503);
    assert.equal(answer?.reason, 'Next Hop Overloaded');
    assert.ok(!callee.received.some((message) => message.callId === 'oc-2' && message.method === 'INVITE'), 'not sent to the overloaded next hop');

    const inDialog = request('INFO', `SIP/2.0/UDP 127.0.0.1:${caller.port};rport;branch=z9hG4bK-oc-3`, 'oc-3', { to: '<sip:bob@example.com>;tag=b1', uri: `sip:bob@127.0.0.1:${callee.port}` });
    caller.send(proxy.udpPort, inDialog);
    const arrived = await callee.until(() => callee.received.find((message) => message.callId === 'oc-3'), 5000, () => caller.send(proxy.udpPort, inDialog));
    assert.ok(arrived, 'an in-dialog request is not shed');
    assert.equal(await proxyCounter(metricsPort, 'switchboard_overload_announcements_received_total') >= 1, true);
    assert.equal(await proxyCounter(metricsPort, 'switchboard_overload_next_hop_shed_total'), 1);
  });
});
