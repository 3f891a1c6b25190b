/**
 * The cluster's snapshot: the primary's authoritative breaker state per target, with the counts
 * of every worker summed into it (the rules of lib/proxy/snapshot.ts). Workers that exited leave
 * their last counts behind (`Departed`), so that counters never go back when a worker is replaced.
 */
import { latencyQuantile, type ProxySnapshot, type TargetSnapshot } from '../proxy/snapshot.js';

/** Counters of one target, summed over workers. */
type Counters = Pick<TargetSnapshot, 'counts' | 'requests' | 'latency' | 'connections' | 'inFlight'>;

function zero(like: TargetSnapshot): Counters {
  return {
    counts: { admitted: 0, successes: 0, slowCalls: 0, failures: 0, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 },
    requests: Object.fromEntries(Object.keys(like.requests).map((key) => [key, 0])) as TargetSnapshot['requests'],
    latency: { bounds: [...like.latency.bounds], counts: like.latency.counts.map(() => 0), sum: 0, count: 0, p50: null, p99: null },
    connections: { busy: 0, idle: 0, opened: 0 },
    inFlight: 0,
  };
}

/** Adds `from`'s counters into `into`; gauges (in flight, connections open) only when `gauges`. */
function add(into: Counters, from: TargetSnapshot | Counters, gauges: boolean): void {
  for (const key of Object.keys(into.counts) as Array<keyof Counters['counts']>) into.counts[key] += from.counts[key] ?? 0;
  for (const key of Object.keys(from.requests) as Array<keyof Counters['requests']>) into.requests[key] = (into.requests[key] ?? 0) + from.requests[key];
  for (let i = 0; i < into.latency.counts.length; i++) into.latency.counts[i]! += from.latency.counts[i] ?? 0;
  into.latency.sum += from.latency.sum;
  into.latency.count += from.latency.count;
  into.connections.opened += from.connections.opened;
  if (gauges) {
    into.inFlight += from.inFlight;
    into.connections.busy += from.connections.busy;
    into.connections.idle += from.connections.idle;
  }
}

/** The counts of workers that exited, by target. */
export class Departed {
  readonly #targets = new Map<string, Counters>();

  add(snapshot: ProxySnapshot): void {
    for (const target of snapshot.targets) {
      let counters = this.#targets.get(target.target);
      if (counters === undefined) this.#targets.set(target.target, (counters = zero(target)));
      add(counters, target, false);
    }
  }

  get(origin: string): Counters | undefined {
    return this.#targets.get(origin);
  }

  /** The breaker's counts of `origin` start again from zero (a manual reset), the other counters go on. */
  resetBreakerCounts(origin: string): void {
    const counters = this.#targets.get(origin);
    if (counters !== undefined) zeroBreakerCounts(counters.counts);
  }
}

/** Sets every breaker count of `counts` to zero, as `CircuitBreaker.reset()` does to its own. */
export function zeroBreakerCounts(counts: TargetSnapshot['counts']): void {
  for (const key of Object.keys(counts) as Array<keyof TargetSnapshot['counts']>) counts[key] = 0;
}

/** `authority` (the primary's proxy) with each target's counts replaced by the sum over `workers` and `departed`. */
export function clusterSnapshot(authority: ProxySnapshot, workers: readonly ProxySnapshot[], departed: Departed): ProxySnapshot {
  const byOrigin = new Map<string, TargetSnapshot[]>();
  for (const snapshot of workers) {
    for (const target of snapshot.targets) {
      let list = byOrigin.get(target.target);
      if (list === undefined) byOrigin.set(target.target, (list = []));
      list.push(target);
    }
  }
  let time = authority.time;
  for (const snapshot of workers) time = Math.max(time, snapshot.time);
  return {
    ...authority,
    time,
    targets: authority.targets.map((target) => {
      const sum = zero(target);
      for (const part of byOrigin.get(target.target) ?? []) add(sum, part, true);
      const gone = departed.get(target.target);
      if (gone !== undefined) add(sum, gone, false);
      sum.latency.p50 = latencyQuantile(sum.latency, 0.5);
      sum.latency.p99 = latencyQuantile(sum.latency, 0.99);
      // The breaker's state, transitions and probes are the primary's; the counts are the workers'.
      return { ...target, ...sum };
    }),
  };
}
