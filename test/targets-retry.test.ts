import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Upstream } from '../fixtures/upstream.js';
import type { Proxy, ResponseInfo } from '../lib/index.js';
import { counts, request, sequential, since, startProxy, targetOf, upstreams } from './targets-helpers.js';

/** Collects the proxy's `response` events (one per finished client request). */
function responses(proxy: Proxy): ResponseInfo[] {
  const seen: ResponseInfo[] = [];
  proxy.on('response', (info) => seen.push(info));
  return seen;
}

/** Leaves one idle keep-alive socket from the proxy to every target (round-robin: one request each). */
async function warm(url: string, list: readonly Upstream[]): Promise<void> {
  assert.deepEqual(new Set(await sequential(url, list.length)), new Set([200]));
  for (const upstream of list) assert.equal(upstream.stats().connections, 1);
}

test('a GET refused by one target is retried once on another target', async (t) => {
  const list = await upstreams(t, ['refuse', 'ok']);
  const [, b] = list;
  const { proxy, url } = await startProxy(t, { targets: list.map((u) => u.url) });
  const seen = responses(proxy);
  const reply = await request(url);
  assert.equal(reply.status, 200);
  assert.equal(b!.stats().requests, 1);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.retries, 1);
  assert.equal(seen[0]!.target, b!.url);
});

test('the failed attempt counts against its own target, and its circuit opens from such failures', async (t) => {
  const list = await upstreams(t, ['refuse', 'ok']);
  const [a, b] = list;
  const { proxy, url } = await startProxy(t, { targets: list.map((u) => u.url), breaker: { failureThreshold: 2, resetTimeout: 10_000 } });
  assert.equal((await request(url)).status, 200);
  let snapshot = targetOf(proxy, a!);
  assert.equal(snapshot.counts.failures, 1);
  assert.equal(snapshot.requests.error, 1);
  assert.equal(snapshot.state, 'CLOSED');
  assert.equal((await request(url)).status, 200);
  snapshot = targetOf(proxy, a!);
  assert.equal(snapshot.counts.failures, 2);
  assert.equal(snapshot.state, 'OPEN');
  assert.equal(b!.stats().requests, 2);
  assert.equal(targetOf(proxy, b!).counts.successes, 2);
});

test('with three refusing targets and retries 1 the client gets 502 after two attempts', async (t) => {
  const list = await upstreams(t, ['refuse', 'refuse', 'refuse']);
  const { proxy, url } = await startProxy(t, { targets: list.map((u) => u.url), retries: 1 });
  const seen = responses(proxy);
  const reply = await request(url);
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_refused');
  const failures = proxy.snapshot().targets.map((target) => target.counts.failures);
  assert.deepEqual(failures.toSorted(), [0, 1, 1], 'two attempts, on two different targets');
  assert.equal(seen[0]!.retries, 1);
});

test('with three targets resetting reused sockets and retries 1, exactly two attempts reach upstreams', async (t) => {
  const list = await upstreams(t, ['ok', 'ok', 'ok']);
  const { url } = await startProxy(t, { targets: list.map((u) => u.url), retries: 1 });
  await warm(url, list);
  await Promise.all(list.map((upstream) => upstream.setMode('reset')));
  const before = counts(list);
  const reply = await request(url);
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_terminated');
  const attempts = since(list, before);
  assert.equal(attempts.reduce((sum, n) => sum + n, 0), 2);
  assert.ok(attempts.every((n) => n <= 1), `no target got the request twice: ${attempts}`);
});

test('a reused keep-alive socket reset before any response byte is retried on another target', async (t) => {
  const list = await upstreams(t, ['ok', 'ok']);
  const [a] = list;
  const { proxy, url } = await startProxy(t, { targets: list.map((u) => u.url) });
  await warm(url, list);
  await a!.setMode('reset');
  const before = counts(list);
  const seen = responses(proxy);
  assert.equal((await request(url)).status, 200);
  assert.deepEqual(since(list, before), [1, 1]);
  assert.equal(seen[0]!.retries, 1);
  assert.equal(targetOf(proxy, a!).counts.failures, 1);
});

test('a reset on a fresh connection is not retried: the target may have processed the request', async (t) => {
  const list = await upstreams(t, ['reset', 'ok']);
  const [, b] = list;
  const { url } = await startProxy(t, { targets: list.map((u) => u.url) });
  const reply = await request(url);
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_terminated');
  assert.equal(b!.stats().requests, 0);
});

