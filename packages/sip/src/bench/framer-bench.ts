/**
 * `npm run bench:framer -w packages/sip`: how fast a busy trunk's reads are cut into messages.
 * The six messages of a proxied call (CALL_MESSAGES) back to back, about 1 MiB of them, given
 * to a StreamFramer in chunks of `--chunk` bytes (65,536 by default: a full read of a Node
 * socket), which end anywhere in a message as a busy connection's reads do. Prints messages per
 * second and the time per message (wall clock, median of rounds), one core, no quota.
 */
import { parseArgs } from 'node:util';
import { StreamFramer } from '../framer.js';
import { CALL_MESSAGES } from './call-messages.js';
import { machineFacts } from './machine-facts.js';
import { operationsPerSecond } from './operations-per-second.js';

const STREAM_BYTES = 1024 * 1024;

function main(): void {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '7' },
      'round-ms': { type: 'string', default: '300' },
      chunk: { type: 'string', default: '65536' },
    },
  });
  const rounds = Number(values.rounds);
  const roundMs = Number(values['round-ms']);
  const chunkBytes = Number(values.chunk);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
  if (!(roundMs > 0)) throw new Error(`--round-ms must be positive, got ${values['round-ms']}`);
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new Error(`--chunk must be a positive integer, got ${values.chunk}`);

  const call = Buffer.concat(CALL_MESSAGES.map(({ bytes }) => bytes));
  const calls = Math.ceil(STREAM_BYTES / call.length);
  const stream = Buffer.concat(Array.from({ length: calls }, () => call));
  const messages = calls * CALL_MESSAGES.length;
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += chunkBytes) chunks.push(stream.subarray(at, at + chunkBytes));
  const frame = (): number => {
    const framer = new StreamFramer();
    let framed = 0;
    for (const chunk of chunks) framed += framer.push(chunk).length;
    if (framed !== messages) throw new Error(`framed ${framed} messages of ${messages}`);
    return framed;
  };
  const streamsPerSecond = operationsPerSecond(frame, rounds, roundMs, 20, 1);
  const machine = machineFacts();
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores (allowed: ${machine.cpusAllowed}), node ${machine.node}, ${machine.platform}`);
  console.log(`${messages.toLocaleString('en-US')} messages (${stream.length.toLocaleString('en-US')} bytes) in chunks of ${chunkBytes.toLocaleString('en-US')} bytes, median of ${rounds} rounds of ${roundMs} ms`);
  console.log(`${Math.round(streamsPerSecond * messages).toLocaleString('en-US')} messages/s, ${(1e6 / (streamsPerSecond * messages)).toFixed(3)} µs per message`);
}

main();
