import { randomBytes } from 'node:crypto';
import { readRegisterFilter, registerFilterProgram, type FilterNote } from './register-filter.js';

/** What the shedder counts (in ProxyCounters, on --metrics). */
export interface KernelShedderCounters {
  /** Filters the kernel took: a share of REGISTERs set, changed or removed. */
  overloadKernelFilters: number;
  /** Filters the kernel did not take (the worker then reads every REGISTER). */
  overloadKernelFilterFailures: number;
}

/** What the shedder needs of a socket filter (socket-filter.ts; tests pass their own). */
export interface SocketFilterControl {
  attach(program: Buffer): boolean;
  detach(): boolean;
  /** The socket's program now, whoever attached it (readSocketFilter); undefined when it cannot be read. */
  read?(): Buffer | undefined;
}

/**
 * Of the REGISTERs that reach the worker while it limits, about this many times its admitted
 * rate: enough that the gate still refuses some in every sample (the admitted rate is measured
 * only then, AdmissionRate) and has REGISTERs to admit when the rate climbs.
 */
export const HEADROOM = 2;
/** The kernel keeps at least this share of REGISTERs (a client's retransmissions then get through). */
export const MIN_PASS = 1 / 16;
/** Shares are steered in steps of this (the filter is replaced only when the step changes). */
const STEP = 1 / 64;
/** Weight of the newest sample in the moving average of REGISTERs offered. */
const OFFERED_WEIGHT = 0.5;
/** Another reader's note older than this is not counted (its reader died or stopped sampling). */
export const NOTE_TTL_MS = 500;
/** A reader's own note is written again at least this often while the socket is filtered. */
export const NOTE_REFRESH_MS = 200;

/**
 * Sheds REGISTERs over UDP in the kernel while the worker limits new work: a socket filter
 * (register-filter.ts) keeps a share of them, steered once a sample so that the worker reads
 * about HEADROOM times the rate it admits. Why: over UDP every request the worker refuses costs it
 * the datagram's read and classification, about 6 µs on 0.15 core, and a 503 about 17 µs more
 * (inferred from profiles, not measured apart);
 * past a few times capacity those refusals alone take what the admitted work needed
 * (experiments/bench-overload-2026-12-07e, e6-overload-udp-ab-2026-12-07). A datagram the kernel
 * drops costs the worker nothing (its cost falls where the kernel receives it: on loopback, the
 * sender's CPU). The rest is decided by the gate as before (AdmissionGate), 503s included.
 *
 * REGISTERs the worker reads are counted (`noteRegister`, while limiting); what is offered in all
 * is estimated as those over the share kept. When limiting ends the filter is removed.
 *
 * A socket several processes read (the process-pool's workers share one) has one filter, and the
 * kernel hands each datagram to whichever reader takes it first, so no reader's share is the
 * pool's. Each reader writes in the program what it wants (a FilterNote: its share, 1 when it does
 * not limit, and the REGISTERs a second it is offered) and reads the others' notes back at every
 * sample; the share set is theirs weighted by what each is offered: the REGISTERs the readers can
 * admit over those offered to them all, whatever their split. The filter stays while any reader
 * limits. No messages between the workers: the socket is the shared state (a read of its filter
 * a sample, about 2 µs with the parse, and a write while filtered, about 12 µs to build and attach,
 * both without a quota: experiments/e6-overload-pool-filter-notes-2026-12-07/filter-cost.txt; two
 * readers that write within the same moment lose one note until the next sample). A single
 * reader's note is its own share, as before.
 */
export class UdpKernelShedder {
  /** A shedder where `--overload on` and `--overload-kernel-filter` (on unless off) ask for one, else undefined. */
  static forSettings(overload: { readonly kernelFilter?: boolean } | undefined): UdpKernelShedder | undefined {
    return overload === undefined || overload.kernelFilter === false ? undefined : new UdpKernelShedder();
  }

  #filter: SocketFilterControl | undefined;
  readonly #reader = randomBytes(4).readUInt32LE(0);
  /** When this reader's note was last written (ms since the epoch; 0: not in the program). */
  #noteWrittenAt = 0;
  #pass = 1;
  #registers = 0;
  #offeredRate = 0;
  #counters: KernelShedderCounters = { overloadKernelFilters: 0, overloadKernelFilterFailures: 0 };

  /** The share of REGISTERs the kernel keeps now (1: no filter). */
  get passFraction(): number {
    return this.#pass;
  }

  /** Count into these (the worker's counters) from now on. */
  countInto(counters: KernelShedderCounters): void {
    this.#counters = counters;
  }

  /** The socket to filter (UdpTransport, once bound). */
  attach(filter: SocketFilterControl): void {
    this.#filter = filter;
  }

  /** The socket is closing: nothing more is filtered. */
  detach(): void {
    this.#filter = undefined;
    this.#pass = 1;
  }

