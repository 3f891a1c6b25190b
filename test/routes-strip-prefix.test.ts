import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startUpstream, type Upstream } from '../fixtures/upstream.js';
import { createProxy, type Proxy } from '../lib/proxy/proxy.js';
import { echo, send } from './routes-helpers.js';

let users: Upstream;
let api: Upstream;
let proxy: Proxy;
let port: number;

before(async () => {
  [users, api] = await Promise.all([startUpstream(), startUpstream()]);
  proxy = createProxy({
    routes: [
      { match: '/api/users', targets: users.url, stripPrefix: true },
      { match: '/api', targets: api.url },
      { match: 'static.example.com', targets: users.url, stripPrefix: true },
    ],
  });
  port = (await proxy.listen()).port;
});

after(async () => {
  await proxy.close(0);
  await Promise.all([users.close(), api.close()]);
});

test('stripPrefix forwards /api/users/7 as /7', async () => {
  assert.equal(echo(await send(port, '/api/users/7')).url, '/7');
});

test('stripPrefix forwards the prefix itself, /api/users, as /', async () => {
  assert.equal(echo(await send(port, '/api/users')).url, '/');
  assert.equal(echo(await send(port, '/api/users/')).url, '/');
});

test('stripPrefix keeps the query string', async () => {
  assert.equal(echo(await send(port, '/api/users/7?fields=name&x=%2F')).url, '/7?fields=name&x=%2F');
  assert.equal(echo(await send(port, '/api/users?page=2')).url, '/?page=2');
});

test('stripPrefix strips from the normalised path', async () => {
  assert.equal(echo(await send(port, '//api/users/./7/../8')).url, '/8');
  assert.equal(echo(await send(port, '/api/%75sers/7')).url, '/7');
});

test('a route without stripPrefix forwards the whole path', async () => {
  const reply = await send(port, '/api/orders/1?x=1');
  assert.equal(echo(reply).url, '/api/orders/1?x=1');
  assert.equal(echo(reply).headers.host, new URL(api.url).host);
});

test('stripPrefix on a host route without a path prefix changes nothing', async () => {
  assert.equal(echo(await send(port, '/img/logo.png', { headers: { host: 'static.example.com' } })).url, '/img/logo.png');
});

test('stripPrefix is shown in the snapshot of each route', () => {
  const routes = proxy.snapshot().routes;
  assert.deepEqual(
    routes.map((route) => [route.match, route.stripPrefix]),
    [['static.example.com', true], ['/api/users', true], ['/api', false]],
  );
});
