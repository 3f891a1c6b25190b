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
  assert.deepEqual(healthy.counts, { admitted: 2, successes: 2, slowCalls: 0, failures: 0, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 });
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
  assert.deepEqual(failing.counts, { admitted: 2, successes: 0, slowCalls: 0, failures: 2, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 });
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

test('snapshot() has the time, each target\'s thresholds, transitions, latency buckets and connections', async (t) => {
  const [a] = await upstreams(t, ['ok']);
  const { proxy, url } = await startProxy(t, { target: a!.url, breaker: { failureThreshold: 2, resetTimeout: 1000 } });
  assert.deepEqual(await sequential(url, 3), [200, 200, 200]);
  proxy.breakers.open(a!.url);
  proxy.breakers.close(a!.url);
  const before = Date.now();
  const snapshot = proxy.snapshot();
  assert.ok(snapshot.time >= before && snapshot.time <= Date.now());
  const target = snapshot.targets[0]!;
  assert.deepEqual([target.failureThreshold, target.resetTimeout], [2, 1000]);
  assert.deepEqual(target.transitions, { 'CLOSED>OPEN': 1, 'OPEN>HALF_OPEN': 0, 'HALF_OPEN>CLOSED': 0, 'HALF_OPEN>OPEN': 0, 'OPEN>CLOSED': 1 });
  const latency = target.latency;
  assert.equal(latency.counts.length, latency.bounds.length + 1, 'one bucket above the last bound');
  assert.equal(latency.counts.reduce((sum, n) => sum + n, 0), 3);
  assert.equal(latency.count, 3);
  assert.ok(latency.sum > 0);
  assert.ok(latency.p50 !== null && latency.p99 !== null && latency.p99 >= latency.p50);
  assert.deepEqual(target.connections, { busy: 0, idle: 1, opened: 1 });
});

test('a failureThreshold of Infinity is null in the snapshot, which JSON can carry', async (t) => {
  const [a] = await upstreams(t, ['ok']);
  const { proxy } = await startProxy(t, { target: a!.url, breaker: { failureThreshold: Infinity, failureRate: 50 } });
  const snapshot = proxy.snapshot();
  assert.equal(snapshot.targets[0]!.failureThreshold, null);
  assert.deepStrictEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
});
