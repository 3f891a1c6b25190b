/**
 * The JSON the admin server answers with: one shape per target, shared by `GET /breakers`, the
 * SSE `stats` event and the manual-control answers, so the dashboard reads one format.
 */
import type { BreakerCounts, CircuitState } from '../breaker/breaker.js';
import { type HealthSnapshot, type Outcome, type ProxySnapshot, type RouteSnapshot, type TargetSnapshot } from '../proxy/snapshot.js';
import type { EventHub, TransitionRecord } from './events.js';
import type { RatePoint, RateSampler, Rates } from './rates.js';

export interface TargetView {
  target: string;
  state: CircuitState;
  /** Consecutive failures counted while CLOSED (kept while OPEN to show why it opened). */
  failures: number;
  /** Null when only a failure-rate rule trips the circuit. */
  failureThreshold: number | null;
  resetTimeout: number;
  /** Epoch ms the circuit last opened, or null. */
  openedAt: number | null;
  /** Epoch ms a probe will be let through, or null unless OPEN (and not forced). */
  nextAttemptAt: number | null;
  /** Length of the current (or last) open period in ms. */
  openPeriod: number;
  forced: boolean;
  probes: number;
  inFlight: number;
  /** The breaker's own counts (successes, failures, rejections, timeouts). */
  counts: BreakerCounts;
  /** Requests by how they ended. */
  requests: Record<Outcome, number>;
  rates: Rates;
  latency: { p50Ms: number | null; p99Ms: number | null; count: number };
  /** Routes (their `match`) that send requests to this target. */
  routes: string[];
  /** Active health checks, beside the breaker; null while off. */
  health: HealthSnapshot | null;
  /** Requests waiting now in the queues of those routes (for a slot on any of their targets). */
  queued: number;
  /** Answers of this target dropped for a retry on another target (`retryOn`). */
  statusRetries: number;
  /** Epoch ms until which retries skip this target (its `Retry-After`), or null. */
  retryAfterAt: number | null;
}

export interface BreakersView {
  /** Server wall-clock time (epoch ms), so a page can correct its own clock. */
  time: number;
  targets: (TargetView & { history: RatePoint[]; transitions: TransitionRecord[] })[];
  routes: RouteSnapshot[];
}

export interface StatsView {
  time: number;
  /** Each target with the interval just sampled (`point`), for sparklines. */
  targets: (TargetView & { point: RatePoint | null })[];
}

/** Route names (their `match`) per target origin. */
function routesByTarget(snapshot: ProxySnapshot): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const route of snapshot.routes) {
    for (const origin of route.targets) {
      const names = map.get(origin);
      if (names === undefined) map.set(origin, [route.match]);
      else if (!names.includes(route.match)) names.push(route.match);
    }
  }
  return map;
}

/** Requests waiting now in the queues of the routes of each target origin. */
function queuedByTarget(snapshot: ProxySnapshot): Map<string, number> {
  const map = new Map<string, number>();
  for (const route of snapshot.routes) {
    if (route.queue === null) continue;
    for (const origin of route.targets) map.set(origin, (map.get(origin) ?? 0) + route.queue.length);
  }
  return map;
}

const ms = (seconds: number | null): number | null => (seconds === null ? null : Math.round(seconds * 1e6) / 1e3);

export function targetView(target: TargetSnapshot, sampler: RateSampler, routes: string[], queued = 0): TargetView {
  return {
    target: target.target,
    state: target.state,
    failures: target.failures,
    failureThreshold: target.failureThreshold,
    resetTimeout: target.resetTimeout,
    openedAt: target.openedAt,
    nextAttemptAt: target.nextAttemptAt,
    openPeriod: target.openPeriod,
    forced: target.forced,
    probes: target.probes,
    inFlight: target.inFlight,
    counts: target.counts,
    requests: target.requests,
    rates: sampler.rates(target.target),
    // A summed snapshot recomputes its quantiles from the summed buckets (lib/cluster/aggregate.ts).
    latency: { p50Ms: ms(target.latency.p50), p99Ms: ms(target.latency.p99), count: target.latency.count },
    routes,
    health: target.health,
    queued,
    statusRetries: target.statusRetries,
    retryAfterAt: target.retryAfterAt,
  };
}

export function breakersView(snapshot: ProxySnapshot, sampler: RateSampler, hub: EventHub): BreakersView {
  const routes = routesByTarget(snapshot);
  const queued = queuedByTarget(snapshot);
  return {
    time: snapshot.time,
    targets: snapshot.targets.map((target) => ({
      ...targetView(target, sampler, routes.get(target.target) ?? [], queued.get(target.target)),
      history: sampler.history(target.target),
      transitions: hub.recent(target.target),
    })),
    routes: snapshot.routes,
  };
}

export function statsView(snapshot: ProxySnapshot, sampler: RateSampler): StatsView {
  const routes = routesByTarget(snapshot);
  const queued = queuedByTarget(snapshot);
  return {
    time: snapshot.time,
    targets: snapshot.targets.map((target) => ({
      ...targetView(target, sampler, routes.get(target.target) ?? [], queued.get(target.target)),
      point: sampler.latest(target.target) ?? null,
    })),
  };
}
