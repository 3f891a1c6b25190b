/**
 * Active health checks (`healthPath`): targets are checked apart from client traffic, taken out
 * of rotation after `unhealthyAfter` failing checks and brought back after `healthyAfter` passing
 * ones; a new target waits for its first pass; one checker per origin.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Upstream } from '../fixtures/upstream.js';
import { ConfigError, createProxy, renderMetrics, type Proxy } from '../lib/index.js';
import { HealthChecker } from '../lib/proxy/health.js';
import { Target } from '../lib/proxy/target.js';
import { request, sequential, sleep, startProxy, targetOf, until, upstreams } from './targets-helpers.js';

const HEALTH = '/health';

/** Requests the upstream got that were not health checks. */
function clientRequests(upstream: Upstream): number {
  const stats = upstream.stats();
  return stats.requests - (stats.byPath[HEALTH] ?? 0);
}

function healthOf(proxy: Proxy, upstream: Upstream) {
  const health = targetOf(proxy, upstream).health;
  assert.ok(health, `no health for ${upstream.url}`);
  return health;
}

test('a target whose checks hang is taken out of rotation without a client request sent to it', async (t) => {
  const [a, b] = await upstreams(t, ['ok', 'ok']);
  const { proxy, url } = await startProxy(t, {
    targets: [a!.url, b!.url],
    timeout: 100,
    healthPath: HEALTH,
    healthInterval: 20,
    unhealthyAfter: 2,
  });
  await until(() => healthOf(proxy, a!).status === 'healthy' && healthOf(proxy, b!).status === 'healthy', 'both targets healthy');
  await b!.setMode('hang');
  await until(() => healthOf(proxy, b!).status === 'unhealthy', 'the hanging target unhealthy');

  assert.deepEqual(await sequential(url, 6), [200, 200, 200, 200, 200, 200]);
  assert.equal(clientRequests(b!), 0, 'no client request reached the hanging target');
  assert.equal(clientRequests(a!), 6);
  const target = targetOf(proxy, b!);
  assert.equal(target.state, 'CLOSED', 'health checks do not touch the breaker');
  assert.equal(target.counts.admitted, 0);
  assert.equal(target.health?.inRotation, false);
  assert.equal(target.health?.lastResult, 'fail');
  assert.ok(target.health!.failures >= 2);
});

test('healthChange reports each change of a target\'s health with the checks in a row that made it', async (t) => {
  const [a] = await upstreams(t, ['ok']);
  const { proxy } = await startProxy(t, { target: a!.url, healthPath: HEALTH, healthInterval: 20, unhealthyAfter: 2 });
  const changes: unknown[] = [];
  proxy.on('healthChange', (info) => changes.push(info));
  await until(() => changes.length === 1, 'the first pass');
  await a!.setMode({ type: 'status', status: 500 });
  await until(() => changes.length === 2, 'the target unhealthy');
  assert.deepEqual(changes, [
    { target: a!.url, from: 'unknown', to: 'healthy', checks: 1 },
    { target: a!.url, from: 'healthy', to: 'unhealthy', checks: 2 },
  ]);
});

test('an unhealthy target comes back only after healthyAfter passing checks in a row', async (t) => {
  const [a, b] = await upstreams(t, ['ok', 'ok']);
  const { proxy, url } = await startProxy(t, {
    targets: [a!.url, b!.url],
    healthPath: HEALTH,
    healthInterval: 20,
    healthyAfter: 3,
    unhealthyAfter: 1,
  });
  await until(() => healthOf(proxy, b!).status === 'healthy', 'the target healthy');
  await b!.setMode({ type: 'status', status: 503 });
  await until(() => healthOf(proxy, b!).status === 'unhealthy', 'the target unhealthy');
  await b!.setMode('ok');
  // Every snapshot on the way back: healthy exactly when three checks in a row have passed.
  await until(() => {
    const health = healthOf(proxy, b!);
    assert.equal(health.status === 'healthy', health.passes >= 3, `status ${health.status} after ${health.passes} passes`);
    assert.equal(health.inRotation, health.status === 'healthy');
    return health.status === 'healthy';
  }, 'the target healthy again');

  await sequential(url, 4);
  assert.equal(clientRequests(b!), 2, 'round-robin sends it its share again');
});

