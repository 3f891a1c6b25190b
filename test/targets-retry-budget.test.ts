import * as assert from 'node:assert/strict';
import { setMaxListeners } from 'node:events';
import { test, type TestContext } from 'node:test';
import type { Upstream } from '../fixtures/upstream.js';
import type { Proxy, ProxyOptions } from '../lib/index.js';
import { request, startProxy, targetOf, until, upstreams } from './targets-helpers.js';

interface Storm {
  proxy: Proxy;
  refusing: Upstream;
  hanging: Upstream;
  /** Clients that got 502 (refused and not retried). */
  failed: number;
  /** Failover retries made: the refusing target's failures that did not end as a 502. */
  retries: number;
}

/**
 * `count` concurrent GETs against a refusing target and a hanging one. Every retry lands on the
 * hanging target and stays in flight, so retries pile up and the budget is what stops them;
 * the storm is over when every request either got its 502 or hangs upstream.
 */
async function storm(t: TestContext, count: number, options: Partial<ProxyOptions>): Promise<Storm> {
  const [refusing, hanging] = await upstreams(t, ['refuse', 'hang']);
  const { proxy, url } = await startProxy(t, {
    targets: [refusing!.url, hanging!.url],
    breaker: { failureThreshold: 1000 },
    ...options,
  });
  const abort = new AbortController();
  setMaxListeners(count + 1, abort.signal);
  let failed = 0;
  const pending = Array.from({ length: count }, () =>
    request(url, { signal: abort.signal, timeout: 10_000 }).then(
      (reply) => {
        assert.equal(reply.status, 502);
        failed++;
      },
      () => undefined, // aborted below
    ),
  );
  await until(() => failed + hanging!.stats().inFlight === count, 'every request to be answered or to hang upstream');
  const retries = targetOf(proxy, refusing!).counts.failures - failed;
  assert.equal(proxy.retriesInFlight, retries, 'the retries are still in flight');
  abort.abort();
  await Promise.all(pending);
  await until(() => proxy.inFlight === 0, 'the aborted requests to finish');
  assert.equal(proxy.retriesInFlight, 0, 'finished retries give their budget back');
  return { proxy, refusing: refusing!, hanging: hanging!, failed, retries };
}

test('retryBudgetMin caps concurrent retries when the percentage allows fewer', async (t) => {
  const { retries, failed, hanging } = await storm(t, 20, { retryBudgetMin: 2, retryBudgetPercent: 0 });
  assert.equal(retries, 2);
  assert.ok(failed >= 1, 'the requests beyond the budget got 502');
  assert.equal(hanging.stats().requests, 20 - failed);
});

test('retryBudgetPercent limits concurrent retries to that share of requests in flight', async (t) => {
  // 10% of at most 20 in flight: never more than 2 retries at once, and at least the first one.
  const { retries, failed } = await storm(t, 20, { retryBudgetMin: 0, retryBudgetPercent: 10 });
  assert.ok(retries >= 1 && retries <= 2, `expected 1-2 retries, got ${retries}`);
  assert.ok(failed >= 1);
});

test('by default the retry budget allows 3 retries at once with few requests in flight', async (t) => {
  // 20% of at most 10 in flight is 2, below the minimum of 3.
  const { retries } = await storm(t, 10, {});
  assert.equal(retries, 3);
});
