/**
 * `npm run bench -w packages/sip`: parse and serialize throughput for the six messages of a
 * proxied call, through @switchboard/sip and, on the same bytes in the same run, through the npm
 * `sip` package's parser. Prints a table (or JSON with --json) and the ratios.
 *
 * Operations: `parse` (bytes to message), `serialize` (a message the proxy has edited, to bytes),
 * `proxy hop` (parse, edit as a proxy does, serialize). The proxy edit pushes a Via and
 * decrements Max-Forwards on requests (and adds Record-Route to the INVITE), and pops the top Via
 * of responses.
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { parseMessage } from '../parser.js';
import type { SipMessage } from '../message.js';
import { CALL_MESSAGES } from './call-messages.js';
import { machineFacts } from './machine-facts.js';
import { operationsPerSecond } from './operations-per-second.js';

interface NpmSipMessage {
  method?: string;
  status?: number;
  headers: Record<string, unknown> & { via: unknown[] };
}
interface NpmSip {
  parse(data: Buffer): NpmSipMessage | undefined;
  stringify(message: NpmSipMessage): string;
}
const npmSip = createRequire(import.meta.url)('sip') as NpmSip;



function editOurs(message: SipMessage): void {
  if (message.isRequest) {
    // A proxy builds its Via from parts it knows (a fresh branch per request), as here.
    message.prependVia({
      protocol: 'SIP/2.0',
      transport: 'UDP',
      host: '192.0.2.1',
      port: 5060,
      params: new Map([['branch', 'z9hG4bK.bench.0001']]),
      branch: 'z9hG4bK.bench.0001',
      received: undefined,
      rport: undefined,
    });
    message.setMaxForwards((message.maxForwards ?? 70) - 1);
    if (message.method === 'INVITE') message.prependRecordRoute('<sip:192.0.2.1:5060;lr>');
  } else {
    message.removeTopVia();
  }
}

function editTheirs(message: NpmSipMessage): void {
  if (message.method !== undefined) {
    message.headers.via.unshift({ version: '2.0', protocol: 'UDP', host: '192.0.2.1', port: 5060, params: { branch: 'z9hG4bK.bench.0001' } });
    message.headers['max-forwards'] = Number(message.headers['max-forwards'] ?? 70) - 1;
    if (message.method === 'INVITE') {
      const existing = (message.headers['record-route'] as unknown[] | undefined) ?? [];
      message.headers['record-route'] = [{ uri: 'sip:192.0.2.1:5060;lr', params: {} }, ...existing];
    }
  } else {
    message.headers.via.shift();
  }
}

function parseTheirs(bytes: Buffer): NpmSipMessage {
  const message = npmSip.parse(bytes);
  if (message === undefined) throw new Error('npm sip could not parse a benchmark message');
  return message;
}

interface Row {
  message: string;
  bytes: number;
  operation: 'parse' | 'serialize' | 'proxy hop';
  oursPerSecond: number;
  theirsPerSecond: number;
  oursMBps: number;
  theirsMBps: number;
  ratio: number;
}

function geometricMean(values: number[]): number {
  return Math.exp(values.reduce((sum, value) => sum + Math.log(value), 0) / values.length);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '5' },
      'round-ms': { type: 'string', default: '200' },
    },
  });
  const rounds = Number(values.rounds);
  const roundMs = Number(values['round-ms']);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
  if (!(roundMs > 0)) throw new Error(`--round-ms must be positive, got ${values['round-ms']}`);

  const rows: Row[] = [];
  for (const { name, bytes } of CALL_MESSAGES) {
    const oursEdited = parseMessage(bytes);
    editOurs(oursEdited);
    const theirsEdited = parseTheirs(bytes);
    editTheirs(theirsEdited);
    const operations: Array<[Row['operation'], () => unknown, () => unknown]> = [
      ['parse', () => parseMessage(bytes), () => parseTheirs(bytes)],
      ['serialize', () => oursEdited.serialize(), () => Buffer.from(npmSip.stringify(theirsEdited), 'binary')],
      [
        'proxy hop',
        () => {
          const message = parseMessage(bytes);
          editOurs(message);
          return message.serialize();
        },
        () => {
          const message = parseTheirs(bytes);
          editTheirs(message);
          return Buffer.from(npmSip.stringify(message), 'binary');
        },
      ],
    ];
    for (const [operation, ours, theirs] of operations) {
      const oursPerSecond = operationsPerSecond(ours, rounds, roundMs);
      const theirsPerSecond = operationsPerSecond(theirs, rounds, roundMs);
      rows.push({
        message: name,
        bytes: bytes.length,
        operation,
        oursPerSecond,
        theirsPerSecond,
        oursMBps: (oursPerSecond * bytes.length) / 1e6,
        theirsMBps: (theirsPerSecond * bytes.length) / 1e6,
        ratio: oursPerSecond / theirsPerSecond,
      });
    }
  }
  const summary = Object.fromEntries(
    (['parse', 'serialize', 'proxy hop'] as const).map((operation) => [
      operation,
      geometricMean(rows.filter((row) => row.operation === operation).map((row) => row.ratio)),
    ]),
  );
  const result = { machine: machineFacts(), rounds, roundMs, rows, ratioGeometricMean: summary };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const machine = result.machine;
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores (allowed: ${machine.cpusAllowed}), node ${machine.node}, ${machine.platform}`);
  console.log(`median of ${rounds} rounds of ${roundMs} ms each\n`);
  console.log('| message | bytes | operation | @switchboard/sip msg/s | MB/s | npm sip msg/s | MB/s | ratio |');
  console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    console.log(
      `| ${row.message} | ${row.bytes} | ${row.operation} | ${Math.round(row.oursPerSecond).toLocaleString('en-US')} | ${row.oursMBps.toFixed(1)} | ${Math.round(row.theirsPerSecond).toLocaleString('en-US')} | ${row.theirsMBps.toFixed(1)} | ${row.ratio.toFixed(2)}x |`,
    );
  }
  console.log('');
  for (const [operation, ratio] of Object.entries(summary)) {
    console.log(`ratio (geometric mean over the six messages), ${operation}: ${ratio.toFixed(2)}x`);
  }
}

main();
