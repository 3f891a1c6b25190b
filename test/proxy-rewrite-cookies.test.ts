/**
 * Set-Cookie rewriting per route: `Domain` and `Path` (node-http-proxy's `cookieDomainRewrite` and
 * `cookiePathRewrite`, nginx's `proxy_cookie_domain` and `proxy_cookie_path`). First rewrite.ts on
 * its own, then through the proxy.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { test, type TestContext } from 'node:test';
import { ConfigError, createProxy, type ProxyOptions } from '../lib/index.js';
import { normalizeCookieDomain, rewriteSetCookie, type CookieRewrite } from '../lib/proxy/rewrite.js';
import { listening } from './support/servers.js';
import { proxy, request } from './proxy-helpers.js';

const map = (entries: Record<string, string>): CookieRewrite => new Map(Object.entries(entries));

// --- rewrite.ts on its own -------------------------------------------------------------------

test('rewriteSetCookie sets every Domain to a lone replacement', () => {
  assert.equal(rewriteSetCookie('a=1; Domain=my.domain; Path=/', map({ '*': 'new.domain' }), undefined, ''), 'a=1; Domain=new.domain; Path=/');
});

test('rewriteSetCookie removes the Domain attribute for an empty replacement', () => {
  assert.equal(rewriteSetCookie('a=1; Domain=my.domain; Path=/', map({ '*': '' }), undefined, ''), 'a=1; Path=/');
});

test('rewriteSetCookie picks the mapped domain before the wildcard and keeps unmapped ones without one', () => {
  const rules = map({ '*': '', 'my.old.domain': 'my.new.domain', 'my.special.domain': 'my.special.domain' });
  assert.equal(rewriteSetCookie('a=1; domain=my.domain; path=/', rules, undefined, ''), 'a=1; path=/');
  assert.equal(rewriteSetCookie('a=1; domain=my.old.domain; path=/', rules, undefined, ''), 'a=1; domain=my.new.domain; path=/');
  assert.equal(rewriteSetCookie('a=1; domain=my.special.domain; path=/', rules, undefined, ''), 'a=1; domain=my.special.domain; path=/');
  assert.equal(rewriteSetCookie('a=1; domain=other', map({ 'my.old.domain': 'x' }), undefined, ''), 'a=1; domain=other');
});

test('rewriteSetCookie matches a Domain ignoring case and a leading dot (RFC 6265 5.2.3)', () => {
  assert.equal(rewriteSetCookie('a=1; Domain=.Backend.Internal', map({ 'backend.internal': 'ext.example' }), undefined, ''), 'a=1; Domain=ext.example');
  assert.equal(normalizeCookieDomain('.A.Example'), 'a.example');
});

test('rewriteSetCookie reads attribute names ignoring case and white space around = and ;', () => {
  assert.equal(rewriteSetCookie('a=1 ;  DOMAIN = my.domain ;Path=/', map({ '*': 'n' }), undefined, ''), 'a=1 ;  DOMAIN =n;Path=/');
});

test('rewriteSetCookie rewrites every Domain attribute, not only the first', () => {
  assert.equal(rewriteSetCookie('a=1; Domain=x; Domain=y', map({ '*': 'n' }), undefined, ''), 'a=1; Domain=n; Domain=n');
});

test('rewriteSetCookie does not read a cookie value that looks like an attribute', () => {
  assert.equal(rewriteSetCookie('domain=x; Path=/', map({ '*': 'n' }), undefined, ''), 'domain=x; Path=/');
});

test('rewriteSetCookie maps a Path exactly, with the wildcard for the rest', () => {
  const rules = map({ '/': '/app/', '*': '/other' });
  assert.equal(rewriteSetCookie('a=1; Path=/', undefined, rules, ''), 'a=1; Path=/app/');
  assert.equal(rewriteSetCookie('a=1; Path=/x', undefined, rules, ''), 'a=1; Path=/other');
  assert.equal(rewriteSetCookie('a=1; Path=/x', undefined, map({ '/': '/app/' }), ''), 'a=1; Path=/x');
});

test('rewriteSetCookie removes the Path attribute for an empty replacement', () => {
  assert.equal(rewriteSetCookie('a=1; Path=/; HttpOnly', undefined, map({ '*': '' }), ''), 'a=1; HttpOnly');
});

test('rewriteSetCookie in prefix mode puts the stripped prefix in front of every Path', () => {
  assert.equal(rewriteSetCookie('a=1; Path=/', undefined, 'prefix', '/api'), 'a=1; Path=/api');
  assert.equal(rewriteSetCookie('a=1; Path=/cart/x', undefined, 'prefix', '/api'), 'a=1; Path=/api/cart/x');
});

test('rewriteSetCookie in prefix mode leaves a Path the browser ignores alone', () => {
  assert.equal(rewriteSetCookie('a=1; Path=cart', undefined, 'prefix', '/api'), 'a=1; Path=cart');
  assert.equal(rewriteSetCookie('a=1; Path=', undefined, 'prefix', '/api'), 'a=1; Path=');
});

test('rewriteSetCookie rewrites Domain and Path in one value and keeps the other attributes', () => {
  assert.equal(
    rewriteSetCookie('sid=abc; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Domain=backend; Path=/; Secure; HttpOnly; SameSite=Lax', map({ '*': '' }), 'prefix', '/shop'),
    'sid=abc; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/shop; Secure; HttpOnly; SameSite=Lax',
  );
});

test('rewriteSetCookie returns the very same string when no rule applies', () => {
  const value = 'a=1; Domain=x; Path=/';
  assert.ok(Object.is(rewriteSetCookie(value, map({ y: 'z' }), map({ '/q': '/r' }), ''), value));
  assert.ok(Object.is(rewriteSetCookie('a=1', map({ '*': '' }), 'prefix', '/api'), 'a=1'));
});

// --- options ---------------------------------------------------------------------------------

function configError(options: Partial<ProxyOptions>): ConfigError {
  try {
    createProxy({ target: 'http://127.0.0.1:1', ...options } as ProxyOptions);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error;
  }
  assert.fail('createProxy accepted the options');
}

test('cookieDomainRewrite refuses a value that is no domain, naming where it was written', () => {
  assert.equal(configError({ cookieDomainRewrite: 'a b' }).path, 'cookieDomainRewrite');
  assert.equal(configError({ cookieDomainRewrite: { 'x.example': 'a;b' } }).path, 'cookieDomainRewrite.x.example');
  assert.equal(configError({ cookieDomainRewrite: true } as unknown as ProxyOptions).path, 'cookieDomainRewrite');
});

test('cookiePathRewrite refuses a path without a leading slash or with a semicolon', () => {
  assert.equal(configError({ cookiePathRewrite: 'app' }).path, 'cookiePathRewrite');
  assert.equal(configError({ cookiePathRewrite: { '/': '/a;b' } }).path, 'cookiePathRewrite./');
  assert.equal(configError({ cookiePathRewrite: { '': '/a' } }).path, 'cookiePathRewrite.');
});

test('cookie rewrites of a route are checked where the route wrote them', () => {
  const error = configError({ target: undefined, routes: [{ match: '/', targets: 'http://127.0.0.1:1', cookiePathRewrite: [] as unknown as string }] });
  assert.equal(error.path, 'routes[0].cookiePathRewrite');
});

// --- through the proxy -----------------------------------------------------------------------

const COOKIES = ['sid=1; Domain=.backend.internal; Path=/; HttpOnly', 'cart=2; Path=/cart', 'theme=dark'];

/** A target that sets `COOKIES` on every response. */
async function cookieTarget(t: TestContext): Promise<string> {
  return listening(t, http.createServer((_req, res) => res.writeHead(200, { 'Set-Cookie': COOKIES }).end()));
}

