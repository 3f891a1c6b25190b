/**
 * The JSON the admin server answers with: one shape per target, shared by `GET /breakers`, the
 * SSE `stats` event and the manual-control answers, so the dashboard reads one format.
 */
import type { BreakerCounts, CircuitState } from '../breaker/breaker.js';
import type { Proxy, RouteSnapshot } from '../proxy/proxy.js';
import type { Outcome, Target } from '../proxy/target.js';
import type { EventHub, TransitionRecord } from './events.js';
import type { RatePoint, RateSampler, Rates } from './rates.js';

export interface TargetView {
  target: string;
  state: CircuitState;
  /** Consecutive failures counted while CLOSED (kept while OPEN to show why it opened). */
  failures: number;
  failureThreshold: number;
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

function routesByTarget(proxy: Proxy): Map<Target, string[]> {
  const map = new Map<Target, string[]>();
  for (const route of proxy.routes.routes) {
    for (const target of route.targets) {
      const names = map.get(target);
      if (names === undefined) map.set(target, [route.name]);
      else if (!names.includes(route.name)) names.push(route.name);
    }
  }
  return map;
}

const ms = (seconds: number | null): number | null => (seconds === null ? null : Math.round(seconds * 1e6) / 1e3);

export function targetView(target: Target, sampler: RateSampler, routes: string[]): TargetView {
  const snapshot = target.breaker.snapshot();
  return {
    target: target.origin,
    state: snapshot.state,
    failures: snapshot.failures,
    failureThreshold: target.breaker.options.failureThreshold,
    resetTimeout: target.breaker.options.resetTimeout,
    openedAt: snapshot.openedAt,
    nextAttemptAt: snapshot.nextAttemptAt,
    openPeriod: snapshot.openPeriod,
    forced: snapshot.forced,
    probes: snapshot.probes,
    inFlight: target.inFlight,
    counts: snapshot.counts,
    requests: { ...target.outcomes },
    rates: sampler.rates(target),
    latency: { p50Ms: ms(target.latency.quantile(0.5)), p99Ms: ms(target.latency.quantile(0.99)), count: target.latency.count },
    routes,
  };
}

export function breakersView(proxy: Proxy, sampler: RateSampler, hub: EventHub): BreakersView {
  const routes = routesByTarget(proxy);
  return {
    time: Date.now(),
    targets: [...proxy.registry.values()].map((target) => ({
      ...targetView(target, sampler, routes.get(target) ?? []),
      history: sampler.history(target),
      transitions: hub.recent(target.origin),
    })),
    routes: proxy.snapshot().routes,
  };
}

export function statsView(proxy: Proxy, sampler: RateSampler): StatsView {
  const routes = routesByTarget(proxy);
  return {
    time: Date.now(),
    targets: [...proxy.registry.values()].map((target) => ({
      ...targetView(target, sampler, routes.get(target) ?? []),
      point: sampler.latest(target) ?? null,
    })),
  };
}
