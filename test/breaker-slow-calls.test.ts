/**
 * The slow-call rule (resilience4j's slowCallDurationThreshold / slowCallRateThreshold): calls
 * that succeed after `slowCallDuration` ms count as slow, and the circuit opens when
 * `slowCallRate`% of the calls in the window were slow, once `minRequests` calls are there.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, CircuitState, SlowCallRate } from '../lib/breaker/index.js';
import { breakerWithFakeTime } from './timer-helpers.js';

/** A call through `breaker` that resolves after `ms` of mocked time. */
async function callTaking(t: { mock: { timers: { tick(ms: number): void } } }, breaker: CircuitBreaker, ms: number): Promise<void> {
  const call = breaker.call(() => new Promise<string>((resolve) => setTimeout(() => resolve('ok'), ms)));
  t.mock.timers.tick(ms);
  await call;
}

test('SlowCallRate gives no verdict before minRequests calls, even when every one was slow', () => {
  const rule = new SlowCallRate({ percentage: 50, window: 1000, minRequests: 4 });
  assert.equal(rule.slowSuccess(0), false);
  assert.equal(rule.slowSuccess(0), false);
  assert.equal(rule.slowSuccess(0), false);
  assert.equal(rule.slowSuccess(0), true);
});

test('SlowCallRate counts fast successes and failures as calls, not as slow ones', () => {
  const rule = new SlowCallRate({ percentage: 50, window: 1000, minRequests: 4 });
  rule.success(0);
  assert.equal(rule.failure(0), false);
  rule.success(0);
  assert.equal(rule.slowSuccess(0), false, '1 slow of 4 is 25%');
  assert.deepEqual(rule.counts(0), { calls: 4, slow: 1 });
  assert.equal(rule.slowSuccess(0), false, '2 slow of 5 is 40%');
  assert.equal(rule.slowSuccess(0), true, '3 slow of 6 is 50%');
});

test('SlowCallRate forgets slow calls that left the window', () => {
  const rule = new SlowCallRate({ percentage: 50, window: 1000, minRequests: 2 });
  rule.slowSuccess(0);
  rule.success(1500);
  assert.deepEqual(rule.counts(1500), { calls: 1, slow: 0 });
});

test('the breaker opens when slowCallRate% of the calls in the window took longer than slowCallDuration', async (t) => {
  const breaker = breakerWithFakeTime(t, { slowCallDuration: 50, slowCallRate: 50, minRequests: 4, callTimeout: Infinity });
  await callTaking(t, breaker, 10);
  await callTaking(t, breaker, 100);
  await callTaking(t, breaker, 10);
  assert.equal(breaker.state, CircuitState.CLOSED);
  await callTaking(t, breaker, 100);
  assert.equal(breaker.state, CircuitState.OPEN);
  assert.equal(breaker.snapshot().counts.slowCalls, 2);
  assert.equal(breaker.snapshot().counts.successes, 4);
});

test('calls that resolve within slowCallDuration never open the circuit', async (t) => {
  const breaker = breakerWithFakeTime(t, { slowCallDuration: 50, slowCallRate: 50, minRequests: 4, callTimeout: Infinity });
  for (let i = 0; i < 10; i++) await callTaking(t, breaker, 50);
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.snapshot().counts.slowCalls, 0);
});

test('a slow call is a success for the consecutive-failure count', async (t) => {
  const breaker = breakerWithFakeTime(t, { slowCallDuration: 50, minRequests: 100, failureThreshold: 2, callTimeout: Infinity });
  await assert.rejects(breaker.call(() => Promise.reject(new Error('down'))));
  await callTaking(t, breaker, 100);
  assert.equal(breaker.failures, 0);
});

test('a slow success reported on a ticket counts toward the rule like a slow call()', () => {
  const breaker = new CircuitBreaker({ slowCallDuration: 50, slowCallRate: 100, minRequests: 2 });
  breaker.admit()!.slowSuccess();
  assert.equal(breaker.state, CircuitState.CLOSED);
  breaker.admit()!.slowSuccess();
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('without slowCallDuration a slow ticket is a plain success: no rule judges it', () => {
  const breaker = new CircuitBreaker({ minRequests: 1 });
  for (let i = 0; i < 5; i++) breaker.admit()!.slowSuccess();
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.snapshot().counts.successes, 5);
});

test('a slow probe closes a half-open circuit', async (t) => {
  const breaker = breakerWithFakeTime(t, { slowCallDuration: 50, minRequests: 1, resetTimeout: 1000 });
  breaker.forceOpen();
  breaker.forceClose();
  breaker.admit()!.slowSuccess();
  assert.equal(breaker.state, CircuitState.OPEN, 'one slow call of one opens');
  t.mock.timers.tick(1000);
  breaker.admit()!.slowSuccess();
  assert.equal(breaker.state, CircuitState.CLOSED);
});

test('slowCallDuration and slowCallRate are validated with the other options', () => {
  assert.throws(() => new CircuitBreaker({ slowCallDuration: 0 }), { code: 'ERR_INVALID_CONFIG', path: 'slowCallDuration' });
  assert.throws(() => new CircuitBreaker({ slowCallRate: 101 }), { code: 'ERR_INVALID_CONFIG', path: 'slowCallRate' });
});
