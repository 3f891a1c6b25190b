/**
 * Rewrites of what a target hands back about itself, so that the client sees the origin and paths
 * it used and not the target's: redirects (nginx's `proxy_redirect default`, node-http-proxy's
 * `autoRewrite`) and cookies (nginx's `proxy_cookie_domain` / `proxy_cookie_path`,
 * node-http-proxy's `cookieDomainRewrite` / `cookiePathRewrite`).
 *
 * Pure functions over field values; headers.ts applies them while it copies the response fields.
 * A value that needs no rewrite is returned as the same string.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { normalizeRequestTarget } from './path.js';

/**
 * A cookie attribute rewrite: the attribute's value (as `normalizeCookieDomain` writes domains,
 * paths exactly) to its replacement, `*` for any other value; `''` removes the attribute.
 */
export type CookieRewrite = ReadonlyMap<string, string>;

/** A route's response rewrites, resolved once from its options. */
export interface ResponseRules {
  /** Rewrite `Location` and `Content-Location` that point at the target's origin. */
  readonly redirects: boolean;
  /** The path prefix the route strips, put back on rewritten paths; `''` when it strips none. */
  readonly prefix: string;
  readonly cookieDomain: CookieRewrite | undefined;
  /** `prefix`: put the stripped prefix back in front of every cookie `Path`. */
  readonly cookiePath: CookieRewrite | 'prefix' | undefined;
}

export interface ResponseRuleOptions {
  preserveHost: boolean;
  rewriteRedirects: boolean;
  stripPrefix: boolean;
  prefix: string;
  cookieDomainRewrite: CookieRewrite | false;
  cookiePathRewrite: CookieRewrite | boolean;
}

/**
 * A route's rules, or `undefined` when none can apply, so that the response path skips them with
 * one comparison. With `preserveHost` the target saw the client's `Host` and builds its URLs
 * with it already: nothing to rewrite there.
 */
export function responseRules(options: ResponseRuleOptions): ResponseRules | undefined {
  const prefix = options.stripPrefix ? options.prefix : '';
  const redirects = options.rewriteRedirects && !options.preserveHost;
  const cookieDomain = options.cookieDomainRewrite === false ? undefined : options.cookieDomainRewrite;
  const path = options.cookiePathRewrite;
  const cookiePath = path === false || (path === true && prefix === '') ? undefined : path === true ? 'prefix' : path;
  if (!redirects && cookieDomain === undefined && cookiePath === undefined) return undefined;
  return { redirects, prefix, cookieDomain, cookiePath };
}

/**
 * What the response side needs to know about one exchange; an `Exchange` (forward.ts) is one, so
 * nothing is made per response to pass it.
 */
export interface RewriteContext {
  readonly req: IncomingMessage;
  /** The status relayed to the client. */
  readonly status: number;
  readonly route: { readonly config: { readonly rewrite: ResponseRules | undefined } };
  readonly target: { readonly origin: string };
}

/**
 * Statuses whose `Location` names a URL the client follows or keeps (RFC 9110 10.2.2): 201 (the
 * created resource) and 3xx (the redirect). nginx rewrites `Location` on any status and
 * node-http-proxy on 201, 301, 302, 307 and 308 only (303 is missed); elsewhere `Location` means
 * nothing to a client.
 */
export function isLocationStatus(status: number): boolean {
  return status === 201 || (status >= 300 && status < 400);
}

/**
 * `scheme://host[:port]` of the URL the client used: `https` when the request came over TLS,
 * the authority of an absolute-form request-target or else `Host` (both validated before the
 * request was routed). `undefined` without a host (an HTTP/1.0 client may send none).
 */
export function clientOrigin(req: IncomingMessage): string | undefined {
  const url = req.url;
  const authority = url !== undefined && url.charCodeAt(0) !== 47 /* / */ ? normalizeRequestTarget(url)?.authority : undefined;
  const host = authority ?? req.headers.host;
  if (host === undefined || host === '') return undefined;
  return `${(req.socket as Socket & { encrypted?: boolean }).encrypted === true ? 'https' : 'http'}://${host}`;
}

/**
 * An absolute http(s) URL's origin as `URL.origin` writes it (scheme and host lower-case, the
 * scheme's default port left out), and the rest (path, query, fragment), or `undefined` for
 * anything else. Strict on purpose: a URL whose authority a browser might read another way than
 * this proxy (user info `http://target@evil/`, a backslash, a percent-escape, white space, an
 * empty or zero-padded port) is never taken for the target's, so it is never rewritten.
 */
