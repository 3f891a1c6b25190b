import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { test } from 'node:test';
import type { Upstream } from '../fixtures/upstream.js';
import { ConfigError } from '../lib/errors.js';
import { echo, send, startRoutes, waitFor } from './routes-helpers.js';

const hostOf = (upstream: Upstream): string => new URL(upstream.url).host;

test('reload under load: 10 keep-alive clients see no failed request while /api moves from A to B', async (t) => {
  const { upstreams: [a, b], proxy, port } = await startRoutes(t, 2, ([a, b]) => ({ routes: [{ match: '/api', targets: a! }, { match: '/', targets: b! }] }));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  t.after(() => agent.destroy());

  let reloaded = false;
  const failures: string[] = [];
  const afterReload: string[] = [];
  let total = 0;
  const stopAt = performance.now() + 1000;
  const client = async (id: number): Promise<void> => {
    for (let n = 0; performance.now() < stopAt; n++) {
      const sentAfterReload = reloaded;
      try {
        const reply = await send(port, `/api/client/${id}/${n}`, { agent, timeout: 2000 });
        total++;
        if (reply.status !== 200) failures.push(`${reply.status} ${reply.body}`);
        else if (sentAfterReload) afterReload.push(echo(reply).headers.host!);
      } catch (error) {
        failures.push(String(error));
      }
    }
  };
  const clients = Array.from({ length: 10 }, (_, id) => client(id));
  await new Promise((resolve) => setTimeout(resolve, 400));
  const beforeReload = a.stats().requests;
  proxy.reload({ routes: [{ match: '/api', targets: b!.url }, { match: '/', targets: b!.url }] });
  reloaded = true;
  await Promise.all(clients);

  assert.deepEqual(failures, [], `${failures.length} of ${total} requests failed`);
  assert.ok(beforeReload > 0, 'A served /api before the reload');
  assert.ok(afterReload.length > 0, 'requests were made after the reload');
  assert.deepEqual(new Set(afterReload), new Set([hostOf(b!)]), 'every request sent after the reload went to B');
  assert.ok(a.stats().requests - beforeReload <= 10, 'A got at most the requests in flight at the reload');
  t.diagnostic(`${total} requests, ${afterReload.length} after the reload`);
});

test('after reload, requests go to the new target', async (t) => {
  const { upstreams: [a, b], proxy, port } = await startRoutes(t, 2, ([a]) => ({ routes: [{ match: '/api', targets: a! }] }));
  assert.equal(echo(await send(port, '/api/x')).headers.host, hostOf(a!));
  proxy.reload({ routes: [{ match: '/api', targets: b!.url, stripPrefix: true }] });
  const reply = echo(await send(port, '/api/x'));
  assert.equal(reply.headers.host, hostOf(b!));
  assert.equal(reply.url, '/x', 'the new route options apply too');
  assert.equal(a!.stats().requests, 1);
});

test('after reload, a removed route answers 404 and a new one answers', async (t) => {
  const { upstreams: [a, b], proxy, port } = await startRoutes(t, 2, ([a]) => ({ routes: [{ match: '/old', targets: a! }] }));
  proxy.reload({ routes: [{ match: '/new', targets: b!.url }] });
  assert.equal((await send(port, '/old')).status, 404);
  assert.equal(echo(await send(port, '/new')).headers.host, hostOf(b!));
});

test('a target that remains across a reload keeps its breaker state: tripped before, still OPEN after', async (t) => {
  const { upstreams: [a, b, c], proxy, port } = await startRoutes(t, 3, ([a, b]) => ({
    breaker: { failureThreshold: 2, resetTimeout: 60_000 },
    routes: [{ match: '/api', targets: a! }, { match: '/admin', targets: b! }],
  }));
  await b!.setMode({ type: 'status', status: 500 });
  await send(port, '/admin');
  await send(port, '/admin');
  const before = proxy.snapshot().targets.find((target) => target.target === b!.url)!;
  assert.equal(before.state, 'OPEN');

  proxy.reload({
    breaker: { failureThreshold: 2, resetTimeout: 60_000 },
    routes: [{ match: '/api', targets: a!.url }, { match: '/admin', targets: b!.url }, { match: '/new', targets: c!.url }],
  });
  const after = proxy.snapshot().targets.find((target) => target.target === b!.url)!;
  assert.equal(after.state, 'OPEN');
  assert.equal(after.openedAt, before.openedAt);
  assert.deepEqual(after.counts, before.counts);
  assert.equal((await send(port, '/admin')).status, 503);
  assert.equal(b!.stats().requests, 2);
});

