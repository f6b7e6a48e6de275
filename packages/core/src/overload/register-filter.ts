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
 */

const BPF_LD_W_LEN = 0x80; // A = length of the datagram (with its UDP header)
const BPF_LD_W_ABS = 0x20; // A = 32 bits at k (network order)
const BPF_JEQ_K = 0x15;
const BPF_JGE_K = 0x35;
const BPF_RET_K = 0x06;
/** SKF_AD_OFF + SKF_AD_RANDOM: a load there gives a random 32-bit number. */
const LOAD_RANDOM = (-0x1000 + 56) >>> 0;
const UDP_HEADER = 8;
const REGI = 0x52454749; // 'REGI'
const STER = 0x53544552; // 'STER'
/** 'REGISTER ' and the UDP header: shorter datagrams are kept without a look. */
const SHORTEST = UDP_HEADER + 'REGISTER '.length;
const KEEP = 0xffffffff;
const DROP = 0;

/** The program (struct sock_filter[], host byte order) for a share of REGISTERs to keep, 0 to 1. */
export function registerFilterProgram(passFraction: number): Buffer {
  const pass = Math.min(1, Math.max(0, passFraction));
  // Kept when the random number is at or above the threshold: (1 - pass) of 2^32.
  const threshold = Math.min(0xffffffff, Math.round((1 - pass) * 2 ** 32));
  // [code, jump if true, jump if false, k]; a jump counts instructions after the next one.
  const program: Array<[number, number, number, number]> = [
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
