import { INSTRUCTION_BYTES } from '../transport/socket-filter.js';

/**
 * The kernel's share of shedding over UDP (UdpKernelShedder): a classic BPF program that keeps a
 * REGISTER datagram with probability `passFraction` (the kernel's own random number) and every
 * other datagram always. Only REGISTER, because it alone among new work is never sent inside a
 * dialog (RFC 3261 §10): an INVITE or SUBSCRIBE may be a re-INVITE or a refresh, which must always
 * be processed, and telling those apart needs the To tag, beyond a program without loops. A
 * REGISTER dropped here costs the worker nothing; its client retransmits it (Timer E), and a
 * retransmission passes with the same probability.
 *
 * At the socket filter a UDP datagram starts with its 8-byte UDP header; the method is at 8.
 *
 * Where several processes read one socket (the process-pool's), it has one filter, whichever of
 * them attached it, and the share must serve them all: each says in the program what it wants
 * (FilterNote), and each reads the others' back (SO_GET_FILTER, readRegisterFilter). The notes are
 * instructions the program jumps over: a jump, a marker, three loads of a constant per note.
 */

const BPF_LD_W_LEN = 0x80; // A = length of the datagram (with its UDP header)
const BPF_LD_W_ABS = 0x20; // A = 32 bits at k (network order)
const BPF_JEQ_K = 0x15;
const BPF_JGE_K = 0x35;
const BPF_RET_K = 0x06;
const BPF_JA = 0x05; // jump k instructions ahead
const BPF_LD_IMM = 0x00; // A = k (only read back here: the program jumps over these)
/** 'SBRF': the instruction after the jump that says the program carries notes. */
const NOTES_MARKER = 0x53425246;
const NOTE_INSTRUCTIONS = 3;
/** Notes a program carries at most (the first given: a writer puts its own first); readSocketFilter reads 128 instructions. */
export const MAX_NOTES = 32;
/** Instructions of the program proper (after the notes) and where its threshold is. */
const PROGRAM_INSTRUCTIONS = 10;
const THRESHOLD_AT = 7;
/** SKF_AD_OFF + SKF_AD_RANDOM: a load there gives a random 32-bit number. */
const LOAD_RANDOM = (-0x1000 + 56) >>> 0;
const UDP_HEADER = 8;
const REGI = 0x52454749; // 'REGI'
const STER = 0x53544552; // 'STER'
/** 'REGISTER ' and the UDP header: shorter datagrams are kept without a look. */
const SHORTEST = UDP_HEADER + 'REGISTER '.length;
const KEEP = 0xffffffff;
const DROP = 0;

/**
 * What one reader of the socket wants of the filter: the share of REGISTERs it would keep (1 when
 * it does not limit) and the REGISTERs a second it is offered (its weight), at `at` (ms since the
 * epoch; the program keeps it to 10 ms modulo 655 s, so a note read back is dated within the last
 * 655 s). `reader` tells readers apart (32 bits, drawn per reader).
 */
export interface FilterNote {
  readonly reader: number;
  readonly wantedPass: number;
  readonly offeredRate: number;
  readonly at: number;
}

/** The share a program keeps and the notes it carries (none for a program without them). */
export interface RegisterFilterState {
  readonly pass: number;
  readonly notes: readonly FilterNote[];
}

/** A note's time as the program keeps it: 10 ms ticks modulo 2^16. */
function noteTick(ms: number): number {
  return Math.floor(ms / 10) & 0xffff;
}

/**
 * The program (struct sock_filter[], host byte order) for a share of REGISTERs to keep, 0 to 1,
 * carrying `notes` (at most MAX_NOTES; the share in 1/64ths, the rate in whole REGISTERs a second).
 */
