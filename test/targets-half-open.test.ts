import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { counts, request, since, sleep, startProxy, targetOf, until, upstreams } from './targets-helpers.js';

test('a half-open target receives only its probe; the rest of the traffic goes to the other target', async (t) => {
  const list = await upstreams(t, [{ type: 'status', status: 500 }, 'ok']);
  const [a, b] = list;
  const { proxy, url } = await startProxy(t, {
    targets: list.map((u) => u.url),
    breaker: { failureThreshold: 1, resetTimeout: 100, jitter: 0 },
  });
  assert.equal((await request(url)).status, 500);
  assert.notEqual(targetOf(proxy, a!).state, 'CLOSED');
  // The probe will take a while, so every other request arrives while it is running.
  await a!.setMode({ type: 'slow', delay: 500 });
  await sleep(150);

  const before = counts(list);
  const replies = Promise.all(Array.from({ length: 10 }, () => request(url)));
  await until(() => targetOf(proxy, a!).state === 'HALF_OPEN' && since(list, before)[1] === 9, 'the probe and 9 requests elsewhere');
  assert.equal(targetOf(proxy, a!).probes, 1);
  assert.equal(since(list, before)[0], 1, 'exactly one request (the probe) reached the half-open target');

  const statuses = (await replies).map((reply) => reply.status);
  assert.deepEqual(statuses, Array(10).fill(200));
  assert.deepEqual(since(list, before), [1, 9]);
  assert.equal(targetOf(proxy, a!).state, 'CLOSED', 'the successful probe closed the circuit');
  assert.equal(b!.stats().requests, 9 + before[1]!);
});

test('halfOpenMaxCalls lets that many probes through at once, no more', async (t) => {
  const list = await upstreams(t, [{ type: 'status', status: 500 }, 'ok']);
  const [a] = list;
  const { proxy, url } = await startProxy(t, {
    targets: list.map((u) => u.url),
    breaker: { failureThreshold: 1, resetTimeout: 100, jitter: 0, halfOpenMaxCalls: 2 },
  });
  await request(url);
  await a!.setMode({ type: 'slow', delay: 400 });
  await sleep(150);
  const before = counts(list);
  const replies = await Promise.all(Array.from({ length: 12 }, () => request(url)));
  assert.deepEqual(replies.map((reply) => reply.status), Array(12).fill(200));
  assert.deepEqual(since(list, before), [2, 10]);
  assert.equal(targetOf(proxy, a!).state, 'CLOSED');
});

test('a failed probe opens the circuit again and traffic stays on the healthy target', async (t) => {
  const list = await upstreams(t, [{ type: 'status', status: 500 }, 'ok']);
  const [a] = list;
  const { proxy, url } = await startProxy(t, {
    targets: list.map((u) => u.url),
    // The failed probe opens it for 2 x 300 ms: long enough for the 10 requests after it.
    breaker: { failureThreshold: 1, resetTimeout: 300, jitter: 0 },
  });
  await request(url);
  await sleep(350);
  const before = counts(list);
  const statuses = [];
  for (let i = 0; i < 10; i++) statuses.push((await request(url)).status);
  // The probe's own 500 is relayed to its client; everything else went to the healthy target.
  assert.deepEqual(statuses.filter((s) => s === 500).length, 1);
  assert.deepEqual(since(list, before), [1, 9]);
  const snapshot = targetOf(proxy, a!);
  assert.equal(snapshot.state, 'OPEN');
  assert.equal(snapshot.reopenings, 1);
});
