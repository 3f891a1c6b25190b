/**
 * createProxy(): the wiring. A request goes handler -> routes.match -> route.pick (breaker
 * admission per target) -> Exchange (forward.ts) -> outcome back to the target's breaker.
 */
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type * as http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { CircuitState } from '../breaker/breaker.js';
import type { UpstreamError } from '../errors.js';
import { sendAnswer, type ProxyErrorType } from './answers.js';
import { AttemptContext, reportFallback, reportRefusal } from './attempt.js';
import { Exchange } from './forward.js';
import { hasBody, headProblem, MAX_REQUEST_FIELDS, type HeadProblem } from './headers.js';
import { FollowedHealth, HealthChecker, type HealthListener, type HealthStatus, type HealthVerdict } from './health.js';
import { healthSettings, resolveProxyOptions, type ProxyConfig, type ProxyOptions } from './options.js';
import { normalizeRequestTarget } from './path.js';
import { SyntheticProber } from './probe.js';
import { someLimited, type QueueDispatcher } from './queue.js';
import { RouteTable, type Admission, type Route } from './routes.js';
import { TargetRegistry, type BreakerFactory, type Outcome, type Target } from './target.js';
import { Breakers, type BreakerControl } from './control.js';
import { closeH2, createSecureServer, type ClientProtocol, type TlsCertificate } from './server.js';
import type { ProxySnapshot, RouteSnapshot } from './snapshot.js';
import { answerSocket, Tunnel } from './upgrade.js';

export interface StateChangeInfo {
  /** The target's origin. */
  target: string;
  from: CircuitState;
  to: CircuitState;
  failures: number;
  /** The failure that caused the change, if one did. */
  error?: unknown;
}

export interface HealthChangeInfo {
  /** The target's origin. */
  target: string;
  from: HealthStatus;
  to: HealthStatus;
  /** Checks in a row that made the change: passes when it became healthy, failures otherwise. */
  checks: number;
}

export interface ProxyErrorInfo {
  target: string;
  route: string;
  error: UpstreamError;
  req: IncomingMessage;
}

export interface RejectInfo {
  route: string;
  /** `open`: every target's circuit refused; `limited`: every target was at its concurrency limit. */
  reason: 'open' | 'limited';
  retryAfterMs: number;
  req: IncomingMessage;
}

/**
 * How one client request ended: a proxied request, an upgrade handshake (101 once it switched) or
 * a request no target admitted. Synthetic probes are not client requests and emit none.
 */
export interface ResponseInfo {
  req: IncomingMessage;
  route: string;
  target: string;
  /** Status sent to the client (the upstream's, or the proxy's own answer). */
  status: number;
  outcome: Outcome;
  durationMs: number;
  /** Failover retries made for this request. */
  retries: number;
  /** The target's circuit state after the outcome. */
  state: CircuitState;
}

export interface ProxyEvents {
  /** A bug inside the proxy (it answered 500); without a listener it becomes a process warning. */
  error: [unknown];
  stateChange: [StateChangeInfo];
  /** Active health checks changed a target's health (`healthPath`). */
  healthChange: [HealthChangeInfo];
  proxyError: [ProxyErrorInfo];
  reject: [RejectInfo];
  response: [ResponseInfo];
}

type IncomingMessage = http.IncomingMessage;

/**
 * @internal How a cluster (lib/cluster) runs a proxy in each process; not options a user sets.
 * `makeBreaker` gives each target its breaker; `syntheticProbes: false` leaves the `probePath`
 * probes to another process, so that a cluster probes once, not once per worker. With
 * `followHealth`, the proxy sends no health checks: it hands over a function through which its
 * targets are told the verdicts of another process's checks (the primary's).
 */
export interface ProxyHooks {
  makeBreaker?: BreakerFactory;
  syntheticProbes?: boolean;
  followHealth?: (verdict: (origin: string, to: HealthVerdict) => void) => void;
}

