/**
 * How a route spreads requests over its replicas: the balancing strategies behind `Route.pick()`.
 *
 * Every strategy offers targets to `Target.admit()` in its own order and takes the first that
 * admits, so all of them skip open circuits and targets at their concurrency limit the same way;
 * `exclude` lists targets a retry must not go back to. Slow start is respected by all of them:
 * the unweighted ones skip a recovering target with probability 1 - factor (it keeps that share
 * of its turns), the weighted one multiplies the target's weight by the factor.
 *
 * - `RoundRobin`: every target in turn (all weights 1: the cheapest loop, today's default).
 * - `SmoothWeighted`: nginx's smooth weighted round-robin, for configured weights; a weight-5
 *   target among two weight-1 ones goes a a b a c a a, never a a a a a b c.
 * - `LeastRequest`: Envoy's default LEAST_REQUEST. With equal weights, the power of two choices:
 *   two targets drawn at random, the one with fewer requests in flight wins. With configured
 *   weights, Envoy's weighted mode: a smooth weighted round-robin whose weights shrink with load,
 *   where load is the requests in flight divided by the weight (see `SmoothWeighted`).
 */
import type { Ticket } from '../breaker/breaker.js';
import type { Target } from './target.js';

export const BALANCE_STRATEGIES = ['round-robin', 'least-request'] as const;
export type BalanceStrategy = (typeof BALANCE_STRATEGIES)[number];

export interface Admission {
  target: Target;
  ticket: Ticket;
}

export interface Balancer {
  /** A target of the route that admitted the request, with its ticket; `undefined` when none did. */
  pick(exclude: readonly Target[] | undefined): Admission | undefined;
}

/** A uniform random number in [0, 1), like `Math.random`; tests pass a seeded one. */
export type Random = () => number;

/** The balancer for a route of two or more targets; `weights` parallel to `targets`, each a positive integer. */
export function createBalancer(strategy: BalanceStrategy, targets: readonly Target[], weights: readonly number[], random: Random = Math.random): Balancer {
  const weighted = weights.some((weight) => weight !== 1);
  if (strategy === 'least-request') return new LeastRequest(targets, weights, weighted, random);
  return weighted ? new SmoothWeighted(targets, weights, false) : new RoundRobin(targets, random);
}

/** Whether any target ramps up after recovering: only then is the clock read per pick. */
function slowStartOn(targets: readonly Target[]): boolean {
  for (const target of targets) if (target.options.slowStart > 0) return true;
  return false;
}

export class RoundRobin implements Balancer {
  readonly #targets: readonly Target[];
  readonly #random: Random;
  #next = 0;

  constructor(targets: readonly Target[], random: Random) {
    this.#targets = targets;
    this.#random = random;
  }

  /**
   * A half-open target admits only its probes and is skipped for everything else. During slow
   * start a recovered target is skipped with probability 1 - factor, unless no other admits.
   */
  pick(exclude: readonly Target[] | undefined): Admission | undefined {
    const targets = this.#targets;
    const count = targets.length;
    const start = this.#next;
    // The turn passes over targets that refuse: the rotation continues after the first target
    // that took its turn (picked, or skipped by slow start). Advancing by one regardless would
    // hand every refused target's turn to its next neighbour, which then gets twice its share.
    let turn = -1;
    let deferred: Target | undefined;
    const now = slowStartOn(targets) ? performance.now() : 0;
    for (let i = 0; i < count; i++) {
      const target = targets[(start + i) % count]!;
      if (exclude?.includes(target)) continue;
      if (now !== 0 && passesOver(target, now, this.#random)) {
        deferred ??= target;
        if (turn === -1) turn = i;
        continue;
      }
      const ticket = target.admit();
      if (ticket !== undefined) {
        this.#next = (start + (turn === -1 ? i : turn) + 1) % count;
        return { target, ticket };
      }
    }
    this.#next = (start + (turn === -1 ? 0 : turn) + 1) % count;
    if (deferred !== undefined) {
      const ticket = deferred.admit();
      if (ticket !== undefined) return { target: deferred, ticket };
    }
    return undefined;
  }
}

/**
 * nginx's smooth weighted round-robin (ngx_http_upstream_get_peer): at each pick every candidate's
 * `current` grows by its weight, the largest `current` is chosen and loses the total. Over a
 * cycle each target is chosen as often as its weight, spread out rather than in a run.
 *
 * A target that refuses (open, or at its limit) is treated as if it had not been a candidate: its
 * growth is taken back, so an open target does not bank turns and flood the route when it closes.
 * With `byLoad` (weighted least-request), each pick's weight is weight / (1 + in flight / weight):
 * a target's load is its requests in flight per unit of weight, so an idle route splits exactly by
 * weight, and replicas that answer alike settle with requests in flight in proportion to their
 * weights (Envoy's weight / (in flight + 1) would squeeze 3:1 to about 2:1 under steady load),
 * while a replica that holds its requests longer loses share.
 */
export class SmoothWeighted implements Balancer {
  readonly #targets: readonly Target[];
  readonly #weights: Float64Array;
  readonly #byLoad: boolean;
  readonly #current: Float64Array;
  /** This pick's weight of each target; 0 when it is not a candidate (any more). */
  readonly #grown: Float64Array;

