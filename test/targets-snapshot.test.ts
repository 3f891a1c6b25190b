import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { request, sequential, startProxy, targetOf, until, upstreams } from './targets-helpers.js';

test('snapshot() shows per target its state, failures, open period and counts', async (t) => {
  const list = await upstreams(t, ['ok', { type: 'status', status: 500 }]);
  const [a, b] = list;
  const { proxy, url } = await startProxy(t, {
    targets: list.map((u) => u.url),
    breaker: { failureThreshold: 2, resetTimeout: 1000, jitter: 0 },
  });
  assert.deepEqual(await sequential(url, 4), [200, 500, 200, 500]);

  const snapshot = proxy.snapshot();
  assert.deepEqual(snapshot.routes.map((route) => route.targets), [[a!.url, b!.url]]);
  assert.deepEqual(snapshot.targets.map((target) => target.target), [a!.url, b!.url]);

  const healthy = targetOf(proxy, a!);
  assert.equal(healthy.state, 'CLOSED');
  assert.equal(healthy.failures, 0);
  assert.equal(healthy.openPeriod, 1000);
  assert.equal(healthy.openedAt, null);
  assert.equal(healthy.nextAttemptAt, null);
  assert.equal(healthy.inFlight, 0);
  assert.deepEqual(healthy.counts, { admitted: 2, successes: 2, failures: 0, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 });
  assert.equal(healthy.requests.success, 2);
  assert.equal(healthy.latency.count, 2);

  const failing = targetOf(proxy, b!);
  assert.equal(failing.state, 'OPEN');
  assert.equal(failing.failures, 2);
  assert.equal(failing.openPeriod, 1000);
  assert.equal(failing.reopenings, 0);
  assert.equal(typeof failing.openedAt, 'number');
  assert.ok(failing.nextAttemptAt! > Date.now() && failing.nextAttemptAt! <= Date.now() + 1000);
  assert.equal(failing.inFlight, 0);
  assert.deepEqual(failing.counts, { admitted: 2, successes: 0, failures: 2, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 });
  assert.equal(failing.requests.failure_status, 2);
});

test('snapshot() shows the requests in flight per target', async (t) => {
  const list = await upstreams(t, [{ type: 'slow', delay: 300 }, 'ok']);
  const [a, b] = list;
  const { proxy, url } = await startProxy(t, { targets: list.map((u) => u.url) });
  const pending = [request(url), request(url), request(url)];
  await until(() => a!.stats().inFlight === 2, 'two requests on the slow target');
  assert.equal(targetOf(proxy, a!).inFlight, 2);
  assert.equal(targetOf(proxy, b!).inFlight, 0);
  await Promise.all(pending);
  assert.equal(targetOf(proxy, a!).inFlight, 0);
  assert.equal(targetOf(proxy, a!).counts.successes, 2);
  assert.equal(targetOf(proxy, b!).counts.successes, 1);
});

test('snapshot() counts the requests a target refused while open as rejected', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const { proxy, url } = await startProxy(t, { target: a!.url, breaker: { failureThreshold: 1, resetTimeout: 10_000 } });
  await request(url);
  assert.deepEqual(await sequential(url, 3), [503, 503, 503]);
  const snapshot = targetOf(proxy, a!);
  assert.equal(snapshot.requests.rejected, 3);
  assert.equal(snapshot.counts.rejections, 3);
  assert.equal(snapshot.counts.failures, 1);
});