/** A request refused before routing; one shared instance per reason. */
class RequestRefusal {
  constructor(
    readonly status: number,
    readonly error: ProxyErrorType,
    readonly extra?: string[],
    /** The connection cannot be trusted past this request: close it, refuse what is pipelined behind. */
    readonly close = false,
  ) {}
}
const REFUSE_CONNECT = new RequestRefusal(405, 'http_request_denied', ['Allow', 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS']);
const REFUSE_LOOP = new RequestRefusal(508, 'proxy_loop_detected');
const REFUSE_BAD_TARGET = new RequestRefusal(400, 'http_request_error');
const REFUSE_NO_ROUTE = new RequestRefusal(404, 'destination_not_found');
const REFUSE_FIELDS = new RequestRefusal(431, 'http_request_error', undefined, true);
const REFUSE_FRAMING = new RequestRefusal(400, 'http_request_error', undefined, true);
const REFUSE_HOST = new RequestRefusal(400, 'http_request_error', undefined, true);
const REFUSE_H2C = new RequestRefusal(403, 'http_request_denied');
const REFUSALS: Record<HeadProblem, RequestRefusal> = { fields: REFUSE_FIELDS, framing: REFUSE_FRAMING, host: REFUSE_HOST, loop: REFUSE_LOOP };
const H2C = /(?:^|,)\s*h2c\s*(?:,|$)/i;
/** Marks a client connection on which a request was refused with `close`. */
const kRefused = Symbol('proxy-breaker.refused');
type ClientSocket = Socket & { [kRefused]?: true };
type ServerResponse = http.ServerResponse;

/** Node's server limits, set where `listen()` makes the server; documented in the README. */
export const SERVER_LIMITS = {
  /** Whole request head must arrive within this (slowloris). */
  headersTimeout: 10_000,
  /** Whole request, body included, must arrive within this (slow POST). 0 would turn it off. */
  requestTimeout: 300_000,
  /**
   * How often Node checks the two timeouts above. Node's default (30 s) would let a slowloris
   * connection live up to 30 s, not 10.
   */
  connectionsCheckingInterval: 1_000,
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeout: 5_000,
  /** Request head size limit (Node's default 16 KiB); larger heads get 431. */
  maxHeaderSize: 16 * 1024,
  /** Requests served per keep-alive connection before it is closed (0 = unlimited). */
  maxRequestsPerSocket: 0,
  /** Request header fields allowed; more get 431 (checked by `handler`, so under any server). */
  maxHeaderFields: MAX_REQUEST_FIELDS,
  /**
   * Connections the kernel may queue for accept() (capped by net.core.somaxconn). Node's 511
   * overflowed when 1000 clients connected at once to a busy proxy: the dropped handshakes came
   * back only after TCP retransmits, as client timeouts (bench, 1000 connections).
   */
  backlog: 4096,
} as const;

/**
 * The proxy, observed from outside through three things only: `snapshot()` (plain data),
 * `breakers` (manual control) and its events. Everything it keeps (targets, routes, servers,
 * sockets, the attempts' shared state) is private: what observes one proxy can as well be handed
 * snapshots summed over several processes.
 */
export class Proxy extends EventEmitter<ProxyEvents> {
  readonly #registry: TargetRegistry;
  readonly #probes: boolean;
  #config: ProxyConfig;
  #routes: RouteTable;
  #server: http.Server | undefined;
  /** The TLS listener (HTTP/1.1 and h2), when `listen()` was given a certificate. */
  #secure: http2.Http2SecureServer | undefined;
  /** Requests that arrived over TLS, by protocol. */
  readonly #tlsRequests: Record<ClientProtocol, number> = { 'http/1.1': 0, h2: 0 };
  /** What every request's attempt shares: the retry budget (and requests in flight), the events, open tunnels. */
  readonly #attempts: AttemptContext;
  readonly #observed = new WeakSet<Target>();
  readonly #probers = new Map<Target, SyntheticProber>();
  /** One health checker per target (so per origin, however many routes name it) while `healthPath` is set. */
  readonly #checkers = new Map<Target, HealthChecker | FollowedHealth>();
  /** Health verdicts come from elsewhere (`ProxyHooks.followHealth`): no checker of our own. */
  readonly #followsHealth: boolean;
  readonly #onHealthChange: HealthListener = (target, from, to) => {
    const health = target.health!;
    this.emit('healthChange', { target: target.origin, from, to, checks: to === 'healthy' ? health.passes : health.failures });
  };
  #draining = false;
  /**
   * Manual control of each target's circuit, by origin: `proxy.breakers.open(origin)`, `close`,
   * `reset`. Each returns the target's snapshot after the action, or `undefined` for an unknown
   * target. A command travels as data: `proxy.breakers[action](origin)`.
   */
  readonly breakers: BreakerControl;
  /** Where a route's queue sends the requests it let wait: forwarded when admitted, else answered. */
  readonly #dispatcher: QueueDispatcher = {
    forward: (route, req, res, path, admission) => this.#forward(route, req, res, path, admission),
    refuse: (route, req, res, path, reason) => this.#answerRefused(route, req, res, path, reason),
  };

  constructor(options: ProxyOptions, hooks: ProxyHooks = {}) {
    super();
    this.#registry = new TargetRegistry(hooks.makeBreaker);
    this.#probes = hooks.syntheticProbes ?? true;
    this.#followsHealth = hooks.followHealth !== undefined;
    hooks.followHealth?.((origin, to) => this.#follow(origin, to));
    this.#config = resolveProxyOptions(options);
    this.#routes = RouteTable.build(this.#config, this.#registry);
    this.#attempts = new AttemptContext(this, this.#config);
    this.breakers = new Breakers(this.#registry);
    this.#observeTargets();
  }

  /**
   * Swaps in new options without dropping a connection or a request (nginx's reload habit).
   * Requests in flight finish on the routes they started on; targets that remain keep their
   * breaker's state and counts (taking the new thresholds) and their sockets; targets that left
   * are closed once idle. Invalid options throw `ConfigError` and leave everything as it was.
   */
  reload(options: ProxyOptions): void {
    const config = resolveProxyOptions(options);
    const routes = RouteTable.build(config, this.#registry);
    routes.adopt(this.#routes);
    const used = new Set(routes.allRoutes.flatMap((route) => route.targets));
    for (const target of this.#registry.retain(used)) {
      this.#probers.get(target)?.stop();
      this.#probers.delete(target);
      this.#checkers.get(target)?.stop(false);
      this.#checkers.delete(target);
      target.retire();
    }
    if (config.probePath !== this.#config.probePath) {
      for (const prober of this.#probers.values()) prober.stop();
      this.#probers.clear();
    }
    const previous = this.#routes;
    this.#config = config;
    this.#routes = routes;
    this.#attempts.configure(config);
    this.#observeTargets();
    // The old routes' queues are no longer told of freed slots: their requests stop waiting now.
    for (const route of previous.routes) route.queue?.flush();
  }

  /** Client requests (proxied and upgrade handshakes) in flight now. */
  get inFlight(): number {
    return this.#attempts.budget.requests;
  }

  /** Requests in flight now that made a failover retry (each holds a retry-budget slot). */
  get retriesInFlight(): number {
    return this.#attempts.budget.retries;
  }

  /** `(req, res)` for `http.createServer`, and `(req, res, next)` for express/connect. */
  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      this.#handle(req, res);
    } catch (error) {
      // A bug here must cost one request, not the process.
      this.#internalError(res, error);
    }
  };

  /** The `upgrade` listener: `server.on('upgrade', proxy.upgrade)`. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    try {
      this.#handleUpgrade(req, socket, head);
    } catch {
      answerSocket(socket, 500, 'proxy_internal_error');
    }
  };

  #handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.#draining) res.shouldKeepAlive = false;
    const found = this.#resolve(req);
    if (found instanceof RequestRefusal) return refuseRequest(req, res, found);
    const { route, path } = found;
    // A route whose queue holds requests sends new ones behind them (FIFO), not past them.
    const queue = route.queue;
    if (queue === undefined || queue.length === 0) {
      const admission = route.pick();
      if (admission !== undefined) return this.#forward(route, req, res, path, admission);
    }
    this.#noAdmission(route, req, res, path);
  }

  #forward(route: Route, req: IncomingMessage, res: ServerResponse, path: string, admission: Admission): void {
    new Exchange(this.#attempts, req, res, route, path, hasBody(req)).send(admission);
  }

  /** Checks what every request must pass and finds its route and the path to forward. */
  #resolve(req: IncomingMessage): { route: Route; path: string } | RequestRefusal {
    // A forward proxy tunnels with CONNECT; this is a reverse proxy and goes to its targets only.
    if (req.method === 'CONNECT') return REFUSE_CONNECT;
    // A request pipelined behind one whose framing was refused: where it starts is a guess.
    if ((req.socket as ClientSocket)[kRefused] === true) return REFUSE_FRAMING;
    const problem = headProblem(req);
    if (problem !== undefined) return REFUSALS[problem];
    const target = normalizeRequestTarget(req.url ?? '');
    if (target === undefined) return REFUSE_BAD_TARGET;
    const route = this.#routes.match(target.authority ?? req.headers.host ?? '', target.path);
    if (route === undefined) return REFUSE_NO_ROUTE;
    return { route, path: route.forwardPath(target.path) + target.query };
  }

  /** No target admitted the request: it waits in the route's queue if a slot will free and there is room, else it is answered. */
  #noAdmission(route: Route, req: IncomingMessage, res: ServerResponse, path: string): void {
    const queue = route.queue;
    if (queue !== undefined && (queue.length > 0 || someLimited(route)) && queue.offer(req, res, path, this.#dispatcher)) return;
    this.#answerRefused(route, req, res, path, route.refusal());
  }

  /** Answers a request no target admits: the route's fallback, else the 503 for `reason`. */
  #answerRefused(route: Route, req: IncomingMessage, res: ServerResponse, path: string, reason: 'open' | 'limited'): void {
    const retryAfterMs = reason === 'limited' ? undefined : route.retryAfter();
    const answer = route.config.fallbackAnswer;
    if (answer !== undefined) {
      reportFallback(this.#attempts, route, req, answer.status);
      return answer.send(res, reason, retryAfterMs);
    }
    const fallback = route.fallback;
    if (fallback !== undefined) {
      // The fallback origins have breakers and limits of their own; if they refuse too, the 503.
      const admission = fallback.pick();
      if (admission !== undefined) {
        reportFallback(this.#attempts, route, req, undefined);
        return this.#forward(fallback, req, res, path, admission);
      }
    }
    reportRefusal(this.#attempts, route, req, reason, retryAfterMs);
    if (reason === 'limited') route.limited.send(res);
    else route.unavailable.send(res, retryAfterMs);
  }


  #handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Upgrading to h2c (deprecated, RFC 9113 3.1) would make the tunnel an HTTP/2 connection to the
    // target, carrying any request past routing and these checks ("h2c smuggling").
    if (H2C.test(req.headers.upgrade ?? '')) return answerSocket(socket, REFUSE_H2C.status, REFUSE_H2C.error);
    const found = this.#resolve(req);
    if (found instanceof RequestRefusal) return answerSocket(socket, found.status, found.error);
    const { route, path } = found;
    const admission = route.pick();
    if (admission === undefined) {
      const reason = route.refusal();
      const retryAfterMs = reason === 'limited' ? undefined : route.retryAfter();
      reportRefusal(this.#attempts, route, req, reason, retryAfterMs);
      return answerSocket(socket, 503, reason === 'limited' ? 'connection_limit_reached' : 'destination_unavailable', route.answerTarget, retryAfterMs);
    }
    new Tunnel(this.#attempts, req, socket, head, route).open(admission, path);
  }

  #internalError(res: ServerResponse, error: unknown): void {
    // Never throw from here: an 'error' event without a listener would take the process down.
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error instanceof Error ? error : String(error), 'ProxyBreakerInternalError');
    sendAnswer(res, 500, 'proxy_internal_error');
  }

  /**
   * Re-emits every target's breaker transitions as the proxy's `stateChange`, once per target,
   * and starts a synthetic prober per target when `probePath` is set.
   */
  #observeTargets(): void {
    this.#checkTargets();
    const probePath = this.#config.probePath;
    if (probePath !== undefined && this.#probes) {
      for (const route of this.#routes.allRoutes) {
        for (const target of route.targets) {
          if (!this.#probers.has(target)) this.#probers.set(target, new SyntheticProber(target, probePath, route.config.timeout));
        }
      }
    }
    for (const target of this.#registry.values()) {
      if (this.#observed.has(target)) continue;
      this.#observed.add(target);
      target.breaker.on('stateChange', ({ from, to, failures, error }) => {
        const info: StateChangeInfo = error === undefined ? { target: target.origin, from, to, failures } : { target: target.origin, from, to, failures, error };
        this.emit('stateChange', info);
      });
    }
  }

  /**
   * Starts, keeps or stops each target's health checker as its routes ask. Runs before the targets
   * are marked observed: a target not observed yet is new, and waits for its first passing check.
   */
  #checkTargets(): void {
    // Routes sharing a target agree on its checks (options.ts); the first route's timeout is the check's.
    const seen = new Set<Target>();
    for (const route of this.#routes.routes) {
      const settings = healthSettings(route.config);
      for (const target of route.targets) {
        if (seen.has(target)) continue;
        seen.add(target);
        const checker = this.#checkers.get(target);
        if (settings === undefined) {
          checker?.stop(true);
          this.#checkers.delete(target);
          continue;
        }
        const wanted = { ...settings, timeout: route.config.timeout };
        if (checker?.matches(wanted)) continue;
        checker?.stop(false);
        const isNew = !this.#observed.has(target);
        this.#checkers.set(target, this.#followsHealth ? new FollowedHealth(target, wanted, isNew) : new HealthChecker(target, wanted, isNew, this.#onHealthChange));
      }
    }
  }

  /** A verdict of the checks we follow; one for a target without health checks here is moot. */
  #follow(origin: string, to: HealthVerdict): void {
    const target = this.#registry.get(origin);
    const judge = target === undefined ? undefined : this.#checkers.get(target);
    if (!(judge instanceof FollowedHealth)) return;
    const from = judge.follow(to);
    if (from !== undefined) this.#onHealthChange(judge.target, from, to);
  }

  /**
   * Everything the proxy shows of itself, as plain data that survives `JSON.stringify` (the
   * admin server, the metrics and the dashboard render from it). Counters in it only grow, so the
   * snapshots of several processes add up: `ProxySnapshot`'s module says how each field combines.
   */
  snapshot(): ProxySnapshot {
    return {
      time: Date.now(),
      targets: [...this.#registry.values()].map((target) => target.snapshot()),
      routes: this.#routes.routes.map(routeSnapshot),
      // Only with a TLS listener, so that a cleartext proxy's metrics show no family that stays 0.
      ...(this.#secure === undefined ? {} : { tlsRequests: { ...this.#tlsRequests } }),
    };
  }

  /**
   * Starts a server for this proxy; resolves to the bound address. With `options.tls` it serves
   * HTTPS, and HTTP/2 to clients that offer `h2` by ALPN, on that port (server.ts); a certificate
   * or key Node cannot use rejects. `proxy.handler` mounted on an `http` or `https` server of
   * one's own works as well; an h2 request needs the request and response classes of server.ts,
   * which only `listen()` sets up.
   */
  listen(port = 0, host = '127.0.0.1', options: ListenOptions = {}): Promise<AddressInfo> {
    if (this.#server !== undefined) return Promise.reject(new Error('listen() was called already'));
    let server: http.Server;
    if (options.tls === undefined) {
      server = createServer(this);
    } else {
      try {
        const secure = createSecureServer(options.tls, { handler: this.handler, upgrade: this.upgrade, counted: this.#countTls }, configureServer);
        this.#secure = secure;
        server = secure as unknown as http.Server;
      } catch (error) {
        return Promise.reject(error);
      }
    }
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, backlog: SERVER_LIMITS.backlog }, () => {
        server.off('error', reject);
        resolve(server.address() as AddressInfo);
      });
    });
  }

  readonly #countTls = (protocol: ClientProtocol): void => {
    this.#tlsRequests[protocol]++;
  };

  /**
   * Swaps the TLS listener's certificate: new connections get it, connections open now keep the
   * one they started with (`server.setSecureContext()`). Throws when Node cannot use the pair,
   * or when the proxy is not listening with TLS; the old certificate stays then.
   */
  setCertificate(certificate: TlsCertificate): void {
    if (this.#secure === undefined) throw new Error('setCertificate(): the proxy is not listening with TLS');
    this.#secure.setSecureContext({ cert: certificate.cert, key: certificate.key });
  }

  /**
   * Stops accepting connections, lets requests in flight finish for up to `drainTimeout` ms
   * (idle keep-alive connections are closed at once, busy ones after their response), then
   * closes whatever is left and the targets' sockets.
   */
  async close(drainTimeout = 10_000): Promise<void> {
    this.#draining = true;
    const server = this.#server;
    if (server !== undefined) {
      const closed = stopAccepting(server);
      const secure = this.#secure;
      if (secure !== undefined) closeH2(secure, true);
      server.closeIdleConnections();
      const deadline = performance.now() + drainTimeout;
      while (this.inFlight > 0 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        server.closeIdleConnections();
      }
      // The TLS server's HTTP/1.1 connections are tracked by Node's http code too, but
      // Http2SecureServer does not expose closeAllConnections().
      http.Server.prototype.closeAllConnections.call(server);
      if (secure !== undefined) closeH2(secure, false);
      for (const tunnel of this.#attempts.tunnels) tunnel.close();
      await closed;
    }
    for (const prober of this.#probers.values()) prober.stop();
    for (const checker of this.#checkers.values()) checker.stop(false);
    for (const target of this.#registry.values()) target.close();
  }
}

/**
 * The HTTP server `listen()` starts for `proxy`, with SERVER_LIMITS applied (module-level so that
 * tests can check the limits and shorten them; not part of the package's surface).
 */
export function createServer(proxy: Proxy): http.Server {
  const server = http.createServer(
    {
      headersTimeout: SERVER_LIMITS.headersTimeout,
      requestTimeout: SERVER_LIMITS.requestTimeout,
      connectionsCheckingInterval: SERVER_LIMITS.connectionsCheckingInterval,
      keepAliveTimeout: SERVER_LIMITS.keepAliveTimeout,
      maxHeaderSize: SERVER_LIMITS.maxHeaderSize,
    },
    proxy.handler,
  );
  server.on('upgrade', proxy.upgrade);
  configureServer(server);
  return server;
}

/** `listen()`'s options. */
export interface ListenOptions {
  /** Serve HTTPS (and h2 by ALPN) with this certificate and key, PEM. */
  tls?: TlsCertificate | undefined;
}

/**
 * SERVER_LIMITS and the listeners every HTTP/1.1 server of the proxy shares, the TLS one's
 * included (it reads them as properties: Node's http server code runs with it as `this`).
 */
function configureServer(server: http.Server): void {
  server.headersTimeout = SERVER_LIMITS.headersTimeout;
  server.requestTimeout = SERVER_LIMITS.requestTimeout;
  (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = SERVER_LIMITS.connectionsCheckingInterval;
  server.keepAliveTimeout = SERVER_LIMITS.keepAliveTimeout;
  (server as { maxHeaderSize?: number }).maxHeaderSize = SERVER_LIMITS.maxHeaderSize;
  server.maxRequestsPerSocket = SERVER_LIMITS.maxRequestsPerSocket;
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    // On the TLS server an h2 CONNECT comes here too, with a response in place of a socket.
    if (req.httpVersionMajor === 2) return sendAnswer(socket as unknown as ServerResponse, REFUSE_CONNECT.status, REFUSE_CONNECT.error, '', undefined, REFUSE_CONNECT.extra);
    socket.on('error', () => socket.destroy());
    answerSocket(socket, REFUSE_CONNECT.status, REFUSE_CONNECT.error, '', undefined, REFUSE_CONNECT.extra);
  });
  server.on('clientError', onClientError);
}

function routeSnapshot(route: Route): RouteSnapshot {
  return {
    match: route.config.match,
    stripPrefix: route.config.stripPrefix,
    timeout: route.config.timeout,
    failureStatus: route.config.failureStatus.text,
    targets: route.targets.map((target) => target.origin),
    fallback: fallbackSnapshot(route),
    fallbacks: route.fallbacks,
    queue:
      route.queue === undefined
        ? null
        : { limit: route.queue.limit, timeout: route.queue.timeout, length: route.queue.length, queued: route.queue.queued, timedOut: route.queue.timedOut },
    balance: route.config.balance,
    weights: [...route.config.weights],
    retryOn: route.config.retryOn?.text ?? null,
  };
}

function fallbackSnapshot(route: Route): RouteSnapshot['fallback'] {
  const answer = route.config.fallbackAnswer;
  if (answer !== undefined) return { kind: 'static', status: answer.status };
  if (route.fallback === undefined) return null;
  return { kind: 'targets', targets: route.fallback.targets.map((target) => target.origin) };
}

/**
 * `server.close()`, but with the listener closed before any idle connection: http.Server.close()
 * closes idle keep-alive connections first, and a client that sees its connection close and
 * reconnects at once would reach a listener about to close (and be reset, not refused).
 */
function stopAccepting(server: http.Server): Promise<void> {
  // close() calls closeIdleConnections() before closing the listener; shadow it for that call
  // (the caller closes idle connections right after, once nothing new can arrive).
  Object.defineProperty(server, 'closeIdleConnections', { value: () => {}, configurable: true });
  try {
    return new Promise<void>((resolve) => server.close(() => resolve()));
  } finally {
    delete (server as { closeIdleConnections?: unknown }).closeIdleConnections;
  }
}

/**
 * Malformed requests never reach the handler: Node's parser rejects them. Answer like every other
 * proxy-made error (status + Proxy-Status), then close, since the connection's framing is lost.
 */
function onClientError(error: Error & { code?: string }, socket: Duplex): void {
  // A response already under way (a body error or a timeout mid-upload): a status line written now
  // would land inside its body. Cut the connection instead, as Node's own handler does.
  const current = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!socket.writable || current?.headersSent === true) return void socket.destroy();
  const status =
    error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'HPE_URI_TOO_LONG' ? 414 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  answerSocket(socket, status, 'http_request_error');
}

/** Answers a request refused before routing; a `close` refusal also condemns its connection. */
function refuseRequest(req: IncomingMessage, res: ServerResponse, refusal: RequestRefusal): void {
  // An h2 stream's `req.socket` is its connection's, which every other stream shares, and h2
  // framing cannot be lost to one request: only an HTTP/1.x connection is condemned.
  if (refusal.close && req.httpVersionMajor === 1) {
    res.shouldKeepAlive = false;
    // Node has parsed (and will hand over) whatever was pipelined behind this request already.
    (req.socket as ClientSocket)[kRefused] = true;
  }
  sendAnswer(res, refusal.status, refusal.error, '', undefined, refusal.extra);
}

export function createProxy(options: ProxyOptions): Proxy {
  return new Proxy(options);
}
