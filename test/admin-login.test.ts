/**
 * The dashboard's sign-in on an admin server with a token: the form, the session cookie it sets,
 * what that cookie opens and for how long, sign-out, and the refusals (wrong token, another site,
 * a body that is not a small form).
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as https from 'node:https';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { IncomingMessage } from 'node:http';
import { loadTestCertificate } from '../fixtures/certificate.js';
import { createAdminHandler } from '../lib/admin/index.js';
import { FORM_LIMIT, FORM_TIMEOUT, readForm } from '../lib/admin/login.js';
import { SESSION_TTL_SECONDS } from '../lib/admin/session.js';
import { createProxy } from '../lib/index.js';
import { fetchText, postLogin, signIn, SseReader, stack, until } from './admin-helpers.js';
import { raw } from './support/raw.js';
import { listening } from './support/servers.js';

const TOKEN = 'login-Token_0123456789.~+/=';
const COOKIE_NAME = 'proxy_breaker_session';

test('GET and HEAD /login show the form, under a CSP that allows its style and a post to the server itself', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const page = await fetchText(`${s.admin.url}/login`);
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['cache-control'], 'no-store');
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.match(page.text, /<form method="post" action="login">/);
  assert.match(page.text, /<input id="token" name="token" type="password"/);
  const csp = String(page.headers['content-security-policy']);
  const style = /<style>([\s\S]*?)<\/style>/.exec(page.text)![1]!;
  assert.equal(
    csp,
    `default-src 'none'; style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  );
  assert.doesNotMatch(page.text, /<script/, 'the form needs no script');
  const head = await fetchText(`${s.admin.url}/login`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.text, '');
  assert.equal(head.headers['content-length'], page.headers['content-length']);
});

test('the login flow: the form sets an HttpOnly SameSite=Strict cookie and sends the browser to the dashboard, which then reads /breakers and /events', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const reply = await postLogin(s.admin.url, TOKEN);
  assert.equal(reply.status, 303);
  assert.equal(reply.headers.location, './');
  const setCookie = reply.headers['set-cookie'];
  assert.equal(setCookie?.length, 1);
  const [pair, ...attributes] = setCookie![0]!.split('; ');
  assert.ok(pair!.startsWith(`${COOKIE_NAME}=`));
  assert.deepEqual(attributes, ['Path=/', `Max-Age=${SESSION_TTL_SECONDS}`, 'HttpOnly', 'SameSite=Strict'], 'no Secure over plain HTTP');
  const cookie = pair!;

  const dashboard = await fetchText(`${s.admin.url}/`, { headers: { cookie } });
  assert.equal(dashboard.status, 200);
  assert.match(dashboard.text, /<title>proxy-breaker<\/title>/);
  const breakers = await fetchText(`${s.admin.url}/breakers`, { headers: { cookie } });
  assert.equal(breakers.status, 200);
  assert.equal((breakers.json() as { targets: Array<{ target: string }> }).targets[0]!.target, s.upstream.url);
  const reader = await SseReader.open(`${s.admin.url}/events`, { cookie });
  t.after(() => reader.close());
  assert.equal(reader.res!.statusCode, 200);
  await reader.next((event) => event.event === 'stats');
});

test('the session cookie is not the token and says nothing of it: an expiry and a MAC', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const cookie = await signIn(s.admin.url, TOKEN);
  const value = cookie.slice(COOKIE_NAME.length + 1);
  assert.ok(!value.includes(TOKEN));
  const match = /^(\d+)\.[A-Za-z0-9_-]{43}$/.exec(value);
  assert.ok(match, value);
  const expires = Number(match[1]) * 1000;
  assert.ok(Math.abs(expires - (Date.now() + SESSION_TTL_SECONDS * 1000)) < 60_000, 'it carries its own expiry');
  const again = await signIn(s.admin.url, TOKEN);
  assert.equal(again.slice(0, COOKIE_NAME.length + 1), `${COOKIE_NAME}=`);
});

test('a wrong token gets 401 with the form again, a Bearer challenge, no cookie and no hint', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const answers = new Set<string>();
  for (const token of ['wrong', `${TOKEN}x`, TOKEN.slice(0, -1), '', 'has space']) {
    const reply = await postLogin(s.admin.url, token);
    assert.equal(reply.status, 401, token);
    assert.equal(reply.headers['www-authenticate'], 'Bearer realm="proxy-breaker"');
    assert.equal(reply.headers['set-cookie'], undefined);
    assert.match(reply.text, /<form method="post" action="login">/);
    assert.match(reply.text, /That token was not accepted\./);
    if (token !== '') assert.ok(!reply.text.includes(token), 'the token typed is not echoed');
    answers.add(reply.text);
  }
  assert.equal(answers.size, 1, 'every wrong token gets the same page');
  const none = await fetchText(`${s.admin.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'user=admin',
  });
  assert.equal(none.status, 401, 'a form without the field');
});

test('a cross-site login post is refused with 403 and sets no cookie (login CSRF)', async (t) => {
  const s = await stack(t, { token: TOKEN });
  for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: undefined, 'sec-fetch-site': 'same-site' }]) {
    const reply = await postLogin(s.admin.url, TOKEN, { origin: undefined, 'sec-fetch-site': undefined, ...headers });
    assert.equal(reply.status, 403, JSON.stringify(headers));
    assert.equal(reply.headers['set-cookie'], undefined);
    assert.equal((reply.json() as { error: string }).error, 'forbidden');
  }
});

test('a form posted from the admin server\'s own page signs in even with Origin: null (its pages send no referrer)', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const reply = await postLogin(s.admin.url, TOKEN, { origin: 'null', 'sec-fetch-site': 'same-origin' });
  assert.equal(reply.status, 303);
});

test('a login post from a client that sends no Origin (curl, a script) signs in', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const reply = await postLogin(s.admin.url, TOKEN, { origin: undefined, 'sec-fetch-site': undefined });
  assert.equal(reply.status, 303);
});

test('a login body that is not a form is refused with 415', async (t) => {
  const s = await stack(t, { token: TOKEN });
  for (const type of [undefined, 'application/json', 'multipart/form-data; boundary=x', 'text/plain']) {
    const reply = await fetchText(`${s.admin.url}/login`, {
      method: 'POST',
      headers: type === undefined ? {} : { 'content-type': type },
      body: `token=${TOKEN}`,
    });
    assert.equal(reply.status, 415, type);
    assert.equal(reply.headers['set-cookie'], undefined);
  }
  const charset = await postLogin(s.admin.url, TOKEN, { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' });
  assert.equal(charset.status, 303, 'the media type is case-insensitive and may carry a charset');
});

test('a login body over the limit is refused with 413 and the connection closed, declared or streamed', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const { port } = s.admin;
  const head = 'POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n';
  const declared = await raw(port, `${head}Content-Length: ${FORM_LIMIT + 1}\r\n\r\ntoken=`);
  assert.match(declared.text, /^HTTP\/1\.1 413 /);
  assert.match(declared.text, /\r\nConnection: close\r\n/i);
  assert.equal(declared.closed, true);
  const body = `token=${'a'.repeat(FORM_LIMIT)}`;
  const chunked = await raw(port, `${head}Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
  assert.match(chunked.text, /^HTTP\/1\.1 413 /);
  assert.doesNotMatch(chunked.text, /set-cookie/i);
  assert.equal(chunked.closed, true);
});

test('readForm() gives up on a body still unfinished after the timeout (408)', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const stream = new PassThrough();
  const req = Object.assign(stream, { headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '20' } }) as unknown as IncomingMessage;
  let result: unknown;
  void readForm(req).then((value) => (result = value));
  stream.write('token=abc');
  t.mock.timers.tick(FORM_TIMEOUT - 1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(result, undefined, 'not before the timeout');
  t.mock.timers.tick(1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(result, { refused: 408 });
});

test('a session cookie stops working once expired: 401 for the API, the form for the dashboard', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const cookie = await signIn(s.admin.url, TOKEN);
  assert.equal((await fetchText(`${s.admin.url}/breakers`, { headers: { cookie } })).status, 200);
  const expires = Number(/=(\d+)\./.exec(cookie)![1]) * 1000;
  t.mock.timers.enable({ apis: ['Date'], now: expires });
  const api = await fetchText(`${s.admin.url}/breakers`, { headers: { cookie } });
  assert.equal(api.status, 401);
  assert.equal(api.headers['www-authenticate'], 'Bearer realm="proxy-breaker"');
  assert.equal((await fetchText(`${s.admin.url}/events`, { headers: { cookie } })).status, 401);
  const page = await fetchText(`${s.admin.url}/`, { headers: { cookie } });
  assert.equal(page.status, 303);
  assert.equal(page.headers.location, 'login');
});

test('an event stream opened with a session cookie ends when the session does, and the others go on', async (t) => {
  const s = await stack(t, { token: TOKEN, sampleInterval: 20 });
  const other = await SseReader.open(`${s.admin.url}/events`, { authorization: `Bearer ${TOKEN}` });
  t.after(() => other.close());
  const cookie = await signIn(s.admin.url, TOKEN);
  // Half a second before the cookie expires: the stream opens, then must end on its own.
  const expires = Number(/=(\d+)\./.exec(cookie)![1]) * 1000;
  t.mock.timers.enable({ apis: ['Date'], now: expires - 500 });
  const reader = await SseReader.open(`${s.admin.url}/events`, { cookie });
  t.after(() => reader.close());
  assert.equal(reader.res!.statusCode, 200);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the stream outlived its session')), 5_000);
    reader.res!.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  // Stats go on being sent to the stream the bearer token opened, none to the ended one.
  const seen = other.events.length;
  await until(() => other.events.length >= seen + 3);
});

test('a forged or altered session cookie is refused', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const cookie = await signIn(s.admin.url, TOKEN);
  const [expires, mac] = cookie.slice(COOKIE_NAME.length + 1).split('.') as [string, string];
  const flipped = mac[0] === 'A' ? `B${mac.slice(1)}` : `A${mac.slice(1)}`;
  for (const forged of [
    `${COOKIE_NAME}=${expires}.${flipped}`,
    `${COOKIE_NAME}=${Number(expires) + 3600}.${mac}`,
    `${COOKIE_NAME}=${expires}`,
    `${COOKIE_NAME}=${TOKEN}`,
    `other=${expires}.${mac}`,
    `${COOKIE_NAME}=`,
  ]) {
    assert.equal((await fetchText(`${s.admin.url}/breakers`, { headers: { cookie: forged } })).status, 401, forged);
  }
  const among = `a=1; ${COOKIE_NAME}=${expires}.${flipped}; ${cookie}; b=2`;
  assert.equal((await fetchText(`${s.admin.url}/breakers`, { headers: { cookie: among } })).status, 200, 'any valid one among several');
});

test('a cookie from another admin server (another process key) is refused, even with the same token', async (t) => {
  const a = await stack(t, { token: TOKEN });
  const b = await stack(t, { token: TOKEN });
  const cookie = await signIn(a.admin.url, TOKEN);
  assert.equal((await fetchText(`${a.admin.url}/breakers`, { headers: { cookie } })).status, 200);
  assert.equal((await fetchText(`${b.admin.url}/breakers`, { headers: { cookie } })).status, 401);
});

test('POST /logout clears the cookie and sends the browser to the form; GET /logout is 405', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const cookie = await signIn(s.admin.url, TOKEN);
  const reply = await fetchText(`${s.admin.url}/logout`, { method: 'POST', headers: { cookie, origin: s.admin.url } });
  assert.equal(reply.status, 303);
  assert.equal(reply.headers.location, 'login');
  assert.deepEqual(reply.headers['set-cookie'], [`${COOKIE_NAME}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict`]);
  const get = await fetchText(`${s.admin.url}/logout`, { headers: { cookie } });
  assert.equal(get.status, 405);
  assert.equal(get.headers.allow, 'POST');
});

test('a cross-site POST /logout is refused with 403 and clears nothing', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const reply = await fetchText(`${s.admin.url}/logout`, { method: 'POST', headers: { origin: 'https://evil.example' } });
  assert.equal(reply.status, 403);
  assert.equal(reply.headers['set-cookie'], undefined);
});

test('/login answers 405 to other methods, naming GET, HEAD and POST', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const reply = await fetchText(`${s.admin.url}/login`, { method: 'PUT' });
  assert.equal(reply.status, 405);
  assert.equal(reply.headers.allow, 'GET, HEAD, POST');
});

test('over TLS (a handler mounted on an https.Server) the session cookie is Secure', async (t) => {
  const proxy = createProxy({ target: 'http://127.0.0.1:1' });
  const handler = createAdminHandler(proxy, { token: TOKEN });
  t.after(() => handler.close());
  const url = await listening(t, https.createServer(loadTestCertificate(), handler));
  const cookie = await new Promise<string[] | undefined>((resolve, reject) => {
    const body = new URLSearchParams({ token: TOKEN }).toString();
    const req = https.request(`${url}/login`, {
      method: 'POST',
      ca: loadTestCertificate().cert,
      agent: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
      signal: AbortSignal.timeout(3_000),
    });
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      resolve(res.headers['set-cookie']);
    });
    req.end(body);
  });
  assert.match(cookie![0]!, /; HttpOnly; SameSite=Strict; Secure$/);
});