test('a target added by a reload takes traffic only after its first passing check', async (t) => {
  const [a, b] = await upstreams(t, ['ok', { type: 'status', status: 503 }]);
  const options = { healthPath: HEALTH, healthInterval: 20, unhealthyAfter: 100 };
  const { proxy, url } = await startProxy(t, { target: a!.url, ...options });
  await until(() => healthOf(proxy, a!).status === 'healthy', 'the first target healthy');

  proxy.reload({ targets: [a!.url, b!.url], ...options });
  assert.equal(healthOf(proxy, a!).inRotation, true, 'a target that stays keeps its place');
  await until(() => healthOf(proxy, b!).failures >= 2, 'two failed checks of the new target');
  assert.equal(healthOf(proxy, b!).status, 'unknown');
  assert.deepEqual(await sequential(url, 4), [200, 200, 200, 200]);
  assert.equal(clientRequests(b!), 0, 'the new target took no traffic before a check passed');

  await b!.setMode('ok');
  await until(() => healthOf(proxy, b!).inRotation, 'the new target in rotation after one pass');
  assert.equal(healthOf(proxy, b!).status, 'healthy');
  await sequential(url, 4);
  assert.equal(clientRequests(b!), 2);
});

test('with health checks on, no target takes traffic before its first check', async (t) => {
  const [a] = await upstreams(t, ['ok']);
  const { proxy, url } = await startProxy(t, { target: a!.url, healthPath: HEALTH, healthInterval: 600_000 });
  // The first check comes within a tenth of the interval: not before this request.
  assert.deepEqual(healthOf(proxy, a!), { status: 'unknown', inRotation: false, passes: 0, failures: 0, checkedAt: null, lastResult: null, checks: { passed: 0, failed: 0 } });
  assert.equal((await request(url)).status, 503);
  assert.equal(clientRequests(a!), 0);
});

test('an origin named by two routes is checked once per interval', async (t) => {
  const [a] = await upstreams(t, ['ok']);
  const interval = 200;
  const { proxy } = await startProxy(t, {
    routes: [
      { match: '/x', targets: a!.url },
      { match: '/y', targets: a!.url },
    ],
    healthPath: HEALTH,
    healthInterval: interval,
  });
  const started = performance.now();
  await sleep(1000);
  const checks = a!.stats().byPath[HEALTH] ?? 0;
  const elapsed = performance.now() - started;
  // One checker: a first check within a tenth of the interval, then one at most every 0.95 interval.
  assert.ok(checks >= 1, 'checked at all');
  assert.ok(checks <= Math.floor(elapsed / (interval * 0.95)) + 1, `${checks} checks in ${Math.round(elapsed)} ms`);
  const health = healthOf(proxy, a!);
  assert.equal(health.checks.passed + health.checks.failed, a!.stats().byPath[HEALTH]);
});

test('two routes asking for different health checks of one origin is a ConfigError', () => {
  assert.throws(
    () =>
      createProxy({
        routes: [
          { match: '/x', targets: 'http://127.0.0.1:1', healthPath: HEALTH },
          { match: '/y', targets: 'http://127.0.0.1:1', healthPath: HEALTH, healthInterval: 1000 },
        ],
      }),
    (error: unknown) => error instanceof ConfigError && error.path === 'routes[1].targets[0]' && /other health checks/.test(error.message),
  );
});

test('a reload that turns checks off puts the target back in rotation and stops its checks', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 503 }]);
  const { proxy, url } = await startProxy(t, { target: a!.url, healthPath: HEALTH, healthInterval: 20, unhealthyAfter: 1 });
  await until(() => healthOf(proxy, a!).status === 'unhealthy', 'the target unhealthy');
  proxy.reload({ target: a!.url });
  assert.equal(targetOf(proxy, a!).health, null);
  await sleep(50); // a check sent just before the reload may still be on its way
  const checks = a!.stats().byPath[HEALTH];
  assert.equal((await request(url)).status, 503, "the target's own answer");
  assert.equal(clientRequests(a!), 1);
  await sleep(100);
  assert.equal(a!.stats().byPath[HEALTH], checks, 'no check after the reload');
});

