import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { test } from 'node:test';
import { SipError } from './errors.js';
import { StreamFramer } from './framer.js';
import { parseMessage } from './parser.js';
import { rejectionResponse } from './response.js';
import { INVITE, RINGING } from './test-messages.js';
import { validateRequest, validateResponse } from './validate.js';

/** Seeds: the messages of this package's tests and every fixture file. */
function seeds(): Buffer[] {
  const found = [INVITE, RINGING];
  const root = new URL('../test/fixtures/', import.meta.url);
  if (!existsSync(root)) return found;
  for (const dir of readdirSync(root)) {
    const folder = new URL(`${dir}/`, root);
    for (const file of readdirSync(folder)) {
      if (file.endsWith('.dat') || file.endsWith('.sip')) found.push(readFileSync(new URL(file, folder)));
    }
  }
  return found;
}

/** xorshift32: a seeded generator, so a failure can be replayed with FUZZ_SEED. */
function generator(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x100000000;
  };
}

const SPECIAL = Buffer.from(':;,<>"\\\r\n \t%@[]=?/0123456789zZ\u00ff\u0000');

function mutate(input: Buffer, random: () => number): Buffer {
  const pick = (n: number): number => Math.floor(random() * n);
  let bytes = Buffer.from(input);
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    const at = pick(bytes.length + 1);
    switch (pick(7)) {
      case 0: // flip a byte to a random value
        if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = pick(256);
        break;
      case 1: // write a character that matters to some grammar
        if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = SPECIAL[pick(SPECIAL.length)] as number;
        break;
      case 2: // insert one
        bytes = Buffer.concat([bytes.subarray(0, at), SPECIAL.subarray(pick(SPECIAL.length)).subarray(0, 1), bytes.subarray(at)]);
        break;
      case 3: // delete a run
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + pick(8))]);
        break;
      case 4: { // duplicate a run (repeated headers, parameters, commas)
        const length = 1 + pick(40);
        bytes = Buffer.concat([bytes.subarray(0, at + length), bytes.subarray(at, at + length), bytes.subarray(at + length)]);
        break;
      }
      case 5: // truncate
        bytes = bytes.subarray(0, at);
        break;
      default: { // change digits into a huge number
        const digit = bytes.findIndex((byte, index) => index >= at && byte >= 0x30 && byte <= 0x39);
        if (digit >= 0) bytes = Buffer.concat([bytes.subarray(0, digit), Buffer.from('99999999999999999999'), bytes.subarray(digit)]);
      }
    }
  }
  return bytes;
}

function exerciseParser(input: Buffer): void {
  try {
    const message = parseMessage(input);
    const reparsed = parseMessage(message.serialize());
    assert.equal(reparsed.fields.length, message.fields.length);
    for (const field of message.fields) message.fieldValue(field);
    for (const read of [() => message.expires(), () => message.date(), () => message.minExpires()]) {
      try {
        read();
      } catch (error) {
        if (!(error instanceof SipError)) throw error;
      }
    }
    try {
      if (message.isRequest) validateRequest(message);
      else validateResponse(message);
    } catch (error) {
      if (!(error instanceof SipError)) throw error;
    }
  } catch (error) {
    if (!(error instanceof SipError)) throw error;
    rejectionResponse(input, error);
  }
}

/** Parses, re-serialises, reads and validates the input, then frames it as a stream would. */
function exercise(input: Buffer): void {
  exerciseParser(input);
  try {
    const framer = new StreamFramer();
    const middle = input.length >> 1;
    for (const event of [...framer.push(input.subarray(0, middle)), ...framer.push(input.subarray(middle))]) {
      if (event.kind === 'message') exerciseParser(event.bytes);
    }
  } catch (error) {
    if (!(error instanceof SipError)) throw error;
  }
}

test('100,000 mutated messages raise only coded errors', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 0x5eed);
  const random = generator(seed);
  const inputs = seeds();
  const runs = Number(process.env.FUZZ_RUNS ?? 100_000);
  let parsed = 0;
  for (let i = 0; i < runs; i++) {
    const input = mutate(inputs[i % inputs.length] as Buffer, random);
    try {
      exercise(input);
    } catch (error) {
      assert.fail(`FUZZ_SEED=${seed} run ${i}: uncaught ${(error as Error).stack}\ninput: ${JSON.stringify(input.toString('latin1'))}`);
    }
    try {
      parseMessage(input);
      parsed++;
    } catch {
      // counted below
    }
  }
  // Mutations must still leave a fair share parseable, or the fuzz no longer reaches deep code.
  assert.ok(parsed > runs * 0.1, `only ${parsed} of ${runs} mutated inputs parsed`);
});
