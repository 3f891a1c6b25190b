/**
 * Redirect rewriting: a `Location` or `Content-Location` that points at the target's origin is
 * moved to the origin the client used (nginx's `proxy_redirect default`), and nothing else is.
 * First rewrite.ts on its own, then through the proxy.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { loadTestCertificate } from '../fixtures/certificate.js';
import { createProxy, type ProxyOptions, type RouteOptions } from '../lib/index.js';
import { clientOrigin, isLocationStatus, responseRules, rewriteUrl } from '../lib/proxy/rewrite.js';
import { listening } from './support/servers.js';
import { proxy, request } from './proxy-helpers.js';

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

// --- through the proxy -----------------------------------------------------------------------

/**
 * A target that answers `GET /status/NNN?to=URL` with status NNN and `Location: URL`, where `self`
 * in URL stands for its own origin (as an app that knows its own address writes it), and
 * `/content?to=URL` with a 200 and `Content-Location: URL`.
 */
async function redirecting(t: TestContext): Promise<string> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const to = url.searchParams.get('to')!.replace('self', self);
    if (url.pathname === '/content') res.writeHead(200, { 'Content-Location': to });
    else res.writeHead(Number(url.pathname.slice('/status/'.length)), { Location: to });
    res.end();
  });
  return listening(t, server);
}

async function locationThrough(t: TestContext, options: ProxyOptions | ((target: string) => ProxyOptions), path: string, headers?: http.OutgoingHttpHeaders): Promise<string | undefined> {
  const target = await redirecting(t);
  const p = await proxy(t, typeof options === 'function' ? options(target) : { target, ...options });
  const reply = await request(p.port, path.replaceAll('PORT', String(p.port)), { headers });
  return (reply.headers.location ?? reply.headers['content-location']) as string | undefined;
}

function stripped(extra: Partial<RouteOptions> = {}): (target: string) => ProxyOptions {
  return (target) => ({ routes: [{ match: '/app', targets: target, stripPrefix: true, ...extra }] });
}

test('a redirect to the target origin reaches the client at the origin it used', async (t) => {
  const location = await locationThrough(t, {}, '/status/302?to=self/login', { host: 'shop.example:8443' });
  assert.equal(location, 'http://shop.example:8443/login');
});

test('a redirect at the target origin gets the stripped prefix back', async (t) => {
  const location = await locationThrough(t, stripped(), '/app/status/301?to=self/login%3Fnext%3Dcart', { host: 'shop.example' });
  assert.equal(location, 'http://shop.example/app/login?next=cart');
});

test('a 303 and a 201 Location are rewritten too', async (t) => {
  assert.equal(await locationThrough(t, {}, '/status/303?to=self/done', { host: 'a.example' }), 'http://a.example/done');
  assert.equal(await locationThrough(t, {}, '/status/201?to=self/items/7', { host: 'a.example' }), 'http://a.example/items/7');
});

test('a Location on a 200 is not rewritten', async (t) => {
  const target = await redirecting(t);
  const p = await proxy(t, { target });
  const reply = await request(p.port, '/status/200?to=self/x');
  assert.equal(reply.headers.location, `${target}/x`);
});

test('a Content-Location at the target origin is rewritten on a 200', async (t) => {
  assert.equal(await locationThrough(t, stripped(), '/app/content?to=self/doc.json', { host: 'a.example' }), 'http://a.example/app/doc.json');
});

test('a redirect to another host is relayed unchanged', async (t) => {
  assert.equal(await locationThrough(t, {}, '/status/302?to=http://elsewhere.example/x'), 'http://elsewhere.example/x');
});

test('a redirect at the target origin hidden behind user info is relayed unchanged', async (t) => {
  const target = await redirecting(t);
  const p = await proxy(t, { target });
  const reply = await request(p.port, `/status/302?to=${encodeURIComponent(`${target}@evil.example/`)}`);
  assert.equal(reply.headers.location, `${target}@evil.example/`);
});

test('a relative redirect is relayed unchanged, also with a stripped prefix', async (t) => {
  assert.equal(await locationThrough(t, stripped(), '/app/status/302?to=/login'), '/login');
});

test('with preserveHost a redirect to the target origin is relayed unchanged', async (t) => {
  const target = await redirecting(t);
  const p = await proxy(t, { target, preserveHost: true });
  const reply = await request(p.port, '/status/302?to=self/login');
  assert.equal(reply.headers.location, `${target}/login`);
});

test('rewriteRedirects: false on a route relays its redirects unchanged', async (t) => {
  const target = await redirecting(t);
  const p = await proxy(t, { routes: [{ match: '/', targets: target, rewriteRedirects: false }] });
  const reply = await request(p.port, '/status/302?to=self/login');
  assert.equal(reply.headers.location, `${target}/login`);
});

test('a route rewrites its redirects when the proxy turns them off but the route turns them on', async (t) => {
  const location = await locationThrough(t, (target) => ({ rewriteRedirects: false, routes: [{ match: '/', targets: target, rewriteRedirects: true }] }), '/status/302?to=self/x', { host: 'a.example' });
  assert.equal(location, 'http://a.example/x');
});

test('a redirect reaches a client that came over TLS as https', async (t) => {
  const target = await redirecting(t);
  const p = createProxy({ target });
  t.after(() => p.close(100));
  const base = await listening(t, https.createServer(loadTestCertificate(), p.handler));
  const location = await new Promise<string | undefined>((resolve, reject) => {
    const req = https.get(`${base}/status/302?to=self/login`, { headers: { host: 'shop.example' }, rejectUnauthorized: false, agent: false, timeout: 3_000 }, (res) => {
      res.resume();
      resolve(res.headers.location);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
  assert.equal(location, 'https://shop.example/login');
});