export function registerFilterProgram(passFraction: number, notes: readonly FilterNote[] = []): Buffer {
  const pass = Math.min(1, Math.max(0, passFraction));
  // Kept when the random number is at or above the threshold: (1 - pass) of 2^32.
  const threshold = Math.min(0xffffffff, Math.round((1 - pass) * 2 ** 32));
  const carried = notes.slice(0, MAX_NOTES);
  // [code, jump if true, jump if false, k]; a jump counts instructions after the next one.
  const noted: Array<[number, number, number, number]> =
    carried.length === 0
      ? []
      : [
          [BPF_JA, 0, 0, 1 + carried.length * NOTE_INSTRUCTIONS],
          [BPF_LD_IMM, 0, 0, NOTES_MARKER],
          ...carried.flatMap((note): Array<[number, number, number, number]> => [
            [BPF_LD_IMM, 0, 0, note.reader >>> 0],
            [BPF_LD_IMM, 0, 0, ((Math.round(Math.min(1, Math.max(0, note.wantedPass)) * 64) << 16) | noteTick(note.at)) >>> 0],
            [BPF_LD_IMM, 0, 0, Math.min(0xffffffff, Math.max(0, Math.round(note.offeredRate)))],
          ]),
        ];
  const program: Array<[number, number, number, number]> = [
    ...noted,
    [BPF_LD_W_LEN, 0, 0, 0], // 0
    [BPF_JGE_K, 0, 7, SHORTEST], // 1: too short for a REGISTER: keep (9)
    [BPF_LD_W_ABS, 0, 0, UDP_HEADER], // 2
    [BPF_JEQ_K, 0, 5, REGI], // 3: not 'REGI': keep (9)
    [BPF_LD_W_ABS, 0, 0, UDP_HEADER + 4], // 4
    [BPF_JEQ_K, 0, 3, STER], // 5: not 'STER': keep (9)
    [BPF_LD_W_ABS, 0, 0, LOAD_RANDOM], // 6
    [BPF_JGE_K, 1, 0, threshold], // 7: at or above the threshold: keep (9), else drop (8)
    [BPF_RET_K, 0, 0, DROP], // 8
    [BPF_RET_K, 0, 0, KEEP], // 9
  ];
  const bytes = Buffer.alloc(program.length * INSTRUCTION_BYTES);
  program.forEach(([code, jt, jf, k], index) => {
    const at = index * INSTRUCTION_BYTES;
    bytes.writeUInt16LE(code, at);
    bytes.writeUInt8(jt, at + 2);
    bytes.writeUInt8(jf, at + 3);
    bytes.writeUInt32LE(k >>> 0, at + 4);
  });
  return bytes;
}

/**
 * What a program read back from a socket (readSocketFilter) keeps and carries: a program of
 * registerFilterProgram's gives its share and notes; no program (empty) keeps everything; anything
 * else (another program, or one that could not be read: undefined) is undefined, and then nothing
 * is known of what the socket keeps.
 */
export function readRegisterFilter(program: Buffer | undefined): RegisterFilterState | undefined {
  if (program === undefined || program.length % INSTRUCTION_BYTES !== 0) return undefined;
  const count = program.length / INSTRUCTION_BYTES;
  if (count === 0) return { pass: 1, notes: [] };
  const code = (index: number): number => program.readUInt16LE(index * INSTRUCTION_BYTES);
  const k = (index: number): number => program.readUInt32LE(index * INSTRUCTION_BYTES + 4);
  let start = 0;
  const notes: FilterNote[] = [];
  if (count > 2 && code(0) === BPF_JA && code(1) === BPF_LD_IMM && k(1) === NOTES_MARKER) {
    const carried = (k(0) - 1) / NOTE_INSTRUCTIONS;
    if (!Number.isInteger(carried) || carried < 0 || carried > MAX_NOTES) return undefined;
    start = 1 + k(0);
    const nowMs = Date.now();
    for (let n = 0; n < carried; n++) {
      const at = 2 + n * NOTE_INSTRUCTIONS;
      const packed = k(at + 1);
      // The tick's age, placed back before now: notes are read within a wrap of being written.
      const ageTicks = (noteTick(nowMs) - (packed & 0xffff)) & 0xffff;
      notes.push({ reader: k(at), wantedPass: (packed >>> 16) / 64, offeredRate: k(at + 2), at: nowMs - ageTicks * 10 });
    }
  }
  if (count - start !== PROGRAM_INSTRUCTIONS || code(start) !== BPF_LD_W_LEN || code(start + THRESHOLD_AT) !== BPF_JGE_K) return undefined;
  const threshold = k(start + THRESHOLD_AT);
  return { pass: 1 - threshold / 2 ** 32, notes };
}
