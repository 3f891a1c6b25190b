/**
 * Open-proxy and SSRF attempts through the request-target and `Host` (fast-proxy#42,
 * fastify-reply-from GHSA-qmw8-3v4g-gwj4): the request must stay on the configured target. A
 * second, "evil" fixture stands for the host the attacker names; it must never receive anything.
 */
import * as assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Upstream } from '../../fixtures/upstream.js';
import { fixture, listening, only, proxyStatus, raw } from './helpers.js';

interface Scene {
  port: number;
  good: Upstream;
  evil: Upstream;
  evilHost: string;
}

async function scene(t: TestContext): Promise<Scene> {
  const good = await fixture(t);
  const evil = await fixture(t);
  const { port } = await listening(t, { target: good.url });
  return { port, good, evil, evilHost: new URL(evil.url).host };
}

/** Request-targets that must reach the configured target (with the path shown), or be refused. */
const TARGETS: Array<[attack: string, target: (evil: string) => string, expect: number | ((evil: string) => string)]> = [
  ['absolute-form naming another host', (evil) => `http://${evil}/x`, () => '/x'],
  ['absolute-form https naming another host', (evil) => `https://${evil}/x?q=1`, () => '/x?q=1'],
  ['absolute-form with user info', (evil) => `http://user@${evil}/x`, () => '/x'],
  ['a protocol-relative //host path', (evil) => `//${evil}/x`, (evil) => `/${evil}/x`],
  ['a ///host path', (evil) => `///${evil}/x`, (evil) => `/${evil}/x`],
  ['a /\\host path', (evil) => `/\\${evil}/x`, 400],
  ['an @host target', (evil) => `@${evil}/x`, 400],
  ['a /@host path', (evil) => `/@${evil}/x`, (evil) => `/@${evil}/x`],
  ['a %2F%2Fhost target', (evil) => `%2F%2F${evil}/x`, 400],
  ['a /%2F%2Fhost path', (evil) => `/%2F%2F${evil}/x`, (evil) => `/%2F%2F${evil}/x`],
  ['a /%5Chost path', (evil) => `/%5C${evil}/x`, (evil) => `/%5C${evil}/x`],
  ['a bare host:port target', (evil) => evil, 400],
  ['an asterisk target on GET', () => '*', 400],
];

for (const [attack, target, expect] of TARGETS) {
  test(`${attack} stays on the configured target`, async (t) => {
    const { port, good, evil, evilHost } = await scene(t);
    const { text } = await raw(port, `GET ${target(evilHost)} HTTP/1.1\r\nHost: ${evilHost}\r\nConnection: close\r\n\r\n`);
    const reply = only(text);
    if (typeof expect === 'number') {
      assert.equal(reply.status, expect);
      assert.equal(reply.headers['proxy-status'], proxyStatus('http_request_error'));
      assert.equal(good.stats().requests, 0);
    } else {
      assert.equal(reply.status, 200);
      assert.equal(good.stats().requests, 1);
      assert.equal(good.stats().last?.url, expect(evilHost));
      assert.equal(good.stats().last?.headers.host, new URL(good.url).host);
    }
    assert.equal(evil.stats().requests, 0);
  });
}

test('CONNECT to another host is refused with 405 and Allow, and opens no tunnel', async (t) => {
  const { port, good, evil, evilHost } = await scene(t);
  for (const target of [evilHost, `http://${evilHost}/`]) {
    const { text, closed } = await raw(port, `CONNECT ${target} HTTP/1.1\r\nHost: ${evilHost}\r\n\r\nGET / HTTP/1.1\r\nHost: ${evilHost}\r\n\r\n`);
    const reply = only(text);
    assert.equal(reply.status, 405);
    assert.equal(reply.headers['proxy-status'], proxyStatus('http_request_denied'));
    assert.match(reply.headers.allow ?? '', /GET/);
    assert.ok(closed);
  }
  assert.equal(good.stats().requests + evil.stats().requests, 0);
});

test('a spoofed Host does not change where the request goes; the target gets its own Host', async (t) => {
  const { port, good, evil, evilHost } = await scene(t);
  for (const host of [evilHost, 'localhost', '169.254.169.254']) {
    const { text } = await raw(port, `GET /x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.equal(only(text).status, 200);
    assert.equal(good.stats().last?.headers.host, new URL(good.url).host);
    assert.equal(good.stats().last?.headers['x-forwarded-host'], host);
  }
  assert.equal(good.stats().requests, 3);
  assert.equal(evil.stats().requests, 0);
});

test('a spoofed Host on a WebSocket upgrade does not change where it goes', async (t) => {
  const { port, good, evil, evilHost } = await scene(t);
  const { text } = await raw(
    port,
    `GET http://${evilHost}/ws HTTP/1.1\r\nHost: ${evilHost}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    { timeout: 300 },
  );
  assert.match(text, /^HTTP\/1\.1 101 /);
  assert.equal(good.stats().requests, 1);
  assert.equal(good.stats().last?.url, '/ws');
  assert.equal(evil.stats().requests, 0);
});

test('with preserveHost the client\'s Host is passed on, but the request still goes to the target', async (t) => {
  const good = await fixture(t);
  const evil = await fixture(t);
  const evilHost = new URL(evil.url).host;
  const { port } = await listening(t, { target: good.url, preserveHost: true });
  const { text } = await raw(port, `GET http://${evilHost}/x HTTP/1.1\r\nHost: ${evilHost}\r\nConnection: close\r\n\r\n`);
  assert.equal(only(text).status, 200);
  assert.equal(good.stats().requests, 1);
  assert.equal(evil.stats().requests, 0);
});
