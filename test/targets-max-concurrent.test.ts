import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { request, sequential, startProxy, targetOf, until, upstreams, watchInFlight } from './targets-helpers.js';

test('with one target, a burst beyond maxConcurrent gets 503 connection_limit_reached for the excess', async (t) => {
  const [a] = await upstreams(t, [{ type: 'slow', delay: 800 }]);
  const { proxy, url } = await startProxy(t, { target: a!.url, maxConcurrent: 3 });
  const watch = watchInFlight(a!);
  t.after(() => watch.stop());
  const replies = await Promise.all(Array.from({ length: 8 }, () => request(url)));
  watch.stop();

  const refused = replies.filter((reply) => reply.status === 503);
  assert.equal(replies.filter((reply) => reply.status === 200).length, 3);
  assert.equal(refused.length, 5);
  for (const reply of refused) {
    assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=connection_limit_reached');
    assert.equal(reply.headers['retry-after'], undefined, 'a full target says nothing about when it frees up');
    assert.deepEqual(JSON.parse(reply.body), { error: 'connection_limit_reached', target: a!.url });
  }
  assert.ok(watch.max <= 3, `the upstream saw ${watch.max} requests at once`);
  assert.equal(a!.stats().requests, 3);
  const snapshot = targetOf(proxy, a!);
  assert.equal(snapshot.requests.limited, 5);
  assert.equal(snapshot.state, 'CLOSED', 'the limit is not a failure of the target');
  assert.equal(snapshot.counts.failures, 0);
});

test('with two targets, the excess over one target\'s maxConcurrent fails over to the other', async (t) => {
  const list = await upstreams(t, ['hang', 'ok']);
  const [a, b] = list;
  const { url } = await startProxy(t, { targets: list.map((u) => u.url), maxConcurrent: 2 });
  const watch = watchInFlight(a!);
  t.after(() => watch.stop());
  const abort = new AbortController();
  // Round-robin: two of these hang on the first target and fill it up.
  const hanging = Array.from({ length: 4 }, () => request(url, { signal: abort.signal }).catch(() => undefined));
  await until(() => a!.stats().inFlight === 2 && b!.stats().requests === 2, 'the first target to be full');
  const statuses = await sequential(url, 6);
  assert.deepEqual(statuses, Array(6).fill(200), 'no 503 while the other target has room');
  assert.equal(a!.stats().requests, 2);
  assert.equal(b!.stats().requests, 8);
  abort.abort();
  await Promise.all(hanging);
  watch.stop();
  assert.ok(watch.max <= 2, `the full target saw ${watch.max} requests at once`);
});

test('when both targets are at maxConcurrent the excess gets 503 connection_limit_reached', async (t) => {
  const list = await upstreams(t, [{ type: 'slow', delay: 800 }, { type: 'slow', delay: 800 }]);
  const { url } = await startProxy(t, { targets: list.map((u) => u.url), maxConcurrent: 2 });
  const replies = await Promise.all(Array.from({ length: 6 }, () => request(url)));
  const statuses = replies.map((reply) => reply.status).sort();
  assert.deepEqual(statuses, [200, 200, 200, 200, 503, 503]);
  const refused = replies.find((reply) => reply.status === 503)!;
  assert.equal(refused.headers['proxy-status'], 'proxy-breaker; error=connection_limit_reached');
  assert.deepEqual(list.map((u) => u.stats().requests), [2, 2]);
});

test('a slot frees up when a request finishes', async (t) => {
  const [a] = await upstreams(t, [{ type: 'slow', delay: 100 }]);
  const { url } = await startProxy(t, { target: a!.url, maxConcurrent: 1 });
  for (let i = 0; i < 3; i++) assert.equal((await request(url)).status, 200);
  assert.equal(a!.stats().requests, 3);
});
