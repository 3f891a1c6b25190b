/**
 * A target is one upstream origin, and everything the proxy keeps per origin hangs off it: the
 * breaker, the keep-alive connection pool, in-flight and outcome counters, the latency histogram. Routes and
 * replicas point at the same object, so two routes to one host share its breaker and its sockets
 * (the host is what fails, not the route), and metrics read it without extra maps.
 */
import { isIP } from 'node:net';
import { CircuitBreaker, CircuitState, type CircuitBreakerOptions, type Ticket } from '../breaker/breaker.js';
import { UpstreamPool, type UpstreamTlsOptions } from '../http1/connection.js';
import type { TargetHealth } from './health.js';
import type { ProxyBreakerOptions } from './options.js';
import type { AdmissionQueue } from './queue.js';
import { latencyQuantile, OUTCOMES, TRANSITIONS, type LatencySnapshot, type Outcome, type TargetSnapshot } from './snapshot.js';
import { sameTls, secureContextOf, type UpstreamTls } from './trust.js';

export { OUTCOMES, type Outcome } from './snapshot.js';

/** Upper bounds (seconds) of the upstream latency histogram: 1 ms to 30 s, as Prometheus suggests for HTTP. */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

export class LatencyHistogram {
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly counts = new Float64Array(LATENCY_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }

  snapshot(): LatencySnapshot {
    const counts = Array.from(this.counts);
    return {
      bounds: [...LATENCY_BUCKETS],
      counts,
      sum: this.sum,
      count: this.count,
      p50: latencyQuantile({ bounds: LATENCY_BUCKETS, counts }, 0.5),
      p99: latencyQuantile({ bounds: LATENCY_BUCKETS, counts }, 0.99),
    };
  }
}

export interface TargetOptions {
  breaker: ProxyBreakerOptions;
  /** How an https target is trusted: verification, CA certificates, client certificate. */
  tls: UpstreamTls;
  /** Requests allowed in flight at once; `Infinity` = unlimited. */
  maxConcurrent: number;
  /** Ms over which a just-recovered target's share of traffic ramps up; 0 = off. */
  slowStart: number;
  /** Client requests wait for a synthetic probe to close the circuit (`probePath` is set). */
  syntheticProbes: boolean;
}

/**
 * Makes a target's breaker. The default is a `CircuitBreaker` of the process's own; a cluster
 * worker passes one that mirrors the primary's decisions (lib/cluster), so that every worker's
 * targets obey one breaker per origin.
 */
export type BreakerFactory = (origin: string, options: CircuitBreakerOptions) => CircuitBreaker;

const ownBreaker: BreakerFactory = (_origin, options) => new CircuitBreaker(options);

/** Why `admit()` refused; read right after a refusal. */
export type Refusal = 'open' | 'limited';

export class Target {
  /** `protocol//host:port`, the key of everything per target. */
  readonly origin: string;
  readonly url: URL;
  readonly https: boolean;
  readonly hostname: string;
  readonly port: number;
  /** The `Host` header for this target: host, plus the port when not the scheme's default. */
  readonly hostHeader: string;
  /**
   * The TLS server name (SNI) of an https target: its host name, set explicitly so that a
   * preserved `Host` cannot choose it; none for an IP address, which RFC 6066 3 does not allow as a
   * server name (Node warns DEP0123 and will ignore it).
   */
  readonly servername: string | undefined;
  /** Keep-alive connections for everything sent to this target: requests, upgrades, probes. */
  readonly pool: UpstreamPool;
  readonly breaker: CircuitBreaker;
  options: TargetOptions;

