/**
 * The admin server: its routes, its auth, and its own listener (never the proxy's port, so the
 * proxied namespace stays entirely the upstream's).
 *
 *   GET  /                              the live dashboard
 *   GET  /breakers                      every target: state, counts, rates, latency; plus routes
 *   GET  /breakers/{target}             one target
 *   POST /breakers/{target}/open|close|reset   manual control
 *   GET  /metrics                       Prometheus text
 *   GET  /events                        Server-Sent Events: `state` and `stats`
 *   GET  /healthz, /readyz              liveness; readiness = some target admits requests
 *   GET|POST /login, POST /logout       the dashboard's sign-in, with a token only
 *
 * `{target}` is the URL-encoded origin, e.g. `http%3A%2F%2F127.0.0.1%3A3000`.
 *
 * With a token, every route but `/healthz`, `/readyz` and the sign-in needs it: as
 * `Authorization: Bearer` from any client, or as the session cookie the login form gives a
 * browser. The cookie only reads; manual control takes the bearer token.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CircuitState } from '../breaker/breaker.js';
import { ConfigError } from '../errors.js';
import { resolveOptions } from '../options.js';
import { BREAKER_ACTIONS, originOf, type BreakerAction } from '../proxy/control.js';
import type { ProxySnapshot, TargetSnapshot } from '../proxy/snapshot.js';
import { assertAdminBinding, BearerAuth, isCrossSite } from './auth.js';
import { DASHBOARD, SIGNED_IN_DASHBOARD } from './dashboard.js';
import { EventHub } from './events.js';
import { CHALLENGE, LoginRoutes } from './login.js';
import { METRICS_CONTENT_TYPE, metricsText } from './metrics.js';
import type { ObservedProxy } from './observed.js';
import { ADMIN_OPTIONS } from './options.js';
import { RateSampler } from './rates.js';
import { redirect, send, sendError, sendJson, sendPage } from './respond.js';
import { SessionCookies } from './session.js';
import { breakersView, statsView, targetView } from './views.js';

/** Ranges and defaults: `ADMIN_OPTIONS` (lib/admin/options.ts). */
export interface AdminHandlerOptions {
  /**
   * Token every route but `/healthz` and `/readyz` requires (a bearer token, or the dashboard's
   * sign-in); none by default, and then everything is open (only use on loopback).
   */
  token?: string;
  /** Ms between rate samples and `stats` events. */
  sampleInterval?: number;
}

export interface AdminServerOptions extends AdminHandlerOptions {
  /** Port of the admin listener; 0 picks a free one. */
  port: number;
  /** Interface to bind; a non-loopback one requires `token`. */
  host?: string;
}

/** The handler's share of the table; `port` and `host` are the server's. */
const HANDLER_OPTIONS = { token: ADMIN_OPTIONS.token, sampleInterval: ADMIN_OPTIONS.sampleInterval };

/** `(req, res)` for `http.createServer`; `close()` stops its sampler and ends its event streams. */
export interface AdminHandler {
  (req: http.IncomingMessage, res: http.ServerResponse): void;
  close(): void;
}

export interface AdminServer {
  /** e.g. `http://127.0.0.1:9901` */
  url: string;
  port: number;
  close(): Promise<void>;
}

const isAction = (name: string): name is BreakerAction => (BREAKER_ACTIONS as readonly string[]).includes(name);

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const query = raw.indexOf('?');
  return query === -1 ? raw : raw.slice(0, query);
}

/** The URL-decoded path segment naming a target, or undefined when it does not decode. */
function decodeOrigin(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}

/** The snapshot of the target `name` spells (`HTTP://127.0.0.1:80/` is `http://127.0.0.1`), or undefined. */
function findTarget(snapshot: ProxySnapshot, name: string): TargetSnapshot | undefined {
  const origin = originOf(name);
  return snapshot.targets.find((target) => target.target === name || target.target === origin);
}

