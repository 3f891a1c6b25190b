import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { counts, request, sequential, since, sleep, startProxy, targetOf, upstreams } from './targets-helpers.js';

test('requests are spread round-robin over the targets', async (t) => {
  const list = await upstreams(t, ['ok', 'ok', 'ok']);
  const { url } = await startProxy(t, { targets: list.map((u) => u.url) });
  const statuses = await sequential(url, 30);
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.deepEqual(counts(list), [10, 10, 10]);
});

test('a target whose circuit is open is skipped: its traffic fails over instead of getting 503', async (t) => {
  const list = await upstreams(t, [{ type: 'status', status: 500 }, 'ok', 'ok']);
  const [a] = list;
  const { proxy, url } = await startProxy(t, {
    targets: list.map((u) => u.url),
    breaker: { failureThreshold: 1, resetTimeout: 10_000 },
  });
  // The rotation starts at the first target: this request trips it.
  assert.equal((await request(url)).status, 500);
  assert.equal(targetOf(proxy, a!).state, 'OPEN');

  const before = counts(list);
  const statuses = await sequential(url, 30);
  assert.deepEqual(new Set(statuses), new Set([200]), 'no 503 while other targets are healthy');
  const [toA, toB, toC] = since(list, before);
  assert.equal(toA, 0);
  assert.equal(toB! + toC!, 30);
});

test('with one target open, the healthy targets share its traffic evenly', async (t) => {
  const list = await upstreams(t, [{ type: 'status', status: 500 }, 'ok', 'ok']);
  const { url } = await startProxy(t, {
    targets: list.map((u) => u.url),
    breaker: { failureThreshold: 1, resetTimeout: 10_000 },
  });
  await request(url);
  const before = counts(list);
  await sequential(url, 30);
  const [, toB, toC] = since(list, before);
  // Round-robin over the targets that admit: an open target must not hand its turn to the
  // same neighbour every time (that would be a 2:1 split).
  assert.ok(Math.abs(toB! - toC!) <= 1, `expected an even split, got ${toB}:${toC}`);
});

test('when every target refuses, the client gets 503 destination_unavailable with Retry-After of the soonest probe', async (t) => {
  const list = await upstreams(t, [{ type: 'status', status: 500 }, { type: 'status', status: 500 }]);
  const [a, b] = list;
  const { proxy, url } = await startProxy(t, {
    targets: list.map((u) => u.url),
    breaker: { failureThreshold: 1, resetTimeout: 3000, jitter: 0 },
  });
  assert.equal((await request(url)).status, 500);
  assert.equal(targetOf(proxy, a!).state, 'OPEN');
  // Trip the second target about 1.2 s later: the first one's probe is due about 1.2 s sooner.
  await sleep(1200);
  assert.equal((await request(url)).status, 500);
  assert.equal(targetOf(proxy, b!).state, 'OPEN');
  const before = counts(list);

  const reply = await request(url);
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['proxy-status'], 'proxy-breaker; error=destination_unavailable');
  assert.deepEqual(JSON.parse(reply.body), { error: 'destination_unavailable', target: '/' });
  // First target: about 1.8 s left -> 2; the second one would say 3.
  assert.equal(reply.headers['retry-after'], '2');
  assert.deepEqual(since(list, before), [0, 0]);
});

test('a single open target answers 503 naming the target, with Retry-After rounded up to whole seconds', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const { url } = await startProxy(t, { target: a!.url, breaker: { failureThreshold: 1, resetTimeout: 1500, jitter: 0 } });
  await request(url);
  const reply = await request(url);
  assert.equal(reply.status, 503);
  assert.deepEqual(JSON.parse(reply.body), { error: 'destination_unavailable', target: a!.url });
  assert.equal(reply.headers['retry-after'], '2');
});
