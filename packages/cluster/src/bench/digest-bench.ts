/**
 * `npm run bench:digest -w packages/cluster`: what checking one digest response costs on this
 * machine, and what the same check costs when shipped to another thread, the floor under any
 * pool of hashing threads (piscina adds its queue on top). The numbers behind the decision to
 * hash where the request is handled (docs/architecture.md). Medians of one short run.
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, isMainThread, workerData, type MessagePort } from 'node:worker_threads';
import { DigestAuthenticator, MemoryAuthStateStore, MemoryCredentialStore, NonceMint, newNonceSecret, newProxyCounters, userCredentials } from '@switchboard/core';
import { DIGEST_ALGORITHMS, answerDigestChallenge, digestHa1, digestResponse, formatDigestCredentials, parseMessage, type DigestAlgorithm } from '@switchboard/sip';
import { machineFacts } from '@switchboard/sip/machine-facts';

const ROUNDS = 20_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Median µs of `work`, timed in batches of 100 (one call is below the timer's resolution). */
function timed(work: (i: number) => void): number {
  const batches: number[] = [];
  for (let i = 0; i < ROUNDS; i += 100) {
    const started = performance.now();
    for (let j = i; j < i + 100; j++) work(j);
    batches.push((performance.now() - started) / 100);
  }
  return median(batches) * 1000;
}

interface Check {
  readonly algorithm: DigestAlgorithm;
  readonly ha1: string;
  readonly nonce: string;
  readonly cnonce: string;
}

function verify(check: Check, nc: number): string {
  return digestResponse({ algorithm: check.algorithm, ha1: check.ha1, method: 'REGISTER', uri: 'sip:example.com', nonce: check.nonce, qop: 'auth', nc: nc.toString(16).padStart(8, '0'), cnonce: check.cnonce });
}

async function offloaded(check: Check): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { port: port2 }, transferList: [port2] });
  const times: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      port1.once('message', () => resolve());
      port1.postMessage({ check, nc: i + 1 });
    });
    times.push(performance.now() - started);
  }
  await worker.terminate();
  port1.close();
  return median(times) * 1000;
}

/** The whole check as the proxy runs it: parse the credentials, hash, check the nonce, record the count. */
async function wholeCheck(algorithm: DigestAlgorithm): Promise<number> {
  const authenticator = new DigestAuthenticator({
    mode: 'register', realm: 'example.com', algorithms: [algorithm], secret: newNonceSecret(),
    credentials: new MemoryCredentialStore([userCredentials('alice', 'example.com', 'wonderland')]),
    state: new MemoryAuthStateStore({ sweepMs: 0 }),
  });
  const counters = newProxyCounters();
  const source = { protocol: 'udp' as const, address: '192.0.2.10', port: 5060 };
  const challenge = authenticator.challenge('registrar', counters);
  const nonce = /nonce="([^"]+)"/.exec(challenge.kind === 'respond' ? (challenge.headers[0]?.[1] ?? '') : '')?.[1] ?? '';
  const requests = Array.from({ length: 2000 }, (_, i) => {
    const credentials = formatDigestCredentials(answerDigestChallenge({ realm: 'example.com', nonce, algorithm, qop: ['auth'] }, { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: 'sip:example.com', nc: i + 1, cnonce: 'c0ffee' }));
    return parseMessage(Buffer.from(`REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK${i}\r\nFrom: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\nCall-ID: c${i}\r\nCSeq: ${i + 1} REGISTER\r\nAuthorization: ${credentials}\r\nContent-Length: 0\r\n\r\n`));
  });
  const started = performance.now();
  for (const request of requests) {
    const result = await authenticator.authenticate(request, source, 'registrar', 'alice', counters);
    if (result.kind !== 'authenticated') throw new Error(`check failed: ${JSON.stringify(result)}`);
  }
  const elapsed = ((performance.now() - started) / requests.length) * 1000;
  await authenticator.close();
  return elapsed;
}

async function main(): Promise<void> {
  const facts = machineFacts();
  const mint = new NonceMint(Buffer.from(newNonceSecret(), 'hex'), 'example.com', 300_000);
  const rows: string[] = [];
  let sha256: Check | undefined;
  for (const algorithm of DIGEST_ALGORITHMS) {
    const check: Check = { algorithm, ha1: digestHa1(algorithm, 'alice', 'example.com', 'wonderland'), nonce: mint.issue(), cnonce: 'c0ffee' };
    if (algorithm === 'SHA-256') sha256 = check;
    rows.push(`| response from the stored HA1 (HA2 + response), ${algorithm} | ${timed((i) => verify(check, i + 1)).toFixed(2)} |`);
    await wholeCheck(algorithm); // warm-up
    rows.push(`| the whole check in the proxy (parse, hash, nonce, count), ${algorithm} | ${(await wholeCheck(algorithm)).toFixed(2)} |`);
  }
  const nonce = mint.issue();
  rows.push(`| nonce issue (HMAC-SHA-256) | ${timed(() => mint.issue()).toFixed(2)} |`);
  rows.push(`| nonce check (HMAC-SHA-256) | ${timed(() => mint.check(nonce)).toFixed(2)} |`);
  if (sha256 !== undefined) rows.push(`| SHA-256 response computed in another thread (MessagePort round trip) | ${(await offloaded(sha256)).toFixed(2)} |`);
  process.stdout.write([`Machine: ${facts.cpu}, ${facts.cores} cores, Node ${facts.node}; ${facts.date}. Medians of one run.`, '', '| work | µs |', '| --- | ---: |', ...rows, ''].join('\n'));
}

if (!isMainThread) {
  const port = (workerData as { port: MessagePort }).port;
  port.on('message', ({ check, nc }: { check: Check; nc: number }) => port.postMessage(verify(check, nc)));
} else {
  main().catch((error: Error) => {
    process.stderr.write(`bench:digest: ${error.message}\n`);
    process.exitCode = 1;
  });
}
