import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame, FrameDecoder } from './frame-codec.js';

const texts = (frames: Buffer[]): string[] => frames.map((frame) => frame.toString());

test('frames come back whole however the stream cuts them, headers included', () => {
  const stream = Buffer.concat([encodeFrame(Buffer.from('one')), encodeFrame(Buffer.alloc(0)), encodeFrame(Buffer.from('three'.repeat(100)))]);
  for (const size of [1, 2, 3, 5, 7, 64, stream.byteLength]) {
    const decoder = new FrameDecoder();
    const frames: Buffer[] = [];
    for (let offset = 0; offset < stream.byteLength; offset += size) frames.push(...decoder.push(stream.subarray(offset, offset + size)));
    assert.deepEqual(texts(frames), ['one', '', 'three'.repeat(100)], `chunks of ${size}`);
    assert.equal(decoder.pendingBytes, 0);
  }
});

test('a frame not yet complete is held, not returned', () => {
  const decoder = new FrameDecoder();
  const frame = encodeFrame(Buffer.from('hello'));
  assert.deepEqual(decoder.push(frame.subarray(0, 6)), []);
  assert.equal(decoder.pendingBytes, 6);
  assert.deepEqual(texts(decoder.push(frame.subarray(6))), ['hello']);
});

test('a length over the limit is a coded error at once, before its bytes arrive, and the decoder stays broken', () => {
  const decoder = new FrameDecoder(16);
  assert.deepEqual(texts(decoder.push(encodeFrame(Buffer.alloc(16, 0x61), 16))), ['a'.repeat(16)]);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(0xffffffff, 0);
  assert.throws(() => decoder.push(header), { code: 'ERR_SWITCHBOARD_WORKER_FRAME_TOO_LARGE' });
  assert.throws(() => decoder.push(encodeFrame(Buffer.from('x'))), { code: 'ERR_SWITCHBOARD_WORKER_FRAME_TOO_LARGE' });
  assert.equal(decoder.pendingBytes, 0, 'nothing of the hostile frame is kept');
});

test('a hostile header split across chunks is caught when complete', () => {
  const decoder = new FrameDecoder(1024);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(1025, 0);
  assert.deepEqual(decoder.push(header.subarray(0, 3)), []);
  assert.throws(() => decoder.push(header.subarray(3)), { code: 'ERR_SWITCHBOARD_WORKER_FRAME_TOO_LARGE' });
});

test('encoding refuses a payload over the limit', () => {
  assert.throws(() => encodeFrame(Buffer.alloc(17), 16), { code: 'ERR_SWITCHBOARD_WORKER_FRAME_TOO_LARGE' });
});
