/**
 * Request and error rates per target, from its monotonic outcome counters sampled once per
 * interval into a fixed-size ring: memory per target is bounded whatever the uptime, and the
 * dashboard's sparkline is the ring's per-interval differences.
 */
import { EventEmitter } from 'node:events';
import type { Outcome, ProxySnapshot, TargetSnapshot } from '../proxy/snapshot.js';
import { validateNumber } from '../validate.js';
import type { SnapshotSource } from './observed.js';

/** Outcomes that mean the upstream failed the request. */
const ERROR_OUTCOMES: readonly Outcome[] = ['failure_status', 'error', 'timeout', 'body_timeout'];
/** Outcomes where the proxy refused the request itself (open circuit, concurrency limit). */
const REFUSED_OUTCOMES: readonly Outcome[] = ['rejected', 'limited'];

export interface RateSamplerOptions {
  /** Samples kept per target. @default 300 (5 minutes at 1 s) */
  capacity?: number;
  /** Ms between samples. @default 1000 */
  interval?: number;
  /** Ms over which `rates()` averages. @default 10_000 */
  window?: number;
  /** Monotonic clock in ms, for the rate arithmetic. @default performance.now */
  clock?: () => number;
}

/** One interval of one target: what happened between two samples. */
export interface RatePoint {
  /** Wall-clock time (epoch ms) of the interval's end. */
  t: number;
  requests: number;
  errors: number;
  rejected: number;
}

export interface Rates {
  /** Requests per second, refused ones included. */
  requestRate: number;
  /** Upstream failures (failure status, connection error, timeout) per second. */
  errorRate: number;
  /** Requests refused by the proxy (open circuit, concurrency limit) per second. */
  rejectRate: number;
  /** Upstream failures / requests that reached the upstream, 0-1; null when none did. */
  errorRatio: number | null;
}

interface Totals {
  requests: number;
  errors: number;
  rejected: number;
}

class Ring {
  readonly at: Float64Array;
  readonly wall: Float64Array;
  readonly requests: Float64Array;
  readonly errors: Float64Array;
  readonly rejected: Float64Array;
  /** Index of the oldest sample. */
  start = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.at = new Float64Array(capacity);
    this.wall = new Float64Array(capacity);
    this.requests = new Float64Array(capacity);
    this.errors = new Float64Array(capacity);
    this.rejected = new Float64Array(capacity);
  }

  push(at: number, wall: number, totals: Totals): void {
    const i = (this.start + this.size) % this.capacity;
    this.at[i] = at;
    this.wall[i] = wall;
    this.requests[i] = totals.requests;
    this.errors[i] = totals.errors;
    this.rejected[i] = totals.rejected;
    if (this.size < this.capacity) this.size++;
    else this.start = (this.start + 1) % this.capacity;
  }

  /** Physical index of the k-th oldest sample. */
  index(k: number): number {
    return (this.start + k) % this.capacity;
  }
}

function totalsOf(target: TargetSnapshot): Totals {
  const outcomes = target.requests;
  let requests = 0;
  for (const key in outcomes) requests += outcomes[key as Outcome];
  let errors = 0;
  for (const key of ERROR_OUTCOMES) errors += outcomes[key];
  let rejected = 0;
  for (const key of REFUSED_OUTCOMES) rejected += outcomes[key];
  return { requests, errors, rejected };
}

export interface RateSamplerEvents {
  /** After every timed sample of every target, with the snapshot it read (listeners reuse it). */
  sample: [ProxySnapshot];
}

const ZERO_RATES: Rates = Object.freeze({ requestRate: 0, errorRate: 0, rejectRate: 0, errorRatio: null });

/**
 * Samples every target of a proxy's snapshot once per `interval` on one unref'd timer. Rings are
 * keyed by origin and dropped when a sample no longer has the target; a counter that went down
 * (the target was dropped and added again between two samples) counts as no traffic, never as a
 * negative rate.
 */