test('a reload applies new breaker thresholds to a target that remains, keeping its failure count', async (t) => {
  const { upstreams: [a], proxy, port } = await startRoutes(t, 1, ([a]) => ({ breaker: { failureThreshold: 5 }, target: a! }));
  await a!.setMode({ type: 'status', status: 500 });
  await send(port, '/');
  await send(port, '/');
  assert.equal(proxy.snapshot().targets[0]!.failures, 2);
  proxy.reload({ breaker: { failureThreshold: 3 }, target: a!.url });
  assert.equal(proxy.snapshot().targets[0]!.state, 'CLOSED');
  assert.equal(proxy.snapshot().targets[0]!.failures, 2);
  await send(port, '/');
  // The third failure trips the new threshold of 3; the old one would have needed 5.
  assert.equal(proxy.snapshot().targets[0]!.state, 'OPEN');
  assert.equal((await send(port, '/')).status, 503);
});

test('a target that moves to another route keeps its breaker state', async (t) => {
  const { upstreams: [a], proxy, port } = await startRoutes(t, 1, ([a]) => ({
    breaker: { failureThreshold: 1, resetTimeout: 60_000 },
    routes: [{ match: '/api', targets: a! }],
  }));
  await a!.setMode({ type: 'status', status: 500 });
  await send(port, '/api');
  proxy.reload({ breaker: { failureThreshold: 1, resetTimeout: 60_000 }, routes: [{ match: '/v2', targets: a!.url }] });
  assert.equal((await send(port, '/v2')).status, 503);
});

test('an invalid config on reload throws ConfigError with its path, and the old routes stay in force', async (t) => {
  const { upstreams: [a, b], proxy, port } = await startRoutes(t, 2, ([a]) => ({ routes: [{ match: '/api', targets: a! }] }));
  const before = proxy.snapshot();
  assert.throws(
    () => proxy.reload({ routes: [{ match: '/api', targets: b!.url }, { match: '/x', targets: ['ftp://x'] }] }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, 'ERR_INVALID_CONFIG');
      assert.equal(error.path, 'routes[1].targets[0]');
      assert.equal(error.message, 'routes[1].targets[0]: "ftp://x" is not an http(s) URL');
      return true;
    },
  );
  assert.equal(echo(await send(port, '/api')).headers.host, hostOf(a!));
  assert.equal(b!.stats().requests, 0);
  assert.deepEqual(proxy.snapshot().routes, before.routes);
  assert.deepEqual(proxy.snapshot().targets.map((target) => target.target), [a!.url]);
});

test('an invalid config on reload does not touch the targets that would have left', async (t) => {
  const { upstreams: [a], proxy, port } = await startRoutes(t, 1, ([a]) => ({ routes: [{ match: '/api', targets: a! }] }));
  assert.equal((await send(port, '/api')).status, 200);
  await waitFor(() => a!.stats().connections === 1, 'a keep-alive connection to A');
  assert.throws(() => proxy.reload({ routes: [{ match: '/api', targets: 'http://127.0.0.1:1', stripprefix: true } as never] }), ConfigError);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(a!.stats().connections, 1, "A's pooled connection is still open");
  assert.equal((await send(port, '/api')).status, 200);
});