  inFlight = 0;
  readonly outcomes: Record<Outcome, number>;
  readonly latency = new LatencyHistogram();
  /** Transitions seen, as `from>to` -> count, for metrics. */
  readonly transitions = new Map<string, number>();
  lastRefusal: Refusal = 'open';
  /** The breaker's `slowCallDuration`, read by every attempt's head: undefined when the slow-call rule is off. */
  slowCallDuration: number | undefined;
  /** Queues of the routes this target serves that wait for its slots; `undefined` when none does. */
  queues: AdmissionQueue[] | undefined = undefined;
  #retired = false;
  /** Monotonic ms of the last HALF_OPEN -> CLOSED (or unhealthy -> healthy), for slow start. */
  recoveredAt = -Infinity;
  /** What health checks found (health.ts); undefined while checks are off. */
  health: TargetHealth | undefined = undefined;
  /** Health checks let this target take traffic: false while it is unhealthy, or new and not yet checked. */
  inRotation = true;
  /** Answers of this target dropped for a retry on another target (`retryOn`). */
  statusRetries = 0;
  /** Monotonic ms until which retries skip this target, as its `Retry-After` asked; 0 when none. */
  retryAfterUntil = 0;

  constructor(url: URL, options: TargetOptions, makeBreaker: BreakerFactory = ownBreaker) {
    this.url = url;
    this.origin = url.origin;
    this.https = url.protocol === 'https:';
    this.hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === '' ? (this.https ? 443 : 80) : Number(url.port);
    this.hostHeader = url.host;
    this.options = options;
    this.servername = this.https && isIP(this.hostname) === 0 ? this.hostname : undefined;
    this.pool = new UpstreamPool({
      host: this.hostname,
      port: this.port,
      tls: this.https ? this.#poolTls(options.tls) : undefined,
      // As many idle connections as the load had in flight: with a lower cap, 1000 concurrent
      // clients made the proxy close and reopen ~0.4 upstream connections per request (bench).
      // Idle ones still go when the upstream's keep-alive timeout closes them.
      maxIdle: 4096,
    });
    this.breaker = makeBreaker(this.origin, { ...options.breaker, callTimeout: Infinity });
    this.slowCallDuration = this.breaker.options.slowCallDuration;
    this.outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
    this.breaker.on('stateChange', ({ from, to }) => {
      const key = `${from}>${to}`;
      this.transitions.set(key, (this.transitions.get(key) ?? 0) + 1);
      if (from === CircuitState.HALF_OPEN && to === CircuitState.CLOSED) this.recoveredAt = performance.now();
    });
  }

  /**
   * Asks this target to take one request: the concurrency limit first (Envoy's circuit breaking,
   * a bulkhead), then the breaker. On refusal `lastRefusal` says why.
   */
  admit(): Ticket | undefined {
    // Health and the breaker judge apart; a target takes a request only when both allow it.
    if (!this.inRotation) {
      this.lastRefusal = 'open';
      return undefined;
    }
    if (this.inFlight >= this.options.maxConcurrent) {
      this.lastRefusal = 'limited';
      return undefined;
    }
    if (this.options.syntheticProbes && this.breaker.state !== CircuitState.CLOSED) {
      // Half-open is the prober's to test; client requests wait until it closed the circuit.
      this.lastRefusal = 'open';
      return undefined;
    }
    const ticket = this.breaker.admit();
    if (ticket === undefined) this.lastRefusal = 'open';
    return ticket;
  }

  /**
   * The share of traffic this target should get now, 0-1: below 1 only during slow start after
   * a recovery, growing linearly from 10% (Envoy's slow_start_config, HAProxy's slowstart).
   */
  weight(now: number): number {
    const slowStart = this.options.slowStart;
    if (slowStart === 0) return 1;
    const elapsed = now - this.recoveredAt;
    if (elapsed >= slowStart) return 1;
    return 0.1 + 0.9 * (elapsed / slowStart);
  }

  /** The target answered a status in `retryOn` with a `Retry-After` of `ms`: retries skip it that long. */
  holdOffRetries(ms: number): void {
    this.retryAfterUntil = Math.max(this.retryAfterUntil, performance.now() + ms);
  }

  /** Whether retries must skip this target now (its `Retry-After` has not passed). */
  holdsOffRetries(now: number): boolean {
    if (this.retryAfterUntil === 0) return false;
    if (this.retryAfterUntil > now) return true;
    this.retryAfterUntil = 0;
    return false;
  }

