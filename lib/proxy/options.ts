/**
 * The proxy's options: their types, defaults and validation, done once at the edge. The CLI flags
 * and the config file both map onto `ProxyOptions`; everything past this module works with the
 * resolved, checked `ProxyConfig` and never validates again.
 */
import { resolveBreakerOptions, type ResolvedBreakerOptions } from '../breaker/breaker.js';
import { ConfigError } from '../errors.js';
import { decodeUnreserved, normalizeHost } from './path.js';
import { DEFAULT_FAILURE_STATUS, StatusSet } from './status-set.js';

/** Breaker options per target (see `CircuitBreakerOptions`); the call timeout is the proxy's `timeout`. */
export interface ProxyBreakerOptions {
  /** Consecutive failures that open a target's circuit. @default 5 */
  failureThreshold?: number;
  /** Ms a circuit stays open before a probe. @default 30_000 */
  resetTimeout?: number;
  /** Cap of the open period as failed probes double it. @default 10 * resetTimeout */
  resetTimeoutMax?: number;
  /** Random extra fraction of each open period, so replicas' breakers do not probe in step. @default 0.1 */
  jitter?: number;
  /** Probes let through at once while half-open. @default 1 */
  halfOpenMaxCalls?: number;
  /** Also open when this percentage of requests in `window` failed (after `minRequests`). Off unless set. */
  failureRate?: number;
  /** Window of the failure-rate rule, ms. @default 10_000 */
  window?: number;
  /** Requests the failure-rate rule needs in its window. @default 10 */
  minRequests?: number;
}

export type TargetInput = string | URL;

export interface RouteOptions {
  /**
   * What the route serves: a path prefix (`/api/users`), a host (`users.example.com`), or a host
   * with a path prefix (`users.example.com/v2`). Prefixes match whole segments.
   */
  match: string;
  /** The service's replicas: requests are balanced over them. */
  targets: TargetInput | readonly TargetInput[];
  /** Forward `/api/users/7` as `/7` when the route matched `/api/users`. @default false */
  stripPrefix?: boolean;
  /** This route's call timeout (ms to wait for response headers). @default the proxy's `timeout` */
  timeout?: number;
  /** Statuses that count as failures on this route. @default the proxy's `failureStatus` */
  failureStatus?: string | readonly number[];
  /** Breaker options for this route's targets, over the proxy's `breaker`. */
  breaker?: ProxyBreakerOptions;
}

export interface ProxyOptions {
  /** One upstream origin: shorthand for a catch-all route `/`. */
  target?: TargetInput;
  /** Several replicas of one upstream: shorthand for a catch-all route `/` balanced over them. */
  targets?: readonly TargetInput[];
  /** Routes to several services; longest match wins. */
  routes?: readonly RouteOptions[];
  /** Default breaker options of every target. */
  breaker?: ProxyBreakerOptions;
  /** Call timeout: ms to wait for response headers (not for a slow body). @default 10_000 */
  timeout?: number;
  /** Statuses that count as a target's failure, e.g. `"500-599"`, `"502-504,500"`. @default "500-599" */
  failureStatus?: string | readonly number[];
  /** Forward the client's `Host` instead of the target's. @default false */
  preserveHost?: boolean;
  /** Failover retries of a request that no target could have processed. @default 1 with several targets, else 0 */
  retries?: number;
  /** Retries allowed as a percentage of requests in flight (Envoy's retry budget). @default 20 */
  retryBudgetPercent?: number;
  /** Retries always allowed at once, whatever the budget. @default 3 */
  retryBudgetMin?: number;
  /** Requests in flight per target; beyond it a request is refused (503) or goes elsewhere. @default Infinity */
  maxConcurrent?: number;
  /** Ms over which a recovered target's share of traffic ramps up to full. @default 0 (off) */
  slowStart?: number;
  /** Probe half-open targets with `GET probePath` instead of a client's request. @default off */
  probePath?: string;
  /** Skip TLS certificate verification of https targets. Prints a warning in the CLI. @default false */
  insecure?: boolean;
}