/**
 * A target admits requests unless its circuit is OPEN (the snapshot has moved an expired open
 * period on) or its health checks keep it out of rotation.
 */
function readiness(snapshot: ProxySnapshot): { ready: boolean; admitting: number; targets: number } {
  let admitting = 0;
  for (const target of snapshot.targets) if (target.state !== CircuitState.OPEN && target.health?.inRotation !== false) admitting++;
  return { ready: admitting > 0, admitting, targets: snapshot.targets.length };
}

/** Never echo the error: it could quote request data. */
function fail(res: http.ServerResponse): void {
  if (!res.headersSent) sendError(res, 500, 'internal_error', 'The admin server failed to answer.');
  else res.destroy();
}

/**
 * The admin routes as a request handler, for any `http.Server` (or a framework). Starts one
 * unref'd sampling timer; call `handler.close()` when done with it.
 */
export function createAdminHandler(proxy: ObservedProxy, options: AdminHandlerOptions = {}): AdminHandler {
  const { token, sampleInterval } = resolveOptions(HANDLER_OPTIONS, [{ value: options, path: '', otherKeys: ['port', 'host'] }]);
  const auth = token === undefined ? undefined : new BearerAuth(token);
  const sessions = new SessionCookies();
  const login = auth === undefined ? undefined : new LoginRoutes(auth, sessions);
  const dashboard = auth === undefined ? DASHBOARD : SIGNED_IN_DASHBOARD;
  const sampler = new RateSampler(proxy, { interval: sampleInterval });
  const hub = new EventHub(proxy, sampler, { stats: (snapshot) => statsView(snapshot, sampler) });
  hub.attach();
  sampler.start();

  const allow = (req: http.IncomingMessage, res: http.ServerResponse, methods: readonly string[]): boolean => {
    if (methods.includes(req.method ?? '')) return true;
    sendError(res, 405, 'method_not_allowed', `Use ${methods.join(' or ')}.`, { allow: methods.join(', ') });
    return false;
  };
  const GET = ['GET', 'HEAD'] as const;

  /** RFC 6750 3: the challenge names the error only when a token was sent and was wrong. */
  const unauthorized = (res: http.ServerResponse, verdict: 'missing' | 'invalid'): void => {
    const challenge = verdict === 'invalid' ? `${CHALLENGE}, error="invalid_token"` : CHALLENGE;
    sendError(res, 401, 'unauthorized', 'A valid bearer token is required.', { 'www-authenticate': challenge });
  };

  /**
   * With a token, a read needs the bearer token or a live session. Without either, a browser
   * asking for the dashboard is sent to the form and anything else gets 401, and the result is
   * undefined: the request has its answer. Otherwise `until` is when the session that let it in
   * ends (undefined for the bearer token, or without a token).
   */
  const admitRead = (req: http.IncomingMessage, res: http.ServerResponse, path: string): { until: number | undefined } | undefined => {
    if (auth === undefined) return { until: undefined };
    const verdict = auth.check(req);
    if (verdict === 'ok') return { until: undefined };
    if (verdict === 'missing') {
      const until = sessions.verify(req);
      if (until !== undefined) return { until };
      if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) return void redirect(res, 'login');
    }
    unauthorized(res, verdict);
    return undefined;
  };

  const control = (req: http.IncomingMessage, res: http.ServerResponse, encoded: string, action: BreakerAction): void => {
    if (!allow(req, res, ['POST'])) return;
    if (isCrossSite(req)) return sendError(res, 403, 'forbidden', 'Cross-site requests cannot change breakers.');
    // Only the bearer token changes a breaker: the dashboard has no controls, so its cookie reads.
    if (auth !== undefined) {
      const verdict = auth.check(req);
      if (verdict !== 'ok') return unauthorized(res, verdict);
    }
    const name = decodeOrigin(encoded);
    const target = name === undefined ? undefined : proxy.breakers[action](name);
    if (target === undefined) return sendError(res, 404, 'unknown_target', 'No such target.');
    sendJson(res, 200, { action, ...targetView(target, sampler, []) });
  };

  const route = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const path = pathOf(req.url);
    if (login !== undefined && path === '/login' && req.method === 'POST') {
      // The one route that reads a body: the form.
      return void login.login(req, res).catch(() => fail(res));
    }
    // No other route reads a body; drain it so keep-alive connections stay usable.
    req.resume();
    switch (path) {
      case '/healthz':
        if (!allow(req, res, GET)) return;
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz': {
        if (!allow(req, res, GET)) return;
        const state = readiness(proxy.snapshot());
        return sendJson(res, state.ready ? 200 : 503, { status: state.ready ? 'ready' : 'unavailable', ...state });
      }
      case '/login':
        if (login === undefined) break;
        if (!allow(req, res, ['GET', 'HEAD', 'POST'])) return;
        return login.page(res);
      case '/logout':
        if (login === undefined) break;
        if (!allow(req, res, ['POST'])) return;
        return login.logout(req, res);
    }
    if (path.startsWith('/breakers/')) {
      const rest = path.slice('/breakers/'.length);
      const slash = rest.lastIndexOf('/');
      const last = rest.slice(slash + 1);
      if (slash > 0 && isAction(last)) return control(req, res, rest.slice(0, slash), last);
    }
    // Everything else reads; behind a token even a 404 waits for credentials, so nothing is probed.
    const admitted = admitRead(req, res, path);
    if (admitted === undefined) return;
    switch (path) {
      case '/':
        if (!allow(req, res, GET)) return;
        return sendPage(res, 200, dashboard.html, dashboard.csp);
      case '/breakers':
        if (!allow(req, res, GET)) return;
        return sendJson(res, 200, { ...breakersView(proxy.snapshot(), sampler, hub), ...(proxy.workers === undefined ? {} : { workers: proxy.workers() }) });
      case '/workers':
        if (proxy.workers === undefined) break;
        if (!allow(req, res, GET)) return;
        return sendJson(res, 200, { workers: proxy.workers() });
      case '/metrics':
        if (!allow(req, res, GET)) return;
        return send(res, 200, METRICS_CONTENT_TYPE, metricsText(proxy.snapshot()));
      case '/events':
        if (!allow(req, res, GET)) return;
        // A stream a session opened ends with it (a copied cookie cannot keep one open); the
        // browser's reconnect then gets 401 and the page goes to the form.
        return hub.connect(req, res, admitted.until);
    }
    if (path.startsWith('/breakers/')) {
      if (!allow(req, res, GET)) return;
      const name = decodeOrigin(path.slice('/breakers/'.length));
      const snapshot = proxy.snapshot();
      const target = name === undefined ? undefined : findTarget(snapshot, name);
      if (target === undefined) return sendError(res, 404, 'unknown_target', 'No such target.');
      const view = breakersView(snapshot, sampler, hub).targets.find((t) => t.target === target.target);
      return sendJson(res, 200, view);
    }
    sendError(res, 404, 'not_found', 'Try /, /breakers, /metrics, /events, /healthz or /readyz.');
  };

  const handler = ((req: http.IncomingMessage, res: http.ServerResponse): void => {
    try {
      route(req, res);
    } catch {
      fail(res);
    }
  }) as AdminHandler;
  handler.close = (): void => {
    sampler.stop();
    hub.close();
  };
  return handler;
}

/** Starts the admin server on its own listener; refuses a non-loopback `host` without a token. */
export async function startAdminServer(proxy: ObservedProxy, options: AdminServerOptions): Promise<AdminServer> {
  const { port, host, token } = resolveOptions(ADMIN_OPTIONS, [{ value: options, path: '' }]);
  if (port === undefined) throw new ConfigError('port', 'required: the admin listener\'s port (0 picks a free one)');
  assertAdminBinding(host, token);
  const handler = createAdminHandler(proxy, options);
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 }, handler);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    handler.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}:${address.port}`,
    port: address.port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        handler.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
