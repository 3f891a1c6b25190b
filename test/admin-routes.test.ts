/**
 * The admin server's read routes and their status codes: /breakers, /healthz, /readyz (flipping
 * with the only target's circuit), the dashboard page, 404 and 405.
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { test } from 'node:test';
import * as vm from 'node:vm';
import { createAdminHandler, startAdminServer } from '../lib/admin/index.js';
import type { BreakersView } from '../lib/admin/index.js';
import { createProxy } from '../lib/index.js';
import { fetchText, hit, stack, trip } from './admin-helpers.js';

test('GET /healthz answers 200 while the process is up', async (t) => {
  const s = await stack(t);
  const reply = await fetchText(`${s.admin.url}/healthz`);
  assert.equal(reply.status, 200);
  assert.deepEqual(reply.json(), { status: 'ok' });
  assert.equal(reply.headers['cache-control'], 'no-store');
});

test('GET /readyz flips to 503 when the only target opens, and back to 200 when it is closed', async (t) => {
  const s = await stack(t);
  assert.equal((await fetchText(`${s.admin.url}/readyz`)).status, 200);
  await trip(s);
  const down = await fetchText(`${s.admin.url}/readyz`);
  assert.equal(down.status, 503);
  assert.deepEqual(down.json(), { status: 'unavailable', ready: false, admitting: 0, targets: 1 });
  assert.equal((await fetchText(`${s.admin.url}/breakers/${s.encoded}/close`, { method: 'POST' })).status, 200);
  const up = await fetchText(`${s.admin.url}/readyz`);
  assert.equal(up.status, 200);
  assert.deepEqual(up.json(), { status: 'ready', ready: true, admitting: 1, targets: 1 });
});

test('GET /readyz answers 200 again once the open period has passed (the next request may probe)', async (t) => {
  const s = await stack(t, { breaker: { resetTimeout: 200 } });
  await trip(s);
  assert.equal((await fetchText(`${s.admin.url}/readyz`)).status, 503);
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.equal((await fetchText(`${s.admin.url}/readyz`)).status, 200);
});

test('GET /readyz stays 200 while one of two replicas is open', async (t) => {
  const proxy = createProxy({ targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] });
  const admin = await startAdminServer(proxy, { port: 0 });
  t.after(() => admin.close());
  t.after(() => proxy.close());
  proxy.breakers.open('http://127.0.0.1:1');
  assert.equal((await fetchText(`${admin.url}/readyz`)).status, 200);
  proxy.breakers.open('http://127.0.0.1:2');
  assert.equal((await fetchText(`${admin.url}/readyz`)).status, 503);
});

test('GET /breakers describes every target (state, counts, rates, latency, transitions) and the routes', async (t) => {
  const s = await stack(t, { sampleInterval: 50 });
  await hit(s.proxyUrl, 4);
  await trip(s);
  await new Promise((resolve) => setTimeout(resolve, 120));
  const reply = await fetchText(`${s.admin.url}/breakers`);
  assert.equal(reply.status, 200);
  assert.match(reply.headers['content-type']!, /^application\/json/);
  const view = reply.json() as BreakersView;
  assert.ok(Math.abs(view.time - Date.now()) < 5_000);
  assert.deepEqual(view.routes, [{ match: '/', stripPrefix: false, timeout: 10_000, failureStatus: '500-599', targets: [s.upstream.url], fallback: null, fallbacks: 0, queue: null, balance: 'round-robin', weights: [1], retryOn: null }]);
  assert.equal(view.targets.length, 1);
  const target = view.targets[0]!;
  assert.equal(target.target, s.upstream.url);
  assert.equal(target.state, 'OPEN');
  assert.equal(target.failures, 3);
  assert.equal(target.failureThreshold, 3);
  assert.equal(target.forced, false);
  assert.ok(target.openedAt !== null && target.nextAttemptAt !== null && target.nextAttemptAt > target.openedAt);
  assert.deepEqual(target.counts, { admitted: 7, successes: 4, slowCalls: 0, failures: 3, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 });
  assert.equal(target.requests.success, 4);
  assert.equal(target.requests.failure_status, 3);
  assert.equal(target.inFlight, 0);
  assert.deepEqual(target.routes, ['/']);
  assert.equal(target.latency.count, 7);
  assert.ok(target.latency.p50Ms !== null && target.latency.p99Ms !== null && target.latency.p99Ms >= target.latency.p50Ms);
  assert.equal(typeof target.rates.requestRate, 'number');
  assert.ok(target.history.length >= 1, 'sampled history for the sparkline');
  assert.deepEqual(
    target.transitions.map(({ from, to, failures }) => ({ from, to, failures })),
    [{ from: 'CLOSED', to: 'OPEN', failures: 3 }],
  );
});

test('GET /breakers/{target} answers one target, and 404 for an unknown one', async (t) => {
  const s = await stack(t);
  const one = await fetchText(`${s.admin.url}/breakers/${s.encoded}`);
  assert.equal(one.status, 200);
  assert.equal((one.json() as { target: string }).target, s.upstream.url);
  const plain = await fetchText(`${s.admin.url}/breakers/${encodeURIComponent(`${s.upstream.url}/`)}`);
  assert.equal(plain.status, 200, 'a trailing slash names the same origin');
  const unknown = await fetchText(`${s.admin.url}/breakers/${encodeURIComponent('http://127.0.0.1:1')}`);
  assert.equal(unknown.status, 404);
  assert.equal((unknown.json() as { error: string }).error, 'unknown_target');
  assert.equal((await fetchText(`${s.admin.url}/breakers/%E0%A4%A`)).status, 404, 'a bad percent-encoding is just unknown');
  assert.equal((await fetchText(`${s.admin.url}/breakers/not%20a%20url`)).status, 404);
});

test('an unknown path answers 404 JSON and a read route answers 405 to POST', async (t) => {
  const s = await stack(t);
  const missing = await fetchText(`${s.admin.url}/nope?x=1`);
  assert.equal(missing.status, 404);
  assert.equal((missing.json() as { error: string }).error, 'not_found');
  for (const path of ['/', '/breakers', '/metrics', '/healthz', '/readyz', '/events', `/breakers/${s.encoded}`]) {
    const reply = await fetchText(`${s.admin.url}${path}`, { method: 'POST' });
    assert.equal(reply.status, 405, path);
    assert.equal(reply.headers.allow, 'GET, HEAD', path);
    assert.equal((reply.json() as { error: string }).error, 'method_not_allowed');
  }
});

test('HEAD answers the headers of GET without a body', async (t) => {
  const s = await stack(t);
  for (const path of ['/', '/breakers', '/metrics', '/events']) {
    const reply = await fetchText(`${s.admin.url}${path}`, { method: 'HEAD' });
    assert.equal(reply.status, 200, path);
    assert.equal(reply.text, '', path);
  }
});

test('GET / serves the dashboard with a CSP that allows exactly its inline script and style', async (t) => {
  const s = await stack(t);
  const reply = await fetchText(`${s.admin.url}/`);
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-type'], 'text/html; charset=utf-8');
  const csp = String(reply.headers['content-security-policy']);
  const inline = (tag: string): string => new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(reply.text)![1]!;
  const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
  assert.match(csp, new RegExp(`script-src ${escapeRegExp(hash(inline('script')))}`));
  assert.match(csp, new RegExp(`style-src ${escapeRegExp(hash(inline('style')))}`));
  assert.match(csp, /default-src 'none'/);
  assert.doesNotMatch(reply.text, /(src|href)="https?:/, 'nothing loaded from elsewhere');
  assert.match(reply.text, /aria-live="polite"/);
  // The inline script must at least parse.
  assert.doesNotThrow(() => new vm.Script(inline('script')));
});

test('a handler mounted on any server answers, and close() stops it from keeping anything alive', async (t) => {
  const proxy = createProxy({ target: 'http://127.0.0.1:1' });
  const handler = createAdminHandler(proxy);
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as { port: number };
  assert.equal((await fetchText(`http://127.0.0.1:${port}/healthz`)).status, 200);
  assert.equal(proxy.listenerCount('stateChange'), 1);
  handler.close();
  handler.close();
  assert.equal(proxy.listenerCount('stateChange'), 0);
});

test('startAdminServer() validates its port and reports its URL', async (t) => {
  const proxy = createProxy({ target: 'http://127.0.0.1:1' });
  await assert.rejects(startAdminServer(proxy, { port: -1 }), { name: 'ConfigError', code: 'ERR_INVALID_CONFIG', path: 'port', message: 'port: expected an integer from 0 to 65535, got -1' });
  await assert.rejects(startAdminServer(proxy, { port: 1.5 }), { code: 'ERR_INVALID_CONFIG', path: 'port', message: /got 1\.5$/ });
  await assert.rejects(startAdminServer(proxy, {} as never), { code: 'ERR_INVALID_CONFIG', path: 'port', message: /^port: required/ });
  const admin = await startAdminServer(proxy, { port: 0, host: '::1' }).catch(() => undefined);
  if (admin !== undefined) {
    t.after(() => admin.close());
    assert.match(admin.url, /^http:\/\/\[::1\]:\d+$/);
    assert.equal((await fetchText(`${admin.url}/healthz`)).status, 200);
  }
});

test('startAdminServer() rejects when the port is taken, without leaving a listener behind', async (t) => {
  const s = await stack(t);
  const proxy = createProxy({ target: 'http://127.0.0.1:1' });
  await assert.rejects(startAdminServer(proxy, { port: s.admin.port }), { code: 'EADDRINUSE' });
  assert.equal(proxy.listenerCount('stateChange'), 0);
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

test('a failure inside a route answers 500 without quoting the error', async (t) => {
  const s = await stack(t);
  s.proxy.snapshot = () => {
    throw new Error('secret detail');
  };
  const reply = await fetchText(`${s.admin.url}/breakers`);
  assert.equal(reply.status, 500);
  assert.deepEqual(reply.json(), { error: 'internal_error', message: 'The admin server failed to answer.' });
  assert.equal((await fetchText(`${s.admin.url}/healthz`)).status, 200, 'the server keeps answering');
});