  constructor(targets: readonly Target[], weights: readonly number[], byLoad: boolean) {
    this.#targets = targets;
    this.#weights = Float64Array.from(weights);
    this.#byLoad = byLoad;
    this.#current = new Float64Array(targets.length);
    this.#grown = new Float64Array(targets.length);
  }

  pick(exclude: readonly Target[] | undefined): Admission | undefined {
    const targets = this.#targets;
    const count = targets.length;
    const current = this.#current;
    const grown = this.#grown;
    const now = slowStartOn(targets) ? performance.now() : 0;
    let total = 0;
    for (let i = 0; i < count; i++) {
      const target = targets[i]!;
      if (exclude?.includes(target)) {
        grown[i] = 0;
        continue;
      }
      let weight = this.#weights[i]!;
      if (now !== 0) weight *= target.weight(now);
      if (this.#byLoad) weight /= 1 + target.inFlight / this.#weights[i]!;
      grown[i] = weight;
      current[i]! += weight;
      total += weight;
    }
    for (;;) {
      let best = -1;
      for (let i = 0; i < count; i++) if (grown[i]! > 0 && (best === -1 || current[i]! > current[best]!)) best = i;
      if (best === -1) return undefined;
      const target = targets[best]!;
      const ticket = target.admit();
      if (ticket !== undefined) {
        current[best]! -= total;
        return { target, ticket };
      }
      current[best]! -= grown[best]!;
      total -= grown[best]!;
      grown[best] = 0;
    }
  }
}

/**
 * Envoy's LEAST_REQUEST. With equal weights: two distinct targets drawn at random, the one with
 * fewer requests in flight is offered first (ties: the first drawn), then the other; when both
 * refuse, the rest in turn from a random place. A target in slow start is passed over with
 * probability 1 - factor, as round-robin does. With unequal configured weights every pick is
 * `SmoothWeighted` by load, slow start folded into the weights.
 */
export class LeastRequest implements Balancer {
  readonly #targets: readonly Target[];
  readonly #random: Random;
  readonly #weighted: SmoothWeighted | undefined;

  constructor(targets: readonly Target[], weights: readonly number[], weighted: boolean, random: Random) {
    this.#targets = targets;
    this.#random = random;
    this.#weighted = weighted ? new SmoothWeighted(targets, weights, true) : undefined;
  }

  pick(exclude: readonly Target[] | undefined): Admission | undefined {
    if (this.#weighted !== undefined) return this.#weighted.pick(exclude);
    const targets = this.#targets;
    const count = targets.length;
    const random = this.#random;
    const first = Math.floor(random() * count);
    // A second draw among the other count - 1: distinct from the first, still uniform.
    let second = Math.floor(random() * (count - 1));
    if (second >= first) second++;
    let a: Target | undefined = targets[first]!;
    let b: Target | undefined = targets[second]!;
    if (exclude?.includes(a)) a = undefined;
    if (exclude?.includes(b)) b = undefined;
    const now = slowStartOn(targets) ? performance.now() : 0;
    let deferred: Target | undefined;
    if (now !== 0) {
      if (a !== undefined && passesOver(a, now, this.#random)) {
        deferred = a;
        a = undefined;
      }
      if (b !== undefined && passesOver(b, now, this.#random)) {
        deferred ??= b;
        b = undefined;
      }
    }
    if (a !== undefined && b !== undefined && b.inFlight < a.inFlight) {
      const less = b;
      b = a;
      a = less;
    }
    let ticket = a?.admit();
    if (ticket !== undefined) return { target: a!, ticket };
    ticket = b?.admit();
    if (ticket !== undefined) return { target: b!, ticket };
    // Both refused or were passed over: the others in turn, from a random place.
    const start = Math.floor(random() * count);
    for (let i = 0; i < count; i++) {
      const index = (start + i) % count;
      if (index === first || index === second) continue;
      const target = targets[index]!;
      if (exclude?.includes(target)) continue;
      if (now !== 0 && passesOver(target, now, this.#random)) {
        deferred ??= target;
        continue;
      }
      ticket = target.admit();
      if (ticket !== undefined) return { target, ticket };
    }
    if (deferred !== undefined) {
      ticket = deferred.admit();
      if (ticket !== undefined) return { target: deferred, ticket };
    }
    return undefined;
  }
}

/** Slow start: a recovering target takes a pick with probability `weight(now)`; else the pick passes over it. */
function passesOver(target: Target, now: number, random: Random): boolean {
  const factor = target.weight(now);
  return factor < 1 && random() >= factor;
}
