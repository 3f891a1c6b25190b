/**
 * Request-target normalisation, so that a path cannot reach a route it should not.
 *
 * Rules (RFC 3986 6.2.2 and 5.2.4, nginx's merge_slashes):
 * - an absolute-form target (`http://elsewhere/x`) keeps its path `/x`; its authority takes the
 *   place of `Host` for host routes (RFC 9112 3.2.2), so it can only choose among configured
 *   routes, never a host the request goes to. It is checked as a `Host` field is (`isValidHost`),
 *   and must not be empty (RFC 9110 4.2.1), since it is forwarded as `X-Forwarded-Host`;
 * - a fragment (`#`) is never part of a request-target (RFC 9112 3.2), so one is refused;
 * - percent-escapes of unreserved characters (`%41` -> `A`, `%2E` -> `.`) are decoded, every other
 *   escape is kept, upper-cased; `%2F` stays an escape, so `/api%2F..` is one segment, not two;
 * - runs of `/` become one `/`;
 * - dot-segments are removed (`/api/../admin` -> `/admin`; `..` never climbs above the root);
 * - paths are case-sensitive: `/API` is not `/api`;
 * - a backslash, a control character or a malformed escape is refused (400).
 * The normalised path is what routes match and what is forwarded, so the upstream sees the path
 * the route matched, not another spelling of it.
 */

const UNRESERVED = /[A-Za-z0-9\-._~]/;
/** A path that needs no work: the common case, checked with one regular-expression test. */
const NEEDS_WORK = /[%\\]|\/\/|\/\.|[\x00-\x20\x7f]/;

export interface RequestTarget {
  /** Normalised path, always starting with `/`. */
  path: string;
  /** `?query` as received, or `''`. */
  query: string;
  /** The authority of an absolute-form target (`host[:port]`), which overrides `Host`. */
  authority?: string;
}

/** `Host` as RFC 9112 3.2 allows it: uri-host [":" port]; no user info, path, space or backslash. */
const VALID_HOST = /^(?:\[[0-9A-Za-z:.%]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/** Whether `host` is a valid `Host` field value, or authority of an absolute-form target. */
export function isValidHost(host: string): boolean {
  return VALID_HOST.test(host);
}

/** Normalises a request-target; returns `undefined` when it must be refused. */
export function normalizeRequestTarget(url: string): RequestTarget | undefined {
  if (url.includes('#')) return undefined;
  let rest = url;
  let authority: string | undefined;
  if (rest.charCodeAt(0) !== 47 /* / */) {
    // absolute-form (RFC 9112 3.2.2): keep the path; the authority stands in for Host.
    const match = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(rest);
    if (match === null) return undefined; // '*' or garbage: nothing to route
    authority = match[1]!.slice(match[1]!.lastIndexOf('@') + 1);
    if (authority === '' || !VALID_HOST.test(authority)) return undefined;
    rest = rest.slice(match[0].length);
    if (rest === '' || rest.charCodeAt(0) === 63 /* ? */) rest = `/${rest}`;
  }
  const q = rest.indexOf('?');
  const rawPath = q === -1 ? rest : rest.slice(0, q);
  const query = q === -1 ? '' : rest.slice(q);
  let path = rawPath;
  if (NEEDS_WORK.test(rawPath)) {
    if (/[\\\x00-\x20\x7f]/.test(rawPath)) return undefined;
    const decoded = decodeUnreserved(rawPath);
    if (decoded === undefined) return undefined;
    path = removeDotSegments(decoded.replace(/\/{2,}/g, '/'));
  }
  return authority === undefined ? { path, query } : { path, query, authority };
}

/** Decodes escapes of unreserved characters, upper-cases the others; `undefined` for a malformed escape. */
export function decodeUnreserved(path: string): string | undefined {
  if (!path.includes('%')) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const char = path[i]!;
    if (char !== '%') {
      out += char;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    const decoded = String.fromCharCode(parseInt(hex, 16));
    out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
    i += 2;
  }
  return out;
}

/** RFC 3986 5.2.4, for an absolute path. */
export function removeDotSegments(path: string): string {
  if (!path.includes('/.')) return path;
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '.') {
      if (last) out.push('');
    } else if (segment === '..') {
      out.pop();
      if (last) out.push('');
    } else {
      out.push(segment);
    }
  }
  return `/${out.join('/')}`;
}

/** Whether `path` is `prefix` or starts with `prefix/` (segment boundary). `prefix` has no trailing slash. */
export function matchesPrefix(path: string, prefix: string): boolean {
  if (prefix === '') return true;
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || path.charCodeAt(prefix.length) === 47;
}

/** Host as matched: lower-case, without port and trailing dot. */
export function normalizeHost(host: string): string {
  let name = host.toLowerCase();
  if (name.startsWith('[')) {
    const end = name.indexOf(']');
    return end === -1 ? name : name.slice(0, end + 1);
  }
  const colon = name.indexOf(':');
  if (colon !== -1) name = name.slice(0, colon);
  return name.endsWith('.') ? name.slice(0, -1) : name;
}
