import { registerFilterProgram } from './register-filter.js';

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
 */
export class UdpKernelShedder {
  /** A shedder where `--overload on` and `--overload-kernel-filter` (on unless off) ask for one, else undefined. */
  static forSettings(overload: { readonly kernelFilter?: boolean } | undefined): UdpKernelShedder | undefined {
    return overload === undefined || overload.kernelFilter === false ? undefined : new UdpKernelShedder();
  }

  #filter: SocketFilterControl | undefined;
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

  /** One sample of the overload detector: whether it limits, its admitted rate, the interval. */
  steer(limiting: boolean, admittedRate: number | undefined, elapsedMs: number): void {
    const registers = this.#registers;
    this.#registers = 0;
    if (!limiting || admittedRate === undefined) {
      this.#offeredRate = 0;
      this.#apply(1);
      return;
    }
    const offered = (registers * 1000) / Math.max(elapsedMs, 1) / this.#pass;
    this.#offeredRate = this.#offeredRate === 0 ? offered : OFFERED_WEIGHT * offered + (1 - OFFERED_WEIGHT) * this.#offeredRate;
    const wanted = this.#offeredRate <= 0 ? 1 : (HEADROOM * admittedRate) / this.#offeredRate;
    this.#apply(Math.min(1, Math.max(MIN_PASS, Math.round(wanted / STEP) * STEP)));
  }

  #apply(pass: number): void {
    if (pass === this.#pass) return;
    const filter = this.#filter;
    if (filter === undefined) return;
    const taken = pass >= 1 ? filter.detach() : filter.attach(registerFilterProgram(pass));
    if (taken) this.#counters.overloadKernelFilters++;
    else if (pass < 1) this.#counters.overloadKernelFilterFailures++;
    // A failed removal leaves nothing to remove (no filter was set).
    if (taken || pass >= 1) this.#pass = pass;
  }
}
