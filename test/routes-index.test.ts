/** PrefixIndex and RouteTable.match on the edges of a path and a Host header. */
import * as assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { resolveProxyOptions, type ProxyOptions } from '../lib/proxy/options.js';
import { PrefixIndex } from '../lib/proxy/route-index.js';
import { RouteTable } from '../lib/proxy/routes.js';
import { TargetRegistry } from '../lib/proxy/target.js';

const A = 'http://127.0.0.1:3001';

function index(...prefixes: string[]): PrefixIndex<string> {
  return new PrefixIndex(prefixes.map((prefix) => ({ prefix, value: prefix === '' ? '/' : prefix })));
}

function table(t: TestContext, matches: string[]): RouteTable {
  const registry = new TargetRegistry();
  t.after(() => {
    for (const target of registry.values()) target.close();
  });
  const options: ProxyOptions = { routes: matches.map((match) => ({ match, targets: A })) };
  return RouteTable.build(resolveProxyOptions(options), registry);
}

test('PrefixIndex picks the longest of nested prefixes', () => {
  const routes = index('', '/a', '/a/b', '/a/b/c');
  assert.equal(routes.match('/a/b/c/d'), '/a/b/c');
  assert.equal(routes.match('/a/b/c'), '/a/b/c');
  assert.equal(routes.match('/a/b/x'), '/a/b');
  assert.equal(routes.match('/a/x/c'), '/a');
  assert.equal(routes.match('/x/a/b'), '/');
});

test('PrefixIndex matches whole segments only: /a is not a prefix of /ab, /a/b not of /a/bc', () => {
  const routes = index('/a', '/a/b');
  assert.equal(routes.match('/ab'), undefined);
  assert.equal(routes.match('/a/bc'), '/a');
  assert.equal(routes.match('/a%2Fb'), undefined);
});

test('PrefixIndex takes a trailing slash as the start of an empty segment under the prefix', () => {
  const routes = index('/a', '/a/b');
  assert.equal(routes.match('/a/'), '/a');
  assert.equal(routes.match('/a/b/'), '/a/b');
});

test('PrefixIndex gives the root prefix every path, the empty one included', () => {
  const routes = index('', '/a');
  assert.equal(routes.match('/'), '/');
  assert.equal(routes.match(''), '/');
  assert.equal(routes.match('a'), '/');
  assert.equal(index('/a').match(''), undefined);
  assert.equal(index('/a').match('/'), undefined);
});

test('PrefixIndex looks no further than its longest prefix, and still matches long paths below it', () => {
  const routes = index('/abc');
  assert.equal(routes.match(`/abc/${'x'.repeat(10_000)}`), '/abc');
  assert.equal(routes.match(`/abcd${'x'.repeat(100)}`), undefined);
  assert.equal(routes.match('/ab'), undefined);
});

test('PrefixIndex keeps the first of two entries with the same prefix', () => {
  const routes = new PrefixIndex([
    { prefix: '/a', value: 'first' },
    { prefix: '/a', value: 'second' },
    { prefix: '', value: 'root first' },
    { prefix: '', value: 'root second' },
  ]);
  assert.equal(routes.match('/a/x'), 'first');
  assert.equal(routes.match('/b'), 'root first');
});

test('PrefixIndex compares paths case-sensitively and escapes as written', () => {
  const routes = index('/api', '/caf%C3%A9');
  assert.equal(routes.match('/API'), undefined);
  assert.equal(routes.match('/caf%C3%A9/menu'), '/caf%C3%A9');
  assert.equal(routes.match('/caf%c3%a9/menu'), undefined);
});

test('RouteTable.match finds a host route with the port, upper case or trailing dot of a Host header', (t) => {
  const routes = table(t, ['shop.example.com', '/']);
  for (const host of ['shop.example.com', 'SHOP.Example.COM', 'shop.example.com:8443', 'Shop.Example.Com.:80', 'shop.example.com.']) {
    assert.equal(routes.match(host, '/cart')?.name, 'shop.example.com', host);
  }
});

test('RouteTable.match sends an IPv6 literal, an empty Host or an unknown host to the routes of any host', (t) => {
  const routes = table(t, ['shop.example.com/api', '/api']);
  for (const host of ['[::1]:8080', '[::1]', '', 'api', 'example.com']) assert.equal(routes.match(host, '/api/x')?.name, '/api', host);
});

test('RouteTable.match falls back to the routes of any host when none of the host\'s prefixes fits', (t) => {
  const routes = table(t, ['shop.example.com/api', 'shop.example.com/api/v2', '/static', '/']);
  assert.equal(routes.match('shop.example.com', '/api/v2/x')?.name, 'shop.example.com/api/v2');
  assert.equal(routes.match('shop.example.com', '/api/v3')?.name, 'shop.example.com/api');
  assert.equal(routes.match('shop.example.com', '/static/app.js')?.name, '/static');
  assert.equal(routes.match('shop.example.com', '/apix')?.name, '/');
});

test('RouteTable.match answers an empty path with the root route only', (t) => {
  assert.equal(table(t, ['/api', '/']).match('', '')?.name, '/');
  assert.equal(table(t, ['/api', 'x.example.com']).match('x.example.com', '')?.name, 'x.example.com');
  assert.equal(table(t, ['/api']).match('', ''), undefined);
});

test('a host route with a root path and one without a path are the same route', (t) => {
  const routes = table(t, ['x.example.com/', '/']);
  assert.equal(routes.match('x.example.com', '/anything')?.name, 'x.example.com/');
  assert.equal(routes.match('y.example.com', '/anything')?.name, '/');
});
