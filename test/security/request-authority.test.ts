/**
 * The authority of an absolute-form request-target (RFC 9112 3.2.2) stands in for `Host`: it picks
 * host routes and becomes `X-Forwarded-Host` (and `Host` with preserveHost). It is validated
 * exactly as a `Host` field is, so a value refused in `Host` cannot come in this way. A fragment
 * is never part of a request-target (RFC 9112 3.2): `#` anywhere in it is refused.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, listening, only, proxyStatus, raw } from './helpers.js';

const BAD_AUTHORITIES = ['evil:x', 'evil:80:80', 'ev"il', 'ev<il>', ''];

for (const authority of BAD_AUTHORITIES) {
  test(`absolute-form authority ${JSON.stringify(authority)}: 400 http_request_error, like the same Host field`, async (t) => {
    const up = await fixture(t);
    const { port } = await listening(t, { target: up.url });
    const absolute = only((await raw(port, `GET http://${authority}/abs HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n`)).text);
    assert.equal(absolute.status, 400);
    assert.equal(absolute.headers['proxy-status'], proxyStatus('http_request_error'));
    if (authority !== '') {
      const host = only((await raw(port, `GET /abs HTTP/1.1\r\nHost: ${authority}\r\nConnection: close\r\n\r\n`)).text);
      assert.equal(host.status, 400, 'the same value in Host is refused too');
    }
    assert.equal(up.stats().requests, 0);
  });
}

test('absolute-form authority "evil:x" with preserveHost: 400, never sent as Host', async (t) => {
  const up = await fixture(t);
  const { port } = await listening(t, { target: up.url, preserveHost: true });
  const reply = only((await raw(port, 'GET http://evil:x/abs HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n')).text);
  assert.equal(reply.status, 400);
  assert.equal(up.stats().requests, 0);
});

test('a valid absolute-form authority with a port becomes X-Forwarded-Host', async (t) => {
  const up = await fixture(t);
  const { port } = await listening(t, { target: up.url });
  const reply = only((await raw(port, 'GET http://Example.test:8080/abs?q=1 HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n')).text);
  assert.equal(reply.status, 200);
  assert.equal(up.stats().last?.url, '/abs?q=1');
  assert.equal(up.stats().last?.headers['x-forwarded-host'], 'Example.test:8080');
});

for (const target of ['/a?q#f', '/a?#', '/a#f', 'http://x/a?q#f']) {
  test(`a fragment in the request-target ${JSON.stringify(target)}: 400 http_request_error, nothing forwarded`, async (t) => {
    const up = await fixture(t);
    const { port } = await listening(t, { target: up.url });
    const reply = only((await raw(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).text);
    assert.equal(reply.status, 400);
    assert.equal(reply.headers['proxy-status'], proxyStatus('http_request_error'));
    assert.equal(up.stats().requests, 0);
  });
}
