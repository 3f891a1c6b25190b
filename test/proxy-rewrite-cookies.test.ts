/**
 * Set-Cookie rewriting per route: `Domain` and `Path` (node-http-proxy's `cookieDomainRewrite` and
 * `cookiePathRewrite`, nginx's `proxy_cookie_domain` and `proxy_cookie_path`). First rewrite.ts on
 * its own, then through the proxy.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeCookieDomain, rewriteSetCookie, type CookieRewrite } from '../lib/proxy/rewrite.js';

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
