/**
 * The proxy's options: one table (`PROXY_OPTIONS`, `ROUTE_OPTIONS`, `PROXY_BREAKER_OPTIONS`)
 * declares each option's check, default, doc and command-line flag; validation, defaults, the
 * CLI, `--help` and the README's option list all read it. The CLI flags and the config file both
 * map onto `ProxyOptions`; everything past this module works with the resolved, checked
 * `ProxyConfig` and never validates again.
 */
import { BREAKER_OPTIONS } from '../breaker/options.js';
import { ConfigError } from '../errors.js';
import { booleanOption, checkLayer, choiceOption, customOption, numberOption, resolveOptions, type CheckedLayer, type Resolved, type Siblings } from '../options.js';
import { joinPath as join, rejectUnknownKeys, show, validateNumber, validateObject } from '../validate.js';
import { BALANCE_STRATEGIES, type BalanceStrategy } from './balance.js';
import { resolveFallback, staticAnswer, type FallbackOptions, type StaticAnswer } from './fallback.js';
import { decodeUnreserved, normalizeHost } from './path.js';
import { normalizeCookieDomain, responseRules, type CookieRewrite, type ResponseRules } from './rewrite.js';
import { DEFAULT_FAILURE_STATUS, StatusSet } from './status-set.js';
import { checkCa, checkClientCert, checkClientKey, keyMatchesCert, sameTls, type Pem, type UpstreamTls } from './trust.js';

/**
 * Breaker options per target (see `CircuitBreakerOptions`); the call timeout is the proxy's
 * `timeout`. Ranges and defaults: `PROXY_BREAKER_OPTIONS` below, listed by `--help` and the README.
 */
export interface ProxyBreakerOptions {
  /** Consecutive failures that open a target's circuit. */
  failureThreshold?: number;
  /** Ms a circuit stays open before a probe. */
  resetTimeout?: number;
  /** Cap of the open period as failed probes double it. */
  resetTimeoutMax?: number;
  /** Random extra fraction of each open period, so replicas' breakers do not probe in step. */
  jitter?: number;
  /** Probes let through at once while half-open. */
  halfOpenMaxCalls?: number;
  /** Also open when this percentage of requests in `window` failed (after `minRequests`). Off unless set. */
  failureRate?: number;
  /** Window of the failure-rate rule, ms. */
  window?: number;
  /** Requests the failure-rate rule needs in its window. */
  minRequests?: number;
  /** A response whose headers took longer than this many ms counts as a slow call. Off unless set. */
  slowCallDuration?: number;
  /** With `slowCallDuration`: open when this percentage of requests in `window` were slow (after `minRequests`). */
  slowCallRate?: number;
}

export type TargetInput = string | URL;

/** A target with its share of the route's traffic: `weight` requests for every 1 of a weight-1 target. */
export interface WeightedTargetInput {
  url: string | URL;
  /** A positive integer. @default 1 */
  weight?: number;
}

/**
 * A `Set-Cookie` attribute rewrite: one value for every cookie (`''` removes the attribute), or a
 * map from the value the target set to its replacement with `*` for any other; `false` is off.
 */
export type CookieRewriteInput = false | string | Readonly<Record<string, string>>;

/** Options a route may set for itself, over the proxy's value. Defaults: `PROXY_OPTIONS` below. */
export interface RewriteOptions {
  /**
   * Rewrite a `Location` (on 201 and 3xx) or `Content-Location` that points at the target's origin
   * to the origin the client used, with a stripped prefix put back. Only when `preserveHost` is off.
   */
  rewriteRedirects?: boolean;
  /** Rewrite `Set-Cookie` `Domain` attributes. */
  cookieDomainRewrite?: CookieRewriteInput;
  /** Rewrite `Set-Cookie` `Path` attributes; `true` puts a stripped prefix in front of each. */
  cookiePathRewrite?: CookieRewriteInput | true;
  /** Append an RFC 7239 `Forwarded` element to requests. */
  forwarded?: boolean;
}

/**
 * Active health checks (HAProxy's `check inter rise fall`, Envoy's health checking): the proxy
 * sends `GET healthPath` to each target every `healthInterval` ms, apart from client traffic.
 * Defaults: `PROXY_OPTIONS` below. Two routes naming one origin must agree on these.
 */
