/**
 * Which admin routes a token guards: with one, every route but /healthz, /readyz and the sign-in
 * needs the bearer token or the dashboard's session cookie; without one (loopback), all stay open.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { fetchText, signIn, SseReader, stack, type Stack } from './admin-helpers.js';

const TOKEN = 'admin-Token_0123456789.~+/=';
const BEARER = { authorization: `Bearer ${TOKEN}` };
const CHALLENGE = 'Bearer realm="proxy-breaker"';

/** Every read route, as `[path, status with credentials]`. */
const readRoutes = (s: Stack): Array<[string, number]> => [
  ['/', 200],
  ['/breakers', 200],
  [`/breakers/${s.encoded}`, 200],
  [`/breakers/${encodeURIComponent('http://127.0.0.1:1')}`, 404],
  ['/metrics', 200],
  ['/nowhere', 404],
];

test('with a token, every read route answers 401 JSON with a Bearer challenge to a client without credentials', async (t) => {
  const s = await stack(t, { token: TOKEN });
  for (const [path] of readRoutes(s).filter(([path]) => path !== '/')) {
    const reply = await fetchText(`${s.admin.url}${path}`);
    assert.equal(reply.status, 401, path);
    assert.equal(reply.headers['www-authenticate'], CHALLENGE, path);
    assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8', path);
    assert.deepEqual(reply.json(), { error: 'unauthorized', message: 'A valid bearer token is required.' }, path);
    assert.ok(!reply.text.includes('127.0.0.1'), `${path}: no target shows`);
  }
});

test('with a token, /events answers 401 without credentials and opens no stream', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const reply = await fetchText(`${s.admin.url}/events`);
  assert.equal(reply.status, 401);
  assert.equal(reply.headers['www-authenticate'], CHALLENGE);
  assert.notEqual(reply.headers['content-type'], 'text/event-stream; charset=utf-8');
});

test('with a token, the dashboard sends a browser without a session to the login form (303)', async (t) => {
  const s = await stack(t, { token: TOKEN });
  for (const method of ['GET', 'HEAD']) {
    const reply = await fetchText(`${s.admin.url}/`, { method });
    assert.equal(reply.status, 303, method);
    assert.equal(reply.headers.location, 'login', method);
    assert.equal(reply.text, '', method);
  }
});

test('with a token, the bearer token opens every read route, the dashboard and the event stream', async (t) => {
  const s = await stack(t, { token: TOKEN });
  for (const [path, status] of readRoutes(s)) {
    assert.equal((await fetchText(`${s.admin.url}${path}`, { headers: BEARER })).status, status, path);
  }
  const reader = await SseReader.open(`${s.admin.url}/events`, BEARER);
  t.after(() => reader.close());
  assert.equal(reader.res!.statusCode, 200);
  assert.equal(reader.res!.headers['content-type'], 'text/event-stream; charset=utf-8');
});

test('with a token, a wrong bearer token gets 401 with error="invalid_token" everywhere, the dashboard included', async (t) => {
  const s = await stack(t, { token: TOKEN });
  for (const authorization of ['Bearer wrong', `Bearer x${TOKEN}`, `Bearer ${TOKEN.slice(1)}`]) {
    for (const [path] of [...readRoutes(s), ['/events', 0] as [string, number]]) {
      const reply = await fetchText(`${s.admin.url}${path}`, { headers: { authorization } });
      assert.equal(reply.status, 401, `${path} ${authorization}`);
      assert.equal(reply.headers['www-authenticate'], `${CHALLENGE}, error="invalid_token"`, path);
      assert.ok(!reply.text.includes(TOKEN) && !reply.text.includes('wrong'), 'no credential is echoed');
    }
  }
});

test('with a token, the session cookie opens every read route and the event stream', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const cookie = await signIn(s.admin.url, TOKEN);
  for (const [path, status] of readRoutes(s)) {
    assert.equal((await fetchText(`${s.admin.url}${path}`, { headers: { cookie } })).status, status, path);
  }
  const reader = await SseReader.open(`${s.admin.url}/events`, { cookie });
  t.after(() => reader.close());
  assert.equal(reader.res!.statusCode, 200);
});

test('with a token, a session cookie does not open the control routes: they take the bearer token only', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const cookie = await signIn(s.admin.url, TOKEN);
  const url = `${s.admin.url}/breakers/${s.encoded}/open`;
  const reply = await fetchText(url, { method: 'POST', headers: { cookie, origin: s.admin.url } });
  assert.equal(reply.status, 401);
  assert.equal(reply.headers['www-authenticate'], CHALLENGE);
  assert.equal(s.proxy.snapshot().targets[0]!.state, 'CLOSED');
  assert.equal((await fetchText(url, { method: 'POST', headers: BEARER })).status, 200);
});

test('with a token, /healthz and /readyz stay open to probes without credentials', async (t) => {
  const s = await stack(t, { token: TOKEN });
  assert.deepEqual((await fetchText(`${s.admin.url}/healthz`)).json(), { status: 'ok' });
  const ready = await fetchText(`${s.admin.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal((ready.json() as { status: string }).status, 'ready');
});

test('with a token, the dashboard carries a sign-out form and its CSP lets forms post to the server itself only', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const reply = await fetchText(`${s.admin.url}/`, { headers: BEARER });
  assert.match(reply.text, /<form class="signout" method="post" action="logout">/);
  const csp = String(reply.headers['content-security-policy']);
  assert.match(csp, /form-action 'self'/);
  assert.match(csp, /connect-src 'self'/);
  assert.doesNotMatch(csp, /unsafe/);
});

test('without a token (loopback), every route stays open, the dashboard has no sign-out, and there is no /login', async (t) => {
  const s = await stack(t);
  for (const [path, status] of readRoutes(s)) assert.equal((await fetchText(`${s.admin.url}${path}`)).status, status, path);
  const dashboard = await fetchText(`${s.admin.url}/`);
  assert.doesNotMatch(dashboard.text, /<form|action="logout"/);
  assert.match(String(dashboard.headers['content-security-policy']), /form-action 'none'/);
  const reader = await SseReader.open(`${s.admin.url}/events`);
  t.after(() => reader.close());
  assert.equal(reader.res!.statusCode, 200);
  for (const [method, path] of [['GET', '/login'], ['POST', '/login'], ['POST', '/logout']] as const) {
    assert.equal((await fetchText(`${s.admin.url}${path}`, { method })).status, 404, `${method} ${path}`);
  }
});