test('cookies pass unchanged by default', async (t) => {
  const target = await cookieTarget(t);
  const p = await proxy(t, { routes: [{ match: '/app', targets: target, stripPrefix: true }] });
  assert.deepEqual((await request(p.port, '/app/')).headers['set-cookie'], COOKIES);
});

test('a route rewrites cookie Domain and Path; another route of the same proxy does not', async (t) => {
  const target = await cookieTarget(t);
  const p = await proxy(t, {
    routes: [
      { match: '/shop', targets: target, stripPrefix: true, cookieDomainRewrite: '', cookiePathRewrite: true },
      { match: '/', targets: target },
    ],
  });
  assert.deepEqual((await request(p.port, '/shop/')).headers['set-cookie'], ['sid=1; Path=/shop; HttpOnly', 'cart=2; Path=/shop/cart', 'theme=dark']);
  assert.deepEqual((await request(p.port, '/')).headers['set-cookie'], COOKIES);
});

test('the proxy-level cookie rewrites apply to every route that does not set its own', async (t) => {
  const target = await cookieTarget(t);
  const p = await proxy(t, {
    cookieDomainRewrite: { 'backend.internal': 'shop.example' },
    routes: [
      { match: '/a', targets: target },
      { match: '/b', targets: target, cookieDomainRewrite: false },
    ],
  });
  assert.equal((await request(p.port, '/a')).headers['set-cookie']![0], 'sid=1; Domain=shop.example; Path=/; HttpOnly');
  assert.equal((await request(p.port, '/b')).headers['set-cookie']![0], COOKIES[0]);
});