export interface HealthCheckOptions {
  /** Check every target with `GET healthPath`; 2xx and 3xx pass. Off unless set. */
  healthPath?: string;
  /** Ms between two checks of a target. */
  healthInterval?: number;
  /** Passing checks in a row that bring an unhealthy target back into rotation. */
  healthyAfter?: number;
  /** Failing checks in a row that take a target out of rotation. */
  unhealthyAfter?: number;
}

/** What a route does when its targets refuse (issue 17): a route may set each over the proxy's value. */
export interface OutageOptions {
  /**
   * What a request gets when no target of its route admits it (every circuit open, or every
   * target at `maxConcurrent` and the queue full or timed out), in place of the 503: a static
   * answer (`{ status, headers, body }` or `{ status, headers, file }`) or other origins
   * (`{ targets }`), each with a breaker of its own.
   */
  fallback?: FallbackOptions;
  /** Requests that may wait for a slot when the route's targets are at `maxConcurrent`; 0 = none wait. */
  queue?: number;
  /** Ms a queued request waits for a slot before it gets the 503 (or the fallback). */
  queueTimeout?: number;
}

/** How requests are spread and retried (issue 17); a route may set each for itself. */
export interface BalanceOptions {
  /** `round-robin`, or `least-request` (the power of two choices on requests in flight). */
  balance?: BalanceStrategy;
  /** Statuses on which an idempotent request without a body is retried on another target, e.g. `"502-504"`. Off unless set. */
  retryOn?: string | readonly number[];
}

export interface RouteOptions extends RewriteOptions, HealthCheckOptions, OutageOptions, BalanceOptions {
  /**
   * What the route serves: a path prefix (`/api/users`), a host (`users.example.com`), or a host
   * with a path prefix (`users.example.com/v2`). Prefixes match whole segments.
   */
  match: string;
  /** The service's replicas: requests are balanced over them, by weight where given. */
  targets: TargetInput | readonly (TargetInput | WeightedTargetInput)[];
  /** Forward `/api/users/7` as `/7` when the route matched `/api/users`. */
  stripPrefix?: boolean;
  /** This route's call timeout (ms to wait for response headers). */
  timeout?: number;
  /** This route's idle timeout (ms a body or tunnel may go without a byte). */
  idleTimeout?: number;
  /** Statuses that count as failures on this route. */
  failureStatus?: string | readonly number[];
  /** Breaker options for this route's targets, over the proxy's `breaker`. */
  breaker?: ProxyBreakerOptions;
  /** CA certificates for this route's https targets, over the proxy's `ca`. */
  ca?: Pem | readonly Pem[];
  /** Client certificate for this route's https targets, over the proxy's `clientCert`. */
  clientCert?: Pem;
  /** The private key of this route's `clientCert`. */
  clientKey?: Pem;
}

/** Ranges and defaults: `PROXY_OPTIONS` below, listed by `--help` and the README. */
export interface ProxyOptions extends RewriteOptions, HealthCheckOptions, OutageOptions, BalanceOptions {
  /** One upstream origin: shorthand for a catch-all route `/`. */
  target?: TargetInput;
  /** Several replicas of one upstream: shorthand for a catch-all route `/` balanced over them. */
  targets?: readonly (TargetInput | WeightedTargetInput)[];
  /** Routes to several services; longest match wins. */
  routes?: readonly RouteOptions[];
  /** Default breaker options of every target. */
  breaker?: ProxyBreakerOptions;
  /** Call timeout: ms to wait for response headers (not for a slow body). */
  timeout?: number;
  /**
   * Ms a request or response body may go without a byte, in either direction, before the
   * exchange is cut (nginx's `proxy_read_timeout` and `client_body_timeout`); also bounds an idle
   * WebSocket/Upgrade tunnel. Checked about once a second (a quarter of it when shorter).
   */
  idleTimeout?: number;
  /** Statuses that count as a target's failure, e.g. `"500-599"`, `"502-504,500"`. */
  failureStatus?: string | readonly number[];
  /** Forward the client's `Host` instead of the target's. */
  preserveHost?: boolean;
  /** Retries of a request on another target: failover (no target could have processed it) and `retryOn`. */
  retries?: number;
  /** Retries allowed as a percentage of requests in flight (Envoy's retry budget). */
  retryBudgetPercent?: number;
  /** Retries always allowed at once, whatever the budget. */
  retryBudgetMin?: number;
  /** Requests in flight per target; beyond it a request is refused (503) or goes elsewhere. */
  maxConcurrent?: number;
  /** Ms over which a recovered target's share of traffic ramps up to full. */
  slowStart?: number;
  /** Probe half-open targets with `GET probePath` instead of a client's request. */
  probePath?: string;
  /** Skip TLS certificate verification of https targets. Prints a warning in the CLI. */
  insecure?: boolean;
  /**
   * The CA certificates (PEM contents) that https targets' certificates are verified against.
   * They replace Node's default roots, like Node's own `ca` and nginx's
   * `proxy_ssl_trusted_certificate`: to add to them, pass `[...tls.rootCertificates, myCa]`.
   * @default Node's default roots
   */
  ca?: Pem | readonly Pem[];
  /** Client certificate (PEM contents, leaf first) presented to https targets that ask for one (mutual TLS). Needs `clientKey`. */
  clientCert?: Pem;
  /** The unencrypted PEM private key of `clientCert`. Never logged, shown or put in a snapshot. */
  clientKey?: Pem;
}

