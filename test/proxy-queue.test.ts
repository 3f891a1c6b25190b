/**
 * The bounded queue at the concurrency limit: requests over `maxConcurrent` wait in a FIFO of at
 * most `queue` for at most `queueTimeout` ms, then get the 503 `connection_limit_reached`.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { test, type TestContext } from 'node:test';
import { metricsText } from '../lib/admin/metrics.js';
import { RateSampler } from '../lib/admin/rates.js';
import { statsView } from '../lib/admin/views.js';
import type { Proxy } from '../lib/index.js';
import { listening } from './support/servers.js';
import { holdSlot, request, startProxy, targetOf, until, upstreams } from './targets-helpers.js';

function queueOf(proxy: Proxy) {
  const queue = proxy.snapshot().routes[0]!.queue;
  assert.ok(queue, 'the route has a queue');
  return queue;
}

/** An upstream that records the paths it receives, in order, and holds every answer until `release()`. */
async function holdingUpstream(t: TestContext): Promise<{ url: string; arrived: string[]; release(): void }> {
  const arrived: string[] = [];
  const held: http.ServerResponse[] = [];
  let released = false;
  const answer = (res: http.ServerResponse) => res.end('ok');
  const server = http.createServer((req, res) => {
    arrived.push(req.url ?? '');
    req.resume();
    if (released) answer(res);
    else held.push(res);
  });
  const url = await listening(t, server);
  return {
    url,
    arrived,
    release() {
      released = true;
      for (const res of held.splice(0)) answer(res);
    },
  };
}

test('queued requests reach the target in arrival order as slots free up', async (t) => {
  const upstream = await holdingUpstream(t);
  const { proxy, url } = await startProxy(t, { target: upstream.url, maxConcurrent: 1, queue: 3, queueTimeout: 10_000 });
  const replies = [request(url, { path: '/0' })];
  await until(() => upstream.arrived.length === 1, 'the first request to hold the only slot');
  for (let i = 1; i <= 3; i++) {
    replies.push(request(url, { path: `/${i}` }));
    await until(() => queueOf(proxy).length === i, `request ${i} to be queued`);
  }
  assert.deepEqual(upstream.arrived, ['/0'], 'nothing past the limit reached the target');

  upstream.release();
  const statuses = (await Promise.all(replies)).map((reply) => reply.status);
  assert.deepEqual(statuses, [200, 200, 200, 200]);
  assert.deepEqual(upstream.arrived, ['/0', '/1', '/2', '/3']);
  const queue = queueOf(proxy);
  assert.equal(queue.length, 0);
  assert.equal(queue.queued, 3);
  assert.equal(queue.timedOut, 0);
});

test('a queued request that waits its whole queueTimeout gets 503 connection_limit_reached', async (t) => {
  const [a] = await upstreams(t, ['hang']);
  const { proxy, url } = await startProxy(t, { target: a!.url, maxConcurrent: 1, queue: 2, queueTimeout: 200 });
  const slot = await holdSlot(t, url, a!);

  const started = performance.now();
  const reply = await request(url, { timeout: 5_000 });
  const waited = performance.now() - started;
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_limit_reached');
  assert.deepEqual(JSON.parse(reply.body), { error: 'connection_limit_reached', target: a!.url });
  assert.ok(waited >= 150, `it waited in the queue (${Math.round(waited)} ms)`);
  assert.equal(a!.stats().requests, 1, 'the queued request never reached the target');
  const queue = queueOf(proxy);
  assert.equal(queue.length, 0);
  assert.equal(queue.timedOut, 1);
  assert.equal(targetOf(proxy, a!).requests.limited, 1);
  await slot.release();
});

test('a request over a full queue gets the 503 at once', async (t) => {
  const [a] = await upstreams(t, ['hang']);
  const { proxy, url } = await startProxy(t, { target: a!.url, maxConcurrent: 1, queue: 1, queueTimeout: 10_000 });
  const slot = await holdSlot(t, url, a!);
  const abort = new AbortController();
  const queued = request(url, { signal: abort.signal }).catch(() => undefined);
  await until(() => queueOf(proxy).length === 1, 'the second request to be queued');

  const reply = await request(url);
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_limit_reached');
  assert.equal(queueOf(proxy).length, 1, 'the queued request still waits');
  abort.abort();
  await queued;
  await slot.release();
});

