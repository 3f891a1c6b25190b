/**
 * The route table: which service a request is for, and which of its replicas takes it.
 */
import { DeadlineQueue } from '../deadlines.js';
import { IdleSweeper } from '../idle.js';
import { preparedAnswer, type PreparedAnswer } from './answers.js';
import { createBalancer, type Admission, type Balancer } from './balance.js';
import { upstreamTls, type ProxyConfig, type ResolvedRoute } from './options.js';
import { normalizeHost } from './path.js';
import { AdmissionQueue } from './queue.js';
import { PrefixIndex } from './route-index.js';
import type { Target, TargetOptions, TargetRegistry } from './target.js';

export class Route {
  readonly config: ResolvedRoute;
  readonly targets: readonly Target[];
  /** One timer for every exchange on this route waiting for response headers. */
  readonly deadlines: DeadlineQueue;
  /** One timer for every body and tunnel of this route that must not go idle. */
  readonly idle: IdleSweeper;
  #unavailable: PreparedAnswer | undefined;
  #limited: PreparedAnswer | undefined;
  /** Requests waiting for a slot at the concurrency limit (queue.ts); none unless `queue` is set. */
  readonly queue: AdmissionQueue | undefined;
  /** The route of a `fallback: { targets }`: same options, the fallback origins as its targets. */
  readonly fallback: Route | undefined;
  /** On a fallback route, the route it stands in for. */
  readonly fallbackFor: Route | undefined;
  /** Requests answered by the fallback (static or targets) since the route's `match` was first configured. */
  fallbacks = 0;
  /** How `pick()` chooses among two or more targets; none for a lone target. */
  readonly #balancer: Balancer | undefined;

  constructor(config: ResolvedRoute, targets: readonly Target[], fallbackTargets?: readonly Target[], fallbackFor?: Route) {
    this.config = config;
    this.targets = targets;
    this.deadlines = new DeadlineQueue(config.timeout);
    this.idle = new IdleSweeper(config.idleTimeout);
    this.queue = config.queue > 0 ? new AdmissionQueue(this, config.queue, config.queueTimeout) : undefined;
    this.fallbackFor = fallbackFor;
    this.fallback =
      fallbackTargets === undefined
        ? undefined
        : new Route(
            // Fallback origins take no weights of their own: equal shares.
            { ...config, targets: config.fallbackTargets!, weights: config.fallbackTargets!.map(() => 1), fallback: undefined, fallbackTargets: undefined, fallbackAnswer: undefined, queue: 0 },
            fallbackTargets,
            undefined,
            this,
          );
    this.#balancer = targets.length > 1 ? createBalancer(config.balance, targets, config.weights) : undefined;
  }

  get name(): string {
    return this.config.match;
  }

  /** What the proxy's own answers name as the target: the origin of a lone target, else the route. */
  get answerTarget(): string {
    return this.targets.length === 1 ? this.targets[0]!.origin : this.config.match;
  }