  /** A REGISTER read while limiting (a field increment). */
  noteRegister(): void {
    this.#registers++;
  }

  /**
   * The REGISTERs the kernel dropped since the last sample, as estimated from those read and the
   * share kept: new work offered that the worker did not see, which the admission rate must count
   * (else it would see about HEADROOM times its rate offered and never end limiting).
   */
  droppedSinceSample(): number {
    return this.#pass >= 1 ? 0 : Math.round((this.#registers * (1 - this.#pass)) / this.#pass);
  }

  /**
   * One sample of the overload detector: whether it limits, its admitted rate, the interval, and
   * the new requests it counted while not limiting (mayBeNewWork; the weight of a note that asks
   * for no filter: taken as REGISTERs, the only requests the filter drops).
   */
  steer(limiting: boolean, admittedRate: number | undefined, elapsedMs: number, arrived = 0): void {
    const registers = this.#registers;
    this.#registers = 0;
    const filter = this.#filter;
    const seconds = Math.max(elapsedMs, 1) / 1000;
    // The socket's program now: another reader's, its notes, or undefined (unreadable or foreign:
    // this reader alone decides, as on a socket of its own).
    const there = filter === undefined ? undefined : readRegisterFilter(filter.read?.());
    // What the kernel kept over the interval: the share set or read at the last sample, or where
    // another reader has changed it since (at a moment not known), the mean of that and the share
    // there now. Either alone can be off by the whole change: a reader that read a share of 1/2
    // and divided by a new 1/16 would see eight times what it was offered.
    const startShare = this.#pass;
    if (there !== undefined) this.#pass = roundedShare(there.pass);
    const keptShare = (startShare + this.#pass) / 2;
    // The share this reader wants (1: none filtered) and what it is offered: its note.
    let wantedPass: number;
    let offeredRate: number;
    if (!limiting || admittedRate === undefined) {
      this.#offeredRate = 0;
      wantedPass = 1;
      offeredRate = arrived / seconds / keptShare;
    } else {
      const offered = registers / seconds / keptShare;
      this.#offeredRate = this.#offeredRate === 0 ? offered : OFFERED_WEIGHT * offered + (1 - OFFERED_WEIGHT) * this.#offeredRate;
      const wanted = this.#offeredRate <= 0 ? 1 : (HEADROOM * admittedRate) / this.#offeredRate;
      wantedPass = roundedShare(wanted);
      offeredRate = this.#offeredRate;
    }
    if (filter === undefined) return;
    const now = Date.now();
    const others = (there?.notes ?? []).filter((note) => note.reader !== this.#reader && now - note.at < NOTE_TTL_MS);
    if (wantedPass >= 1 && !others.some((note) => note.wantedPass < 1)) {
      this.#apply(1, []);
      return;
    }
    const own: FilterNote = { reader: this.#reader, wantedPass, offeredRate, at: now };
    const notes = [own, ...others];
    const pass = roundedShare(poolShare(notes));
    const ownThere = there?.notes.find((note) => note.reader === this.#reader);
    // Where the program cannot be read back no other reader's note is known: written when the share changes.
    const stale = there !== undefined && (ownThere === undefined || ownThere.wantedPass !== wantedPass || now - this.#noteWrittenAt >= NOTE_REFRESH_MS);
    if (pass !== this.#pass || (pass < 1 && stale)) this.#apply(pass, notes);
  }

  #apply(pass: number, notes: readonly FilterNote[]): void {
    const filter = this.#filter;
    if (filter === undefined) return;
    if (pass >= 1 && this.#pass >= 1) return;
    const changed = pass !== this.#pass;
    const taken = pass >= 1 ? filter.detach() : filter.attach(registerFilterProgram(pass, notes));
    if (taken && changed) this.#counters.overloadKernelFilters++;
    else if (!taken && pass < 1) this.#counters.overloadKernelFilterFailures++;
    if (taken && pass < 1) this.#noteWrittenAt = Date.now();
    // A failed removal leaves nothing to remove (no filter was set).
    if (taken || pass >= 1) this.#pass = pass;
  }
}

/** A share within [MIN_PASS, 1], in steps of STEP. */
function roundedShare(share: number): number {
  return Math.min(1, Math.max(MIN_PASS, Math.round(share / STEP) * STEP));
}

/** The share for all the readers: theirs weighted by the REGISTERs each is offered (a plain mean when none is). */
function poolShare(notes: readonly FilterNote[]): number {
  let offered = 0;
  let kept = 0;
  for (const note of notes) {
    offered += note.offeredRate;
    kept += note.wantedPass * note.offeredRate;
  }
  if (offered > 0) return kept / offered;
  return notes.reduce((sum, note) => sum + note.wantedPass, 0) / Math.max(notes.length, 1);
}
