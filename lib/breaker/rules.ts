import { validateNumber, validateObject } from '../validate.js';

/**
 * Trip rules: when does a CLOSED circuit open? Each rule is a small strategy; the state machine in
 * `breaker.ts` is written once and asks its rules after every failure. Rules see only completed
 * calls: rejections (the circuit refused) never reach them, so they cannot inflate a denominator.
 */
export interface TripRule {
  /**
   * Whether the rule needs the current time. Reading a clock costs ~50 ns on Node 20, more than
   * the rest of a closed breaker's bookkeeping, so the breaker reads it only for rules that say so.
   */
  readonly timed: boolean;
  /** A call succeeded. `now` is the breaker's clock when `timed`, otherwise 0. */
  success(now: number): void;
  /**
   * A call failed. `consecutive` is the breaker's count of consecutive failures, this one
   * included. Returns true when the circuit should open.
   */
  failure(now: number, consecutive: number): boolean;
  /** Forget everything (the circuit closed or opened). */
  reset(): void;
}

/** Opens after `threshold` failures in a row; any success starts the count again. */
export class ConsecutiveFailures implements TripRule {
  readonly timed = false;
  readonly threshold: number;

  constructor(threshold: number) {
    this.threshold = validateNumber(threshold, 'threshold', { min: 1, integer: true, infinite: true });
  }

  success(): void {}

  failure(_now: number, consecutive: number): boolean {
    return consecutive >= this.threshold;
  }

  reset(): void {}
}

export interface FailureRateOptions {
  /** Open when at least this percentage (0-100] of the calls in the window failed. */
  percentage: number;
  /** Length of the sliding window in ms. */
  window: number;
  /** No verdict until at least this many calls completed in the window. */
  minRequests: number;
  /** How many buckets the window is split into; the window slides one bucket at a time. @default 10 */
  buckets?: number;
}

/**
 * Opens when, within a sliding time window, at least `minRequests` calls completed and at least
 * `percentage`% of them failed. Catches a target that fails every other request, which a
 * consecutive count never sees (istio/api#3766).
 *
 * The window is a ring of time buckets. Each bucket remembers which time slice it holds, and a
 * bucket from an older slice counts as empty, so the window is right after any idle gap
 * (cockatiel#64 counted stale buckets). Totals are summed from the buckets when asked instead of
 * kept as running sums, so they cannot drift or go negative (resilience4j#1335).
 */
export class FailureRate implements TripRule {
  readonly timed = true;
  readonly percentage: number;
  readonly minRequests: number;
  readonly window: number;
  readonly #bucketSize: number;
  readonly #slice: Float64Array;
  readonly #successes: Uint32Array;
  readonly #failures: Uint32Array;

  constructor(options: FailureRateOptions) {
    // The class is public: bad values would otherwise surface as NaN buckets or a typed-array RangeError.
    validateObject(options, 'options');
    this.percentage = validateNumber(options.percentage, 'percentage', { min: 0, exclusive: true, max: 100 });
    this.minRequests = validateNumber(options.minRequests, 'minRequests', { min: 1, integer: true });
    this.window = validateNumber(options.window, 'window', { min: 0, exclusive: true });
    const buckets = validateNumber(options.buckets ?? 10, 'buckets', { min: 1, integer: true });
    this.#bucketSize = options.window / buckets;
    this.#slice = new Float64Array(buckets).fill(-1);
    this.#successes = new Uint32Array(buckets);
    this.#failures = new Uint32Array(buckets);
  }

  success(now: number): void {
    this.#successes[this.#bucketFor(now)]!++;
  }

  failure(now: number): boolean {
    this.#failures[this.#bucketFor(now)]!++;
    const { calls, failures } = this.counts(now);
    return calls >= this.minRequests && failures * 100 >= this.percentage * calls;
  }

  /** Calls and failures inside the window that ends at `now`. */
  counts(now: number): { calls: number; failures: number } {
    const current = Math.floor(now / this.#bucketSize);
    const oldest = current - this.#slice.length + 1;
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < this.#slice.length; i++) {
      const slice = this.#slice[i]!;
      if (slice >= oldest && slice <= current) {
        failures += this.#failures[i]!;
        calls += this.#failures[i]! + this.#successes[i]!;
      }
    }
    return { calls, failures };
  }

  reset(): void {
    this.#slice.fill(-1);
    this.#successes.fill(0);
    this.#failures.fill(0);
  }

  #bucketFor(now: number): number {
    const slice = Math.floor(now / this.#bucketSize);
    const index = ((slice % this.#slice.length) + this.#slice.length) % this.#slice.length;
    if (this.#slice[index] !== slice) {
      this.#slice[index] = slice;
      this.#successes[index] = 0;
      this.#failures[index] = 0;
    }
    return index;
  }
}