/** The breaker entries of the proxy's table: the breaker's own, with the proxy's defaults and flags. */
export const PROXY_BREAKER_OPTIONS = {
  failureThreshold: { ...BREAKER_OPTIONS.failureThreshold, doc: 'consecutive failures that open a circuit', flag: { name: 'failure-threshold', value: 'N' } },
  resetTimeout: { ...BREAKER_OPTIONS.resetTimeout, flag: { name: 'reset-timeout', value: 'MS' } },
  resetTimeoutMax: {
    ...BREAKER_OPTIONS.resetTimeoutMax,
    // Backoff on by default in the proxy: a target down for an hour is probed every 5 min, not every 30 s.
    default: (siblings: Siblings) => (siblings.resetTimeout as number) * 10,
    defaultText: '10 x reset timeout',
    flag: { name: 'reset-timeout-max', value: 'MS' },
  },
  // Replicas of one service fail together; jitter keeps their probes from arriving in step.
  jitter: { ...BREAKER_OPTIONS.jitter, default: 0.1 },
  halfOpenMaxCalls: { ...BREAKER_OPTIONS.halfOpenMaxCalls, flag: { name: 'half-open-requests', value: 'N' } },
  failureRate: { ...BREAKER_OPTIONS.failureRate, flag: { name: 'failure-rate', value: 'PCT' } },
  window: { ...BREAKER_OPTIONS.window, flag: { name: 'window', value: 'MS' } },
  minRequests: { ...BREAKER_OPTIONS.minRequests, flag: { name: 'min-requests', value: 'N' } },
  slowCallDuration: {
    ...BREAKER_OPTIONS.slowCallDuration,
    doc: 'ms after which response headers count as a slow call',
    flag: { name: 'slow-call', value: 'MS' },
  },
  slowCallRate: { ...BREAKER_OPTIONS.slowCallRate, flag: { name: 'slow-call-rate', value: 'PCT' } },
} as const;

/**
 * The proxy's own options, in `--help` order. `perRoute`: a route may set it too, over this value.
 * `target`, `targets`, `routes` and `breaker` are structure, resolved by `resolveProxyOptions`.
 */
