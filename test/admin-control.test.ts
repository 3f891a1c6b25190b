/**
 * Manual control through the admin server: POST /breakers/{target}/open|close|reset, with and
 * without a bearer token, and the rule that a non-loopback admin address needs one.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertAdminBinding, isLoopbackHost, startAdminServer, type TargetView } from '../lib/admin/index.js';
import { createProxy } from '../lib/index.js';
import { fetchText, hit, stack, trip } from './admin-helpers.js';

const TOKEN = 's3cr3t-token_value.~+/=';

test('POST open forces the circuit open: the proxy answers 503 and the upstream sees nothing', async (t) => {
  const s = await stack(t);
  const reply = await fetchText(`${s.admin.url}/breakers/${s.encoded}/open`, { method: 'POST' });
  assert.equal(reply.status, 200);
  const body = reply.json() as TargetView & { action: string };
  assert.equal(body.action, 'open');
  assert.equal(body.state, 'OPEN');
  assert.equal(body.forced, true);
  const before = s.upstream.stats().requests;
  assert.deepEqual(await hit(s.proxyUrl, 2), [503, 503]);
  assert.equal(s.upstream.stats().requests, before);
  assert.equal((await fetchText(`${s.admin.url}/readyz`)).status, 503);
});

test('POST close closes a tripped circuit and traffic flows again', async (t) => {
  const s = await stack(t);
  await trip(s);
  await s.upstream.setMode('ok');
  assert.deepEqual(await hit(s.proxyUrl, 1), [503]);
  const reply = await fetchText(`${s.admin.url}/breakers/${s.encoded}/close`, { method: 'POST' });
  assert.equal(reply.status, 200);
  assert.equal((reply.json() as TargetView).state, 'CLOSED');
  assert.deepEqual(await hit(s.proxyUrl, 1), [200]);
});

test('POST reset closes the circuit and clears the breaker counts', async (t) => {
  const s = await stack(t);
  await trip(s);
  await hit(s.proxyUrl, 1);
  const reply = await fetchText(`${s.admin.url}/breakers/${s.encoded}/reset`, { method: 'POST' });
  assert.equal(reply.status, 200);
  const body = reply.json() as TargetView;
  assert.equal(body.state, 'CLOSED');
  assert.deepEqual(body.counts, { admitted: 0, successes: 0, slowCalls: 0, failures: 0, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 });
  assert.equal(body.openedAt, null);
});

test('an unencoded origin works too, and an unknown target is 404', async (t) => {
  const s = await stack(t);
  assert.equal((await fetchText(`${s.admin.url}/breakers/${s.upstream.url}/open`, { method: 'POST' })).status, 200);
  const unknown = await fetchText(`${s.admin.url}/breakers/${encodeURIComponent('http://127.0.0.1:1')}/open`, { method: 'POST' });
  assert.equal(unknown.status, 404);
  assert.equal((unknown.json() as { error: string }).error, 'unknown_target');
});

test('control routes answer 405 to GET', async (t) => {
  const s = await stack(t);
  for (const action of ['open', 'close', 'reset']) {
    const reply = await fetchText(`${s.admin.url}/breakers/${s.encoded}/${action}`);
    assert.equal(reply.status, 405, action);
    assert.equal(reply.headers.allow, 'POST');
  }
});

test('with a token, control needs Authorization: Bearer TOKEN (401 with WWW-Authenticate otherwise)', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const url = `${s.admin.url}/breakers/${s.encoded}/open`;
  const none = await fetchText(url, { method: 'POST' });
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Bearer realm="proxy-breaker"');
  assert.equal((none.json() as { error: string }).error, 'unauthorized');
  for (const authorization of ['Bearer wrong', `Bearer x${TOKEN}`, `Bearer ${TOKEN.slice(0, -1)}`]) {
    const wrong = await fetchText(url, { method: 'POST', headers: { authorization } });
    assert.equal(wrong.status, 401, authorization);
    assert.equal(wrong.headers['www-authenticate'], 'Bearer realm="proxy-breaker", error="invalid_token"');
    assert.ok(!wrong.text.includes('wrong') && !wrong.text.includes(TOKEN), 'no credential is echoed');
  }
  for (const authorization of [`Basic ${TOKEN}`, TOKEN, 'Bearer', 'Bearer a b']) {
    assert.equal((await fetchText(url, { method: 'POST', headers: { authorization } })).status, 401, authorization);
  }
  assert.equal(s.proxy.snapshot().targets[0]!.state, 'CLOSED', 'nothing changed without the token');
  const ok = await fetchText(url, { method: 'POST', headers: { authorization: `bearer ${TOKEN}` } });
  assert.equal(ok.status, 200, 'the scheme is case-insensitive');
  assert.ok(!ok.text.includes(TOKEN));
  assert.deepEqual(await hit(s.proxyUrl, 1), [503]);
});

test('an unknown target is 401 before 404 when a token is configured, so targets cannot be probed', async (t) => {
  const s = await stack(t, { token: TOKEN });
  const reply = await fetchText(`${s.admin.url}/breakers/${encodeURIComponent('http://127.0.0.1:1')}/open`, { method: 'POST' });
  assert.equal(reply.status, 401);
});

test('a cross-site browser request cannot change a breaker (403), a same-origin one can', async (t) => {
  const s = await stack(t);
  const url = `${s.admin.url}/breakers/${s.encoded}/open`;
  for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }]) {
    const reply = await fetchText(url, { method: 'POST', headers });
    assert.equal(reply.status, 403, JSON.stringify(headers));
  }
  assert.equal(s.proxy.snapshot().targets[0]!.state, 'CLOSED');
  const same = await fetchText(url, { method: 'POST', headers: { origin: s.admin.url, 'sec-fetch-site': 'same-origin' } });
  assert.equal(same.status, 200);
});

test('isLoopbackHost() knows localhost, 127.0.0.0/8 and ::1 in their spellings', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST.', 'api.localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '::2', '::ffff:10.0.0.1', '', 'localhost.example.com']) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});

test('assertAdminBinding() refuses a non-loopback host without a token, with a clear error', () => {
  assert.doesNotThrow(() => assertAdminBinding('127.0.0.1'));
  assert.doesNotThrow(() => assertAdminBinding('::1'));
  assert.doesNotThrow(() => assertAdminBinding('0.0.0.0', 'token'));
  for (const [host, token] of [['0.0.0.0', undefined], ['::', ''], ['192.0.2.10', undefined]] as const) {
    assert.throws(() => assertAdminBinding(host, token), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_INVALID_CONFIG');
      assert.match(error.message, /non-loopback/);
      assert.match(error.message, new RegExp(host.replace(/\./g, '\\.')));
      assert.match(error.message, /--admin-token/);
      return true;
    });
  }
});

test('startAdminServer() applies the binding rule and rejects a malformed token without quoting it', async () => {
  const proxy = createProxy({ target: 'http://127.0.0.1:1' });
  await assert.rejects(startAdminServer(proxy, { port: 0, host: '0.0.0.0' }), { code: 'ERR_INVALID_CONFIG' });
  await assert.rejects(startAdminServer(proxy, { port: 0, token: 'has space' }), (error: Error & { code?: string; path?: string }) => {
    assert.equal(error.code, 'ERR_INVALID_CONFIG');
    assert.equal(error.path, 'token');
    assert.equal(error.message, 'token: expected letters, digits and -._~+/ (a bearer token)');
    assert.ok(!error.message.includes('has space'));
    return true;
  });
  await assert.rejects(startAdminServer(proxy, { port: 0, token: '' }), { code: 'ERR_INVALID_CONFIG', path: 'token', message: 'token: expected a non-empty string, got an empty string' });
  assert.equal(proxy.listenerCount('stateChange'), 0);
});