export interface ResolvedRoute {
  /** The `match` as given, for logs and the routing table. */
  match: string;
  /** Lower-case host without port or trailing dot; `undefined` matches any host. */
  host: string | undefined;
  /** Path prefix without a trailing slash; `''` for the root. */
  prefix: string;
  stripPrefix: boolean;
  timeout: number;
  failureStatus: StatusSet;
  breaker: ResolvedBreakerOptions;
  targets: URL[];
  retries: number;
}

export interface ProxyConfig {
  routes: ResolvedRoute[];
  preserveHost: boolean;
  retryBudgetPercent: number;
  retryBudgetMin: number;
  maxConcurrent: number;
  slowStart: number;
  probePath: string | undefined;
  insecure: boolean;
}

const PROXY_KEYS = [
  'target', 'targets', 'routes', 'breaker', 'timeout', 'failureStatus', 'preserveHost', 'retries',
  'retryBudgetPercent', 'retryBudgetMin', 'maxConcurrent', 'slowStart', 'probePath', 'insecure',
] as const;
const ROUTE_KEYS = ['match', 'targets', 'stripPrefix', 'timeout', 'failureStatus', 'breaker'] as const;
const BREAKER_KEYS = [
  'failureThreshold', 'resetTimeout', 'resetTimeoutMax', 'jitter', 'halfOpenMaxCalls', 'failureRate', 'window', 'minRequests',
] as const;

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** The config-file checks below are shared with the CLI's reader of `listen`, `admin` and `log`. */
export function expectObject(value: unknown, where: string, expected = 'an object'): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(where, `expected ${expected}, got ${show(value)}`);
  }
  return value as Record<string, unknown>;
}

/** A value as an error message shows it: JSON for scalars, the kind for objects and arrays. */
export function show(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? String(value);
  return 'an object';
}

/** A misspelt option must not be silently ignored. */
export function checkKeys(object: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const key of Object.keys(object)) {
    if (object[key] !== undefined && !known.includes(key)) {
      throw new ConfigError(join(where, key), `unknown option (known: ${known.join(', ')})`);
    }
  }
}

function number(value: unknown, where: string, { min = 0, integer = false, infinite = false, exclusive = false } = {}): number {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (Number.isFinite(value) || (infinite && value === Infinity)) &&
    (!integer || !Number.isFinite(value) || Number.isInteger(value)) &&
    (exclusive ? value > min : value >= min);
  if (!ok) {
    const kind = integer ? 'an integer' : 'a number';
    throw new ConfigError(where, `expected ${kind} ${exclusive ? '>' : '>='} ${min}, got ${show(value)}`);
  }
  return value as number;
}

function boolean(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(where, `expected true or false, got ${show(value)}`);
  return value;
}