export const PROXY_OPTIONS = {
  timeout: numberOption(
    { min: 0, exclusive: true },
    { default: 10_000, doc: 'call timeout: wait for response headers', flag: { name: 'timeout', value: 'MS' }, perRoute: true },
  ),
  idleTimeout: numberOption(
    { min: 0, exclusive: true },
    {
      default: 60_000,
      doc: 'ms a body or tunnel may go without a byte, either way, before it is cut',
      flag: { name: 'idle-timeout', value: 'MS' },
      perRoute: true,
    },
  ),
  failureStatus: customOption(statusSet, {
    type: 'string | number[]',
    default: DEFAULT_FAILURE_STATUS,
    defaultText: '500-599',
    doc: 'statuses that count as failures, e.g. 502-504,500',
    flag: { name: 'failure-status', value: 'LIST' },
    perRoute: true,
  }),
  retries: numberOption(
    { min: 0, integer: true },
    { default: undefined, defaultText: '1 with several targets, 0 with one', doc: 'retries on another target (failover, and retryOn)', flag: { name: 'retries', value: 'N' } },
  ),
  retryBudgetPercent: numberOption({ min: 0 }, { default: 20, doc: 'retries allowed as a percentage of requests in flight' }),
  retryBudgetMin: numberOption({ min: 0, integer: true }, { default: 3, doc: 'retries always allowed at once, whatever the budget' }),
  maxConcurrent: numberOption(
    { min: 1, integer: true, infinite: true },
    { default: Infinity, doc: 'requests in flight per target', flag: { name: 'max-concurrent', value: 'N' } },
  ),
  slowStart: numberOption(
    { min: 0 },
    { default: 0, defaultText: '0 = off', doc: "ms over which a recovered target's share of traffic ramps up to full", flag: { name: 'slow-start', value: 'MS' } },
  ),
  probePath: customOption(probePath, {
    type: 'string',
    default: undefined,
    doc: 'probe half-open targets with GET PATH instead of a client request',
    flag: { name: 'probe-path', value: 'PATH' },
  }),
  preserveHost: booleanOption({ default: false, doc: "forward the client's Host header", flag: { name: 'preserve-host' } }),
  insecure: booleanOption({ default: false, doc: "do not verify https targets' certificates (prints a warning)", flag: { name: 'insecure' } }),
  ca: customOption(checkCa, {
    type: 'string | Buffer | Array<string | Buffer>',
    default: undefined,
    defaultText: "Node's roots",
    doc: 'PEM CA certificates to verify https targets with; they replace the default roots',
    flag: { name: 'ca', value: 'FILE' },
    perRoute: true,
    file: true,
  }),
  clientCert: customOption(checkClientCert, {
    type: 'string | Buffer',
    default: undefined,
    doc: 'PEM client certificate for https targets that ask for one (mutual TLS)',
    flag: { name: 'client-cert', value: 'FILE' },
    perRoute: true,
    file: true,
  }),
  clientKey: customOption(checkClientKey, {
    type: 'string | Buffer',
    default: undefined,
    doc: 'PEM private key of the client certificate',
    relate: (key, siblings) => keyMatchesCert(key, siblings.clientCert as string | undefined),
    flag: { name: 'client-key', value: 'FILE' },
    perRoute: true,
    file: true,
  }),
  rewriteRedirects: booleanOption({
    default: true,
    doc: "rewrite a Location or Content-Location at the target's origin to the client's (not with --preserve-host)",
    flag: { name: 'no-rewrite-redirects', negate: true, doc: "relay a Location or Content-Location at the target's origin unchanged" },
    perRoute: true,
  }),
  cookieDomainRewrite: customOption(cookieDomainRewrite, {
    type: 'false | string | object',
    default: false as const,
    defaultText: 'off',
    doc: 'rewrite Set-Cookie Domain: one value ("" removes it), or a map with "*" for any other',
    perRoute: true,
  }),
  cookiePathRewrite: customOption(cookiePathRewrite, {
    type: 'boolean | string | object',
    default: false,
    defaultText: 'off',
    doc: 'rewrite Set-Cookie Path: true puts a stripped prefix back; one value, or a map with "*" for any other',
    perRoute: true,
  }),
  forwarded: booleanOption({ default: false, doc: 'add an RFC 7239 Forwarded element to requests', flag: { name: 'forwarded' }, perRoute: true }),
  healthPath: customOption(probePath, {
    type: 'string',
    default: undefined,
    defaultText: 'off',
    doc: 'check every target with GET PATH apart from client traffic; 2xx and 3xx pass',
    flag: { name: 'health-path', value: 'PATH' },
    perRoute: true,
  }),
  healthInterval: numberOption(
    { min: 0, exclusive: true },
    { default: 5_000, doc: 'ms between two health checks of a target', flag: { name: 'health-interval', value: 'MS' }, perRoute: true },
  ),
  healthyAfter: numberOption(
    { min: 1, integer: true },
    { default: 2, doc: 'passing checks in a row that bring an unhealthy target back', flag: { name: 'healthy-after', value: 'N' }, perRoute: true },
  ),
  unhealthyAfter: numberOption(
    { min: 1, integer: true },
    { default: 3, doc: 'failing checks in a row that take a target out of rotation', flag: { name: 'unhealthy-after', value: 'N' }, perRoute: true },
  ),
  fallback: customOption(resolveFallback, {
    type: 'object',
    default: undefined,
    defaultText: 'none',
    doc: 'what a request gets when no target admits it: a static answer {status, headers, body | file} or {targets}',
    perRoute: true,
  }),
  queue: numberOption(
    { min: 0, integer: true },
    { default: 0, defaultText: '0 = off', doc: 'requests that may wait for a slot when every target is at --max-concurrent', flag: { name: 'queue', value: 'N' }, perRoute: true },
  ),
  queueTimeout: numberOption(
    { min: 0, exclusive: true },
    { default: 1000, doc: 'ms a queued request waits for a slot before its 503', flag: { name: 'queue-timeout', value: 'MS' }, perRoute: true },
  ),
  balance: choiceOption(BALANCE_STRATEGIES, {
    default: 'round-robin' as BalanceStrategy,
    doc: 'round-robin (in turn, by weight) or least-request (the less busy of two targets drawn at random)',
    flag: { name: 'balance', value: 'STRATEGY' },
    perRoute: true,
  }),
  retryOn: customOption(retryStatusSet, {
    type: 'string | number[]',
    default: undefined,
    defaultText: 'off',
    doc: 'retry an idempotent request without a body on another target when it gets one of these statuses, e.g. 502-504',
    flag: { name: 'retry-on', value: 'LIST' },
    perRoute: true,
  }),
} as const;

