/**
 * What the proxy shows of itself: plain data, safe through `JSON.stringify`/`JSON.parse` (no
 * `Infinity`, no `Map`, no class instance), so a snapshot taken in one process can be read in
 * another. Admin, metrics and the dashboard render from this and nothing else.
 *
 * Combining the snapshots of several processes that proxy to the same targets (one per worker):
 * - counters add: `counts.*`, `requests.*`, `transitions.*`, `latency.counts[i]`, `latency.sum`,
 *   `latency.count`, `connections.opened`, `statusRetries`;
 * - gauges of work in progress add too: `inFlight`, `connections.busy`, `connections.idle`;
 * - the breaker's state (`state`, `failures`, `openedAt`, `nextAttemptAt`, `openPeriod`,
 *   `reopenings`, `probes`, `forced`) is not summed: with one breaker for the whole cluster it is
 *   that breaker's, taken from whichever process holds it;
 * - health (`health`): each process checks its targets itself, so `health.checks.*` add and the
 *   rest is each process's own view (a target is in rotation where that process's checks say so);
 * - configuration (`failureThreshold`, `resetTimeout`, `latency.bounds`, `routes`) is the same in
 *   every process; `time` is the newest of the snapshots;
 * - `retryAfterAt` is each process's own (the target told that process): take the latest;
 * - quantiles are never summed: derive them from the summed buckets with `latencyQuantile()`.
 */
import type { BreakerSnapshot } from '../breaker/breaker.js';

/**
 * How one proxied request ended, as counted per target. `timeout`: no response head within the
 * call timeout (or the target stopped reading the request body); `body_timeout`: the response
 * body stalled past the idle timeout; `aborted`: the client left, or stalled its own side;
 * `fallback`: the target refused it (open or at its limit) like `rejected`/`limited`, and the
 * route's fallback answered it.
 */
