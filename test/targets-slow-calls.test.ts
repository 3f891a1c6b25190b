/**
 * Slow calls (`slowCallDuration`, `slowCallRate`): a response whose headers took longer than the
 * duration counts as slow, and the circuit opens when the rate of slow calls in the window is
 * reached; a slow call is still a success for the other rules.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProxy, renderMetrics } from '../lib/index.js';
import { request, sequential, startProxy, targetOf, upstreams } from './targets-helpers.js';

test('a target whose headers come later than slowCallDuration opens at slowCallRate', async (t) => {
  const [a] = await upstreams(t, [{ type: 'slow', delay: 150 }]);
  const { proxy, url } = await startProxy(t, {
    target: a!.url,
    breaker: { slowCallDuration: 50, slowCallRate: 50, minRequests: 4, failureThreshold: 100 },
  });
  assert.deepEqual(await sequential(url, 3), [200, 200, 200]);
  assert.equal(targetOf(proxy, a!).state, 'CLOSED', 'no verdict before minRequests');
  assert.deepEqual(await sequential(url, 2), [200, 503]);
  const target = targetOf(proxy, a!);
  assert.equal(target.state, 'OPEN');
  assert.equal(target.counts.slowCalls, 4);
  assert.equal(target.counts.failures, 0, 'slow calls are successes');
  assert.deepEqual([target.requests.success, target.requests.rejected], [4, 1]);
  assert.match(renderMetrics(proxy), new RegExp(`^proxy_breaker_slow_calls_total\\{target="${a!.url}"\\} 4$`, 'm'));
});

test('a request with a body is slow by the time its head took once the body was out', async (t) => {
  const [a] = await upstreams(t, [{ type: 'slow', delay: 150 }]);
  const { proxy, url } = await startProxy(t, { target: a!.url, breaker: { slowCallDuration: 50 } });
  assert.equal((await request(url, { method: 'POST', body: 'x'.repeat(1000) })).status, 200);
  assert.equal(targetOf(proxy, a!).counts.slowCalls, 1);
});

test('calls answered within slowCallDuration do not count as slow', async (t) => {
  const [a] = await upstreams(t, ['ok']);
  const { proxy, url } = await startProxy(t, {
    target: a!.url,
    breaker: { slowCallDuration: 2_000, slowCallRate: 50, minRequests: 4 },
  });
  assert.deepEqual(await sequential(url, 8), Array(8).fill(200));
  const target = targetOf(proxy, a!);
  assert.equal(target.state, 'CLOSED');
  assert.equal(target.counts.slowCalls, 0);
});

test('the slow-call options are validated and reported where they were written', () => {
  assert.throws(() => createProxy({ target: 'http://127.0.0.1:1', breaker: { slowCallDuration: -1 } }), { code: 'ERR_INVALID_CONFIG', path: 'breaker.slowCallDuration' });
  assert.throws(
    () => createProxy({ routes: [{ match: '/', targets: 'http://127.0.0.1:1', breaker: { slowCallRate: 0 } }] }),
    { code: 'ERR_INVALID_CONFIG', path: 'routes[0].breaker.slowCallRate' },
  );
});
