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
 * worker stops limiting (reduction 0, nothing counted per message).
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

export class AdmissionRate {
  #limiting = false;
  /** Admitted new requests per second; undefined until a sample while limiting has measured one. */
  #rate: number | undefined;
  #offeredRate = 0;
  #admittedRate = 0;
  #covered = 0;
  #sinceDecrease = 0;
  #reduction = 0;

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
      if (!sample.overloaded) return;
      // Nothing was counted while not limiting (the calm path costs nothing): shed a first
      // share, and measure from the next sample on.
      this.#limiting = true;
      this.#rate = undefined;
      this.#offeredRate = 0;
      this.#admittedRate = 0;
      this.#covered = 0;
      this.#sinceDecrease = DECREASE_HOLD_SAMPLES;
      this.#reduction = INITIAL_REDUCTION;
      return;
    }
    const seconds = Math.max(sample.elapsedMs, 1) / 1000;
    const offeredRate = sample.offered / seconds;
    const admittedRate = sample.admitted / seconds;
    const first = this.#rate === undefined;
    this.#offeredRate = first ? offeredRate : OFFERED_WEIGHT * offeredRate + (1 - OFFERED_WEIGHT) * this.#offeredRate;
    this.#admittedRate = first ? admittedRate : ADMITTED_WEIGHT * admittedRate + (1 - ADMITTED_WEIGHT) * this.#admittedRate;
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
    const share = this.#offeredRate <= 0 ? 0 : 1 - this.#rate / this.#offeredRate;
    // Whole percents (what `oc` carries).
    this.#reduction = Math.min(1, Math.max(0, Math.round(share * 100) / 100));
  }
}