  /** The 503 for "every target refused", built once per route: the hot path of an outage. */
  get unavailable(): PreparedAnswer {
    return (this.#unavailable ??= preparedAnswer(503, 'destination_unavailable', this.answerTarget));
  }

  /** The 503 for "every target at its concurrency limit". */
  get limited(): PreparedAnswer {
    return (this.#limited ??= preparedAnswer(503, 'connection_limit_reached', this.answerTarget));
  }

  /** The path to forward for a request path this route matched. */
  forwardPath(path: string): string {
    if (!this.config.stripPrefix || this.config.prefix === '') return path;
    const rest = path.slice(this.config.prefix.length);
    return rest === '' ? '/' : rest;
  }

  /**
   * Picks a replica that admits the request by the route's balancing strategy (balance.ts),
   * skipping the ones whose circuit or concurrency limit refuses, so traffic fails over instead of
   * getting 503. A half-open target admits only its probes and is skipped for everything else.
   *
   * `exclude` lists targets a retry must not go back to (they failed this request).
   *
   * Returns the admitting target and its ticket, or `undefined` when every target refused.
   */
  pick(exclude?: readonly Target[]): Admission | undefined {
    const targets = this.targets;
    if (targets.length === 1) {
      const only = targets[0]!;
      if (exclude?.includes(only)) return undefined;
      const ticket = only.admit();
      return ticket === undefined ? undefined : { target: only, ticket };
    }
    return this.#balancer!.pick(exclude);
  }

  /** Ms until the soonest of this route's targets lets a probe through. */
  retryAfter(): number {
    let soonest = Infinity;
    for (const target of this.targets) soonest = Math.min(soonest, target.breaker.retryAfter());
    return soonest === Infinity ? 0 : soonest;
  }

  /** Why the last `pick()` failed: `limited` only when no target refused for its circuit. */
  refusal(): 'open' | 'limited' {
    for (const target of this.targets) if (target.lastRefusal !== 'limited') return 'open';
    return 'limited';
  }
}

export type { Admission };

/**
 * Routes by specificity: a host and path beat a path alone, a longer prefix beats a shorter one,
 * and prefixes match whole segments. Host routes are indexed by normalised host and every group
 * of prefixes by `PrefixIndex`, so a lookup costs the same with one route or ten thousand.
 */
export class RouteTable {
  /** Every route in the order the rules rank them: host routes first, then longer prefixes. */
  readonly routes: readonly Route[];
  /** The routes of each host, by the host as `normalizeHost` writes it. */
  readonly #byHost: Map<string, PrefixIndex<Route>>;
  /** The routes that take any host. */
  readonly #anyHost: PrefixIndex<Route>;

  constructor(routes: readonly Route[]) {
    this.routes = [...routes].sort(
      (a, b) => Number(b.config.host !== undefined) - Number(a.config.host !== undefined) || b.config.prefix.length - a.config.prefix.length,
    );
    const byHost = new Map<string, { prefix: string; value: Route }[]>();
    const anyHost: { prefix: string; value: Route }[] = [];
    for (const route of this.routes) {
      const { host, prefix } = route.config;
      const group = host === undefined ? anyHost : byHost.get(host) ?? byHost.set(host, []).get(host)!;
      group.push({ prefix, value: route });
    }
    this.#byHost = new Map([...byHost].map(([host, group]) => [host, new PrefixIndex(group)]));
    this.#anyHost = new PrefixIndex(anyHost);
  }

  /** `host` is the raw Host header (or `''`), `path` the normalised path. */
  match(host: string, path: string): Route | undefined {
    // A host's routes that do not match the path leave the request to the routes of any host.
    if (this.#byHost.size !== 0) {
      const route = this.#byHost.get(normalizeHost(host))?.match(path);
      if (route !== undefined) return route;
    }
    return this.#anyHost.match(path);
  }

  static build(config: ProxyConfig, registry: TargetRegistry): RouteTable {
    const routes = config.routes.map((route) => {
      const options: TargetOptions = {
        breaker: route.breaker,
        tls: upstreamTls(route, config.insecure),
        maxConcurrent: config.maxConcurrent,
        slowStart: config.slowStart,
        syntheticProbes: config.probePath !== undefined,
      };
      const target = (url: URL): Target => registry.getOrCreate(url, options);
      return new Route(route, route.targets.map(target), route.fallbackTargets?.map(target));
    });
    const table = new RouteTable(routes);
    table.#listenForSlots(registry);
    return table;
  }

  /** Every route with its fallback route, for whoever needs all the targets in use. */
  get allRoutes(): Route[] {
    return this.routes.flatMap((route) => (route.fallback === undefined ? [route] : [route, route.fallback]));
  }

  /**
   * Tells each target which queues wait for its slots: the queues of every route it serves
   * (a target shared by two routes frees slots for both). Targets of no queue keep `undefined`,
   * so a request finishing there checks one field and nothing more.
   */
  #listenForSlots(registry: TargetRegistry): void {
    for (const target of registry.values()) target.queues = undefined;
    for (const route of this.routes) {
      const queue = route.queue;
      if (queue === undefined) continue;
      for (const target of route.targets) (target.queues ??= []).push(queue);
    }
  }

  /** Carries each route's counters over from the table this one replaces (same `match`). */
  adopt(previous: RouteTable): void {
    const old = new Map(previous.routes.map((route) => [route.config.match, route]));
    for (const route of this.routes) {
      const before = old.get(route.config.match);
      if (before === undefined) continue;
      route.fallbacks = before.fallbacks;
      if (route.queue !== undefined && before.queue !== undefined) {
        route.queue.queued = before.queue.queued;
        route.queue.timedOut = before.queue.timedOut;
      }
    }
  }
}
