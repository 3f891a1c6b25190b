import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Upstream } from '../fixtures/upstream.js';
import type { Proxy } from '../lib/index.js';
import { request, sleep, startProxy, targetOf, upstreams } from './targets-helpers.js';

/** Waits out the target's open period and sends the probe; returns the snapshot after it. */
async function probe(proxy: Proxy, url: string, upstream: Upstream): Promise<ReturnType<typeof targetOf>> {
  const before = targetOf(proxy, upstream);
  // On a busy machine the open period may be over already (the snapshot then reads HALF_OPEN).
  assert.notEqual(before.state, 'CLOSED');
  if (before.nextAttemptAt !== null) await sleep(Math.max(0, before.nextAttemptAt - Date.now()) + 10);
  assert.equal((await request(url)).status, 500, 'the probe reached the target');
  return targetOf(proxy, upstream);
}

test('each failed probe doubles the open period up to resetTimeoutMax (jitter 0)', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const { proxy, url } = await startProxy(t, {
    target: a!.url,
    breaker: { failureThreshold: 1, resetTimeout: 50, resetTimeoutMax: 300, jitter: 0 },
  });
  assert.equal((await request(url)).status, 500);
  let snapshot = targetOf(proxy, a!);
  assert.notEqual(snapshot.state, 'CLOSED');
  assert.deepEqual([snapshot.openPeriod, snapshot.reopenings], [50, 0]);
  const periods: number[] = [];
  const reopenings: number[] = [];
  for (let i = 0; i < 4; i++) {
    snapshot = await probe(proxy, url, a!);
    periods.push(snapshot.openPeriod);
    reopenings.push(snapshot.reopenings);
  }
  assert.deepEqual(periods, [100, 200, 300, 300]);
  assert.deepEqual(reopenings, [1, 2, 3, 4]);
  assert.equal(a!.stats().requests, 5, 'one request per probe, none while open');
});

test('the open period is capped at 10 x resetTimeout by default', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const { proxy, url } = await startProxy(t, { target: a!.url, breaker: { failureThreshold: 1, resetTimeout: 20, jitter: 0 } });
  await request(url);
  const periods: number[] = [];
  for (let i = 0; i < 5; i++) periods.push((await probe(proxy, url, a!)).openPeriod);
  assert.deepEqual(periods, [40, 80, 160, 200, 200]);
});

test('a successful probe closes the circuit and the next open period starts again from resetTimeout', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const { proxy, url } = await startProxy(t, { target: a!.url, breaker: { failureThreshold: 1, resetTimeout: 50, jitter: 0 } });
  await request(url);
  assert.equal((await probe(proxy, url, a!)).openPeriod, 100);
  await a!.setMode('ok');
  await sleep(Math.max(0, (targetOf(proxy, a!).nextAttemptAt ?? 0) - Date.now()) + 10);
  assert.equal((await request(url)).status, 200);
  const closed = targetOf(proxy, a!);
  assert.deepEqual([closed.state, closed.openPeriod, closed.reopenings], ['CLOSED', 50, 0]);
  await a!.setMode({ type: 'status', status: 500 });
  await request(url);
  const reopened = targetOf(proxy, a!);
  assert.notEqual(reopened.state, 'CLOSED');
  assert.deepEqual([reopened.openPeriod, reopened.reopenings], [50, 0]);
});

test('with the default jitter (0.1) each open period is within [p, 1.1p]', async (t) => {
  const [a] = await upstreams(t, [{ type: 'status', status: 500 }]);
  const { proxy, url } = await startProxy(t, { target: a!.url, breaker: { failureThreshold: 1, resetTimeout: 40 } });
  await request(url);
  const periods = [targetOf(proxy, a!).openPeriod];
  for (let i = 0; i < 3; i++) periods.push((await probe(proxy, url, a!)).openPeriod);
  [40, 80, 160, 320].forEach((p, i) => {
    const period = periods[i]!;
    assert.ok(period >= p && period <= p * 1.1, `open period ${i}: ${period} not within [${p}, ${p * 1.1}]`);
  });
});
