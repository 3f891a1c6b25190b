import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, CircuitState } from '../lib/breaker/index.js';
import { CircuitBreakerOpenError } from '../lib/errors.js';
import { breakerWithFakeTime } from './timer-helpers.js';

// Mocked Date drives the state machine (through the injected clock), mocked setTimeout the call timeouts.

const boom = new Error('boom');
const failing = (): Promise<never> => Promise.reject(boom);
const succeeding = (): Promise<string> => Promise.resolve('ok');

async function fail(breaker: CircuitBreaker, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await assert.rejects(breaker.call(failing), boom);
}

test('a new breaker is CLOSED with no failures', () => {
  const breaker = new CircuitBreaker();
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.failures, 0);
});

test('opens at exactly failureThreshold consecutive failures', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 3 });
  await fail(breaker, 2);
  assert.equal(breaker.state, CircuitState.CLOSED);
  await fail(breaker);
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('failureThreshold - 1 failures keep it CLOSED', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 5 });
  await fail(breaker, 4);
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.failures, 4);
});

test('a success resets the consecutive failure count', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 3 });
  await fail(breaker, 2);
  assert.equal(await breaker.call(succeeding), 'ok');
  assert.equal(breaker.failures, 0);
  await fail(breaker, 2);
  assert.equal(breaker.state, CircuitState.CLOSED);
});

test('OPEN rejects at once with CircuitBreakerOpenError without invoking fn', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1 });
  await fail(breaker);
  const fn = t.mock.fn(succeeding);
  await assert.rejects(breaker.call(fn), (error: unknown) => {
    assert.ok(error instanceof CircuitBreakerOpenError);
    assert.equal(error.code, 'ERR_CIRCUIT_OPEN');
    assert.equal(error.name, 'CircuitBreakerOpenError');
    return true;
  });
  assert.equal(fn.mock.callCount(), 0);
});

test('the open error carries the time left until a probe in retryAfterMs', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  await fail(breaker);
  t.mock.timers.tick(300);
  await assert.rejects(breaker.call(succeeding), { code: 'ERR_CIRCUIT_OPEN', retryAfterMs: 700 });
  assert.equal(breaker.retryAfter(), 700);
});

test('OPEN still rejects 1 ms before resetTimeout has passed', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  await fail(breaker);
  t.mock.timers.tick(999);
  await assert.rejects(breaker.call(succeeding), { code: 'ERR_CIRCUIT_OPEN', retryAfterMs: 1 });
});

test('after resetTimeout the next call is a probe made in HALF_OPEN', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  await fail(breaker);
  t.mock.timers.tick(1000);
  let stateDuringCall: CircuitState | undefined;
  await breaker.call(() => {
    stateDuringCall = breaker.state;
    return succeeding();
  });
  assert.equal(stateDuringCall, CircuitState.HALF_OPEN);
});

test('reading state after resetTimeout moves OPEN to HALF_OPEN', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  await fail(breaker);
  t.mock.timers.tick(1000);
  assert.equal(breaker.state, CircuitState.HALF_OPEN);
});

test('a successful probe closes the circuit and resets the failure count', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 2, resetTimeout: 1000 });
  await fail(breaker, 2);
  assert.equal(breaker.failures, 2);
  t.mock.timers.tick(1000);
  await breaker.call(succeeding);
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.failures, 0);
  await fail(breaker);
  assert.equal(breaker.state, CircuitState.CLOSED, 'one failure after the close is below the threshold of 2');
});

test('a failed probe re-opens the circuit for another resetTimeout', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  await fail(breaker);
  t.mock.timers.tick(1000);
  await fail(breaker);
  assert.equal(breaker.state, CircuitState.OPEN);
  assert.equal(breaker.retryAfter(), 1000);
  t.mock.timers.tick(999);
  await assert.rejects(breaker.call(succeeding), { code: 'ERR_CIRCUIT_OPEN' });
  t.mock.timers.tick(1);
  assert.equal(await breaker.call(succeeding), 'ok');
  assert.equal(breaker.state, CircuitState.CLOSED);
});

test('a synchronous function that throws counts as a failure', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1 });
  await assert.rejects(
    breaker.call(() => {
      throw boom;
    }),
    boom,
  );
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('lastError is the error of the last failure', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 5 });
  assert.equal(breaker.lastError, undefined);
  await fail(breaker);
  assert.equal(breaker.lastError, boom);
});

test('failureThreshold Infinity never opens on consecutive failures', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: Infinity });
  await fail(breaker, 50);
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.failures, 50);
});