  /**
   * Takes a reloaded configuration's options. The breaker keeps its state (keeping the circuit
   * across a reload is the point of reloading) but takes new thresholds and timeouts. New trust
   * settings (a renewed CA or client certificate) apply to every connection opened from now on:
   * the pool closes its idle connections, and those carrying a request finish it and close.
   */
  configure(options: TargetOptions): void {
    if (JSON.stringify(options.breaker) !== JSON.stringify(this.options.breaker)) {
      this.breaker.reconfigure({ ...options.breaker, callTimeout: Infinity });
      this.slowCallDuration = this.breaker.options.slowCallDuration;
    }
    if (this.https && !sameTls(options.tls, this.options.tls)) this.pool.retrust(this.#poolTls(options.tls));
    this.options = options;
  }

  #poolTls(settings: UpstreamTls): UpstreamTlsOptions {
    return { servername: this.servername, rejectUnauthorized: settings.rejectUnauthorized, secureContext: secureContextOf(settings) };
  }

  /** A request let go of its slot: the queues waiting for one may admit their head. */
  slotFreed(): void {
    for (const queue of this.queues!) queue.wake();
  }

  record(outcome: Outcome): void {
    this.outcomes[outcome]++;
    if (this.#retired && this.inFlight === 0) this.close();
  }

  /**
   * The target left the configuration (a reload): close its sockets once its last request in
   * flight is done, so those requests finish on the old routes.
   */
  retire(): void {
    this.#retired = true;
    if (this.inFlight === 0) this.close();
  }

  /** Plain data for `proxy.snapshot()`: nothing in it points back at this object. */
  snapshot(): TargetSnapshot {
    // Reading the breaker's state (not a cached field) is what moves an expired OPEN circuit to HALF_OPEN.
    const breaker = this.breaker.snapshot();
    const { failureThreshold, resetTimeout } = this.breaker.options;
    const transitions: Record<string, number> = {};
    for (const key of TRANSITIONS) transitions[key] = 0;
    for (const [key, count] of this.transitions) transitions[key] = count;
    const pool = this.pool;
    return {
      target: this.origin,
      ...breaker,
      // JSON has no Infinity: a threshold that never trips by count is null on the wire.
      failureThreshold: Number.isFinite(failureThreshold) ? failureThreshold : null,
      resetTimeout,
      inFlight: this.inFlight,
      requests: { ...this.outcomes },
      transitions,
      latency: this.latency.snapshot(),
      connections: { busy: pool.size - pool.idleCount, idle: pool.idleCount, opened: pool.opened },
      health: this.health === undefined ? null : this.health.snapshot(this.inRotation),
      statusRetries: this.statusRetries,
      retryAfterAt: this.holdsOffRetries(performance.now()) ? Date.now() + (this.retryAfterUntil - performance.now()) : null,
    };
  }

  close(): void {
    this.pool.close();
  }
}

/**
 * Targets by origin. Routes ask here, so replicas and routes naming the same origin get the same
 * target; on a config reload, targets that remain keep their breaker and sockets.
 */
export class TargetRegistry {
  readonly #targets = new Map<string, Target>();
  readonly #makeBreaker: BreakerFactory;

  constructor(makeBreaker: BreakerFactory = ownBreaker) {
    this.#makeBreaker = makeBreaker;
  }

  get(origin: string): Target | undefined {
    return this.#targets.get(origin);
  }

  getOrCreate(url: URL, options: TargetOptions): Target {
    let target = this.#targets.get(url.origin);
    if (target === undefined) {
      target = new Target(url, options, this.#makeBreaker);
      this.#targets.set(url.origin, target);
    } else {
      target.configure(options);
    }
    return target;
  }

  /** Drops targets not in `keep` (the caller retires them). */
  retain(keep: ReadonlySet<Target>): Target[] {
    const dropped: Target[] = [];
    for (const [origin, target] of this.#targets) {
      if (!keep.has(target)) {
        this.#targets.delete(origin);
        dropped.push(target);
      }
    }
    return dropped;
  }

  values(): IterableIterator<Target> {
    return this.#targets.values();
  }

  get size(): number {
    return this.#targets.size;
  }
}
