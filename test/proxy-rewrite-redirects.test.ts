/**
 * Redirect rewriting: a `Location` or `Content-Location` that points at the target's origin is
 * moved to the origin the client used (nginx's `proxy_redirect default`), and nothing else is.
 * First rewrite.ts on its own, then through the proxy.
 */
import * as assert from 'node:assert/strict';
import type * as http from 'node:http';
import { test } from 'node:test';
import { clientOrigin, isLocationStatus, responseRules, rewriteUrl } from '../lib/proxy/rewrite.js';

const TARGET = 'http://backend:8080';
const CLIENT = 'http://ext.example';

function rewrite(url: string, prefix = ''): string {
  return rewriteUrl(url, TARGET, CLIENT, prefix);
}

// --- rewrite.ts on its own -------------------------------------------------------------------

test('rewriteUrl moves a URL at the target origin to the client origin', () => {
  assert.equal(rewrite('http://backend:8080/login?next=%2F#top'), 'http://ext.example/login?next=%2F#top');
});

test('rewriteUrl keeps a URL that is just the target origin without a path', () => {
  assert.equal(rewrite('http://backend:8080'), 'http://ext.example');
});

test('rewriteUrl puts the stripped prefix back on the path', () => {
  assert.equal(rewrite('http://backend:8080/login', '/api'), 'http://ext.example/api/login');
});

test('rewriteUrl with a prefix turns the target root into the prefix with a slash', () => {
  assert.equal(rewrite('http://backend:8080', '/api'), 'http://ext.example/api/');
  assert.equal(rewrite('http://backend:8080?q=1', '/api'), 'http://ext.example/api/?q=1');
});

test('rewriteUrl reads scheme and host ignoring case (RFC 3986 6.2.2.1)', () => {
  assert.equal(rewrite('HTTP://BackEnd:8080/x'), 'http://ext.example/x');
});

test('rewriteUrl takes the scheme default port written out as the origin without one', () => {
  assert.equal(rewriteUrl('http://backend:80/x', 'http://backend', CLIENT, ''), 'http://ext.example/x');
  assert.equal(rewriteUrl('https://backend:443/x', 'https://backend', CLIENT, ''), 'http://ext.example/x');
});

test('rewriteUrl matches an IPv6 target', () => {
  assert.equal(rewriteUrl('http://[::1]:3000/x', 'http://[::1]:3000', CLIENT, ''), 'http://ext.example/x');
});

test('rewriteUrl leaves a relative URL alone, also with a stripped prefix', () => {
  for (const url of ['/login', 'login', '?q=1', '#f', '']) {
    assert.equal(rewrite(url), url);
    assert.equal(rewrite(url, '/api'), url);
  }
});

test('rewriteUrl leaves a scheme-relative URL alone', () => {
  assert.equal(rewrite('//backend:8080/x'), '//backend:8080/x');
});

test('rewriteUrl leaves another host, port or scheme alone', () => {
  for (const url of [
    'http://other:8080/x',
    'http://backend/x',
    'http://backend:8081/x',
    'https://backend:8080/x',
    'http://backend.:8080/x',
    'http://backend:8080.evil/x',
    'http://backend:80800/x',
    'ftp://backend:8080/x',
  ]) {
    assert.equal(rewrite(url), url, url);
  }
});

test('rewriteUrl leaves URLs whose authority a browser could read otherwise alone', () => {
  for (const url of [
    'http://backend:8080@evil/x',
    'http://user@backend:8080/x',
    'http://backend:8080\\@evil/x',
    'http://backend:8080\\evil',
    'http://%62ackend:8080/x',
    'http://backend%3A8080/x',
    'http://back end:8080/x',
    'http://backend:08080/x',
    'http://backend:/x',
    'http:backend:8080/x',
    'http:/backend:8080/x',
    ' http://backend:8080/x',
  ]) {
    assert.equal(rewrite(url), url, url);
  }
});

test('rewriteUrl returns the very same string when it does not rewrite', () => {
  const url = 'http://other/x';
  assert.ok(Object.is(rewrite(url), url));
});

test('isLocationStatus is true for 201 and every 3xx, false elsewhere', () => {
  assert.deepEqual([201, 300, 301, 302, 303, 304, 307, 308, 399].map(isLocationStatus), Array(9).fill(true));
  assert.deepEqual([200, 202, 299, 400, 404, 500].map(isLocationStatus), Array(6).fill(false));
});

function fakeRequest(url: string, host: string | undefined, encrypted = false): http.IncomingMessage {
  return { url, headers: host === undefined ? {} : { host }, socket: { encrypted } } as unknown as http.IncomingMessage;
}

test('clientOrigin is http with the client Host', () => {
  assert.equal(clientOrigin(fakeRequest('/x', 'ext.example:8443')), 'http://ext.example:8443');
});

test('clientOrigin is https for a request that came over TLS', () => {
  assert.equal(clientOrigin(fakeRequest('/x', 'ext.example', true)), 'https://ext.example');
});

test('clientOrigin takes the authority of an absolute-form request over Host', () => {
  assert.equal(clientOrigin(fakeRequest('http://user@abs.example:81/x', 'ext.example')), 'http://abs.example:81');
});

test('clientOrigin is undefined without a Host', () => {
  assert.equal(clientOrigin(fakeRequest('/x', undefined)), undefined);
  assert.equal(clientOrigin(fakeRequest('/x', '')), undefined);
});

const RULES = { preserveHost: false, rewriteRedirects: true, stripPrefix: false, prefix: '/api', cookieDomainRewrite: false, cookiePathRewrite: false } as const;

test('responseRules rewrites redirects by default, with the prefix only when the route strips it', () => {
  assert.deepEqual(responseRules(RULES), { redirects: true, prefix: '', cookieDomain: undefined, cookiePath: undefined });
  assert.equal(responseRules({ ...RULES, stripPrefix: true })!.prefix, '/api');
});

test('responseRules is undefined when nothing can apply: preserveHost or redirects off, no cookie rule', () => {
  assert.equal(responseRules({ ...RULES, preserveHost: true }), undefined);
  assert.equal(responseRules({ ...RULES, rewriteRedirects: false }), undefined);
  assert.equal(responseRules({ ...RULES, rewriteRedirects: false, cookiePathRewrite: true }), undefined);
});

test('responseRules keeps cookie rules when redirects are not rewritten', () => {
  const domain = new Map([['*', '']]);
  const rules = responseRules({ ...RULES, preserveHost: true, stripPrefix: true, cookieDomainRewrite: domain, cookiePathRewrite: true });
  assert.deepEqual(rules, { redirects: false, prefix: '/api', cookieDomain: domain, cookiePath: 'prefix' });
});
