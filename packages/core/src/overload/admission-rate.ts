/**
 * How much new work a worker admits while it is overloaded: a rate (new requests per second),
 * steered by the worker's own overload signal, from which the shed fraction (`reduction`, RFC
 * 7339's `oc` value) follows as 1 - rate / offered rate.
 *
 * Why a rate and not a shed fraction driven by utilization: the refusals themselves cost CPU (an
 * INVITE read, a 503 sent, its ACK read), so past a few times capacity a loop that sheds every new
 * request is still busy all the time; a fraction that climbs while the loop is busy then sticks
 * at 100% and nothing is admitted (what the first measurements showed). A rate is what the
 * worker can finish: it falls by DECREASE from what was really admitted (a moving average) while the worker is
 * overloaded (at most once per DECREASE_HOLD_SAMPLES samples), climbs by INCREASE (plus INCREASE_ADD) while it is calm, and holds in between, so
 * it settles where the admitted calls plus the refusals of the rest just fit, whatever the
 * offered load. When the rate has covered everything offered for RELEASE_SAMPLES samples the
 * worker stops limiting (reduction 0).
 *
 * Where the rate starts: at the rate of new requests the worker carried in its calm samples
 * before the overload (`arrived`, a moving average, its recent peak kept), when there is one;
 * the first measured sample otherwise. Not only what it is known to have handled: over a trunk the
 * overload's first sample is often still calm (its reads not yet full) and its arrivals lift the
 * average (at 8x over TCP, 455 a second carried became a start of 899, the trace in
 * experiments/bench-overload-2026-12-07c). A start nearer the rate carried (538 there, that
 * sample's weight bounded) was measured and not kept: higher at 2x, lower at 4x and 8x in the
 * same rounds (experiments/bench-overload-2026-12-07d). Measuring the first rate
 * from the overload's own first samples set it near nothing: the worker is then working off the
 * backlog of the moments before it limited (responses of the calls it let in), reads few new
 * requests, and admits fewer still (a trace: 5 admitted in the first 100 ms at 2x over TCP, a
 * rate of 39 calls/s against a capacity of 889, and 3 s to climb back,
 * experiments/bench-overload-2026-12-07b). For the same reason the admitted rate is measured
 * only in samples in which the gate refused something (it limited what went on): where it did
 * not, what was admitted is what the worker happened to read.
 *
 * Pure and deterministic: fed one sample per interval (tests feed synthetic ones).
 */

/** One interval of what the worker saw. */
export interface AdmissionSample {
  /** Utilization or lag at or above its threshold: the worker is behind. */
  readonly overloaded: boolean;
  /** Clearly under the thresholds: room to admit more. Neither this nor `overloaded`: hold. */
  readonly calm: boolean;
  /** New requests (see message-class.ts) that arrived in the interval while limiting. */
  readonly offered: number;
  /** Of those, admitted (not shed). */
  readonly admitted: number;
  readonly elapsedMs: number;
  /**
   * New requests that arrived in the interval while not limiting, by a cheap guess from their
   * first bytes (mayBeNewWork): the load the worker carried. 0 or absent: not counted.
   */
  readonly arrived?: number;
}

/** Shed fraction when overload is first seen, before any rate has been measured. */
export const INITIAL_REDUCTION = 0.5;
/** Factor on the admitted rate per overloaded sample. */
export const DECREASE = 0.8;
/** Factor and addend (new requests per second) on the rate per calm sample. */
export const INCREASE = 1.1;
export const INCREASE_ADD = 2;
/** Samples after a decrease during which the rate is not decreased again. */
export const DECREASE_HOLD_SAMPLES = 3;
/** The rate never falls below this (new requests per second), so it can climb again. */
export const MIN_RATE = 1;
/** Calm samples whose rate covered the whole offered load after which limiting ends. */
export const RELEASE_SAMPLES = 10;
/** Weight of the newest sample in the offered and admitted rates' moving averages. */
const OFFERED_WEIGHT = 0.5;
const ADMITTED_WEIGHT = 0.3;
/** Weight of the newest calm sample in the carried rate's moving average. */
const CARRIED_WEIGHT = 0.2;
/**
 * Factor per sample on the carried rate's kept peak (halves in about 7 s at 100 ms samples): a
 * rate carried seconds before the overload is evidence of what fits; after a minute of light
 * load little is left, and limiting starts as with nothing carried.
 */
const CARRIED_PEAK_DECAY = 0.99;

export class AdmissionRate {
  #limiting = false;
  /** Admitted new requests per second; undefined until a sample while limiting has measured one. */
  #rate: number | undefined;
  #offeredRate = 0;
  #admittedRate = 0;
  #covered = 0;
  #sinceDecrease = 0;
  #reduction = 0;
  /** Moving average of the new requests per second carried in calm samples while not limiting. */
  #carriedAverage = 0;
  /** Its recent peak (decaying): where the rate starts when an overload begins. */
  #carriedPeak = 0;

