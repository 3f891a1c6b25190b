/**
 * Failover between replicas: a request no target could have processed is repeated once on another
 * replica, if its method is idempotent, it has no body, and the retry budget allows.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { echo, proxy, request, targetOf, upstream } from './proxy-helpers.js';

test('a GET refused by one replica is retried on another', async (t) => {
  const down = await upstream(t, { mode: 'refuse' });
  const healthy = await upstream(t);
  const p = await proxy(t, { targets: [down.url, healthy.url] });
  const retries: number[] = [];
  p.proxy.on('response', ({ retries: count }) => retries.push(count));
  const reply = await request(p.port, '/x');
  assert.equal(reply.status, 200);
  assert.equal(echo(reply).url, '/x');
  assert.deepEqual(retries, [1]);
  assert.equal(targetOf(p, down.url).failures, 1);
  assert.equal(targetOf(p, down.url).requests.error, 1);
  assert.equal(targetOf(p, down.url).inFlight, 0);
  assert.equal(targetOf(p, healthy.url).requests.success, 1);
  assert.equal(p.proxy.retriesInFlight, 0);
});

test('a request with a body is not retried', async (t) => {
  const down = await upstream(t, { mode: 'refuse' });
  const healthy = await upstream(t);
  const p = await proxy(t, { targets: [down.url, healthy.url] });
  const reply = await request(p.port, '/x', { method: 'PUT', body: 'data' });
  assert.equal(reply.status, 502);
  assert.equal(healthy.stats().requests, 0);
});

test('a POST is not retried', async (t) => {
  const down = await upstream(t, { mode: 'refuse' });
  const healthy = await upstream(t);
  const p = await proxy(t, { targets: [down.url, healthy.url] });
  assert.equal((await request(p.port, '/x', { method: 'POST' })).status, 502);
  assert.equal(healthy.stats().requests, 0);
});

test('retries: 0 turns failover off', async (t) => {
  const down = await upstream(t, { mode: 'refuse' });
  const healthy = await upstream(t);
  const p = await proxy(t, { targets: [down.url, healthy.url], retries: 0 });
  assert.equal((await request(p.port, '/x')).status, 502);
  assert.equal(healthy.stats().requests, 0);
});

test('a timeout is not retried', async (t) => {
  const slow = await upstream(t, { mode: 'hang' });
  const healthy = await upstream(t);
  const p = await proxy(t, { targets: [slow.url, healthy.url], timeout: 100 });
  assert.equal((await request(p.port, '/x')).status, 504);
  assert.equal(healthy.stats().requests, 0);
});

test('an exhausted retry budget answers instead of retrying', async (t) => {
  const down = await upstream(t, { mode: 'refuse' });
  const healthy = await upstream(t);
  const p = await proxy(t, { targets: [down.url, healthy.url], retryBudgetMin: 0, retryBudgetPercent: 0 });
  assert.equal((await request(p.port, '/x')).status, 502);
  assert.equal(healthy.stats().requests, 0);
});

test('no retry when every other replica refuses too', async (t) => {
  const a = await upstream(t, { mode: 'refuse' });
  const b = await upstream(t, { mode: 'refuse' });
  const p = await proxy(t, { targets: [a.url, b.url], retries: 3 });
  const reply = await request(p.port, '/x');
  assert.equal(reply.status, 502);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_refused');
  assert.equal(targetOf(p, a.url).failures + targetOf(p, b.url).failures, 2);
});

test('a reset on a reused keep-alive connection is retried on another replica', async (t) => {
  const flaky = await upstream(t);
  const healthy = await upstream(t);
  const p = await proxy(t, { targets: [flaky.url, healthy.url] });
  assert.equal((await request(p.port, '/1')).status, 200); // flaky, leaves a kept-alive socket
  assert.equal((await request(p.port, '/2')).status, 200); // healthy
  await flaky.setMode('reset');
  const reply = await request(p.port, '/3'); // flaky again: the reused socket is reset
  assert.equal(reply.status, 200);
  assert.equal(echo(reply).url, '/3');
  assert.equal(healthy.stats().requests, 2);
  assert.equal(targetOf(p, flaky.url).failures, 1);
});
