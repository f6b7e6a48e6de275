import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { attachSocketFilter, datagramSocketFd, detachSocketFilter, readSocketFilter, SOCKET_FILTER_PLATFORM } from '../transport/socket-filter.js';
import { MAX_NOTES, readRegisterFilter, registerFilterProgram, type FilterNote } from './register-filter.js';

const linux = SOCKET_FILTER_PLATFORM;
const REGISTER = 'REGISTER sip:example.com SIP/2.0\r\nCall-ID: a\r\n\r\n';

/** Sends each datagram in `messages` to a fresh socket filtered by `program` and says which arrived (first words, counted). */
async function throughFilter(program: Buffer, messages: string[]): Promise<Map<string, number>> {
  const receiver = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  const sender = dgram.createSocket('udp4');
  const arrived = new Map<string, number>();
  let total = 0;
  receiver.on('message', (bytes) => {
    total++;
    const word = bytes.toString('latin1').split(/[ \r]/)[0] ?? '';
    arrived.set(word, (arrived.get(word) ?? 0) + 1);
  });
  try {
    await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
    const fd = datagramSocketFd(receiver);
    assert.ok(fd !== undefined, 'the bound socket has a file descriptor');
    assert.equal(attachSocketFilter(fd, program), true, 'the kernel took the program');
    const port = receiver.address().port;
    // The marker, last, is kept by every program: once it is read, everything before it was.
    for (const message of [...messages, 'END']) {
      await new Promise<void>((resolve, reject) => sender.send(Buffer.from(message, 'latin1'), port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
    }
    const deadline = Date.now() + 5000;
    while (!arrived.has('END') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(arrived.has('END'), `the marker arrived (${total} datagrams read)`);
    return arrived;
  } finally {
    sender.close();
    receiver.close();
  }
}

test('a share of 0 drops every REGISTER in the kernel and keeps everything else, short datagrams too', { skip: !linux && 'Linux socket filters' }, async () => {
  const arrived = await throughFilter(registerFilterProgram(0), [
    REGISTER,
    'INVITE sip:bob@example.com SIP/2.0\r\n\r\n',
    'SIP/2.0 200 OK\r\n\r\n',
    'REGISTEX sip:example.com SIP/2.0\r\n\r\n',
    'register sip:example.com SIP/2.0\r\n\r\n',
    'REGISTER',
    '\r\n\r\n',
    '',
    REGISTER,
  ]);
  assert.equal(arrived.get('REGISTER'), 1, 'only the 8-byte "REGISTER", too short to be a request');
  assert.equal(arrived.get('INVITE'), 1);
  assert.equal(arrived.get('SIP/2.0'), 1);
  assert.equal(arrived.get('REGISTEX'), 1);
  assert.equal(arrived.get('register'), 1, 'a method is case-sensitive (RFC 3261 §7.1)');
  assert.equal(arrived.get(''), 2, 'a keep-alive and an empty datagram');
});

test('a share of 1 keeps every REGISTER; a share of one half keeps about half', { skip: !linux && 'Linux socket filters' }, async () => {
  const all = await throughFilter(registerFilterProgram(1), Array.from({ length: 50 }, () => REGISTER));
  assert.equal(all.get('REGISTER'), 50);
  const half = await throughFilter(registerFilterProgram(0.5), Array.from({ length: 400 }, () => REGISTER));
  const kept = half.get('REGISTER') ?? 0;
  // Binomial(400, 0.5): a standard deviation of 10; these bounds are 8 of them away.
  assert.ok(kept > 120 && kept < 280, `kept ${kept} of 400`);
});

test('the program is ten instructions whatever the share, and a share out of range is clamped', () => {
  assert.equal(registerFilterProgram(0.3).length, 80);
  assert.deepEqual(registerFilterProgram(-1), registerFilterProgram(0));
  assert.deepEqual(registerFilterProgram(2), registerFilterProgram(1));
});

test('a program with notes keeps the same share of REGISTERs and every other datagram', { skip: !linux && 'Linux socket filters' }, async () => {
  const notes: FilterNote[] = [
    { reader: 1, wantedPass: 0.25, offeredRate: 900, at: Date.now() },
    { reader: 0xffffffff, wantedPass: 1, offeredRate: 0, at: Date.now() },
  ];
  const none = await throughFilter(registerFilterProgram(0, notes), ['INVITE sip:a@example.com SIP/2.0\r\n\r\n', ...Array.from({ length: 50 }, () => REGISTER)]);
  assert.equal(none.get('REGISTER'), undefined, 'a share of 0 keeps no REGISTER');
  assert.equal(none.get('INVITE'), 1);
  const half = await throughFilter(registerFilterProgram(0.5, notes), Array.from({ length: 400 }, () => REGISTER));
  const kept = half.get('REGISTER') ?? 0;
  assert.ok(kept > 120 && kept < 280, `kept ${kept} of 400`);
});

test('the share and the notes are read back from a program of registerFilterProgram, a share of 1 from none, nothing from any other', () => {
  const now = Date.now();
  for (const pass of [0, 1 / 64, 1 / 16, 0.25, 0.5, 63 / 64]) {
    const read = readRegisterFilter(registerFilterProgram(pass));
    assert.ok(read !== undefined && Math.abs(read.pass - pass) < 1e-9 && read.notes.length === 0, `${pass} read back as ${JSON.stringify(read)}`);
  }
  const notes: FilterNote[] = [
    { reader: 7, wantedPass: 0.25, offeredRate: 812.4, at: now - 120 },
    { reader: 0x89abcdef, wantedPass: 1, offeredRate: 40, at: now - 3000 },
  ];
  const read = readRegisterFilter(registerFilterProgram(0.375, notes));
  assert.ok(read !== undefined);
  assert.ok(Math.abs(read.pass - 0.375) < 1e-9);
  assert.deepEqual(read.notes.map((note) => [note.reader, note.wantedPass, note.offeredRate]), [[7, 0.25, 812], [0x89abcdef, 1, 40]]);
  // Kept to 10 ms ticks: each note is dated within 20 ms of when it was written.
  read.notes.forEach((note, index) => assert.ok(Math.abs(note.at - (notes[index] as FilterNote).at) <= 20, `${note.at} for ${(notes[index] as FilterNote).at}`));
  assert.deepEqual(readRegisterFilter(Buffer.alloc(0)), { pass: 1, notes: [] }, 'no filter keeps everything');
  const many = Array.from({ length: MAX_NOTES + 5 }, (_, reader) => ({ reader, wantedPass: 0.5, offeredRate: 1, at: now }));
  assert.equal(readRegisterFilter(registerFilterProgram(0.5, many))?.notes.length, MAX_NOTES, 'at most MAX_NOTES are carried');
  const other = registerFilterProgram(0.5);
  other.writeUInt16LE(0x06, 7 * 8); // a return where the threshold is compared
  assert.equal(readRegisterFilter(other), undefined, 'another program says nothing of REGISTERs');
  assert.equal(readRegisterFilter(registerFilterProgram(0.5, notes).subarray(0, 72)), undefined, 'a truncated one neither');
  assert.equal(readRegisterFilter(undefined), undefined, 'nor one that could not be read');
});

test('a socket\'s filter is read back from the kernel as attached, notes and all, and empty once removed', { skip: !linux && 'Linux socket filters' }, async () => {
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const fd = datagramSocketFd(socket);
    assert.ok(fd !== undefined);
    assert.deepEqual(readSocketFilter(fd), Buffer.alloc(0), 'a new socket has no filter');
    const notes = Array.from({ length: MAX_NOTES }, (_, reader) => ({ reader, wantedPass: 0.5, offeredRate: 100, at: Date.now() }));
    const program = registerFilterProgram(0.25, notes);
    assert.equal(attachSocketFilter(fd, program), true, 'the kernel takes a program with the most notes');
    assert.deepEqual(readSocketFilter(fd), program);
    assert.equal(readRegisterFilter(readSocketFilter(fd))?.notes.length, MAX_NOTES);
    assert.equal(detachSocketFilter(fd), true);
    assert.deepEqual(readSocketFilter(fd), Buffer.alloc(0));
    assert.equal(readSocketFilter(-1), undefined, 'no such socket');
  } finally {
    socket.close();
  }
});
