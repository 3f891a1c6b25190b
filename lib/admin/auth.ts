/**
 * Who may use the admin server: with a token configured, the bearer of it (RFC 6750) or a browser
 * signed in with it (lib/admin/session.ts); never a cross-site browser request for a change. Also
 * the rule that an admin server on a non-loopback address must have a token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';

/** True for `localhost`, 127.0.0.0/8, `::1` (bracketed or not) and IPv4-mapped loopback. */
export function isLoopbackHost(host: string): boolean {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name.startsWith('::ffff:') && isIP(name.slice(7)) === 4) name = name.slice(7);
  if (isIP(name) === 4) return name.split('.')[0] === '127';
  if (isIP(name) === 6) return /^(0{0,4}:){1,7}0{0,3}1$|^::1$/.test(name);
  return false;
}

/**
 * Throws when the admin server would listen on a non-loopback `host` without a token: every
 * target's URL and state, and manual control, would then be open to the network. The CLI calls
 * this before binding.
 */
export function assertAdminBinding(host: string, token?: string): void {
  if (isLoopbackHost(host) || (token !== undefined && token !== '')) return;
  throw new ConfigError(
    'admin',
    `refusing to bind the admin server to the non-loopback address ${JSON.stringify(host)} without a token; ` +
      'set an admin token (--admin-token) or bind to 127.0.0.1',
  );
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Checks `Authorization: Bearer <token>`, or a token typed into the login form, in constant time. */
export class BearerAuth {
  readonly #expected: Buffer;

  constructor(token: string) {
    // Hashing first gives equal lengths, which timingSafeEqual needs, and hides the token's length.
    this.#expected = digest(token);
  }

  /** `missing`: no bearer credentials; `invalid`: wrong ones; `ok`. */
  check(req: IncomingMessage): 'ok' | 'missing' | 'invalid' {
    const header = req.headers.authorization;
    // RFC 6750 §2.1: the scheme is case-insensitive; b64token is the credential syntax.
    const match = header === undefined ? null : /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (match === null) return 'missing';
    return this.matches(match[1]!) ? 'ok' : 'invalid';
  }

  /** True when `candidate` is the token. */
  matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.#expected);
  }
}

/**
 * A browser on any site can POST to 127.0.0.1 with a plain form or a no-cors fetch; such requests
 * carry `Sec-Fetch-Site: cross-site` (or `same-site`), or an `Origin` that is not the admin
 * server's own. Scripts, curl and the CLI send neither.
 *
 * `Sec-Fetch-Site` decides when present: no page can set it, and it names the admin server's own
 * pages `same-origin` even where `Origin` is `null` (a form posted from a page under
 * `Referrer-Policy: no-referrer`, as every admin page is: Fetch, "serializing a request origin").
 * `Origin` is the fallback for browsers that do not send it.
 */
export function isCrossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'same-origin' || site === 'none') return false;
  if (site !== undefined) return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== (req.headers.host ?? '').toLowerCase();
  } catch {
    return true; // `Origin: null` from sandboxed frames and file: pages
  }
}
