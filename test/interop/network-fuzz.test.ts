import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestCertificates, type TestCertificates } from '@switchboard/testkit/certificates';
import { EVERY_VARIANT, freePort, MODEL_VARIANTS, prepareModel, runSipp, sippCalls, startProxy, type RunningProxy } from './harness.js';
import { checkAgainstRequests, classify, frameMessages, generateCases, hex, sendCase, startSink, type Exchange, type FuzzCase, type FuzzTransport, type SendOptions } from './network-fuzz.js';

/**
 * Network fuzz (issue: "beyond the list"): for each model, seeded mutated requests and responses
 * over UDP, TCP and TLS against a running proxy while SIPp calls go through it. Afterwards the
 * proxy must be up and answer OPTIONS, every SIPp call must have succeeded, every response the
 * proxy generated must copy the request's Via, From, To, Call-ID and CSeq bytes exactly, and over
 * UDP no response may be larger than the request that drew it.
 *
 * Every model runs, and the shared-transaction variants (the pools with `--transactions shared`,
 * io-dispatch) beside them, with fewer cases by default to keep `npm test` short.
 *
 * FUZZ_SEED (default below) replays a run, FUZZ_COUNT sets the cases per model and variant (`npm
 * run fuzz:network` runs 20,000 for each), FUZZ_MODELS narrows the models (comma-separated names,
 * e.g. `thread-pool --transactions shared,io-dispatch`),
 * FUZZ_SKIP_MUTATIONS leaves out the cases of named mutations (e.g. `via-port-0`, to see past a
 * known crash). Failures print the seed, the case and its bytes in hex; every offending input is
 * also written to a directory named in the output. A crash stops that model's run; each input
 * sent in the 3 s before it is then replayed alone against a fresh proxy to name the one that
 * kills it.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 0x5b0a2d) >>> 0;
/** Cases per model by default: 300 for the three models, 100 for each shared variant (the CI budget). */
const COUNT = Number(process.env.FUZZ_COUNT ?? 300);
const SHARED_COUNT = Number(process.env.FUZZ_COUNT ?? 100);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 32);
/** Long enough for an answer on a loaded machine: a late answer is a missed check, never a false one. */
const WINDOW_MS = Number(process.env.FUZZ_WINDOW_MS ?? 700);
const MODELS = process.env.FUZZ_MODELS?.split(',') ?? EVERY_VARIANT.map((variant) => variant.name);
/** Mutations whose cases are left out (to look past a known crash while its fix is pending). */
const SKIP = process.env.FUZZ_SKIP_MUTATIONS?.split(',') ?? [];
/** SIPp calls per batch and calls/s: a trickle that lasts as long as the fuzz does. */
const BATCH_CALLS = 8;
const CALL_RATE = 4;
const HOST = '127.0.0.1';
/** A pool with TLS on a loaded 2-core machine can take more than the harness's usual 10 s to start. */
const READY_TIMEOUT_MS = 60_000;
const REPORT_DIR = join(tmpdir(), `switchboard-network-fuzz-${SEED}`);

console.log(`network fuzz: FUZZ_SEED=${SEED} FUZZ_COUNT=${COUNT} (shared variants ${SHARED_COUNT})${SKIP.length > 0 ? ` FUZZ_SKIP_MUTATIONS=${SKIP.join(',')}` : ''} (reproducers, if any: ${REPORT_DIR})`);

let certs: TestCertificates;
before(async () => {
  certs = await createTestCertificates();
});
after(async () => {
  await certs.remove();
});

/** One broken requirement, with what reproduces it. */
interface Failure {
  readonly group: string;
  readonly text: string;
  /** The case that drew it (`#index`), when one did. */
  readonly where?: string;
}

function describeCase(model: string, fuzzCase: FuzzCase, sent: Buffer): string {
  const file = join(REPORT_DIR, `${model}-${fuzzCase.transport}-${fuzzCase.index}.bin`);
  mkdirSync(REPORT_DIR, { recursive: true });
  writeFileSync(file, sent);
  return [
    `FUZZ_SEED=${SEED} case #${fuzzCase.index} (${fuzzCase.transport}, ${fuzzCase.kind} from ${fuzzCase.seed}, mutations: ${fuzzCase.mutations.join(', ') || 'none'}` +
      `${fuzzCase.prefix.length > 0 ? `, ${fuzzCase.prefix.length} bytes of CRLF first` : ''}${fuzzCase.copies > 1 ? `, sent ${fuzzCase.copies} times` : ''}${fuzzCase.splits.length > 0 ? `, in ${fuzzCase.splits.length + 1} writes` : ''})`,
    `  sent (${sent.length} bytes, also in ${file}): ${hex(sent)}`,
  ].join('\n');
}

