/**
 * The dashboard's sign-in, for an admin server with a token: `GET /login` shows a form, `POST
 * /login` checks the token typed into it and answers with a session cookie (lib/admin/session.ts),
 * `POST /logout` clears it. A browser's `EventSource` cannot send `Authorization`, but it sends the
 * page's own cookies, so a signed-in dashboard follows `/events` like any API client would.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isCrossSite, type BearerAuth } from './auth.js';
import { redirect, sendError, sendPage } from './respond.js';
import type { SessionCookies } from './session.js';

/** The form holds one short field; anything bigger is not a sign-in. */
export const FORM_LIMIT = 4096;
/** A sign-in is a few hundred bytes: a body still unread after this is a stalled or hostile client. */
export const FORM_TIMEOUT = 10_000;

/** RFC 9110 11.6.1: a 401 names the scheme it wants, the login page's included. */
export const CHALLENGE = 'Bearer realm="proxy-breaker"';

const STYLE = `
:root{--bg:#f6f8fa;--card:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--accent:#0969da;--bad:#cf222e;
font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#151b23;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--accent:#4493f8;--bad:#f85149}}
*{box-sizing:border-box}
body{margin:0;padding:48px 20px;display:flex;justify-content:center}
main{width:100%;max-width:340px;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:20px}
h1{font-size:18px;margin:0 0 12px}
label{display:block;margin-bottom:4px;color:var(--muted)}
input{display:block;width:100%;font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:6px 8px}
button{margin-top:12px;font:inherit;font-weight:600;color:#fff;background:var(--accent);border:0;border-radius:6px;padding:6px 14px;cursor:pointer}
.error{color:var(--bad);margin:0 0 12px}
.note{color:var(--muted);font-size:12px;margin:14px 0 0}
.note a{color:var(--accent)}
`;

function loginHtml(refused: boolean): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in \u00b7 proxy-breaker</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>proxy-breaker</h1>
${refused ? '<p class="error" id="refused" role="alert">That token was not accepted.</p>\n' : ''}<form method="post" action="login">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
<p class="note">Signed in already? <a href="./">Open the dashboard</a>.</p>
</main>
</body>
</html>
`;
}

const LOGIN_HTML = loginHtml(false);
const REFUSED_HTML = loginHtml(true);

/** The login page's CSP: its own inline style by hash, a form that posts to this server, nothing else. */
export const LOGIN_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`,
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export type FormResult = { form: URLSearchParams } | { refused: 408 | 413 | 415 } | { aborted: true };

/**
 * Reads an `application/x-www-form-urlencoded` body of at most `FORM_LIMIT` bytes within
 * `FORM_TIMEOUT` ms. A refusal leaves the rest of the body unread: its answer closes the connection.
 */
export function readForm(req: IncomingMessage): Promise<FormResult> {
  // RFC 9110 8.3.1: the media type is case-insensitive and may carry parameters (a charset).
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(req.headers['content-type'] ?? '')) return Promise.resolve({ refused: 415 });
  if (Number(req.headers['content-length'] ?? 0) > FORM_LIMIT) return Promise.resolve({ refused: 413 });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: FormResult): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      if (!('form' in result)) req.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > FORM_LIMIT) finish({ refused: 413 });
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish({ form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')) });
    const onClose = (): void => finish({ aborted: true });
    const timer = setTimeout(() => finish({ refused: 408 }), FORM_TIMEOUT);
    timer.unref();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
}

const REFUSALS = {
  408: ['request_timeout', 'The form was not sent in time.'],
  413: ['content_too_large', `A sign-in form is at most ${FORM_LIMIT} bytes.`],
  415: ['unsupported_media_type', 'Send the form as application/x-www-form-urlencoded.'],
} as const;

/** `/login` and `/logout`; only an admin server with a token has them. */
export class LoginRoutes {
  readonly #auth: BearerAuth;
  readonly #sessions: SessionCookies;

  constructor(auth: BearerAuth, sessions: SessionCookies) {
    this.#auth = auth;
    this.#sessions = sessions;
  }

  /** `GET`/`HEAD /login`: the form. */
  page(res: ServerResponse): void {
    sendPage(res, 200, LOGIN_HTML, LOGIN_CSP);
  }

  /**
   * `POST /login`. Another site's page must not sign this browser in with a token of its own
   * choosing (login CSRF), so cross-site posts are refused before the body is read.
   */
  async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (isCrossSite(req)) {
      req.resume();
      return sendError(res, 403, 'forbidden', 'Sign in from the admin server\'s own page.');
    }
    const result = await readForm(req);
    if ('aborted' in result) return void res.destroy();
    if ('refused' in result) {
      const [error, message] = REFUSALS[result.refused];
      return sendError(res, result.refused, error, message, { connection: 'close' });
    }
    const token = result.form.get('token');
    // A wrong token gets the form again and a 401 that says no more than "no": not how it was wrong.
    if (token === null || !this.#auth.matches(token)) return sendPage(res, 401, REFUSED_HTML, LOGIN_CSP, { 'www-authenticate': CHALLENGE });
    redirect(res, './', { 'set-cookie': this.#sessions.issue(req) });
  }

  /** `POST /logout`: forgets the session in this browser (a copy elsewhere lasts until it expires). */
  logout(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (isCrossSite(req)) return sendError(res, 403, 'forbidden', 'Sign out from the admin server\'s own page.');
    redirect(res, 'login', { 'set-cookie': this.#sessions.clear(req) });
  }
}
