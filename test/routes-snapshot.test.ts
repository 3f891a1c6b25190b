import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { send, startRoutes } from './routes-helpers.js';

test('snapshot() lists every route with its options and targets, most specific first', async (t) => {
  const { upstreams: [a, b, c], proxy } = await startRoutes(t, 3, ([a, b, c]) => ({
    timeout: 5000,
    routes: [
      { match: '/', targets: c! },
      { match: '/api', targets: [a!, b!], timeout: 200 },
      { match: '/api/users', targets: b!, stripPrefix: true, failureStatus: '404,500-599' },
      { match: 'admin.example.com', targets: c! },
    ],
  }));
  assert.deepEqual(proxy.snapshot().routes, [
    { match: 'admin.example.com', stripPrefix: false, timeout: 5000, failureStatus: '500-599', targets: [c!.url], fallback: null, fallbacks: 0, queue: null, balance: 'round-robin', weights: [1], retryOn: null },
    { match: '/api/users', stripPrefix: true, timeout: 5000, failureStatus: '404,500-599', targets: [b!.url], fallback: null, fallbacks: 0, queue: null, balance: 'round-robin', weights: [1], retryOn: null },
    { match: '/api', stripPrefix: false, timeout: 200, failureStatus: '500-599', targets: [a!.url, b!.url], fallback: null, fallbacks: 0, queue: null, balance: 'round-robin', weights: [1, 1], retryOn: null },
    { match: '/', stripPrefix: false, timeout: 5000, failureStatus: '500-599', targets: [c!.url], fallback: null, fallbacks: 0, queue: null, balance: 'round-robin', weights: [1], retryOn: null },
  ]);
});

test("snapshot() lists each target once with its breaker's state and counts", async (t) => {
  const { upstreams: [a, b], proxy, port } = await startRoutes(t, 2, ([a, b]) => ({
    breaker: { failureThreshold: 1, resetTimeout: 60_000 },
    routes: [{ match: '/a', targets: a! }, { match: '/b', targets: b! }, { match: '/ab', targets: [a!, b!] }],
  }));
  await a!.setMode({ type: 'status', status: 500 });
  await send(port, '/a');
  await send(port, '/b');

  const targets = proxy.snapshot().targets;
  assert.deepEqual(targets.map((target) => target.target).sort(), [a!.url, b!.url].sort());
  const ta = targets.find((target) => target.target === a!.url)!;
  const tb = targets.find((target) => target.target === b!.url)!;
  assert.equal(ta.state, 'OPEN');
  assert.equal(ta.failures, 1);
  assert.equal(ta.counts.failures, 1);
  assert.equal(typeof ta.nextAttemptAt, 'number');
  assert.equal(ta.requests.failure_status, 1);
  assert.equal(tb.state, 'CLOSED');
  assert.equal(tb.counts.successes, 1);
  assert.equal(tb.requests.success, 1);
  assert.equal(tb.inFlight, 0);
});

test('snapshot() of the `target` shorthand shows one catch-all route /', async (t) => {
  const { upstreams: [a], proxy, port } = await startRoutes(t, 1, ([a]) => ({ target: a! }));
  assert.deepEqual(proxy.snapshot().routes, [{ match: '/', stripPrefix: false, timeout: 10_000, failureStatus: '500-599', targets: [a!.url], fallback: null, fallbacks: 0, queue: null, balance: 'round-robin', weights: [1], retryOn: null }]);
  assert.equal((await send(port, '/any/path?x=1')).status, 200);
  assert.equal(a!.stats().last?.url, '/any/path?x=1');
});

test('snapshot() of the `targets` shorthand shows one catch-all route / over the replicas', async (t) => {
  const { upstreams: [a, b], proxy } = await startRoutes(t, 2, ([a, b]) => ({ targets: [a!, b!] }));
  assert.deepEqual(proxy.snapshot().routes.map((route) => [route.match, route.targets]), [['/', [a!.url, b!.url]]]);
});

test('snapshot() follows a reload: new routes, the target that left is gone', async (t) => {
  const { upstreams: [a, b], proxy } = await startRoutes(t, 2, ([a]) => ({ routes: [{ match: '/api', targets: a! }] }));
  proxy.reload({ routes: [{ match: '/v2', targets: b!.url }] });
  const snapshot = proxy.snapshot();
  assert.deepEqual(snapshot.routes.map((route) => [route.match, route.targets]), [['/v2', [b!.url]]]);
  assert.deepEqual(snapshot.targets.map((target) => target.target), [b!.url]);
});

test('snapshot() is plain JSON', async (t) => {
  const { proxy } = await startRoutes(t, 2, ([a, b]) => ({ routes: [{ match: '/a', targets: a! }, { match: 'b.example.com/x', targets: [a!, b!] }] }));
  const snapshot = proxy.snapshot();
  assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
});
