/** RouteTable and Route on their own: matching order, forwarded paths, replica choice. */
import * as assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { resolveProxyOptions, type ProxyOptions } from '../lib/proxy/options.js';
import { normalizeRequestTarget } from '../lib/proxy/path.js';
import { RouteTable } from '../lib/proxy/routes.js';
import { TargetRegistry } from '../lib/proxy/target.js';

const A = 'http://127.0.0.1:3001';
const B = 'http://127.0.0.1:3002';
const C = 'http://127.0.0.1:3003';

function table(t: TestContext, options: ProxyOptions): RouteTable {
  const registry = new TargetRegistry();
  t.after(() => {
    for (const target of registry.values()) target.close();
  });
  return RouteTable.build(resolveProxyOptions(options), registry);
}

const matched = (routes: RouteTable, host: string, path: string): string | undefined => routes.match(host, path)?.name;

test('RouteTable orders host routes first, then longer prefixes first', (t) => {
  const routes = table(t, {
    routes: [
      { match: '/', targets: A },
      { match: '/api', targets: A },
      { match: 'x.example.com', targets: B },
      { match: '/api/users/admin', targets: C },
      { match: 'x.example.com/api', targets: B },
    ],
  });
  assert.deepEqual(routes.routes.map((route) => route.name), ['x.example.com/api', 'x.example.com', '/api/users/admin', '/api', '/']);
});

test('RouteTable.match takes the raw Host header and a normalised path', (t) => {
  const routes = table(t, { routes: [{ match: '/api', targets: A }, { match: 'X.example.com/api', targets: B }] });
  assert.equal(matched(routes, 'x.EXAMPLE.com.:8080', '/api/1'), 'X.example.com/api');
  assert.equal(matched(routes, 'y.example.com', '/api/1'), '/api');
  assert.equal(matched(routes, '', '/api'), '/api');
  assert.equal(matched(routes, 'x.example.com', '/apix'), undefined);
  assert.equal(matched(routes, 'x.example.com', '/'), undefined);
});

test('RouteTable.match without a catch-all returns undefined for an unknown path', (t) => {
  const routes = table(t, { routes: [{ match: '/api', targets: A }, { match: '/admin', targets: B }] });
  assert.equal(matched(routes, 'h', '/'), undefined);
  assert.equal(matched(routes, 'h', '/API'), undefined);
  assert.equal(matched(routes, 'h', '/admins'), undefined);
});

test('a prefix with percent-escapes matches the requests that spell it either way', (t) => {
  const routes = table(t, { routes: [{ match: '/caf%c3%a9', targets: A }, { match: '/%7Euser', targets: B }] });
  for (const url of ['/caf%C3%A9/menu', '/caf%c3%a9', '/%63af%c3%a9/x']) {
    assert.equal(matched(routes, '', normalizeRequestTarget(url)!.path), '/caf%c3%a9', url);
  }
  assert.equal(matched(routes, '', normalizeRequestTarget('/~user/x')!.path), '/%7Euser');
  assert.equal(matched(routes, '', normalizeRequestTarget('/%7euser')!.path), '/%7Euser');
});

test('Route.forwardPath strips the prefix only when asked to, and never returns an empty path', (t) => {
  const routes = table(t, {
    routes: [
      { match: '/api/users', targets: A, stripPrefix: true },
      { match: '/api', targets: A },
      { match: 'x.example.com', targets: B, stripPrefix: true },
      { match: 'x.example.com/v2', targets: C, stripPrefix: true },
    ],
  });
  assert.equal(routes.match('X.example.com', '/v2/items/1')!.forwardPath('/v2/items/1'), '/items/1');
  const users = routes.match('', '/api/users/7')!;
  assert.equal(users.forwardPath('/api/users/7'), '/7');
  assert.equal(users.forwardPath('/api/users'), '/');
  assert.equal(users.forwardPath('/api/users/'), '/');
  assert.equal(users.forwardPath('/api/users/a/b/'), '/a/b/');
  assert.equal(routes.match('', '/api/x')!.forwardPath('/api/x'), '/api/x');
  assert.equal(routes.match('x.example.com', '/z')!.forwardPath('/z'), '/z');
});

test('routes naming the same origin get the same Target object', (t) => {
  const routes = table(t, { routes: [{ match: '/a', targets: [A, B] }, { match: '/b', targets: `${A}/` }] });
  const [a, b] = [routes.match('', '/a')!, routes.match('', '/b')!];
  assert.equal(a.targets[0], b.targets[0]);
  assert.notEqual(a.targets[1], b.targets[0]);
});

test('Route.pick refuses when every replica is open, and says so with a retry-after', (t) => {
  const routes = table(t, { breaker: { resetTimeout: 5000, jitter: 0 }, routes: [{ match: '/pair', targets: [A, B] }] });
  const pair = routes.match('', '/pair')!;
  for (const target of pair.targets) target.breaker.forceOpen();
  assert.equal(pair.pick(), undefined);
  assert.equal(pair.refusal(), 'open');
  assert.equal(pair.retryAfter(), 5000);
});

test('Route.pick refuses when every replica is at its concurrency limit, and says limited', (t) => {
  const routes = table(t, { maxConcurrent: 1, routes: [{ match: '/pair', targets: [A, B] }] });
  const pair = routes.match('', '/pair')!;
  for (const target of pair.targets) target.inFlight = 1;
  assert.equal(pair.pick(), undefined);
  assert.equal(pair.refusal(), 'limited');
  assert.equal(pair.retryAfter(), 0);
});