/** Options only a route has (besides `match`, `targets` and `breaker`). */
export const ROUTE_OPTIONS = {
  stripPrefix: booleanOption({ default: false, doc: 'forward /api/users/7 as /7 when the route matched /api/users' }),
} as const;

type PerRouteKey = { [K in keyof typeof PROXY_OPTIONS]: (typeof PROXY_OPTIONS)[K] extends { perRoute: true } ? K : never }[keyof typeof PROXY_OPTIONS];
const PER_ROUTE = Object.fromEntries(Object.entries(PROXY_OPTIONS).filter(([, option]) => 'perRoute' in option && option.perRoute)) as Pick<
  typeof PROXY_OPTIONS,
  PerRouteKey
>;
/** What a route resolves from the table: its own options, and the per-route ones over the top-level values. */
const ROUTE_TABLE = { ...ROUTE_OPTIONS, ...PER_ROUTE };

const STRUCTURE_KEYS = ['target', 'targets', 'routes', 'breaker'] as const;
const ROUTE_STRUCTURE_KEYS = ['match', 'targets', 'breaker'] as const;

export type ResolvedProxyBreakerOptions = Resolved<typeof PROXY_BREAKER_OPTIONS>;

/** A route as the proxy uses it: its `match` split, its targets parsed, and every option resolved. */
export type ResolvedRoute = {
  /** The `match` as given, for logs and the routing table. */
  match: string;
  /** Lower-case host without port or trailing dot; `undefined` matches any host. */
  host: string | undefined;
  /** Path prefix without a trailing slash; `''` for the root. */
  prefix: string;
  breaker: ResolvedProxyBreakerOptions;
  targets: URL[];
  /** Each target's weight, parallel to `targets`: 1 unless the config gave one. */
  weights: number[];
  /** The proxy's `retries`, or its default for this route's number of targets. */
  retries: number;
  /** Response rewrites (redirects, cookies) made from the options above; `undefined` when none applies. */
  rewrite: ResponseRules | undefined;
  /** The origins of a `fallback: { targets }`, parsed; `undefined` for a static fallback or none. */
  fallbackTargets: URL[] | undefined;
  /** The answer of a static `fallback`, built once; `undefined` for fallback targets or none. */
  fallbackAnswer: StaticAnswer | undefined;
} & Resolved<typeof ROUTE_TABLE>;

/** The proxy's resolved options: its routes, and the options that are not per route. */
export type ProxyConfig = { routes: ResolvedRoute[] } & Omit<Resolved<typeof PROXY_OPTIONS>, PerRouteKey | 'retries'>;