/** An upstream origin: http(s), no credentials, no path, query or fragment. */
export function parseTargetUrl(value: unknown, where: string): URL {
  const text = value instanceof URL ? value.href : value;
  if (typeof text !== 'string') throw new ConfigError(where, `expected a URL string, got ${show(value)}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(where, `${JSON.stringify(text)} is not a URL (expected e.g. http://127.0.0.1:3000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(where, `${JSON.stringify(text)} is not an http(s) URL`);
  }
  if (url.username !== '' || url.password !== '') {
    // Credentials in a URL end up in logs and snapshots; this proxy never forwards secrets it was not asked to.
    throw new ConfigError(where, `target URLs must not carry credentials`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new ConfigError(where, `${JSON.stringify(text)} must be an origin like ${url.origin} (no path, query or fragment)`);
  }
  return url;
}

function resolveBreaker(layers: readonly unknown[], where: readonly string[]): ResolvedBreakerOptions {
  const merged: Record<string, unknown> = {};
  layers.forEach((layer, i) => {
    if (layer === undefined) return;
    const object = expectObject(layer, where[i]!);
    checkKeys(object, BREAKER_KEYS, where[i]!);
    // An option set to `undefined` is not set: it must not hide the proxy-level value.
    for (const key of Object.keys(object)) if (object[key] !== undefined) merged[key] = object[key];
  });
  const resetTimeout = (merged.resetTimeout as number | undefined) ?? 30_000;
  const defaults = { jitter: 0.1, resetTimeoutMax: typeof resetTimeout === 'number' ? resetTimeout * 10 : undefined };
  try {
    return resolveBreakerOptions({ ...defaults, ...merged, callTimeout: Infinity });
  } catch (error) {
    // Name the option where it was written, like every other config error.
    const message = (error as Error).message;
    const option = /`(\w+)`/.exec(message)?.[1];
    // The last layer that sets the option is where it was written (the proxy's `breaker` when
    // the route does not set it); the route's layer when no layer does (a default went wrong).
    let layer = where.length - 1;
    if (option !== undefined) {
      for (let i = layers.length - 1; i >= 0; i--) {
        const value = layers[i] as Record<string, unknown> | undefined;
        if (value?.[option] !== undefined) {
          layer = i;
          break;
        }
      }
    }
    const at = where[layer] ?? 'breaker';
    throw new ConfigError(option === undefined ? at : join(at, option), message.replace(/^Expected `\w+` to be/, 'expected'));
  }
}

function resolveTargets(value: unknown, where: string): URL[] {
  const single = typeof value === 'string' || value instanceof URL;
  const list = single ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(where, `expected one or more target URLs, got ${show(value)}`);
  // A lone URL is reported where it was written (`target`, `routes[0].targets`), not as `[0]` of a list.
  const urls = list.map((item, i) => parseTargetUrl(item, single ? where : join(where, i)));
  const seen = new Set<string>();
  urls.forEach((url, i) => {
    if (seen.has(url.origin)) throw new ConfigError(join(where, i), `${url.origin} is listed twice`);
    seen.add(url.origin);
  });
  return urls;
}

/** Splits a route's `match` into host and path prefix. */
export function parseMatch(value: unknown, where: string): { host: string | undefined; prefix: string } {
  if (typeof value !== 'string' || value === '') {
    throw new ConfigError(where, `expected a path prefix ("/api"), a host ("api.example.com") or both ("api.example.com/v2"), got ${show(value)}`);
  }
  const slash = value.indexOf('/');
  const hostPart = slash === -1 ? value : value.slice(0, slash);
  const pathPart = slash === -1 ? '/' : value.slice(slash);
  let host: string | undefined;
  if (hostPart !== '') {
    host = normalizeHost(hostPart);
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host)) {
      throw new ConfigError(where, `${JSON.stringify(hostPart)} is not a host name`);
    }
  }
  // Only characters a request path holds unescaped (RFC 3986 pchar): a prefix with others
  // (`/café`, `/a"b`) could never match a request. Escapes are written as normalizeRequestTarget
  // writes them, so `/caf%c3%a9` matches a request for `/caf%C3%A9`.
  const decoded = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/.test(pathPart) ? decodeUnreserved(pathPart) : undefined;
  if (decoded === undefined || /\/\.\.?(\/|$)/.test(decoded) || decoded.includes('//')) {
    throw new ConfigError(
      where,
      `path prefix ${JSON.stringify(pathPart)} must be a plain path like /api/users (ASCII, other characters percent-encoded; no query, dot segments or empty segments)`,
    );
  }
  return { host, prefix: decoded.replace(/\/+$/, '') };
}