/** Events the pools log when a worker process or thread dies (and, for processes, is replaced). */
const WORKER_DEATHS = new Set(['worker-exited', 'thread-error', 'thread-exited']);

/** The first log line saying a worker died, if any: a replaced worker is a crash all the same. */
function workerDeath(proxy: RunningProxy): string | undefined {
  return proxy.lines.find((line) => {
    try {
      return WORKER_DEATHS.has((JSON.parse(line) as { msg?: string }).msg ?? '');
    } catch {
      return false;
    }
  });
}

/** The proxy answers an OPTIONS for itself over UDP (a few tries: it may be busy). */
async function answersOptions(port: number): Promise<boolean> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, HOST, () => resolve()));
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      const branch = `z9hG4bKalive${attempt}${Date.now()}`;
      const request = [
        `OPTIONS sip:${HOST}:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${HOST}:${socket.address().port};rport;branch=${branch}`,
        'Max-Forwards: 70',
        'From: <sip:probe@example.org>;tag=p',
        `To: <sip:${HOST}:${port}>`,
        `Call-ID: ${branch}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      const answer = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 2000);
        socket.once('message', (data) => {
          clearTimeout(timer);
          resolve(data.toString('latin1').startsWith('SIP/2.0 200 '));
        });
      });
      socket.send(request, port, HOST);
      if (await answer) return true;
    }
    return false;
  } finally {
    socket.close();
  }
}

for (const variant of EVERY_VARIANT.filter((candidate) => MODELS.includes(candidate.name))) {
  const count = MODEL_VARIANTS.includes(variant) ? COUNT : SHARED_COUNT;
  describe(`network fuzz, --model ${variant.name}`, { concurrency: false, timeout: Math.max(240_000, count * 100) }, () => {
    test(`${count} seeded mutated requests and responses over UDP, TCP and TLS with SIPp calls in flight`, async () => {
      const model = await prepareModel(variant);
      const sink = await startSink(HOST);
      const proxyArgs = [
        '--listen', `tls:${HOST}:0`, '--tls-cert', certs.server.certFile, '--tls-key', certs.server.keyFile, '--tls-ca', certs.ca.certFile,
        '--domain', 'example.com', '--default-route', `sip:${HOST}:${sink.port}`, ...model.args,
      ];
      const failures: Failure[] = [];
      let proxy: RunningProxy | undefined;
      let callee: ReturnType<typeof runSipp> | undefined;
      let caller: ReturnType<typeof runSipp> | undefined;
      try {
        proxy = await startProxy(proxyArgs, READY_TIMEOUT_MS);
        const running = proxy;
        let stderr = '';
        running.process.stderr?.on('data', (chunk: Buffer) => {
          stderr = (stderr + chunk.toString()).slice(-6000);
        });
        let exitedAt: number | undefined;
        let exitCode: number | null | string = null;
        running.process.once('exit', (code, signal) => {
          exitedAt = Date.now();
          exitCode = code ?? signal;
          caller?.process.kill('SIGKILL');
        });
        /** When the proxy or one of its workers died (undefined while all live). */
        const diedAt = (): number | undefined => {
          const death = exitedAt === undefined ? workerDeath(running) : undefined;
          // The log line's own time: the death may be noticed only when a lane frees up.
          if (death !== undefined) exitedAt = (JSON.parse(death) as { time?: number }).time ?? Date.now();
          return exitedAt;
        };
        const ports: Record<FuzzTransport, number> = { udp: running.udpPort, tcp: running.tcpPort, tls: running.tlsPort };

        // The callee registers as bob@example.com (the only way a request reaches it), then answers calls.
        const calleePort = await freePort();
        const register = await runSipp(['-sf', 'register.xml', '-i', HOST, '-p', '0', '-t', 'u1', '-key', 'domain', 'example.com', '-key', 'contact_port', String(calleePort), '-s', 'bob', '-m', '1', `${HOST}:${running.udpPort}`], 20).done;
        assert.equal(register.code, 0, `REGISTER for the SIPp callee:\n${register.output.slice(-2000)}`);
        callee = runSipp(['-sf', 'uas-rr.xml', '-i', HOST, '-p', String(calleePort), '-t', 'u1'], 3600);
        await new Promise((resolve) => setTimeout(resolve, 300));

        // A trickle of calls, UDP and TCP batches in turn, for as long as the fuzz runs.
        let fuzzing = true;
        const batches: Array<{ transport: string; code: number | null; successful: number; failed: number; output: string }> = [];
        const calls = (async () => {
          for (let batch = 0; (fuzzing || batch === 0) && diedAt() === undefined; batch++) {
            const transport = batch % 2 === 0 ? 'u1' : 't1';
            caller = runSipp([
              '-sf', 'uac-rr.xml', '-i', HOST, '-p', '0', '-t', transport, '-key', 'target', 'example.com', '-s', 'bob',
              '-m', String(BATCH_CALLS), '-r', String(CALL_RATE), '-l', String(BATCH_CALLS), `${HOST}:${transport === 'u1' ? running.udpPort : running.tcpPort}`,
            ], 90);
            const result = await caller.done;
            batches.push({ transport, code: result.code, ...sippCalls(result.output), output: result.output });
          }
        })();

        // The fuzz: CONCURRENCY cases in flight, each from its own socket or connection.
        const cases = generateCases(SEED, count).filter((fuzzCase) => !fuzzCase.mutations.some((name) => SKIP.includes(name)));
        const sentLog: Array<{ fuzzCase: FuzzCase; sent: Buffer; at: number }> = [];
        const options: SendOptions = {
          host: HOST,
          ports,
          sink: `${HOST}:${sink.port}`,
          windowMs: WINDOW_MS,
          tls: { ca: certs.ca.cert },
          onSend: (fuzzCase, sent) => sentLog.push({ fuzzCase, sent, at: Date.now() }),
        };
        // The checks on what the proxy answered, as each case ends (a long run keeps no history).
        let generated = 0;
        let forwarded = 0;
        const check = (exchange: Exchange): void => {
          if (exchange.garbage !== undefined) {
            failures.push({
              group: `unframeable over ${exchange.fuzzCase.transport}`,
              text: `unframeable: the proxy wrote bytes that are no SIP message\n${describeCase(variant.name, exchange.fuzzCase, exchange.sent)}\n  written (${exchange.garbage.length} bytes): ${hex(exchange.garbage)}`,
              where: `#${exchange.fuzzCase.index}`,
            });
          }
          if (exchange.fuzzCase.kind !== 'request') return;
          // A datagram is one message; a stream may carry several (junk, CRLFs, then the request).
          const { fuzzCase } = exchange;
          const requests = fuzzCase.transport === 'udp' ? [exchange.sent] : frameMessages(Buffer.concat([fuzzCase.prefix, ...Array.from({ length: fuzzCase.copies }, () => exchange.sent)]));
          for (const message of exchange.received) {
            const kind = classify(message);
            if (kind === 'forwarded') forwarded++;
            if (kind !== 'generated') continue;
            generated++;
            for (const finding of checkAgainstRequests(requests, message, fuzzCase.transport)) {
              const group = `${finding.rule} over ${exchange.fuzzCase.transport}: ${finding.detail.replace(/:.*$/s, '').replace(/\d+/g, 'N')}`;
              // Every failure is counted; the first few of a kind are described (and written out).
              const text = failures.filter((failure) => failure.group === group).length < 3
                ? `${finding.rule}: ${finding.detail}\n${describeCase(variant.name, exchange.fuzzCase, exchange.sent)}\n  response (${message.length} bytes): ${hex(message)}`
                : '';
              failures.push({ group, text, where: `#${exchange.fuzzCase.index}` });
            }
          }
        };
        let done = 0;
        let next = 0;
        const started = Date.now();
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < cases.length && diedAt() === undefined) {
              check(await sendCase(cases[next++] as FuzzCase, options));
              done++;
              while (sentLog.length > 0 && (sentLog[0] as { at: number }).at < Date.now() - 10_000) sentLog.shift();
            }
          }),
        );
        const fuzzSeconds = (Date.now() - started) / 1000;
        fuzzing = false;
        await calls;
        console.log(
          `network fuzz --model ${variant.name}: ${done} cases in ${fuzzSeconds.toFixed(1)} s, ${generated} generated and ${forwarded} forwarded responses checked, ` +
            `${sink.forwarded} requests reached the sink, ${batches.reduce((sum, b) => sum + b.successful, 0)} SIPp calls succeeded`,
        );

        // The proxy is up and answers; if it died, find which input killed it.
        if (diedAt() !== undefined) {
          const death = workerDeath(running);
          // The last sent first: the killer was most likely in flight when the proxy died.
          const suspects = sentLog.filter((entry) => entry.at >= (exitedAt as number) - 3000).map((entry) => entry.fuzzCase).reverse();
          const culprit = await findCulprit(proxyArgs, suspects, { ...options, windowMs: 100, onSend: undefined });
          failures.push({
            group: 'crash',
            text:
              `${death === undefined ? `the proxy exited (${String(exitCode)})` : `a worker died (${death})`} during the fuzz, after ${done} of ${cases.length} cases; stderr:\n${stderr.slice(-3000)}\n` +
              (culprit === undefined
                ? `no single input among the last ${suspects.length} sent kills a fresh proxy (or a worker) on its own`
                : `this input alone kills a fresh proxy (or a worker):\n${describeCase(variant.name, culprit.fuzzCase, culprit.sent)}`),
          });
        } else if (!(await answersOptions(running.udpPort))) {
          failures.push({ group: 'no answer', text: 'the proxy is running but does not answer OPTIONS over UDP after the fuzz' });
        }

        for (const batch of batches) {
          if (batch.code !== 0 || batch.failed > 0 || batch.successful !== BATCH_CALLS) {
            failures.push({
              group: `SIPp calls over ${batch.transport === 'u1' ? 'UDP' : 'TCP'}`,
              text: `a batch of ${BATCH_CALLS} SIPp calls over ${batch.transport === 'u1' ? 'UDP' : 'TCP'}: exit ${batch.code}, ${batch.successful} succeeded, ${batch.failed} failed${exitedAt === undefined ? '' : ' (the proxy or a worker had died)'}\n${batch.output.slice(-1500)}`,
            });
          }
        }
      } finally {
        caller?.process.kill('SIGKILL');
        callee?.process.kill('SIGKILL');
        await proxy?.stop();
        await sink.close();
        await model.stop();
      }
      assert.equal(failures.length, 0, summarize(variant.name, failures));
    });
  });
}