// The public option types are written by hand for their docs; these fail to compile when one of
// them and the table disagree on which options exist.
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const proxyKeysMatch: SameKeys<keyof ProxyOptions, keyof typeof PROXY_OPTIONS | (typeof STRUCTURE_KEYS)[number]> = true;
const routeKeysMatch: SameKeys<keyof RouteOptions, keyof typeof ROUTE_TABLE | (typeof ROUTE_STRUCTURE_KEYS)[number]> = true;
const breakerKeysMatch: SameKeys<keyof ProxyBreakerOptions, keyof typeof PROXY_BREAKER_OPTIONS> = true;
void [proxyKeysMatch, routeKeysMatch, breakerKeysMatch];

const COOKIE_DOMAIN = /^\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
/** A cookie path as `Path=` carries it (RFC 6265 4.1.1): from `/`, no `;`, control or space. */
const COOKIE_PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/;

/**
 * `cookieDomainRewrite` / `cookiePathRewrite`: `false` (off), one replacement for every value, or
 * a map with `*` for any other value; `''` removes the attribute. `true` (paths only) puts the
 * route's stripped prefix in front of every path.
 */
function cookieRewrite(value: unknown, where: string, attribute: 'domain' | 'path'): CookieRewrite | boolean {
  if (value === false || (value === true && attribute === 'path')) return value;
  const pattern = attribute === 'domain' ? COOKIE_DOMAIN : COOKIE_PATH;
  const example = attribute === 'domain' ? 'example.com' : '/app';
  const check = (text: unknown, at: string, key: boolean): string => {
    if (typeof text !== 'string' || !(text === '' ? !key : text === '*' ? key : pattern.test(text))) {
      const what = key ? `a ${attribute} like ${JSON.stringify(example)} or "*"` : `a ${attribute} like ${JSON.stringify(example)}, or "" to remove it`;
      throw new ConfigError(at, `expected ${what}, got ${show(text)}`);
    }
    return attribute === 'domain' && key && text !== '*' ? normalizeCookieDomain(text) : text;
  };
  if (typeof value === 'string') return new Map([['*', check(value, where, false)]]);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kinds = attribute === 'path' ? 'false, true, a path or an object' : 'false, a domain or an object';
    throw new ConfigError(where, `expected ${kinds} mapping ${attribute}s to their replacements, got ${show(value)}`);
  }
  const map = new Map<string, string>();
  for (const [from, to] of Object.entries(value)) map.set(check(from, join(where, from), true), check(to, join(where, from), false));
  return map;
}

function cookieDomainRewrite(value: unknown, path: string): CookieRewrite | false {
  return cookieRewrite(value, path, 'domain') as CookieRewrite | false;
}

function cookiePathRewrite(value: unknown, path: string): CookieRewrite | boolean {
  return cookieRewrite(value, path, 'path');
}

function statusSet(value: unknown, path: string): StatusSet {
  return StatusSet.parse(value as string, path);
}

/** `retryOn`: a status list of error statuses only; retrying a 2xx or 3xx answer would be a mistake. */
function retryStatusSet(value: unknown, path: string): StatusSet {
  const set = StatusSet.parse(value as string, path);
  for (let status = 100; status < 400; status++) {
    if (set.has(status)) throw new ConfigError(path, `${status} in ${JSON.stringify(set.text)} is not an error status: retries are for 400-599`);
  }
  return set;
}

