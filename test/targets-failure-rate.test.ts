import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { request, sequential, sleep, startProxy, targetOf, upstreams } from './targets-helpers.js';

const FAILS_EVERY_OTHER = { type: 'flaky', every: 2 } as const;

test('the consecutive rule alone misses a target that fails every other request', async (t) => {
  const [a] = await upstreams(t, [FAILS_EVERY_OTHER]);
  const { proxy, url } = await startProxy(t, { target: a!.url, breaker: { failureThreshold: 5 } });
  const statuses = await sequential(url, 30);
  assert.equal(statuses.filter((s) => s === 500).length, 15);
  const snapshot = targetOf(proxy, a!);
  assert.equal(snapshot.state, 'CLOSED');
  assert.equal(snapshot.counts.failures, 15);
});

test('failureRate 50 over 10 requests opens the circuit of a target failing every other request', async (t) => {
  const [a] = await upstreams(t, [FAILS_EVERY_OTHER]);
  const { proxy, url } = await startProxy(t, {
    target: a!.url,
    breaker: { failureThreshold: 5, failureRate: 50, window: 1000, minRequests: 10, resetTimeout: 10_000 },
  });
  await sequential(url, 9);
  assert.equal(targetOf(proxy, a!).state, 'CLOSED', 'fewer than minRequests: no verdict');
  assert.equal((await request(url)).status, 500, 'the 10th request is the 5th failure');
  assert.equal(targetOf(proxy, a!).state, 'OPEN');
  assert.equal((await request(url)).status, 503);
  assert.equal(a!.stats().requests, 10);
});

test('failures older than the window no longer count after an idle gap', async (t) => {
  const [a] = await upstreams(t, [FAILS_EVERY_OTHER]);
  const { proxy, url } = await startProxy(t, {
    target: a!.url,
    breaker: { failureThreshold: 5, failureRate: 50, window: 1000, minRequests: 10, resetTimeout: 10_000 },
  });
  await sequential(url, 8); // 4 failures of 8
  await sleep(1150);
  // Counting the old 8, these 2 (one failure) would make 5 of 10 and open the circuit.
  await sequential(url, 2);
  assert.equal(targetOf(proxy, a!).state, 'CLOSED');
  // The window now holds 2; 7 more make 9, still short of minRequests...
  await sequential(url, 7);
  assert.equal(targetOf(proxy, a!).state, 'CLOSED');
  // ...and the 10th in the window (a failure: 5 of 10) opens it.
  assert.equal((await request(url)).status, 500);
  assert.equal(targetOf(proxy, a!).state, 'OPEN');
});
