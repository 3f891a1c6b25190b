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
   * A call succeeded, but slowly (it took longer than the breaker's `slowCallDuration`). Returns
   * true when the circuit should open. A rule without this method hears `success()` instead.
   */
  slowSuccess?(now: number): boolean;
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
 * Calls completed in a sliding time window, counted by kind. The window is a ring of time
 * buckets. Each bucket remembers which time slice it holds, and a bucket from an older slice
 * counts as empty, so the window is right after any idle gap (cockatiel#64 counted stale
 * buckets). Totals are summed from the buckets when asked instead of kept as running sums, so
 * they cannot drift or go negative (resilience4j#1335).
 */
class CallWindow {
  readonly #bucketSize: number;
  readonly #slice: Float64Array;
  /** Calls per bucket of each kind: 0 plain successes, 1 failures, 2 slow successes. */
  readonly #kinds: [Uint32Array, Uint32Array, Uint32Array];

  constructor(window: number, buckets: number) {
    this.#bucketSize = window / buckets;
    this.#slice = new Float64Array(buckets).fill(-1);
    this.#kinds = [new Uint32Array(buckets), new Uint32Array(buckets), new Uint32Array(buckets)];
  }

  add(now: number, kind: 0 | 1 | 2): void {
    this.#kinds[kind][this.#bucketFor(now)]!++;
  }

  /** Calls of every kind, failures and slow successes inside the window that ends at `now`. */
  counts(now: number): { calls: number; failures: number; slow: number } {
    const current = Math.floor(now / this.#bucketSize);
    const oldest = current - this.#slice.length + 1;
    const [successes, failed, slowed] = this.#kinds;
    let calls = 0;
    let failures = 0;
    let slow = 0;
    for (let i = 0; i < this.#slice.length; i++) {
      const slice = this.#slice[i]!;
      if (slice >= oldest && slice <= current) {
        failures += failed[i]!;
        slow += slowed[i]!;
        calls += failed[i]! + successes[i]! + slowed[i]!;
      }
    }
    return { calls, failures, slow };
  }

  reset(): void {
    this.#slice.fill(-1);
    for (const kind of this.#kinds) kind.fill(0);
  }

  #bucketFor(now: number): number {
    const slice = Math.floor(now / this.#bucketSize);
    const index = ((slice % this.#slice.length) + this.#slice.length) % this.#slice.length;
    if (this.#slice[index] !== slice) {
      this.#slice[index] = slice;
      for (const kind of this.#kinds) kind[index] = 0;
    }
    return index;
  }
}

/** Checks the options shared by the window rules; the classes are public, so bad values would otherwise surface as NaN buckets. */
function windowOptions(options: FailureRateOptions): { percentage: number; minRequests: number; window: number; buckets: number } {
  validateObject(options, 'options');
  return {
    percentage: validateNumber(options.percentage, 'percentage', { min: 0, exclusive: true, max: 100 }),
    minRequests: validateNumber(options.minRequests, 'minRequests', { min: 1, integer: true }),
    window: validateNumber(options.window, 'window', { min: 0, exclusive: true }),
    buckets: validateNumber(options.buckets ?? 10, 'buckets', { min: 1, integer: true }),
  };
}

/**
 * Opens when, within a sliding time window, at least `minRequests` calls completed and at least
 * `percentage`% of them failed. Catches a target that fails every other request, which a
 * consecutive count never sees (istio/api#3766). A slow success is a success here.
 */
export class FailureRate implements TripRule {
  readonly timed = true;
  readonly percentage: number;
  readonly minRequests: number;
  readonly window: number;
  readonly #calls: CallWindow;

  constructor(options: FailureRateOptions) {
    const { percentage, minRequests, window, buckets } = windowOptions(options);
    this.percentage = percentage;
    this.minRequests = minRequests;
    this.window = window;
    this.#calls = new CallWindow(window, buckets);
  }

  success(now: number): void {
    this.#calls.add(now, 0);
  }

  failure(now: number): boolean {
    this.#calls.add(now, 1);
    const { calls, failures } = this.#calls.counts(now);
    return calls >= this.minRequests && failures * 100 >= this.percentage * calls;
  }

  /** Calls and failures inside the window that ends at `now`. */
  counts(now: number): { calls: number; failures: number } {
    const { calls, failures } = this.#calls.counts(now);
    return { calls, failures };
  }

  reset(): void {
    this.#calls.reset();
  }
}

/**
 * Opens when, within a sliding time window, at least `minRequests` calls completed and at least
 * `percentage`% of them were slow (resilience4j's slowCallRateThreshold): a target that answers
 * every request, but in seconds, is as good as down for its callers. What "slow" means is the
 * caller's to say (`Ticket.slowSuccess()`); a failure counts as a call, not as a slow one.
 */
export class SlowCallRate implements TripRule {
  readonly timed = true;
  readonly percentage: number;
  readonly minRequests: number;
  readonly window: number;
  readonly #calls: CallWindow;

  constructor(options: FailureRateOptions) {
    const { percentage, minRequests, window, buckets } = windowOptions(options);
    this.percentage = percentage;
    this.minRequests = minRequests;
    this.window = window;
    this.#calls = new CallWindow(window, buckets);
  }

  success(now: number): void {
    this.#calls.add(now, 0);
  }

  slowSuccess(now: number): boolean {
    this.#calls.add(now, 2);
    const { calls, slow } = this.#calls.counts(now);
    return calls >= this.minRequests && slow * 100 >= this.percentage * calls;
  }

  failure(now: number): boolean {
    this.#calls.add(now, 1);
    return false;
  }

  /** Calls and slow calls inside the window that ends at `now`. */
  counts(now: number): { calls: number; slow: number } {
    const { calls, slow } = this.#calls.counts(now);
    return { calls, slow };
  }

  reset(): void {
    this.#calls.reset();
  }
}