function probePath(value: unknown, path: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || /[\s#]/.test(value)) {
    throw new ConfigError(path, `expected a path like /health, got ${show(value)}`);
  }
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

/** A weight: how many requests a target takes for every one a weight-1 target takes. */
const WEIGHT_RULE = { min: 1, max: 1000, integer: true } as const;

function resolveTargets(value: unknown, where: string): { urls: URL[]; weights: number[] } {
  const single = typeof value === 'string' || value instanceof URL;
  const list = single ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(where, `expected one or more target URLs, got ${show(value)}`);
  const urls: URL[] = [];
  const weights: number[] = [];
  list.forEach((item: unknown, i) => {
    // A lone URL is reported where it was written (`target`, `routes[0].targets`), not as `[0]` of a list.
    const at = single ? where : join(where, i);
    if (item === null || typeof item !== 'object' || item instanceof URL) {
      urls.push(parseTargetUrl(item, at));
      weights.push(1);
      return;
    }
    const entry = validateObject(item, at, 'a URL string or { "url": ..., "weight": N }');
    rejectUnknownKeys(entry, ['url', 'weight'], at);
    urls.push(parseTargetUrl(entry.url, join(at, 'url')));
    weights.push(entry.weight === undefined ? 1 : validateNumber(entry.weight, join(at, 'weight'), WEIGHT_RULE));
  });
  const seen = new Set<string>();
  urls.forEach((url, i) => {
    if (seen.has(url.origin)) throw new ConfigError(join(where, i), `${url.origin} is listed twice`);
    seen.add(url.origin);
  });
  return { urls, weights };
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
  const options = validateObject(input, where === '' ? 'options' : where);
  const top = resolveOptions(PROXY_OPTIONS, [{ value: options, path: where, otherKeys: STRUCTURE_KEYS }]);
  const at = (key: string) => join(where, key);

  const given = [options.target, options.targets, options.routes].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw new ConfigError(where, given === 0 ? 'no target: give `target`, `targets` or `routes`' : 'give only one of `target`, `targets` and `routes`');
  }
  /** `own`: the route's options as written; none for the catch-all route made from `target`/`targets`. */
  let routeInputs: Array<{ value: Record<string, unknown>; own: Record<string, unknown> | undefined; where: string; targetsWhere: string }>;
  if (options.routes !== undefined) {
    if (!Array.isArray(options.routes) || options.routes.length === 0) throw new ConfigError(at('routes'), `expected a non-empty array of routes, got ${show(options.routes)}`);
    routeInputs = options.routes.map((route, i) => {
      const routeWhere = join(at('routes'), i);
      const value = validateObject(route, routeWhere);
      return { value, own: value, where: routeWhere, targetsWhere: join(routeWhere, 'targets') };
    });
  } else {
    // The catch-all route made from `target`/`targets`: its errors name those keys.
    const targetsWhere = options.target !== undefined ? at('target') : at('targets');
    routeInputs = [{ value: { match: '/', targets: options.target ?? options.targets }, own: undefined, where, targetsWhere }];
  }
  // Checked once on its own, so that a bad value is reported at `breaker` even when every route
  // overrides it, and shared by every route's resolution.
  const proxyBreaker = checkLayer(PROXY_BREAKER_OPTIONS, { value: options.breaker, path: at('breaker') });
  /**
   * The proxy-wide values of the route options, checked once (at the first route, where an error
   * in them has always been reported): a `ca` bundle or a client key is parsed once, not per route.
   */
  let proxyRouteLevel: CheckedLayer | undefined;
  /** Fallback files read by this resolution, so that routes sharing one read it once. */
  const files = new Map<string, Buffer>();

  const routes = routeInputs.map(({ value, own, where: routeWhere, targetsWhere }): ResolvedRoute => {
    const rat = (key: string) => join(routeWhere, key);
    const { host, prefix } = parseMatch(value.match, rat('match'));
    const { urls: targets, weights } = resolveTargets(value.targets, targetsWhere);
    proxyRouteLevel ??= checkLayer(ROUTE_TABLE, { value: options, path: where, otherKeys: [...STRUCTURE_KEYS, ...Object.keys(PROXY_OPTIONS)] });
    const routeLevel = resolveOptions(ROUTE_TABLE, [
      { checked: proxyRouteLevel },
      ...(own === undefined ? [] : [{ value: own, path: routeWhere, otherKeys: ROUTE_STRUCTURE_KEYS }]),
    ]);
    if (routeLevel.clientCert !== undefined && routeLevel.clientKey === undefined) {
      throw new ConfigError(own?.clientCert === undefined ? at('clientCert') : rat('clientCert'), 'needs clientKey (--client-key), the private key of the certificate');
    }
    const breaker = resolveOptions(PROXY_BREAKER_OPTIONS, [{ checked: proxyBreaker }, { value: own?.breaker, path: rat('breaker') }]);
    const fallback = routeLevel.fallback;
    const fallbackTargets = fallback?.kind === 'targets' ? resolveTargets(fallback.targets, fallback.path).urls : undefined;
    const fallbackAnswer = fallback?.kind === 'static' ? staticAnswer(fallback, files) : undefined;
    const ownTarget = fallbackTargets?.findIndex((url) => targets.some((target) => target.origin === url.origin)) ?? -1;
    if (ownTarget !== -1) throw new ConfigError(fallback!.kind === 'targets' ? fallback!.path : '', `${fallbackTargets![ownTarget]!.origin} is a target of the route itself`);
    if (routeLevel.queue > 0 && top.maxConcurrent === Infinity) {
      throw new ConfigError(own?.queue !== undefined ? rat('queue') : at('queue'), 'a queue needs maxConcurrent: without a limit no request ever waits');
    }
    return {
      match: value.match as string,
      host,
      prefix,
      ...routeLevel,
      breaker,
      targets,
      weights,
      retries: top.retries ?? (targets.length > 1 ? 1 : 0),
      rewrite: responseRules({ ...routeLevel, prefix, preserveHost: top.preserveHost }),
      fallbackTargets,
      fallbackAnswer,
    };
  });

  const seen = new Map<string, number>();
  routes.forEach((route, i) => {
    const key = `${route.host ?? ''}${route.prefix}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) throw new ConfigError(join(at('routes'), i), `matches the same requests as routes[${earlier}] (${routes[earlier]!.match})`);
    seen.set(key, i);
  });
  checkSharedTargets(routes, at('routes'), top.insecure);
  checkSharedHealth(routes, at('routes'));

  const proxyLevel: Record<string, unknown> = { ...top };
  for (const key of [...Object.keys(PER_ROUTE), 'retries']) delete proxyLevel[key];
  return { routes, ...proxyLevel } as ProxyConfig;
}

/** A route's trust settings, as its targets get them. */
export function upstreamTls(route: ResolvedRoute, insecure: boolean): UpstreamTls {
  return { rejectUnauthorized: !insecure, ca: route.ca, clientCert: route.clientCert, clientKey: route.clientKey };
}

/**
 * One breaker and one connection pool per origin: two routes that name the same target share
 * them, so they must not ask for different breaker options, nor (for an https target) different
 * trust settings: a pooled connection carries the trust it was opened with.
 */
function checkSharedTargets(routes: readonly ResolvedRoute[], where: string, insecure: boolean): void {
  const byOrigin = new Map<string, { options: string; tls: UpstreamTls; route: number }>();
  routes.forEach((route, i) => {
    const options = JSON.stringify(route.breaker);
    const tls = upstreamTls(route, insecure);
    // A fallback origin has a breaker and a pool too, with its route's options.
    const own = route.targets.length;
    const fallbackPath = route.fallback?.kind === 'targets' ? route.fallback.path : '';
    [...route.targets, ...(route.fallbackTargets ?? [])].forEach((url, j) => {
      const earlier = byOrigin.get(url.origin);
      const at = j < own ? `${join(join(where, i), 'targets')}[${j}]` : `${fallbackPath}[${j - own}]`;
      if (earlier === undefined) byOrigin.set(url.origin, { options, tls, route: i });
      else if (earlier.options !== options) {
        throw new ConfigError(at, `${url.origin} is also a target of routes[${earlier.route}] with other breaker options; one origin has one breaker`);
      } else if (url.protocol === 'https:' && !sameTls(earlier.tls, tls)) {
        throw new ConfigError(
          at,
          `${url.origin} is also a target of routes[${earlier.route}] with other TLS settings (ca, clientCert, clientKey); one origin has one connection pool`,
        );
      }
    });
  });
}

/** The health-check settings of a route, as its targets' one checker each uses them; `undefined` when off. */
export function healthSettings(route: ResolvedRoute): { path: string; interval: number; healthyAfter: number; unhealthyAfter: number } | undefined {
  if (route.healthPath === undefined) return undefined;
  return { path: route.healthPath, interval: route.healthInterval, healthyAfter: route.healthyAfter, unhealthyAfter: route.unhealthyAfter };
}

/**
 * One health checker per origin: two routes that name the same target share its checks (and its
 * place in rotation), so they must not ask for different health checks.
 */
function checkSharedHealth(routes: readonly ResolvedRoute[], where: string): void {
  const byOrigin = new Map<string, { settings: string; route: number }>();
  routes.forEach((route, i) => {
    const settings = JSON.stringify(healthSettings(route) ?? null);
    route.targets.forEach((url, j) => {
      const earlier = byOrigin.get(url.origin);
      if (earlier === undefined) byOrigin.set(url.origin, { settings, route: i });
      else if (earlier.settings !== settings) {
        throw new ConfigError(
          `${join(join(where, i), 'targets')}[${j}]`,
          `${url.origin} is also a target of routes[${earlier.route}] with other health checks; one origin is checked once`,
        );
      }
    });
  });
}