/** Validates options once and fills in defaults. Throws `ConfigError` naming the offending path. */
export function resolveProxyOptions(input: ProxyOptions, where = ''): ProxyConfig {
  const options = expectObject(input, where === '' ? 'options' : where);
  checkKeys(options, PROXY_KEYS, where);
  const at = (key: string) => join(where, key);

  const timeout = number(options.timeout ?? 10_000, at('timeout'), { exclusive: true });
  const failureStatus = options.failureStatus === undefined ? DEFAULT_FAILURE_STATUS : StatusSet.parse(options.failureStatus as string, at('failureStatus'));
  const retries = options.retries === undefined ? undefined : number(options.retries, at('retries'), { integer: true });

  const given = [options.target, options.targets, options.routes].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw new ConfigError(where, given === 0 ? 'no target: give `target`, `targets` or `routes`' : 'give only one of `target`, `targets` and `routes`');
  }
  let routeInputs: Array<{ value: Record<string, unknown>; where: string }>;
  if (options.routes !== undefined) {
    if (!Array.isArray(options.routes) || options.routes.length === 0) throw new ConfigError(at('routes'), `expected a non-empty array of routes, got ${show(options.routes)}`);
    routeInputs = options.routes.map((route, i) => ({ value: expectObject(route, join(at('routes'), i)), where: join(at('routes'), i) }));
  } else {
    const targetsWhere = options.target !== undefined ? at('target') : at('targets');
    routeInputs = [{ value: { match: '/', targets: options.target ?? options.targets, [TARGETS_WHERE]: targetsWhere }, where }];
  }

  const routes = routeInputs.map(({ value, where: routeWhere }): ResolvedRoute => {
    const shorthand = value[TARGETS_WHERE] as string | undefined;
    if (shorthand === undefined) checkKeys(value, ROUTE_KEYS, routeWhere);
    const rat = (key: string) => join(routeWhere, key);
    const { host, prefix } = parseMatch(value.match, rat('match'));
    const targets = resolveTargets(value.targets, shorthand ?? rat('targets'));
    return {
      match: value.match as string,
      host,
      prefix,
      stripPrefix: value.stripPrefix === undefined ? false : boolean(value.stripPrefix, rat('stripPrefix')),
      timeout: value.timeout === undefined ? timeout : number(value.timeout, rat('timeout'), { exclusive: true }),
      failureStatus: value.failureStatus === undefined ? failureStatus : StatusSet.parse(value.failureStatus as string, rat('failureStatus')),
      breaker: resolveBreaker([options.breaker, value.breaker], [at('breaker'), rat('breaker')]),
      targets,
      retries: retries ?? (targets.length > 1 ? 1 : 0),
    };
  });

  const seen = new Map<string, number>();
  routes.forEach((route, i) => {
    const key = `${route.host ?? ''}${route.prefix}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) throw new ConfigError(join(at('routes'), i), `matches the same requests as routes[${earlier}] (${routes[earlier]!.match})`);
    seen.set(key, i);
  });
  checkSharedTargets(routes, at('routes'));

  return {
    routes,
    preserveHost: options.preserveHost === undefined ? false : boolean(options.preserveHost, at('preserveHost')),
    retryBudgetPercent: number(options.retryBudgetPercent ?? 20, at('retryBudgetPercent')),
    retryBudgetMin: number(options.retryBudgetMin ?? 3, at('retryBudgetMin'), { integer: true }),
    maxConcurrent: number(options.maxConcurrent ?? Infinity, at('maxConcurrent'), { integer: true, infinite: true, min: 1 }),
    slowStart: number(options.slowStart ?? 0, at('slowStart')),
    probePath: options.probePath === undefined ? undefined : probePath(options.probePath, at('probePath')),
    insecure: options.insecure === undefined ? false : boolean(options.insecure, at('insecure')),
  };
}

/** Marks the internal catch-all route made from `target`/`targets`, so its errors name those keys. */
const TARGETS_WHERE = Symbol('targetsWhere') as unknown as string;

function probePath(value: unknown, where: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || /[\s#]/.test(value)) {
    throw new ConfigError(where, `expected a path like /health, got ${show(value)}`);
  }
  return value;
}

/**
 * One breaker per origin: two routes that name the same target share its breaker, so they must
 * not ask for different breaker options.
 */
function checkSharedTargets(routes: readonly ResolvedRoute[], where: string): void {
  const byOrigin = new Map<string, { options: string; route: number }>();
  routes.forEach((route, i) => {
    const options = JSON.stringify(route.breaker);
    route.targets.forEach((url, j) => {
      const earlier = byOrigin.get(url.origin);
      if (earlier === undefined) byOrigin.set(url.origin, { options, route: i });
      else if (earlier.options !== options) {
        throw new ConfigError(
          `${join(join(where, i), 'targets')}[${j}]`,
          `${url.origin} is also a target of routes[${earlier.route}] with other breaker options; one origin has one breaker`,
        );
      }
    });
  });
}
