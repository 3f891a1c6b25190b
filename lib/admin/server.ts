/**
 * The admin server: its routes, its auth, and its own listener (never the proxy's port, so the
 * proxied namespace stays entirely the upstream's).
 *
 *   GET  /                              the live dashboard
 *   GET  /breakers                      every target: state, counts, rates, latency; plus routes
 *   GET  /breakers/{target}             one target
 *   POST /breakers/{target}/open|close|reset   manual control (bearer token when configured)
 *   GET  /metrics                       Prometheus text
 *   GET  /events                        Server-Sent Events: `state` and `stats`
 *   GET  /healthz, /readyz              liveness; readiness = some target admits requests
 *
 * `{target}` is the URL-encoded origin, e.g. `http%3A%2F%2F127.0.0.1%3A3000`.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CircuitState } from '../breaker/breaker.js';
import { ConfigError } from '../errors.js';
import { resolveOptions } from '../options.js';
import { BREAKER_ACTIONS, originOf, type BreakerAction } from '../proxy/control.js';
import type { ProxySnapshot, TargetSnapshot } from '../proxy/snapshot.js';
import { assertAdminBinding, BearerAuth, isCrossSite } from './auth.js';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard.js';
import { EventHub } from './events.js';
import { METRICS_CONTENT_TYPE, metricsText } from './metrics.js';
import type { ObservedProxy } from './observed.js';
import { ADMIN_OPTIONS } from './options.js';
import { RateSampler } from './rates.js';
import { breakersView, statsView, targetView } from './views.js';

/** Ranges and defaults: `ADMIN_OPTIONS` (lib/admin/options.ts). */
export interface AdminHandlerOptions {
  /** Bearer token required by the manual-control routes; none by default (only use on loopback). */
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

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

function send(res: http.ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...COMMON_HEADERS, ...headers, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, headers);
}

function sendError(res: http.ServerResponse, status: number, error: string, message: string, headers?: Record<string, string>): void {
  sendJson(res, status, { error, message }, headers);
}

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

/** A target admits requests unless its circuit is OPEN (the snapshot has moved an expired open period on). */
function readiness(snapshot: ProxySnapshot): { ready: boolean; admitting: number; targets: number } {
  let admitting = 0;
  for (const target of snapshot.targets) if (target.state !== CircuitState.OPEN) admitting++;
  return { ready: admitting > 0, admitting, targets: snapshot.targets.length };
}

/**
 * The admin routes as a request handler, for any `http.Server` (or a framework). Starts one
 * unref'd sampling timer; call `handler.close()` when done with it.
 */
export function createAdminHandler(proxy: ObservedProxy, options: AdminHandlerOptions = {}): AdminHandler {
  const { token, sampleInterval } = resolveOptions(HANDLER_OPTIONS, [{ value: options, path: '', otherKeys: ['port', 'host'] }]);
  const auth = token === undefined ? undefined : new BearerAuth(token);
  const sampler = new RateSampler(proxy, { interval: sampleInterval });
  const hub = new EventHub(proxy, sampler, { stats: () => statsView(proxy.snapshot(), sampler) });
  hub.attach();
  sampler.start();

  const allow = (req: http.IncomingMessage, res: http.ServerResponse, methods: readonly string[]): boolean => {
    if (methods.includes(req.method ?? '')) return true;
    sendError(res, 405, 'method_not_allowed', `Use ${methods.join(' or ')}.`, { allow: methods.join(', ') });
    return false;
  };
  const GET = ['GET', 'HEAD'] as const;

  const control = (req: http.IncomingMessage, res: http.ServerResponse, encoded: string, action: BreakerAction): void => {
    if (!allow(req, res, ['POST'])) return;
    if (isCrossSite(req)) return sendError(res, 403, 'forbidden', 'Cross-site requests cannot change breakers.');
    if (auth !== undefined) {
      const verdict = auth.check(req);
      if (verdict !== 'ok') {
        const challenge = verdict === 'invalid' ? 'Bearer realm="proxy-breaker", error="invalid_token"' : 'Bearer realm="proxy-breaker"';
        return sendError(res, 401, 'unauthorized', 'A valid bearer token is required.', { 'www-authenticate': challenge });
      }
    }
    const name = decodeOrigin(encoded);
    const target = name === undefined ? undefined : proxy.breakers[action](name);
    if (target === undefined) return sendError(res, 404, 'unknown_target', 'No such target.');
    sendJson(res, 200, { action, ...targetView(target, sampler, []) });
  };

  const route = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const path = pathOf(req.url);
    switch (path) {
      case '/':
        if (!allow(req, res, GET)) return;
        return send(res, 200, 'text/html; charset=utf-8', DASHBOARD_HTML, {
          'content-security-policy': DASHBOARD_CSP,
          'x-frame-options': 'DENY',
        });
      case '/breakers':
        if (!allow(req, res, GET)) return;
        return sendJson(res, 200, proxy.workers === undefined ? breakersView(proxy.snapshot(), sampler, hub) : { ...breakersView(proxy.snapshot(), sampler, hub), workers: proxy.workers() });
      case '/workers':
        if (proxy.workers === undefined) break;
        if (!allow(req, res, GET)) return;
        return sendJson(res, 200, { workers: proxy.workers() });
      case '/metrics':
        if (!allow(req, res, GET)) return;
        return send(res, 200, METRICS_CONTENT_TYPE, metricsText(proxy.snapshot()));
      case '/healthz':
        if (!allow(req, res, GET)) return;
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz': {
        if (!allow(req, res, GET)) return;
        const state = readiness(proxy.snapshot());
        return sendJson(res, state.ready ? 200 : 503, { status: state.ready ? 'ready' : 'unavailable', ...state });
      }
      case '/events':
        if (!allow(req, res, GET)) return;
        return hub.connect(req, res);
    }
    if (path.startsWith('/breakers/')) {
      const rest = path.slice('/breakers/'.length);
      const slash = rest.lastIndexOf('/');
      const last = rest.slice(slash + 1);
      if (slash > 0 && isAction(last)) return control(req, res, rest.slice(0, slash), last);
      if (!allow(req, res, GET)) return;
      const name = decodeOrigin(rest);
      const snapshot = proxy.snapshot();
      const target = name === undefined ? undefined : findTarget(snapshot, name);
      if (target === undefined) return sendError(res, 404, 'unknown_target', 'No such target.');
      const view = breakersView(snapshot, sampler, hub).targets.find((t) => t.target === target.target);
      return sendJson(res, 200, view);
    }
    sendError(res, 404, 'not_found', 'Try /, /breakers, /metrics, /events, /healthz or /readyz.');
  };

  const handler = ((req: http.IncomingMessage, res: http.ServerResponse): void => {
    // No route reads a body; drain it so keep-alive connections stay usable.
    req.resume();
    try {
      route(req, res);
    } catch {
      // Never echo the error: it could quote request data.
      if (!res.headersSent) sendError(res, 500, 'internal_error', 'The admin server failed to answer.');
      else res.destroy();
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
