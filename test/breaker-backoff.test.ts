import * as assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { CircuitState, type CircuitBreaker, type CircuitBreakerOptions } from '../lib/breaker/index.js';
import { breakerWithFakeTime as fakeTimeBreaker } from './timer-helpers.js';

/** Every breaker here trips at its first failure. */
function breakerWithFakeTime(t: TestContext, options: CircuitBreakerOptions = {}): CircuitBreaker {
  return fakeTimeBreaker(t, { failureThreshold: 1, ...options });
}

function failNow(breaker: CircuitBreaker): void {
  const ticket = breaker.admit();
  assert.ok(ticket, `expected a permit in ${breaker.state}`);
  ticket.failure(new Error('down'));
  assert.equal(breaker.state, CircuitState.OPEN);
}

/** Waits out the open period and fails the probe; returns the open period that followed. */
function failProbe(t: TestContext, breaker: CircuitBreaker): number {
  t.mock.timers.tick(Math.ceil(breaker.retryAfter()));
  failNow(breaker);
  return breaker.snapshot().openPeriod;
}

test('without resetTimeoutMax every open period is resetTimeout', (t) => {
  const breaker = breakerWithFakeTime(t, { resetTimeout: 100 });
  failNow(breaker);
  const periods = [1, 2, 3].map(() => failProbe(t, breaker));
  assert.deepEqual(periods, [100, 100, 100]);
});

test('consecutive failed probes double the open period up to resetTimeoutMax', (t) => {
  const breaker = breakerWithFakeTime(t, { resetTimeout: 100, resetTimeoutMax: 1000 });
  failNow(breaker);
  assert.equal(breaker.snapshot().openPeriod, 100);
  const periods = [1, 2, 3, 4, 5].map(() => failProbe(t, breaker));
  assert.deepEqual(periods, [200, 400, 800, 1000, 1000]);
  assert.equal(breaker.snapshot().reopenings, 5);
});

test('the doubled open period is what the circuit waits before the next probe', (t) => {
  const breaker = breakerWithFakeTime(t, { resetTimeout: 100, resetTimeoutMax: 1000 });
  failNow(breaker);
  t.mock.timers.tick(100);
  failNow(breaker);
  t.mock.timers.tick(199);
  assert.equal(breaker.admit(), undefined);
  t.mock.timers.tick(1);
  assert.equal(breaker.admit()?.probe, true);
});

test('a close resets the open period to resetTimeout', (t) => {
  const breaker = breakerWithFakeTime(t, { resetTimeout: 100, resetTimeoutMax: 10_000 });
  failNow(breaker);
  failProbe(t, breaker);
  failProbe(t, breaker);
  assert.equal(breaker.snapshot().openPeriod, 400);
  t.mock.timers.tick(400);
  breaker.admit()!.success();
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.snapshot().reopenings, 0);
  failNow(breaker);
  assert.equal(breaker.snapshot().openPeriod, 100);
  assert.equal(breaker.retryAfter(), 100);
});

test('thousands of failed probes keep the open period at the cap, never NaN or Infinity', (t) => {
  const breaker = breakerWithFakeTime(t, { resetTimeout: 1, resetTimeoutMax: 60_000 });
  failNow(breaker);
  for (let i = 0; i < 2000; i++) failProbe(t, breaker);
  const { openPeriod, reopenings } = breaker.snapshot();
  assert.equal(reopenings, 2000);
  assert.equal(openPeriod, 60_000);
  assert.equal(breaker.retryAfter(), 60_000);
});

test('doubling a huge resetTimeout past Number.MAX_VALUE is capped at resetTimeoutMax', (t) => {
  // Powers of two keep the mocked clock's sums exact; the fifth failed probe computes
  // 2^1019 * 2^5 = 2^1024, which overflows to Infinity before the cap applies.
  const breaker = breakerWithFakeTime(t, { resetTimeout: 2 ** 1019, resetTimeoutMax: 2 ** 1020 });
  failNow(breaker);
  const periods = [1, 2, 3, 4, 5].map(() => failProbe(t, breaker));
  assert.deepEqual(periods, Array(5).fill(2 ** 1020));
});

test('jitter adds at most period * jitter to the open period', (t) => {
  const breaker = breakerWithFakeTime(t, { resetTimeout: 1000, jitter: 0.5 });
  const random = t.mock.method(Math, 'random', () => 0);
  failNow(breaker);
  assert.equal(breaker.snapshot().openPeriod, 1000, 'random() = 0: no extra');
  random.mock.mockImplementation(() => 0.999999);
  const high = failProbe(t, breaker);
  assert.ok(high > 1499 && high <= 1500, `random() near 1: ${high}`);
  random.mock.mockImplementation(() => 0.5);
  assert.equal(failProbe(t, breaker), 1250);
});

test('jitter applies on top of the backed-off period', (t) => {
  const breaker = breakerWithFakeTime(t, { resetTimeout: 100, resetTimeoutMax: 1000, jitter: 0.1 });
  t.mock.method(Math, 'random', () => 0.5);
  failNow(breaker);
  assert.equal(breaker.snapshot().openPeriod, 105);
  assert.equal(failProbe(t, breaker), 210);
  assert.equal(failProbe(t, breaker), 420);
});

test('jitter stays within [period, period * (1 + jitter)] for any random value', (t) => {
  const breaker = breakerWithFakeTime(t, { resetTimeout: 100, resetTimeoutMax: 400, jitter: 0.25 });
  let seed = 42;
  t.mock.method(Math, 'random', () => (seed = (seed * 16807) % 2147483647) / 2147483647);
  failNow(breaker);
  for (let k = 1; k <= 20; k++) {
    const period = Math.min(100 * 2 ** k, 400);
    const openPeriod = failProbe(t, breaker);
    assert.ok(openPeriod >= period && openPeriod <= period * 1.25, `k=${k}: ${openPeriod} outside [${period}, ${period * 1.25}]`);
  }
});

test('without jitter Math.random is not used', (t) => {
  const breaker = breakerWithFakeTime(t, { resetTimeout: 100 });
  const random = t.mock.method(Math, 'random');
  failNow(breaker);
  failProbe(t, breaker);
  assert.equal(random.mock.callCount(), 0);
});
