/**
 * Requests go only to configured targets, by the normalised path: what the client names as a host
 * in the request-target never chooses where the request goes.
 */
import * as assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Upstream } from '../fixtures/upstream.js';
import { echo, parseRaw, proxy, rawExchange, request, upstream, type Echo, type StartedProxy } from './proxy-helpers.js';

async function rawGet(port: number, target: string, host = 'x'): Promise<{ status: number; echo?: Echo; body: string }> {
  const reply = parseRaw(await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
  return reply.status === 200 ? { status: 200, echo: JSON.parse(reply.body) as Echo, body: reply.body } : { status: reply.status, body: reply.body };
}

async function twoRoutes(t: TestContext, extra: { stripPrefix?: boolean } = {}): Promise<{ p: StartedProxy; api: Upstream; admin: Upstream }> {
  const api = await upstream(t);
  const admin = await upstream(t);
  const p = await proxy(t, {
    routes: [
      { match: '/api', targets: [api.url], ...extra },
      { match: '/admin', targets: [admin.url] },
    ],
  });
  return { p, api, admin };
}

test('an absolute-form request-target is forwarded by its path to the configured target', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = await rawGet(p.port, 'http://elsewhere.invalid/x');
  assert.equal(reply.status, 200);
  assert.equal(reply.echo!.url, '/x');
  assert.equal(reply.echo!.headers.host, new URL(up.url).host);
  assert.equal(up.stats().requests, 1);
});

test('an absolute-form authority chooses among host routes and replaces Host', async (t) => {
  const a = await upstream(t);
  const b = await upstream(t);
  const p = await proxy(t, {
    routes: [
      { match: 'a.example', targets: [a.url] },
      { match: 'b.example', targets: [b.url] },
    ],
    preserveHost: true,
  });
  const reply = await rawGet(p.port, 'http://a.example/x', 'b.example');
  assert.equal(reply.echo!.headers.host, 'a.example');
  assert.equal(reply.echo!.headers['x-forwarded-host'], 'a.example');
  assert.equal(a.stats().requests, 1);
  assert.equal(b.stats().requests, 0);
});

test('an absolute-form authority no route serves gets 404, not a new destination', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { routes: [{ match: 'a.example', targets: [up.url] }] });
  assert.equal((await rawGet(p.port, 'http://elsewhere.invalid/x', 'a.example')).status, 404);
  assert.equal(up.stats().requests, 0);
});

test('an absolute-form request-target without a path is forwarded as / with its query', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  assert.equal((await rawGet(p.port, 'http://elsewhere.invalid?q=1')).echo!.url, '/?q=1');
  assert.equal((await rawGet(p.port, 'https://elsewhere.invalid:8443')).echo!.url, '/');
});

test('the query is forwarded as received', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  assert.equal(echo(await request(p.port, '/search?q=a%20b&x=%2F')).url, '/search?q=a%20b&x=%2F');
});

test('dot-segments are resolved before routing, so /api/../admin goes to the admin route', async (t) => {
  const { p, api, admin } = await twoRoutes(t);
  const reply = await rawGet(p.port, '/api/../admin/users');
  assert.equal(reply.echo!.url, '/admin/users');
  assert.equal(api.stats().requests, 0);
  assert.equal(admin.stats().requests, 1);
});

test('an encoded slash stays inside its segment and its route', async (t) => {
  const { p, api, admin } = await twoRoutes(t);
  const reply = await rawGet(p.port, '/api/%2e%2e%2Fadmin');
  assert.equal(reply.echo!.url, '/api/..%2Fadmin');
  assert.equal(api.stats().requests, 1);
  assert.equal(admin.stats().requests, 0);
});

test('repeated slashes are merged', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  assert.equal((await rawGet(p.port, '//a///b')).echo!.url, '/a/b');
});

test('a path with a backslash gets 400', async (t) => {
  const up = await upstream(t);
  const p = await proxy(t, { target: up.url });
  const reply = await rawGet(p.port, '/a\\..\\admin');
  assert.equal(reply.status, 400);
  assert.equal(up.stats().requests, 0);
});

test('a route prefix matches whole segments only', async (t) => {
  const { p, api } = await twoRoutes(t);
  assert.equal((await request(p.port, '/apis')).status, 404);
  assert.equal((await request(p.port, '/api')).status, 200);
  assert.equal((await request(p.port, '/api/')).status, 200);
  assert.equal(api.stats().requests, 2);
});

test('stripPrefix forwards the path after the route prefix', async (t) => {
  const { p } = await twoRoutes(t, { stripPrefix: true });
  assert.equal(echo(await request(p.port, '/api/users/7?x=1')).url, '/users/7?x=1');
  assert.equal(echo(await request(p.port, '/api')).url, '/');
  assert.equal(echo(await request(p.port, '/admin/x')).url, '/admin/x');
});

test('the longest matching prefix wins', async (t) => {
  const broad = await upstream(t);
  const narrow = await upstream(t);
  const p = await proxy(t, {
    routes: [
      { match: '/', targets: [broad.url] },
      { match: '/api/v2', targets: [narrow.url] },
    ],
  });
  await request(p.port, '/api/v2/x');
  await request(p.port, '/api/v1/x');
  assert.equal(narrow.stats().requests, 1);
  assert.equal(broad.stats().requests, 1);
});

test('a host route matches the Host header, without port and case-insensitively', async (t) => {
  const users = await upstream(t);
  const rest = await upstream(t);
  const p = await proxy(t, {
    routes: [
      { match: 'users.example', targets: [users.url] },
      { match: '/', targets: [rest.url] },
    ],
  });
  await request(p.port, '/x', { headers: { host: 'USERS.example:8080' } });
  await request(p.port, '/x', { headers: { host: 'other.example' } });
  assert.equal(users.stats().requests, 1);
  assert.equal(rest.stats().requests, 1);
});