export class RateSampler extends EventEmitter<RateSamplerEvents> {
  readonly capacity: number;
  readonly interval: number;
  readonly window: number;
  readonly #proxy: SnapshotSource;
  readonly #clock: () => number;
  readonly #rings = new Map<string, Ring>();
  #timer: NodeJS.Timeout | undefined;

  constructor(proxy: SnapshotSource, options: RateSamplerOptions = {}) {
    super();
    this.#proxy = proxy;
    this.capacity = positiveInteger(options.capacity ?? 300, 'capacity');
    this.interval = positiveInteger(options.interval ?? 1000, 'interval');
    this.window = positiveInteger(options.window ?? 10_000, 'window');
    this.#clock = options.clock ?? (() => performance.now());
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Takes a first sample now and one every `interval`; the timer never keeps the process alive. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.sample();
    this.#timer = setInterval(() => {
      const snapshot = this.sample();
      if (this.listenerCount('sample') > 0) this.emit('sample', snapshot);
    }, this.interval);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Samples every target now; forgets targets the proxy no longer has. Returns the snapshot it read. */
  sample(wall = Date.now()): ProxySnapshot {
    const at = this.#clock();
    const seen = new Set<string>();
    const snapshot = this.#proxy.snapshot();
    for (const target of snapshot.targets) {
      seen.add(target.target);
      let ring = this.#rings.get(target.target);
      if (ring === undefined) {
        ring = new Ring(this.capacity);
        this.#rings.set(target.target, ring);
      }
      ring.push(at, wall, totalsOf(target));
    }
    for (const origin of this.#rings.keys()) if (!seen.has(origin)) this.#rings.delete(origin);
    return snapshot;
  }

  /** `origin`'s rates over the last `window` ms of samples: zero until two samples exist. */
  rates(origin: string): Rates {
    const ring = this.#rings.get(origin);
    if (ring === undefined || ring.size < 2) return ZERO_RATES;
    const newest = ring.index(ring.size - 1);
    let k = ring.size - 2;
    // The oldest sample still inside the window (at least the one before the newest).
    while (k > 0 && ring.at[newest]! - ring.at[ring.index(k - 1)]! <= this.window) k--;
    const base = ring.index(k);
    const seconds = (ring.at[newest]! - ring.at[base]!) / 1000;
    if (seconds <= 0) return ZERO_RATES;
    const requests = Math.max(0, ring.requests[newest]! - ring.requests[base]!);
    const errors = Math.max(0, ring.errors[newest]! - ring.errors[base]!);
    const rejected = Math.max(0, ring.rejected[newest]! - ring.rejected[base]!);
    const reached = requests - rejected;
    return {
      requestRate: requests / seconds,
      errorRate: errors / seconds,
      rejectRate: rejected / seconds,
      errorRatio: reached > 0 ? Math.min(1, errors / reached) : null,
    };
  }

  /** What happened in each interval of the ring, oldest first: at most `capacity - 1` points. */
  history(origin: string): RatePoint[] {
    const ring = this.#rings.get(origin);
    const points: RatePoint[] = [];
    if (ring === undefined) return points;
    for (let k = 1; k < ring.size; k++) points.push(pointAt(ring, ring.index(k - 1), ring.index(k)));
    return points;
  }

  /** The last interval, or undefined before two samples. */
  latest(origin: string): RatePoint | undefined {
    const ring = this.#rings.get(origin);
    if (ring === undefined || ring.size < 2) return undefined;
    return pointAt(ring, ring.index(ring.size - 2), ring.index(ring.size - 1));
  }
}

function pointAt(ring: Ring, before: number, after: number): RatePoint {
  return {
    t: ring.wall[after]!,
    requests: Math.max(0, ring.requests[after]! - ring.requests[before]!),
    errors: Math.max(0, ring.errors[after]! - ring.errors[before]!),
    rejected: Math.max(0, ring.rejected[after]! - ring.rejected[before]!),
  };
}

function positiveInteger(value: number, name: string): number {
  // A ring of one sample has no interval to measure a rate over.
  return validateNumber(value, name, { min: name === 'capacity' ? 2 : 1, integer: true });
}