test('every idempotent method without a body is retried (GET, HEAD, OPTIONS, TRACE, PUT, DELETE)', async (t) => {
  const list = await upstreams(t, ['refuse', 'ok']);
  const [, b] = list;
  const { proxy, url } = await startProxy(t, { targets: list.map((u) => u.url), breaker: { failureThreshold: 100 } });
  const seen = responses(proxy);
  const methods = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'];
  for (const method of methods) {
    const reply = await request(url, { method });
    assert.equal(reply.status, 200, method);
  }
  assert.equal(b!.stats().requests, methods.length);
  // After a retry the rotation comes back to the refusing target first, so every one was a retry.
  assert.deepEqual(seen.map((info) => info.retries), Array(methods.length).fill(1));
});

test('a POST is never retried, even without a body', async (t) => {
  const list = await upstreams(t, ['refuse', 'ok']);
  const [, b] = list;
  const { url } = await startProxy(t, { targets: list.map((u) => u.url) });
  const reply = await request(url, { method: 'POST' });
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_refused');
  assert.equal(b!.stats().requests, 0);
});

test('a request whose body was streamed is never retried (PUT with a body)', async (t) => {
  const list = await upstreams(t, ['refuse', 'ok']);
  const [, b] = list;
  const { url } = await startProxy(t, { targets: list.map((u) => u.url) });
  const reply = await request(url, { method: 'PUT', body: 'payload', headers: { 'content-type': 'text/plain' } });
  assert.equal(reply.status, 502);
  assert.equal(b!.stats().requests, 0);
});

test('a POST with a body is never retried', async (t) => {
  const list = await upstreams(t, ['refuse', 'ok']);
  const [, b] = list;
  const { url } = await startProxy(t, { targets: list.map((u) => u.url) });
  const reply = await request(url, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
  assert.equal(reply.status, 502);
  assert.equal(b!.stats().requests, 0);
});

test('no retry once response bytes arrived (reset mid-body): the client sees the cut, the other target nothing', async (t) => {
  const list = await upstreams(t, ['reset-mid-body', 'ok']);
  const [a, b] = list;
  const { proxy, url } = await startProxy(t, { targets: list.map((u) => u.url) });
  await assert.rejects(request(url));
  assert.equal(b!.stats().requests, 0);
  assert.equal(a!.stats().requests, 1);
  assert.equal(targetOf(proxy, a!).counts.failures, 1);
});

test('retries: 0 turns failover off', async (t) => {
  const list = await upstreams(t, ['refuse', 'ok']);
  const [, b] = list;
  const { url } = await startProxy(t, { targets: list.map((u) => u.url), retries: 0 });
  assert.equal((await request(url)).status, 502);
  assert.equal(b!.stats().requests, 0);
});

test('retries defaults to 1 with several targets and 0 with one', async (t) => {
  const list = await upstreams(t, ['refuse', 'ok']);
  const several = await startProxy(t, { targets: list.map((u) => u.url) });
  const one = await startProxy(t, { target: list[0]!.url });
  // Round robin sends one of two requests to the refusing target first: a retry saves it.
  assert.deepEqual([(await request(several.url)).status, (await request(several.url)).status], [200, 200]);
  assert.equal(list[1]!.stats().requests, 2);
  const reply = await request(one.url);
  assert.equal(reply.status, 502);
  assert.equal(targetOf(one.proxy, list[0]!).counts.failures, 1);
});

test('retries: 2 with three targets tries each target once, and frees its retry-budget slot', async (t) => {
  const list = await upstreams(t, ['refuse', 'refuse', 'ok']);
  const { proxy, url } = await startProxy(t, { targets: list.map((u) => u.url), retries: 2, breaker: { failureThreshold: 100 } });
  const seen = responses(proxy);
  for (let i = 0; i < 6; i++) assert.equal((await request(url)).status, 200);
  assert.equal(list[2]!.stats().requests, 6);
  assert.ok(seen.some((info) => info.retries === 2), 'some request needed both retries');
  assert.equal(proxy.retriesInFlight, 0, 'every retry slot was given back');
  assert.equal(proxy.inFlight, 0);
});