export const OUTCOMES = ['success', 'failure_status', 'error', 'timeout', 'body_timeout', 'rejected', 'limited', 'aborted', 'fallback'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * Transitions the state machine can make, always in a snapshot (0 until seen) so that `rate()` and
 * `increase()` over the metrics see a series from its first sample.
 */
export const TRANSITIONS = ['CLOSED>OPEN', 'OPEN>HALF_OPEN', 'HALF_OPEN>CLOSED', 'HALF_OPEN>OPEN', 'OPEN>CLOSED'] as const;

/** Upstream latency as a Prometheus-style histogram, non-cumulative so that processes' buckets add. */
export interface LatencySnapshot {
  /** Upper bounds of the buckets, in seconds, ascending. */
  bounds: number[];
  /** Observations per bucket: `counts[i]` fell in `(bounds[i-1], bounds[i]]`; the last slot is above every bound. */
  counts: number[];
  /** Sum of all observations, in seconds. */
  sum: number;
  /** Number of observations (the sum of `counts`). */
  count: number;
  /** Median estimated from the buckets, in seconds, or null with no observation. Derived: recompute after summing. */
  p50: number | null;
  /** 99th percentile estimated from the buckets, in seconds, or null. Derived: recompute after summing. */
  p99: number | null;
}

/** The target's keep-alive connections for proxied requests. */
export interface ConnectionsSnapshot {
  /** Open and carrying a request now. */
  busy: number;
  /** Open and waiting for the next request. */
  idle: number;
  /** Opened since the target was made. */
  opened: number;
}

/**
 * One upstream origin: its breaker (the breaker's own snapshot: state, failures, openedAt,
 * nextAttemptAt, openPeriod, reopenings, probes, forced, counts), its counters and its connections.
 */
export interface TargetSnapshot extends BreakerSnapshot {
  /** The origin, `protocol//host:port`, the key of everything per target. */
  target: string;
  /** Failures that open the circuit; null when only a failure-rate rule (or nothing) trips it. */
  failureThreshold: number | null;
  /** Ms the circuit stays OPEN before the first probe. */
  resetTimeout: number;
  /** Requests to this target in flight now. */
  inFlight: number;
  /** Requests by how they ended. */
  requests: Record<Outcome, number>;
  /** State transitions seen, keyed `FROM>TO` (e.g. `CLOSED>OPEN`); every possible one is present, 0 until seen. */
  transitions: Record<string, number>;
  latency: LatencySnapshot;
  connections: ConnectionsSnapshot;
  /** What active health checks found; null while checks are off for this target. */
  health: HealthSnapshot | null;
  /** Answers of this target dropped for a retry on another target (`retryOn`): a counter. */
  statusRetries: number;
  /** Wall-clock time (epoch ms) until which retries skip this target, as its `Retry-After` asked; null when none. */
  retryAfterAt: number | null;
}

/** A target's active health checks (`healthPath`): apart from its breaker, and shown beside it. */
export interface HealthSnapshot {
  /** `unknown` until the first check's result. */
  status: 'unknown' | 'healthy' | 'unhealthy';
  /** Health lets the target take traffic (its breaker must too): false while unhealthy, or new and not yet passed. */
  inRotation: boolean;
  /** Passing checks in a row. */
  passes: number;
  /** Failing checks in a row. */
  failures: number;
  /** Wall-clock time (epoch ms) of the last check's result, or null. */
  checkedAt: number | null;
  lastResult: 'pass' | 'fail' | null;
  /** Checks by result since the target was made. */
  checks: { passed: number; failed: number };
}

export interface RouteSnapshot {
  match: string;
  stripPrefix: boolean;
  timeout: number;
  /** The statuses counted as failures, as configured (e.g. `500-599`). */
  failureStatus: string;
  /** Origins of the route's targets, in order. */
  targets: string[];
  /** How requests are spread over the targets. */
  balance: 'round-robin' | 'least-request';
  /** Each target's weight, parallel to `targets`. */
  weights: number[];
  /** The statuses retried on another target (e.g. `502-504`), or null when off. */
  retryOn: string | null;
  /** The route's fallback: `static` (with its status), the fallback origins, or null. Configuration. */
  fallback: { kind: 'static'; status: number } | { kind: 'targets'; targets: string[] } | null;
  /** Requests the fallback answered (counter; adds across processes). */
  fallbacks: number;
  /** The queue at the concurrency limit, or null when the route has none. */
  queue: QueueSnapshot | null;
}

/** A route's queue at the concurrency limit. */
export interface QueueSnapshot {
  /** Requests allowed to wait at once (configuration). */
  limit: number;
  /** Ms a request waits at most (configuration). */
  timeout: number;
  /** Requests waiting now (gauge; adds across processes). */
  length: number;
  /** Requests that entered the queue (counter). */
  queued: number;
  /** Requests that waited the whole timeout and got the 503 or the fallback (counter). */
  timedOut: number;
}

export interface ProxySnapshot {
  /** Wall-clock time (epoch ms) the snapshot was taken. */
  time: number;
  /** Every target of the current configuration, shared ones once. */
  targets: TargetSnapshot[];
  routes: RouteSnapshot[];
  /** Client requests that arrived over the TLS listener, by protocol (counters); only when `listen()` serves TLS. */
  tlsRequests?: { 'http/1.1': number; h2: number };
}

/**
 * An estimate of quantile `q` (0-1), in seconds, by linear interpolation inside the bucket that
 * holds it; null with no observation. Works on summed histograms as on one process's.
 */
export function latencyQuantile(histogram: { bounds: ArrayLike<number>; counts: ArrayLike<number> }, q: number): number | null {
  const { bounds, counts } = histogram;
  let count = 0;
  for (let i = 0; i < counts.length; i++) count += counts[i]!;
  if (count === 0) return null;
  const rank = q * count;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const inBucket = counts[i]!;
    if (seen + inBucket >= rank && inBucket > 0) {
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      // Above the last bound there is no upper edge to interpolate to.
      const upper = i < bounds.length ? bounds[i]! : lower;
      return lower + (upper - lower) * ((rank - seen) / inBucket);
    }
    seen += inBucket;
  }
  return bounds[bounds.length - 1]!;
}
