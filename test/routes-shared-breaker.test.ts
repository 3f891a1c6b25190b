import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { send, startRoutes } from './routes-helpers.js';

const breaker = { failureThreshold: 2, resetTimeout: 60_000 };

test('two routes to the same origin share its breaker: tripping it via /a makes /b answer 503', async (t) => {
  const { upstreams: [x], proxy, port } = await startRoutes(t, 1, ([x]) => ({
    breaker,
    routes: [{ match: '/a', targets: x! }, { match: '/b', targets: x! }],
  }));
  await x!.setMode({ type: 'status', status: 500 });
  assert.equal((await send(port, '/a')).status, 500);
  assert.equal((await send(port, '/a')).status, 500);

  const refused = await send(port, '/b');
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['proxy-status'], 'proxy-breaker; error=destination_unavailable');
  assert.deepEqual(JSON.parse(refused.body), { error: 'destination_unavailable', target: x!.url });
  assert.equal(x!.stats().requests, 2, '/b never reached the open target');
  assert.equal(proxy.snapshot().targets[0]!.state, 'OPEN');
});

test('an origin shared by two routes is listed once in the snapshot, and both routes name it', async (t) => {
  const { upstreams: [x, y], proxy } = await startRoutes(t, 2, ([x, y]) => ({
    routes: [{ match: '/a', targets: x! }, { match: 'b.example.com', targets: [x!, y!] }],
  }));
  const snapshot = proxy.snapshot();
  assert.deepEqual(snapshot.targets.map((target) => target.target).sort(), [x!.url, y!.url].sort());
  assert.deepEqual(
    snapshot.routes.map((route) => [route.match, route.targets]),
    [['b.example.com', [x!.url, y!.url]], ['/a', [x!.url]]],
  );
});

test('the same origin spelt differently in two routes is one target: http://127.0.0.1:N and http://127.0.0.1:N/', async (t) => {
  const { proxy } = await startRoutes(t, 1, ([x]) => ({ routes: [{ match: '/a', targets: x! }, { match: '/b', targets: `${x!}/` }] }));
  assert.equal(proxy.snapshot().targets.length, 1);
});

test('one service failing opens only its breaker; the other routes keep answering 200', async (t) => {
  const { upstreams: [x, y, z], proxy, port } = await startRoutes(t, 3, ([x, y, z]) => ({
    breaker,
    routes: [{ match: '/x', targets: x! }, { match: '/y', targets: y! }, { match: '/', targets: z! }],
  }));
  await x!.setMode({ type: 'status', status: 503 });
  for (let i = 0; i < 2; i++) assert.equal((await send(port, '/x/1')).status, 503);
  assert.equal((await send(port, '/x/1')).status, 503);
  assert.equal(x!.stats().requests, 2);

  for (let i = 0; i < 5; i++) {
    assert.equal((await send(port, '/y/1')).status, 200);
    assert.equal((await send(port, '/other')).status, 200);
  }
  const states = Object.fromEntries(proxy.snapshot().targets.map((target) => [target.target, target.state]));
  assert.deepEqual(states, { [x!.url]: 'OPEN', [y!.url]: 'CLOSED', [z!.url]: 'CLOSED' });
});

test('a route fails over from a replica whose breaker is open to one that is closed', async (t) => {
  const { upstreams: [x, y], proxy, port } = await startRoutes(t, 2, ([x, y]) => ({
    breaker: { failureThreshold: 1, resetTimeout: 60_000 },
    routes: [{ match: '/solo', targets: x! }, { match: '/pair', targets: [x!, y!] }],
  }));
  await x!.setMode({ type: 'status', status: 500 });
  assert.equal((await send(port, '/solo')).status, 500);
  assert.equal(proxy.snapshot().targets.find((target) => target.target === x!.url)!.state, 'OPEN');
  for (let i = 0; i < 4; i++) assert.equal((await send(port, '/pair')).status, 200, 'the pair answers from its closed replica');
  assert.equal(y!.stats().requests, 4);
  assert.equal((await send(port, '/solo')).status, 503);
});

test('a route balances over its replicas round-robin', async (t) => {
  const { upstreams: [x, y], port } = await startRoutes(t, 2, ([x, y]) => ({ routes: [{ match: '/pair', targets: [x!, y!] }] }));
  for (let i = 0; i < 6; i++) assert.equal((await send(port, '/pair/item')).status, 200);
  assert.deepEqual([x!.stats().requests, y!.stats().requests], [3, 3]);
});