  /** The carried rate (new requests per second) an overload's limiting would start from; 0: none known. */
  get carried(): number {
    return this.#carriedPeak;
  }

  /** Whether the worker is limiting new work now. */
  get limiting(): boolean {
    return this.#limiting;
  }

  /** The admitted rate (new requests per second) while limiting, once measured. */
  get rate(): number | undefined {
    return this.#rate;
  }

  /** The fraction of new work to shed now, 0 to 1, in whole percents. */
  get reduction(): number {
    return this.#reduction;
  }

  update(sample: AdmissionSample): void {
    if (!this.#limiting) {
      if (!sample.overloaded) {
        this.#noteCarried(sample);
        return;
      }
      this.#limiting = true;
      this.#covered = 0;
      const carried = this.#carriedPeak;
      if (carried >= MIN_RATE) {
        // Start from what the worker carried before, known to fit (less the refusals' cost, which
        // the cuts find); the queue of the overload's first moments drains before a first cut.
        this.#rate = carried;
        this.#admittedRate = carried;
        const arrivedRate = ((sample.arrived ?? 0) * 1000) / Math.max(sample.elapsedMs, 1);
        this.#offeredRate = Math.max(arrivedRate, carried);
        this.#sinceDecrease = 0;
        this.#reduction = this.#shareToShed();
        return;
      }
      // Nothing carried is known: shed a first share, and measure from the next sample on.
      this.#rate = undefined;
      this.#offeredRate = 0;
      this.#admittedRate = 0;
      this.#sinceDecrease = DECREASE_HOLD_SAMPLES;
      this.#reduction = INITIAL_REDUCTION;
      return;
    }
    const seconds = Math.max(sample.elapsedMs, 1) / 1000;
    const offeredRate = sample.offered / seconds;
    const admittedRate = sample.admitted / seconds;
    const first = this.#rate === undefined;
    this.#offeredRate = first ? offeredRate : OFFERED_WEIGHT * offeredRate + (1 - OFFERED_WEIGHT) * this.#offeredRate;
    // What was admitted says what fits only where the gate refused some (see above).
    const gateLimited = sample.admitted < sample.offered;
    if (first) this.#admittedRate = admittedRate;
    else if (gateLimited) this.#admittedRate = ADMITTED_WEIGHT * admittedRate + (1 - ADMITTED_WEIGHT) * this.#admittedRate;
    if (this.#sinceDecrease < DECREASE_HOLD_SAMPLES) this.#sinceDecrease++;
    if (sample.overloaded) {
      // A rate above what was really admitted says nothing about what fits: start from the latter
      // (a moving average, so that one short interval does not undo seconds of climbing). After
      // a decrease the queue needs a few samples to drain before its effect shows: no second cut
      // before then (as CoDel waits an interval), or the rate falls to nothing while the backlog
      // of the overload's first moments is worked off.
      if (this.#rate === undefined || this.#sinceDecrease >= DECREASE_HOLD_SAMPLES) {
        const base = this.#rate === undefined ? admittedRate : Math.min(this.#rate, this.#admittedRate);
        this.#rate = Math.max(MIN_RATE, base * DECREASE);
        this.#sinceDecrease = 0;
      }
      this.#covered = 0;
    } else {
      if (this.#rate === undefined) this.#rate = Math.max(MIN_RATE, admittedRate);
      if (sample.calm) this.#rate = this.#rate * INCREASE + INCREASE_ADD;
      if (this.#rate >= this.#offeredRate) this.#covered++;
      else this.#covered = 0;
      if (this.#covered >= RELEASE_SAMPLES) {
        this.#limiting = false;
        this.#rate = undefined;
        this.#reduction = 0;
        return;
      }
    }
    this.#reduction = this.#shareToShed();
  }

  /** 1 - rate / offered rate, in whole percents (what `oc` carries). */
  #shareToShed(): number {
    const rate = this.#rate ?? 0;
    const share = this.#offeredRate <= 0 ? 0 : 1 - rate / this.#offeredRate;
    return Math.min(1, Math.max(0, Math.round(share * 100) / 100));
  }

  /** A sample while not limiting: the new requests it carried, when it was calm. */
  #noteCarried(sample: AdmissionSample): void {
    this.#carriedPeak *= CARRIED_PEAK_DECAY;
    if (!sample.calm || sample.arrived === undefined) return;
    const rate = (sample.arrived * 1000) / Math.max(sample.elapsedMs, 1);
    this.#carriedAverage = CARRIED_WEIGHT * rate + (1 - CARRIED_WEIGHT) * this.#carriedAverage;
    if (this.#carriedAverage > this.#carriedPeak) this.#carriedPeak = this.#carriedAverage;
  }
}
