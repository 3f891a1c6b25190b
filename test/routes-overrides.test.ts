import * as assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startUpstream, type Upstream } from '../fixtures/upstream.js';
import type { ProxyOptions } from '../lib/proxy/options.js';
import { createProxy, type Proxy } from '../lib/proxy/proxy.js';
import { send } from './routes-helpers.js';

/** Two services X and Y behind one proxy, all closed when the test ends. */
async function twoServices(
  t: TestContext,
  options: (x: string, y: string) => ProxyOptions,
): Promise<{ x: Upstream; y: Upstream; proxy: Proxy; port: number }> {
  const [x, y] = await Promise.all([startUpstream(), startUpstream()]);
  const proxy = createProxy(options(x.url, y.url));
  t.after(async () => {
    await proxy.close(0);
    await Promise.all([x.close(), y.close()]);
  });
  const { port } = await proxy.listen();
  return { x, y, proxy, port };
}

function stateOf(proxy: Proxy, origin: string): string | undefined {
  return proxy.snapshot().targets.find((target) => target.target === origin)?.state;
}

test('failureStatus per route: route A counts 404 as a failure and opens, route B relays 404 and stays closed', async (t) => {
  const { x, y, proxy, port } = await twoServices(t, (x, y) => ({
    breaker: { failureThreshold: 2, resetTimeout: 60_000 },
    routes: [
      { match: '/a', targets: x, failureStatus: '404,500-599' },
      { match: '/b', targets: y },
    ],
  }));
  await Promise.all([x.setMode({ type: 'status', status: 404 }), y.setMode({ type: 'status', status: 404 })]);

  assert.equal((await send(port, '/a')).status, 404, 'the upstream answer is relayed even when it counts as failure');
  assert.equal((await send(port, '/a')).status, 404);
  const refused = await send(port, '/a');
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['proxy-status'], 'proxy-breaker; error=destination_unavailable');
  assert.equal(stateOf(proxy, x.url), 'OPEN');

  for (let i = 0; i < 3; i++) assert.equal((await send(port, '/b')).status, 404);
  assert.equal(stateOf(proxy, y.url), 'CLOSED');
  assert.equal(proxy.snapshot().targets.find((target) => target.target === y.url)!.failures, 0);
});

test('failureStatus per route: a route can stop counting 5xx', async (t) => {
  const { x, proxy, port } = await twoServices(t, (x, y) => ({
    breaker: { failureThreshold: 1, resetTimeout: 60_000 },
    routes: [
      { match: '/a', targets: x, failureStatus: '502-504' },
      { match: '/b', targets: y },
    ],
  }));
  await x.setMode({ type: 'status', status: 500 });
  assert.equal((await send(port, '/a')).status, 500);
  assert.equal((await send(port, '/a')).status, 500);
  assert.equal(stateOf(proxy, x.url), 'CLOSED');
});

test('timeout per route: route A times out at 100 ms with 504, route B waits for the same slow answer', async (t) => {
  const { x, y, port } = await twoServices(t, (x, y) => ({
    timeout: 3000,
    routes: [
      { match: '/a', targets: x, timeout: 100 },
      { match: '/b', targets: y },
    ],
  }));
  await Promise.all([x.setMode({ type: 'slow', delay: 800 }), y.setMode({ type: 'slow', delay: 800 })]);

  const started = performance.now();
  const timedOut = await send(port, '/a');
  const elapsed = performance.now() - started;
  assert.equal(timedOut.status, 504);
  assert.equal(timedOut.headers['proxy-status'], 'proxy-breaker; error=http_response_timeout');
  assert.deepEqual(JSON.parse(timedOut.body), { error: 'http_response_timeout', target: x.url });
  assert.ok(elapsed >= 90 && elapsed < 700, `answered after ${elapsed.toFixed(0)} ms`);

  const slow = await send(port, '/b');
  assert.equal(slow.status, 200);
});

test('timeout per route is shown in the snapshot', async (t) => {
  const { proxy } = await twoServices(t, (x, y) => ({
    timeout: 3000,
    routes: [
      { match: '/a', targets: x, timeout: 100, failureStatus: '404,500-599' },
      { match: '/b', targets: y },
    ],
  }));
  assert.deepEqual(
    proxy.snapshot().routes.map(({ match, timeout, failureStatus }) => ({ match, timeout, failureStatus })),
    [
      { match: '/a', timeout: 100, failureStatus: '404,500-599' },
      { match: '/b', timeout: 3000, failureStatus: '500-599' },
    ],
  );
});

test('breaker options per route: route A opens after 1 failure, route B after the proxy default of 3', async (t) => {
  const { x, y, proxy, port } = await twoServices(t, (x, y) => ({
    breaker: { failureThreshold: 3, resetTimeout: 60_000 },
    routes: [
      { match: '/a', targets: x, breaker: { failureThreshold: 1 } },
      { match: '/b', targets: y },
    ],
  }));
  await Promise.all([x.setMode({ type: 'status', status: 500 }), y.setMode({ type: 'status', status: 500 })]);

  assert.equal((await send(port, '/a')).status, 500);
  assert.equal(stateOf(proxy, x.url), 'OPEN');
  assert.equal((await send(port, '/a')).status, 503);

  assert.equal((await send(port, '/b')).status, 500);
  assert.equal((await send(port, '/b')).status, 500);
  assert.equal(stateOf(proxy, y.url), 'CLOSED');
  assert.equal((await send(port, '/b')).status, 500);
  assert.equal(stateOf(proxy, y.url), 'OPEN');
});

test('breaker options per route: a route resetTimeout sets when its open circuit lets a probe through', async (t) => {
  const { x, y, proxy, port } = await twoServices(t, (x, y) => ({
    breaker: { failureThreshold: 1, resetTimeout: 60_000, jitter: 0 },
    routes: [
      { match: '/a', targets: x, breaker: { resetTimeout: 150 } },
      { match: '/b', targets: y },
    ],
  }));
  await Promise.all([x.setMode({ type: 'status', status: 500 }), y.setMode({ type: 'status', status: 500 })]);
  await send(port, '/a');
  await send(port, '/b');
  const [tx, ty] = [x.url, y.url].map((origin) => proxy.snapshot().targets.find((target) => target.target === origin)!);
  assert.equal(tx!.openPeriod, 150);
  assert.equal(ty!.openPeriod, 60_000);

  await x.setMode('ok');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal((await send(port, '/a')).status, 200, 'the probe after 150 ms went through and closed the circuit');
  assert.equal(stateOf(proxy, x.url), 'CLOSED');
  assert.equal((await send(port, '/b')).status, 503);
});