test('a target that left is closed once idle: its in-flight request to a slow fixture still completes with 200', async (t) => {
  const { upstreams: [a, b], proxy, port } = await startRoutes(t, 2, ([a]) => ({ routes: [{ match: '/api', targets: a! }] }));
  await a!.setMode({ type: 'slow', delay: 300 });
  const inFlight = send(port, '/api/slow');
  await waitFor(() => a!.stats().inFlight === 1, 'the slow request to reach A');

  proxy.reload({ routes: [{ match: '/api', targets: b!.url }] });
  assert.deepEqual(proxy.snapshot().targets.map((target) => target.target), [b!.url], 'A left the configuration');
  assert.equal(echo(await send(port, '/api/fast')).headers.host, hostOf(b!), 'new requests go to B meanwhile');
  assert.equal(a!.stats().connections, 1, "A's connection is kept while its request is in flight");

  const reply = await inFlight;
  assert.equal(reply.status, 200);
  assert.equal(echo(reply).headers.host, hostOf(a!));
  await waitFor(() => a!.stats().connections === 0, "A's keep-alive connection to be closed once idle");
});

test('a target that left while idle has its pooled connections closed at once', async (t) => {
  const { upstreams: [a, b], proxy, port } = await startRoutes(t, 2, ([a]) => ({ routes: [{ match: '/api', targets: a! }] }));
  assert.equal((await send(port, '/api')).status, 200);
  await waitFor(() => a!.stats().connections === 1, 'the pooled keep-alive connection to A');
  proxy.reload({ routes: [{ match: '/api', targets: b!.url }] });
  await waitFor(() => a!.stats().connections === 0, "A's pooled connection to be closed");
});

test('a target that comes back after it left starts with a fresh breaker', async (t) => {
  const { upstreams: [a, b], proxy, port } = await startRoutes(t, 2, ([a]) => ({
    breaker: { failureThreshold: 1, resetTimeout: 60_000 },
    routes: [{ match: '/api', targets: a! }],
  }));
  await a!.setMode({ type: 'status', status: 500 });
  await send(port, '/api');
  await a!.setMode('ok');
  proxy.reload({ breaker: { failureThreshold: 1, resetTimeout: 60_000 }, routes: [{ match: '/api', targets: b!.url }] });
  proxy.reload({ breaker: { failureThreshold: 1, resetTimeout: 60_000 }, routes: [{ match: '/api', targets: a!.url }] });
  assert.equal(proxy.snapshot().targets[0]!.state, 'CLOSED');
  assert.equal((await send(port, '/api')).status, 200);
});

test('repeated reloads under load: flipping /api between A and B every 100 ms fails no request', async (t) => {
  const { upstreams: [a, b], proxy, port } = await startRoutes(t, 2, ([a]) => ({ routes: [{ match: '/api', targets: a! }] }));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  t.after(() => agent.destroy());

  let current = a!;
  let generation = 0;
  const failures: string[] = [];
  const misrouted: string[] = [];
  let checked = 0;
  const stopAt = performance.now() + 1000;
  const client = async (id: number): Promise<void> => {
    for (let n = 0; performance.now() < stopAt; n++) {
      const expected = hostOf(current);
      const sentIn = generation;
      try {
        const reply = await send(port, `/api/${id}/${n}`, { agent, timeout: 2000 });
        if (reply.status !== 200) failures.push(`${reply.status} ${reply.body}`);
        else if (generation === sentIn) {
          // No reload between sending and the answer: only the config in force can have routed it.
          checked++;
          if (echo(reply).headers.host !== expected) misrouted.push(`${id}/${n}`);
        }
      } catch (error) {
        failures.push(String(error));
      }
    }
  };
  const clients = Array.from({ length: 10 }, (_, id) => client(id));
  const flips = setInterval(() => {
    current = current === a ? b! : a!;
    proxy.reload({ routes: [{ match: '/api', targets: current.url }] });
    generation++;
  }, 100);
  try {
    await Promise.all(clients);
  } finally {
    clearInterval(flips);
  }
  assert.deepEqual(failures, []);
  assert.deepEqual(misrouted, [], 'each request went to the target of the config in force');
  assert.ok(checked > 0);
  assert.ok(generation >= 5, `${generation} reloads`);
  assert.ok(a!.stats().requests > 0 && b!.stats().requests > 0);
});