/** Every failure once per group (the first seen), with how many more there were. */
function summarize(model: string, failures: readonly Failure[]): string {
  const groups = new Map<string, Failure[]>();
  for (const failure of failures) groups.set(failure.group, [...(groups.get(failure.group) ?? []), failure]);
  const parts = [`network fuzz --model ${model}, FUZZ_SEED=${SEED}: ${failures.length} failures in ${groups.size} groups`];
  for (const [group, members] of groups) {
    const where = [...new Set(members.flatMap((member) => (member.where === undefined ? [] : [member.where])))];
    const cases = where.length === 0 ? '' : `; cases ${where.slice(0, 30).join(' ')}${where.length > 30 ? ' …' : ''}`;
    parts.push(`\n== ${group} (${members.length}×${cases})\n${members[0]?.text}`);
  }
  return parts.join('\n');
}

/**
 * The input that kills the proxy: each suspect in turn, alone, against a fresh proxy; the first
 * after which it is gone. Undefined when none does on its own.
 */
async function findCulprit(proxyArgs: string[], suspects: readonly FuzzCase[], options: SendOptions): Promise<{ fuzzCase: FuzzCase; sent: Buffer } | undefined> {
  // A pool whose worker died is still running: the proxy is stopped whatever happened.
  const proxy = await startProxy(proxyArgs, READY_TIMEOUT_MS);
  try {
    for (const fuzzCase of suspects) {
      const replayOptions = { ...options, ports: { udp: proxy.udpPort, tcp: proxy.tcpPort, tls: proxy.tlsPort } };
      const exchange = await sendCase(fuzzCase, replayOptions);
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (proxy.process.exitCode !== null || proxy.process.signalCode !== null || workerDeath(proxy) !== undefined) return { fuzzCase, sent: exchange.sent };
    }
    return undefined;
  } finally {
    await proxy.stop();
  }
}
