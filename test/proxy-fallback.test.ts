/**
 * A route's fallback: a static answer or fallback targets, used only while no target of the route
 * admits a request, and counted apart from rejections.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { metricsText } from '../lib/admin/metrics.js';
import { listening } from './support/servers.js';
import { holdSlot, request, startProxy, targetOf, upstreams } from './targets-helpers.js';

const FALLBACK_PROXY_STATUS = 'proxy-breaker; error=destination_unavailable; details="fallback"';

test('a static fallback answers with its status, headers and body while every target is open', async (t) => {
  const list = await upstreams(t, ['ok', 'ok']);
  const { proxy, url } = await startProxy(t, {
    targets: list.map((u) => u.url),
    breaker: { resetTimeout: 20_000 },
    fallback: { status: 200, headers: { 'X-Degraded': 'yes' }, body: 'read-only mode' },
  });
  for (const u of list) proxy.breakers.open(u.url);

  const reply = await request(url);
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'read-only mode');
  assert.equal(reply.headers['x-degraded'], 'yes');
  assert.equal(reply.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(reply.headers['cache-control'], 'no-store');
  assert.equal(reply.headers['proxy-status'], FALLBACK_PROXY_STATUS);
  const retryAfter = Number(reply.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= 23, `Retry-After ${reply.headers['retry-after']} is the breaker's open period`);
  assert.deepEqual(
    list.map((u) => u.stats().requests),
    [0, 0],
  );
});

test('a static fallback is not used while a target admits', async (t) => {
  const [a] = await upstreams(t, ['ok']);
  const { proxy, url } = await startProxy(t, { target: a!.url, fallback: { status: 200, body: 'degraded' } });
  const reply = await request(url);
  assert.equal(reply.status, 200);
  assert.notEqual(reply.body, 'degraded');
  assert.equal(reply.headers['proxy-status'], undefined);
  assert.equal(a!.stats().requests, 1);
  assert.equal(targetOf(proxy, a!).requests.fallback, 0);
});

test("a fallback file's bytes are the body, typed by the file's extension", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-breaker-fallback-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'degraded.html');
  writeFileSync(file, '<h1>Back soon</h1>\n');
  const [a] = await upstreams(t, ['ok']);
  const { proxy, url } = await startProxy(t, { target: a!.url, fallback: { file } });
  proxy.breakers.open(a!.url);
  // The file is read when the options are resolved: a later change is not seen until a reload.
  writeFileSync(file, 'changed');

  const reply = await request(url);
  assert.equal(reply.status, 503);
  assert.equal(reply.body, '<h1>Back soon</h1>\n');
  assert.equal(reply.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(reply.headers['content-length'], String(Buffer.byteLength('<h1>Back soon</h1>\n')));
  assert.equal(reply.headers['proxy-status'], FALLBACK_PROXY_STATUS);
});

test('a fallback target takes requests only while the route\'s own targets are open', async (t) => {
  const [a, replica] = await upstreams(t, ['ok', 'ok']);
  const { proxy, url } = await startProxy(t, { target: a!.url, fallback: { targets: replica!.url } });

  assert.equal((await request(url)).status, 200);
  assert.deepEqual([a!.stats().requests, replica!.stats().requests], [1, 0], 'the route\'s own target serves while it admits');

  proxy.breakers.open(a!.url);
  const degraded = await request(url, { path: '/items' });
  assert.equal(degraded.status, 200);
  assert.equal(replica!.stats().requests, 1);
  assert.equal(replica!.stats().last?.url, '/items');
  assert.equal(degraded.headers['proxy-status'], FALLBACK_PROXY_STATUS);
  assert.ok(Number(degraded.headers['retry-after']) >= 1);

  proxy.breakers.close(a!.url);
  assert.equal((await request(url)).status, 200);
  assert.deepEqual([a!.stats().requests, replica!.stats().requests], [2, 1], 'back on its own target once it admits again');
});

test('when the fallback target refuses too, the client gets the normal 503', async (t) => {
  const [a, replica] = await upstreams(t, ['ok', 'ok']);
  const { proxy, url } = await startProxy(t, { target: a!.url, fallback: { targets: [replica!.url] } });
  proxy.breakers.open(a!.url);
  proxy.breakers.open(replica!.url);

  const reply = await request(url);
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=destination_unavailable');
  assert.equal(replica!.stats().requests, 0);
  assert.equal(targetOf(proxy, a!).requests.rejected, 1);
  assert.equal(targetOf(proxy, a!).requests.fallback, 0);
});

test('a fallback target that fails is charged on its own breaker and the client gets the failure', async (t) => {
  const [a, replica] = await upstreams(t, ['ok', 'reset']);
  const { proxy, url } = await startProxy(t, { target: a!.url, fallback: { targets: replica!.url } });
  proxy.breakers.open(a!.url);

  const reply = await request(url);
  assert.equal(reply.status, 502);
  assert.match(String(reply.headers['proxy-status']), /^proxy-breaker; error=connection_/);
  const fallbackTarget = targetOf(proxy, replica!);
  assert.equal(fallbackTarget.counts.failures, 1);
  assert.equal(fallbackTarget.requests.error, 1);
  assert.equal(targetOf(proxy, a!).counts.failures, 0, 'the route\'s own target is not charged for it');
});

test('fallbacks are counted apart from rejections, per target and per route, in the snapshot and the metrics', async (t) => {
  const [a] = await upstreams(t, ['ok']);
  const { proxy, url } = await startProxy(t, { target: a!.url, fallback: { status: 200, body: 'degraded' } });
  proxy.breakers.open(a!.url);
  await request(url);
  await request(url);

  const snapshot = proxy.snapshot();
  const target = snapshot.targets.find((entry) => entry.target === a!.url)!;
  assert.equal(target.requests.fallback, 2);
  assert.equal(target.requests.rejected, 0);
  assert.deepEqual(snapshot.routes[0]!.fallback, { kind: 'static', status: 200 });
  assert.equal(snapshot.routes[0]!.fallbacks, 2);
  const text = metricsText(snapshot);
  assert.match(text, new RegExp(`proxy_breaker_requests_total\\{target="${a!.url}",outcome="fallback"\\} 2`));
  assert.match(text, new RegExp(`proxy_breaker_requests_total\\{target="${a!.url}",outcome="rejected"\\} 0`));
  assert.match(text, /proxy_breaker_route_fallbacks_total\{route="\/"\} 2/);
});

test('a fallback target is in the snapshot with its own breaker', async (t) => {
  const [a, replica] = await upstreams(t, ['ok', 'ok']);
  const { proxy } = await startProxy(t, { target: a!.url, fallback: { targets: replica!.url } });
  const snapshot = proxy.snapshot();
  assert.deepEqual(snapshot.targets.map((target) => target.target).sort(), [a!.url, replica!.url].sort());
  assert.deepEqual(snapshot.routes[0]!.fallback, { kind: 'targets', targets: [replica!.url] });
});

test('a route sets its own fallback over the top-level one', async (t) => {
  const [a, b] = await upstreams(t, ['ok', 'ok']);
  const { proxy, url } = await startProxy(t, {
    fallback: { status: 200, body: 'top' },
    routes: [
      { match: '/a', targets: a!.url },
      { match: '/b', targets: b!.url, fallback: { status: 200, body: 'own' } },
    ],
  });
  proxy.breakers.open(a!.url);
  proxy.breakers.open(b!.url);
  assert.equal((await request(url, { path: '/a' })).body, 'top');
  assert.equal((await request(url, { path: '/b' })).body, 'own');
});

test('a reload reads the fallback file again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-breaker-fallback-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'degraded.txt');
  writeFileSync(file, 'first');
  const [a] = await upstreams(t, ['ok']);
  const options = { target: a!.url, fallback: { file } };
  const { proxy, url } = await startProxy(t, options);
  proxy.breakers.open(a!.url);
  assert.equal((await request(url)).body, 'first');

  writeFileSync(file, 'second');
  proxy.reload(options);
  assert.equal((await request(url)).body, 'second');
});

test("a static fallback keeps the Content-Type and Cache-Control it was given, and may have no body", async (t) => {
  const [a, b] = await upstreams(t, ['ok', 'ok']);
  const { proxy, url } = await startProxy(t, {
    routes: [
      { match: '/typed', targets: a!.url, fallback: { status: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=5' }, body: '{"degraded":true}' } },
      { match: '/empty', targets: b!.url, fallback: { status: 204 } },
    ],
  });
  proxy.breakers.open(a!.url);
  proxy.breakers.open(b!.url);
  const typed = await request(url, { path: '/typed' });
  assert.equal(typed.headers['content-type'], 'application/json');
  assert.equal(typed.headers['cache-control'], 'max-age=5');
  assert.deepEqual(JSON.parse(typed.body), { degraded: true });
  const empty = await request(url, { path: '/empty' });
  assert.equal(empty.status, 204);
  assert.equal(empty.body, '');
  assert.equal(empty.headers['content-type'], undefined);
  assert.equal(empty.headers['proxy-status'], FALLBACK_PROXY_STATUS);
});

test("a fallback target's own Retry-After is kept, not doubled", async (t) => {
  const replica = http.createServer((_req, res) => res.writeHead(503, { 'Retry-After': '120' }).end('replica busy'));
  const replicaUrl = await listening(t, replica);
  const [a] = await upstreams(t, ['ok']);
  const { proxy, url } = await startProxy(t, { target: a!.url, fallback: { targets: replicaUrl }, failureStatus: '599' });
  proxy.breakers.open(a!.url);
  const reply = await request(url);
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['retry-after'], '120');
  assert.equal(reply.headers['proxy-status'], FALLBACK_PROXY_STATUS);
});

test('a fallback target answering while the route\'s target is at its limit says connection_limit_reached', async (t) => {
  const [a, replica] = await upstreams(t, ['hang', 'ok']);
  const { url } = await startProxy(t, { target: a!.url, maxConcurrent: 1, fallback: { targets: replica!.url } });
  const slot = await holdSlot(t, url, a!);
  const reply = await request(url);
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_limit_reached; details="fallback"');
  assert.equal(reply.headers['retry-after'], undefined);
  await slot.release();
});