function splitOrigin(url: string): { origin: string; rest: string } | undefined {
  const match = /^(https?):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([1-9][0-9]{0,4}))?(?=[/?#]|$)/i.exec(url);
  if (match === null) return undefined;
  const scheme = match[1]!.toLowerCase();
  const port = match[3];
  const defaultPort = scheme === 'https' ? '443' : '80';
  const origin = `${scheme}://${match[2]!.toLowerCase()}${port === undefined || port === defaultPort ? '' : `:${port}`}`;
  return { origin, rest: url.slice(match[0].length) };
}

/**
 * `url` moved from the target's origin to the client's, with the route's stripped `prefix` put
 * back on its path; any other URL unchanged (same string). A relative URL is left alone: it
 * resolves against the URL the client used already. With a stripped prefix that is what nginx's
 * `proxy_redirect default` does too (it rewrites only URLs starting with the `proxy_pass` URL), so
 * a target that redirects to `/login` sends the client to the proxy's `/login`, not the route's.
 */
export function rewriteUrl(url: string, targetOrigin: string, client: string, prefix: string): string {
  const split = splitOrigin(url);
  if (split === undefined || split.origin !== targetOrigin) return url;
  const rest = split.rest;
  if (prefix === '') return client + rest;
  return rest.charCodeAt(0) === 47 /* / */ ? client + prefix + rest : `${client}${prefix}/${rest}`;
}

/**
 * A response field's value after the route's `rules`: `lower` is the field's lower-case name.
 * `Location` is rewritten on the statuses where it names a URL (`isLocationStatus`),
 * `Content-Location` on any (RFC 9110 8.7: it identifies the representation whatever the status).
 */
export function rewriteResponseField(lower: string, value: string, rules: ResponseRules, context: RewriteContext): string {
  if (lower === 'set-cookie') return rewriteSetCookie(value, rules.cookieDomain, rules.cookiePath, rules.prefix);
  if (!rules.redirects) return value;
  if (lower === 'location' ? !isLocationStatus(context.status) : lower !== 'content-location') return value;
  // Relative references (the common case) need neither the client's origin nor a parse.
  const first = value.charCodeAt(0) | 0x20;
  if (first !== 104 /* h */) return value;
  const client = clientOrigin(context.req);
  return client === undefined ? value : rewriteUrl(value, context.target.origin, client, rules.prefix);
}

/** A cookie's `Domain` as RFC 6265 5.2.3 reads it: lower-case, without a leading dot. */
export function normalizeCookieDomain(domain: string): string {
  const lower = domain.toLowerCase();
  return lower.charCodeAt(0) === 46 /* . */ ? lower.slice(1) : lower;
}

/**
 * A `Set-Cookie` value with its `Domain` and `Path` attributes rewritten; the same string when no
 * rule applies. Every occurrence is rewritten (a browser uses the last, RFC 6265 5.3), attribute
 * names are matched ignoring case and white space around `=` and `;` (RFC 6265 5.2), and the rest
 * of the value is kept as written.
 */
export function rewriteSetCookie(value: string, domain: CookieRewrite | undefined, path: CookieRewrite | 'prefix' | undefined, prefix: string): string {
  if (domain === undefined && path === undefined) return value;
  // The name=value pair ends at the first `;`; attributes follow.
  let start = value.indexOf(';');
  if (start === -1) return value;
  let out = value.slice(0, start);
  let changed = false;
  while (start !== -1) {
    const end = value.indexOf(';', start + 1);
    const attribute = end === -1 ? value.slice(start) : value.slice(start, end);
    const replaced = rewriteAttribute(attribute, domain, path, prefix);
    if (replaced !== attribute) changed = true;
    out += replaced;
    start = end;
  }
  return changed ? out : value;
}

/** One `;name=value` attribute, its leading `;` included, rewritten (`''` to remove it). */
function rewriteAttribute(attribute: string, domain: CookieRewrite | undefined, path: CookieRewrite | 'prefix' | undefined, prefix: string): string {
  const equals = attribute.indexOf('=');
  if (equals === -1) return attribute;
  const name = attribute.slice(1, equals).trim().toLowerCase();
  const current = attribute.slice(equals + 1).trim();
  let next: string | undefined;
  if (name === 'domain' && domain !== undefined) {
    next = domain.get(normalizeCookieDomain(current)) ?? domain.get('*');
  } else if (name === 'path' && path !== undefined) {
    if (path === 'prefix') {
      // A Path not starting with `/` is ignored by the browser (RFC 6265 5.2.4): leave it.
      if (current.charCodeAt(0) === 47 /* / */) next = current === '/' ? prefix : prefix + current;
    } else {
      next = path.get(current) ?? path.get('*');
    }
  }
  if (next === undefined || next === current) return attribute;
  return next === '' ? '' : `${attribute.slice(0, equals + 1)}${next}`;
}
