import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startUpstream, type Upstream } from '../fixtures/upstream.js';
import { createProxy, type Proxy } from '../lib/proxy/proxy.js';
import { echo, send, sendRaw, type Reply } from './routes-helpers.js';

let a: Upstream;
let b: Upstream;
let c: Upstream;
let byPath: Proxy;
let byHost: Proxy;
let pathPort: number;
let hostPort: number;

before(async () => {
  [a, b, c] = await Promise.all([startUpstream(), startUpstream(), startUpstream()]);
  byPath = createProxy({
    routes: [
      { match: '/api', targets: a.url },
      { match: '/api/users', targets: b.url },
      { match: '/', targets: c.url },
    ],
  });
  byHost = createProxy({
    routes: [
      { match: '/api', targets: a.url },
      { match: 'shop.example.com', targets: b.url },
      { match: 'shop.example.com/api', targets: c.url },
    ],
  });
  pathPort = (await byPath.listen()).port;
  hostPort = (await byHost.listen()).port;
});

after(async () => {
  await Promise.all([byPath.close(0), byHost.close(0)]);
  await Promise.all([a.close(), b.close(), c.close()]);
});

/** Which fixture answered: the proxy sends each target its own Host. */
function answeredBy(reply: Reply): string {
  const host = echo(reply).headers.host;
  const found = [a, b, c].find((upstream) => upstream.url === `http://${host}`);
  assert.ok(found, `no fixture has host ${host}`);
  return found === a ? 'A' : found === b ? 'B' : 'C';
}

test('a request lands on the service of its path prefix and the upstream gets the path unchanged', async () => {
  const before = [a.stats().requests, b.stats().requests, c.stats().requests];
  const reply = await send(pathPort, '/api/orders/9?x=1');
  assert.equal(answeredBy(reply), 'A');
  assert.equal(echo(reply).url, '/api/orders/9?x=1');
  assert.deepEqual([a.stats().requests, b.stats().requests, c.stats().requests], [before[0]! + 1, before[1], before[2]]);
});

test('the longer prefix wins: /api/users/7 goes to /api/users, not /api', async () => {
  const reply = await send(pathPort, '/api/users/7');
  assert.equal(answeredBy(reply), 'B');
  assert.equal(echo(reply).url, '/api/users/7');
});

test('a prefix matches itself exactly, with or without a trailing slash', async () => {
  assert.equal(answeredBy(await send(pathPort, '/api')), 'A');
  assert.equal(answeredBy(await send(pathPort, '/api/')), 'A');
  assert.equal(answeredBy(await send(pathPort, '/api/users')), 'B');
  assert.equal(answeredBy(await send(pathPort, '/api/users?page=2')), 'B');
});

test('prefixes match on segment boundaries: /apix and /api/usersx are not under /api and /api/users', async () => {
  assert.equal(answeredBy(await send(pathPort, '/apix')), 'C');
  assert.equal(answeredBy(await send(pathPort, '/api/usersx')), 'A');
});

test('the catch-all / takes what no longer prefix matches', async () => {
  assert.equal(answeredBy(await send(pathPort, '/')), 'C');
  assert.equal(answeredBy(await send(pathPort, '/static/app.js')), 'C');
});

test('a host route takes requests for its host', async () => {
  const reply = await send(hostPort, '/cart', { headers: { host: 'shop.example.com' } });
  assert.equal(answeredBy(reply), 'B');
  assert.equal(echo(reply).url, '/cart');
});

test('host+path beats path alone: shop.example.com/api wins over /api for that host', async () => {
  assert.equal(answeredBy(await send(hostPort, '/api/x', { headers: { host: 'shop.example.com' } })), 'C');
  assert.equal(answeredBy(await send(hostPort, '/api', { headers: { host: 'shop.example.com' } })), 'C');
});

test('a host route beats a path route even when the path route is longer', async () => {
  // shop.example.com (prefix /) is more specific than /api for that host.
  assert.equal(answeredBy(await send(hostPort, '/apix', { headers: { host: 'shop.example.com' } })), 'B');
});

test('other hosts fall to the path routes', async () => {
  assert.equal(answeredBy(await send(hostPort, '/api/x', { headers: { host: 'other.example.com' } })), 'A');
});

test('host matching is case-insensitive', async () => {
  assert.equal(answeredBy(await send(hostPort, '/cart', { headers: { host: 'SHOP.Example.COM' } })), 'B');
});

test('host matching ignores the port', async () => {
  assert.equal(answeredBy(await send(hostPort, '/cart', { headers: { host: 'shop.example.com:8443' } })), 'B');
});

test('host matching ignores a trailing dot, with or without a port', async () => {
  assert.equal(answeredBy(await send(hostPort, '/cart', { headers: { host: 'shop.example.com.' } })), 'B');
  assert.equal(answeredBy(await send(hostPort, '/api/x', { headers: { host: 'Shop.Example.com.:80' } })), 'C');
});

test('a host that only starts or ends like the route host does not match it', async () => {
  for (const host of ['shop.example.com.evil', 'evilshop.example.com', 'shop.example.co']) {
    const reply = await send(hostPort, '/cart', { headers: { host } });
    assert.equal(reply.status, 404, host);
  }
});

test('no route matches: 404 with Proxy-Status destination_not_found and a JSON body', async () => {
  const before = [a.stats().requests, b.stats().requests, c.stats().requests];
  const reply = await send(hostPort, '/cart', { headers: { host: 'other.example.com' } });
  assert.equal(reply.status, 404);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=destination_not_found');
  assert.equal(reply.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(reply.body), { error: 'destination_not_found' });
  assert.deepEqual([a.stats().requests, b.stats().requests, c.stats().requests], before, 'no fall-through to any service');
});

test('no route matches a HEAD either: 404 without a body', async () => {
  const reply = await send(hostPort, '/nothing', { method: 'HEAD' });
  assert.equal(reply.status, 404);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=destination_not_found');
  assert.equal(reply.body, '');
});

test('an absolute-form authority stands in for Host (RFC 9112 3.2.2), choosing only among configured routes', async () => {
  // The request line names shop.example.com, the Host header another name: the request line wins.
  const shop = await sendRaw(hostPort, 'GET http://shop.example.com/cart HTTP/1.1', 'other.example');
  assert.equal(answeredBy(shop), 'B');
  assert.equal(echo(shop).url, '/cart');
  // An authority that no route names falls to the host-less routes; it never becomes a destination.
  const elsewhere = await sendRaw(hostPort, 'GET http://evil.example/api/x HTTP/1.1', 'shop.example.com');
  assert.equal(answeredBy(elsewhere), 'A');
  assert.equal(echo(elsewhere).url, '/api/x');
});
