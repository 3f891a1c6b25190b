/**
 * The dashboard's sign-in: once the login form has checked the admin token, the browser holds a
 * cookie that says "signed in until T", signed with a key this process drew at random. The token
 * itself is never stored in the browser, a copied cookie stops working at T (or when the process
 * restarts), and the cookie tells nothing about the token, not even to an offline guesser.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'proxy_breaker_session';

/** How long a sign-in lasts: a working day and then some, so a wall screen survives a shift. */
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

/** `<expiry, epoch seconds>.<base64url HMAC-SHA256>`; nothing else is ever ours. */
const SESSION_VALUE = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

/**
 * RFC 6265 5.2: HttpOnly keeps the cookie from page scripts, SameSite=Strict from every request
 * another site starts (so no CSRF rides on it), Path=/ sends it to `/breakers` and `/events`.
 * Secure only over TLS: on plain HTTP a browser would drop a Secure cookie.
 */
function attributes(maxAge: number, secure: boolean): string {
  return `Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** True when `req` came over TLS (a handler mounted on an `https.Server`). */
export function overTls(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

export class SessionCookies {
  readonly #key = randomBytes(32);

  /** The `Set-Cookie` value of a session that starts now. */
  issue(req: IncomingMessage): string {
    const expires = Math.floor(Date.now() / 1000) + SESSION_TTL_SECONDS;
    return `${SESSION_COOKIE}=${expires}.${this.#sign(expires)}; ${attributes(SESSION_TTL_SECONDS, overTls(req))}`;
  }

  /** The `Set-Cookie` value that makes the browser forget its session. */
  clear(req: IncomingMessage): string {
    return `${SESSION_COOKIE}=; ${attributes(0, overTls(req))}`;
  }

  /** When the session `req` carries ends (epoch ms), or undefined when it carries no valid one. */
  verify(req: IncomingMessage): number | undefined {
    const header = req.headers.cookie;
    if (header === undefined) return undefined;
    const now = Date.now();
    // Several cookies of this name can arrive (one per path, or another admin server on the same
    // host name: cookies are not kept apart by port), so any valid one will do.
    for (const pair of header.split(';')) {
      const equals = pair.indexOf('=');
      if (equals === -1 || pair.slice(0, equals).trim() !== SESSION_COOKIE) continue;
      const match = SESSION_VALUE.exec(pair.slice(equals + 1).trim());
      if (match === null) continue;
      const expires = Number(match[1]) * 1000;
      if (expires <= now) continue;
      if (timingSafeEqual(Buffer.from(match[2]!), Buffer.from(this.#sign(Number(match[1]))))) return expires;
    }
    return undefined;
  }

  #sign(expires: number): string {
    return createHmac('sha256', this.#key).update(`proxy-breaker admin session v1 ${expires}`).digest('base64url');
  }
}