test('closing the proxy stops its health checks', async (t) => {
  const [a] = await upstreams(t, ['ok']);
  const proxy = createProxy({ target: a!.url, healthPath: HEALTH, healthInterval: 20 });
  await until(() => healthOf(proxy, a!).checks.passed >= 1, 'a check');
  await proxy.close();
  await sleep(50); // a check sent just before close() may still be on its way
  const checks = a!.stats().byPath[HEALTH];
  await sleep(100);
  assert.equal(a!.stats().byPath[HEALTH], checks);
});

test('metrics show each checked target\'s health beside its circuit state', async (t) => {
  const [a, b] = await upstreams(t, ['ok', { type: 'status', status: 500 }]);
  const { proxy } = await startProxy(t, { targets: [a!.url, b!.url], healthPath: HEALTH, healthInterval: 20, unhealthyAfter: 1 });
  await until(() => healthOf(proxy, a!).status === 'healthy' && healthOf(proxy, b!).status === 'unhealthy', 'one healthy, one unhealthy');
  const text = renderMetrics(proxy);
  assert.match(text, new RegExp(`^proxy_breaker_health\\{target="${a!.url}",status="healthy"\\} 1$`, 'm'));
  assert.match(text, new RegExp(`^proxy_breaker_health\\{target="${b!.url}",status="unhealthy"\\} 1$`, 'm'));
  assert.match(text, new RegExp(`^proxy_breaker_health_in_rotation\\{target="${b!.url}"\\} 0$`, 'm'));
  assert.match(text, new RegExp(`^proxy_breaker_health_checks_total\\{target="${b!.url}",result="fail"\\} [1-9]`, 'm'));
  assert.match(text, new RegExp(`^proxy_breaker_state\\{target="${b!.url}",state="CLOSED"\\} 1$`, 'm'));
});

test('a target back from unhealthy ramps up through slow start', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 503 }]);
  const target = new Target(new URL(a!.url), { breaker: {}, tls: { rejectUnauthorized: true, ca: undefined, clientCert: undefined, clientKey: undefined }, maxConcurrent: Infinity, slowStart: 60_000, syntheticProbes: false });
  const checker = new HealthChecker(target, { path: HEALTH, interval: 20, healthyAfter: 1, unhealthyAfter: 1, timeout: 1000 }, true, () => {});
  t.after(() => {
    checker.stop(false);
    target.close();
  });
  await until(() => target.health?.status === 'unhealthy', 'the target unhealthy');
  assert.equal(target.weight(performance.now()), 1, 'never recovered: full weight');
  await a!.setMode('ok');
  await until(() => target.inRotation, 'the target back in rotation');
  assert.ok(target.weight(performance.now()) < 1, 'its share ramps up');
});

test('a new target comes in at full share with its first pass: it never failed', async (t) => {
  const [a] = await upstreams(t, ['ok']);
  const target = new Target(new URL(a!.url), { breaker: {}, tls: { rejectUnauthorized: true, ca: undefined, clientCert: undefined, clientKey: undefined }, maxConcurrent: Infinity, slowStart: 60_000, syntheticProbes: false });
  // The first check comes within a tenth of the interval, the second one interval later: time to look in between.
  const checker = new HealthChecker(target, { path: HEALTH, interval: 5000, healthyAfter: 3, unhealthyAfter: 1, timeout: 1000 }, true, () => {});
  t.after(() => {
    checker.stop(false);
    target.close();
  });
  assert.equal(target.inRotation, false);
  await until(() => target.inRotation, 'the first pass');
  assert.equal(target.health?.passes, 1, 'one pass, not healthyAfter');
  assert.equal(target.weight(performance.now()), 1);
});