test('a client that leaves while queued leaves the queue, and the next request is served', async (t) => {
  const [a] = await upstreams(t, ['hang']);
  const { proxy, url } = await startProxy(t, { target: a!.url, maxConcurrent: 1, queue: 1, queueTimeout: 10_000 });
  const slot = await holdSlot(t, url, a!);
  const second = new AbortController();
  const leaving = request(url, { signal: second.signal }).catch(() => undefined);
  await until(() => queueOf(proxy).length === 1, 'the second request to be queued');

  second.abort();
  await leaving;
  await until(() => queueOf(proxy).length === 0, 'the queue to drop the request whose client left');
  await slot.release();
  await until(() => targetOf(proxy, a!).inFlight === 0, 'the slot to free');
  await a!.setMode('ok');

  const reply = await request(url);
  assert.equal(reply.status, 200);
  assert.equal(a!.stats().requests, 2, 'the request that left never reached the target');
  assert.equal(queueOf(proxy).timedOut, 0);
});

test('a queued request whose target opened meanwhile gets the 503 destination_unavailable', async (t) => {
  const [a] = await upstreams(t, ['hang']);
  const { proxy, url } = await startProxy(t, { target: a!.url, maxConcurrent: 1, queue: 1, queueTimeout: 10_000 });
  const slot = await holdSlot(t, url, a!);
  const queued = request(url);
  await until(() => queueOf(proxy).length === 1, 'the second request to be queued');

  proxy.breakers.open(a!.url);
  await slot.release();
  const reply = await queued;
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=destination_unavailable');
  assert.ok(Number(reply.headers['retry-after']) >= 1);
  assert.equal(a!.stats().requests, 1);
});

test('a queued request that times out gets the fallback when the route has one', async (t) => {
  const [a] = await upstreams(t, ['hang']);
  const { url } = await startProxy(t, { target: a!.url, maxConcurrent: 1, queue: 1, queueTimeout: 100, fallback: { status: 200, body: 'busy' } });
  const slot = await holdSlot(t, url, a!);

  const reply = await request(url);
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'busy');
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_limit_reached; details="fallback"');
  assert.equal(reply.headers['retry-after'], undefined, 'a full target says nothing about when it frees up');
  await slot.release();
});

test('the queue length is a gauge in the metrics, with the queued and timed-out counts', async (t) => {
  const [a] = await upstreams(t, ['hang']);
  const { proxy, url } = await startProxy(t, { target: a!.url, maxConcurrent: 1, queue: 2, queueTimeout: 10_000 });
  const slot = await holdSlot(t, url, a!);
  const abort = new AbortController();
  const queued = request(url, { signal: abort.signal }).catch(() => undefined);
  await until(() => queueOf(proxy).length === 1, 'the second request to be queued');

  const text = metricsText(proxy.snapshot());
  assert.match(text, /# TYPE proxy_breaker_route_queue_length gauge\nproxy_breaker_route_queue_length\{route="\/"\} 1\n/);
  assert.match(text, /proxy_breaker_route_queued_total\{route="\/"\} 1\n/);
  assert.match(text, /proxy_breaker_route_queue_timeouts_total\{route="\/"\} 0\n/);
  assert.deepEqual(queueOf(proxy), { limit: 2, timeout: 10_000, length: 1, queued: 1, timedOut: 0 });
  const view = statsView(proxy.snapshot(), new RateSampler(proxy));
  assert.equal(view.targets[0]!.queued, 1, 'the dashboard shows the queue by the targets it waits for');
  abort.abort();
  await queued;
  await slot.release();
});

test('without a queue the route has none in the snapshot and the metrics', async (t) => {
  const [a] = await upstreams(t, ['ok']);
  const { proxy } = await startProxy(t, { target: a!.url, maxConcurrent: 1 });
  assert.equal(proxy.snapshot().routes[0]!.queue, null);
  assert.doesNotMatch(metricsText(proxy.snapshot()), /queue/);
});

test('a reload ends the wait of requests queued on the old routes', async (t) => {
  const [a] = await upstreams(t, ['hang']);
  const options = { target: a!.url, maxConcurrent: 1, queue: 1, queueTimeout: 10_000 };
  const { proxy, url } = await startProxy(t, options);
  const slot = await holdSlot(t, url, a!);
  const queued = request(url);
  await until(() => queueOf(proxy).length === 1, 'the second request to be queued');

  proxy.reload(options);
  const reply = await queued;
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_limit_reached');
  await slot.release();
});
