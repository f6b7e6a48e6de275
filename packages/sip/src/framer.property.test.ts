import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { StreamFramer, type FrameEvent } from './framer.js';
import { parseMessage } from './parser.js';
import { INVITE, RINGING } from './test-messages.js';

type Piece = { kind: 'message'; bytes: Buffer } | { kind: 'ping' } | { kind: 'pong' };

/** A SIP request with random extra headers and a random binary body of the declared length. */
const generatedMessage = fc
  .record({
    method: fc.constantFrom('INVITE', 'ACK', 'BYE', 'REGISTER', 'X-CUSTOM'),
    headers: fc.array(fc.tuple(fc.constantFrom('X-A', 'Subject', 's', 'X-Folded'), fc.stringMatching(/^[ -~]{0,40}$/)), { maxLength: 6 }),
    body: fc.uint8Array({ maxLength: 300 }),
    compactLength: fc.boolean(),
  })
  .map(({ method, headers, body, compactLength }) => {
    const lines = [`${method} sip:u@example.com SIP/2.0`, 'Via: SIP/2.0/TCP h;branch=z9hG4bKx'];
    for (const [name, value] of headers) lines.push(name === 'X-Folded' ? `${name}: a\r\n  ${value.trim()}` : `${name}: ${value.trim()}`);
    lines.push(`${compactLength ? 'l' : 'Content-Length'}: ${body.length}`, '', '');
    return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), Buffer.from(body)]);
  });

const piece: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(generatedMessage, fc.constant(INVITE), fc.constant(RINGING)).map((bytes) => ({ kind: 'message' as const, bytes })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'ping' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'pong' as const }) },
);

/** A stream of pieces; a pong is never last, since a lone trailing CRLF is held for more data. */
const stream = fc.array(piece, { minLength: 1, maxLength: 8 }).map((pieces) => {
  const last = pieces[pieces.length - 1];
  return last?.kind === 'pong' ? [...pieces, { kind: 'ping' as const }] : pieces;
});

function encode(pieces: Piece[]): Buffer {
  return Buffer.concat(pieces.map((p) => (p.kind === 'message' ? p.bytes : Buffer.from(p.kind === 'ping' ? '\r\n\r\n' : '\r\n'))));
}

function normalise(events: FrameEvent[]): string[] {
  return events.map((event) => (event.kind === 'message' ? `message:${event.bytes.toString('hex')}` : event.kind));
}

test('any split of a stream frames to the same messages and keep-alives', () => {
  fc.assert(
    fc.property(stream, fc.array(fc.nat(), { maxLength: 30 }), (pieces, cuts) => {
      // A pong directly before a ping would read as CRLF CRLF CRLF: a ping then a pong. Keep
      // pongs only where a message follows, as RFC 5626 peers send them.
      const clean = pieces.filter((p, i) => p.kind !== 'pong' || pieces[i + 1]?.kind === 'message');
      const bytes = encode(clean);
      const expected = normalise(clean.map((p) => (p.kind === 'message' ? { kind: 'message', bytes: p.bytes } : p)));
      const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
      const framer = new StreamFramer();
      const events: FrameEvent[] = [];
      let previous = 0;
      for (const point of [...points, bytes.length]) {
        events.push(...framer.push(bytes.subarray(previous, point)));
        previous = point;
      }
      assert.deepEqual(normalise(events), expected);
      assert.equal(framer.bufferedBytes, 0);
      for (const event of events) if (event.kind === 'message') parseMessage(event.bytes);
    }),
    { numRuns: 2000 },
  );
});
