/** The retry budget (lib/proxy/retry-budget.ts): a share of the requests in flight, with a floor. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProxy } from '../lib/index.js';
import { RetryBudget } from '../lib/proxy/retry-budget.js';

function withRequests(budget: RetryBudget, count: number): void {
  for (let i = 0; i < count; i++) budget.requestStarted();
}

test('the floor allows `min` retries at once however few requests are in flight', () => {
  const budget = new RetryBudget(20, 2);
  withRequests(budget, 2);
  assert.equal(budget.hasRoom(), true);
  budget.retryStarted();
  assert.equal(budget.hasRoom(), true);
  budget.retryStarted();
  assert.equal(budget.hasRoom(), false);
  assert.equal(budget.retries, 2);
});

test('above the floor, retries at once are a share of the requests in flight', () => {
  const budget = new RetryBudget(10, 0);
  withRequests(budget, 30);
  for (let i = 0; i < 3; i++) {
    assert.equal(budget.hasRoom(), true);
    budget.retryStarted();
  }
  assert.equal(budget.hasRoom(), false, '10% of 30 is 3');
});

test('a request that ends gives back its retry slot, and one that did not retry only its count', () => {
  const budget = new RetryBudget(0, 1);
  withRequests(budget, 2);
  budget.retryStarted();
  assert.equal(budget.hasRoom(), false);
  budget.requestEnded(false);
  assert.deepEqual([budget.requests, budget.retries], [1, 1]);
  budget.requestEnded(true);
  assert.deepEqual([budget.requests, budget.retries], [0, 0]);
  assert.equal(budget.hasRoom(), true);
});

test('configure() takes a reloaded budget; slots already taken stay taken', () => {
  const budget = new RetryBudget(0, 1);
  withRequests(budget, 1);
  budget.retryStarted();
  budget.configure(0, 3);
  assert.equal(budget.retries, 1);
  assert.equal(budget.hasRoom(), true);
});

test("the proxy's requests and retries in flight can be read, not written", () => {
  const proxy = createProxy({ target: 'http://127.0.0.1:9' });
  assert.equal(proxy.inFlight, 0);
  assert.equal(proxy.retriesInFlight, 0);
  assert.throws(() => ((proxy as unknown as { inFlight: number }).inFlight = 5), TypeError);
  assert.throws(() => ((proxy as unknown as { retriesInFlight: number }).retriesInFlight = 5), TypeError);
  assert.equal(proxy.inFlight, 0);
});
