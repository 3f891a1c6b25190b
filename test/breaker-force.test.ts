import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, CircuitState } from '../lib/breaker/index.js';
import { breakerWithFakeTime } from './timer-helpers.js';

const fail = (breaker: CircuitBreaker): Promise<void> => assert.rejects(breaker.call(() => Promise.reject(new Error('down'))));

test('forceOpen() opens a closed circuit and rejects calls without invoking fn', async (t) => {
  const breaker = breakerWithFakeTime(t);
  breaker.forceOpen();
  assert.equal(breaker.state, CircuitState.OPEN);
  const fn = t.mock.fn(() => 'never');
  await assert.rejects(breaker.call(fn), { code: 'ERR_CIRCUIT_OPEN' });
  assert.equal(fn.mock.callCount(), 0);
});

test('forceOpen() lets no probe through even long after resetTimeout', async (t) => {
  const breaker = breakerWithFakeTime(t, { resetTimeout: 1000 });
  breaker.forceOpen();
  t.mock.timers.tick(1_000_000);
  assert.equal(breaker.state, CircuitState.OPEN);
  assert.equal(breaker.admit(), undefined);
});

test('forceOpen() reports retryAfter() as the open period, which does not count down', (t) => {
  const breaker = breakerWithFakeTime(t, { resetTimeout: 1000 });
  breaker.forceOpen();
  assert.equal(breaker.retryAfter(), 1000);
  t.mock.timers.tick(5000);
  assert.equal(breaker.retryAfter(), 1000);
});

test('forceOpen() marks the snapshot forced with no nextAttemptAt', (t) => {
  const breaker = breakerWithFakeTime(t, { resetTimeout: 1000 });
  breaker.forceOpen();
  const snapshot = breaker.snapshot();
  assert.equal(snapshot.forced, true);
  assert.equal(snapshot.nextAttemptAt, null);
});

test('forceOpen() in HALF_OPEN makes the running probe count for nothing', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 100 });
  await fail(breaker);
  t.mock.timers.tick(100);
  const probe = breaker.admit()!;
  breaker.forceOpen();
  probe.success();
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('forceClose() closes a forced-open circuit and probes are normal again afterwards', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 100 });
  breaker.forceOpen();
  breaker.forceClose();
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.snapshot().forced, false);
  await fail(breaker);
  t.mock.timers.tick(100);
  assert.equal(breaker.state, CircuitState.HALF_OPEN);
});

test('forceClose() closes an open circuit and clears the failure count but keeps statistics', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 2 });
  await fail(breaker);
  await fail(breaker);
  assert.equal(breaker.state, CircuitState.OPEN);
  breaker.forceClose();
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.failures, 0);
  assert.equal(breaker.snapshot().counts.failures, 2);
  await fail(breaker);
  assert.equal(breaker.state, CircuitState.CLOSED, 'one failure is below the threshold again');
});

test('forceClose() resets the backoff', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 100, resetTimeoutMax: 1000 });
  await fail(breaker);
  t.mock.timers.tick(100);
  await fail(breaker);
  assert.equal(breaker.snapshot().openPeriod, 200);
  breaker.forceClose();
  await fail(breaker);
  assert.equal(breaker.snapshot().openPeriod, 100);
});

test('reset() closes the circuit and clears counts and statistics', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1 });
  await breaker.call(() => 'ok');
  await fail(breaker);
  await assert.rejects(breaker.call(() => 'refused'));
  breaker.reset();
  const snapshot = breaker.snapshot();
  assert.equal(snapshot.state, CircuitState.CLOSED);
  assert.equal(snapshot.failures, 0);
  assert.equal(snapshot.openedAt, null);
  assert.deepEqual(snapshot.counts, { admitted: 0, successes: 0, slowCalls: 0, failures: 0, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 });
  assert.equal(breaker.lastError, undefined);
});

test('reset() releases a forced-open circuit', (t) => {
  const breaker = breakerWithFakeTime(t);
  breaker.forceOpen();
  breaker.reset();
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.ok(breaker.admit());
});

// snapshot()

test('snapshot() of a new breaker', () => {
  assert.deepEqual(new CircuitBreaker({ resetTimeout: 500 }).snapshot(), {
    state: CircuitState.CLOSED,
    failures: 0,
    openedAt: null,
    nextAttemptAt: null,
    openPeriod: 500,
    reopenings: 0,
    probes: 0,
    forced: false,
    counts: { admitted: 0, successes: 0, slowCalls: 0, failures: 0, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 },
  });
});

test('snapshot() of an open circuit gives wall-clock openedAt and nextAttemptAt', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 2, resetTimeout: 1000 });
  t.mock.timers.setTime(1_700_000_000_000);
  await fail(breaker);
  await fail(breaker);
  t.mock.timers.tick(250);
  const snapshot = breaker.snapshot();
  assert.equal(snapshot.state, CircuitState.OPEN);
  assert.equal(snapshot.failures, 2);
  assert.equal(snapshot.openedAt, 1_700_000_000_000);
  assert.equal(snapshot.nextAttemptAt, 1_700_000_001_000);
});

test('snapshot() counts successes, failures, rejections and timeouts', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 3, callTimeout: 100 });
  await breaker.call(() => 'ok');
  await breaker.call(() => 'ok');
  await fail(breaker);
  const hanging = breaker.call(() => new Promise(() => {}));
  t.mock.timers.tick(100);
  await assert.rejects(hanging, { code: 'ERR_CALL_TIMEOUT' });
  await fail(breaker);
  await assert.rejects(breaker.call(() => 'refused'), { code: 'ERR_CIRCUIT_OPEN' });
  assert.deepEqual(breaker.snapshot().counts, { admitted: 5, successes: 2, slowCalls: 0, failures: 3, rejections: 1, timeouts: 1, probesAdmitted: 0, probesReleased: 0 });
});

test('snapshot() returns a copy of the counts', async () => {
  const breaker = new CircuitBreaker();
  const snapshot = breaker.snapshot();
  snapshot.counts.successes = 99;
  assert.equal(breaker.snapshot().counts.successes, 0);
});

test('snapshot() in HALF_OPEN shows the running probes and no nextAttemptAt', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 100, halfOpenMaxCalls: 2 });
  await fail(breaker);
  t.mock.timers.tick(100);
  breaker.admit();
  const snapshot = breaker.snapshot();
  assert.equal(snapshot.state, CircuitState.HALF_OPEN);
  assert.equal(snapshot.probes, 1);
  assert.equal(snapshot.nextAttemptAt, null);
  assert.equal(snapshot.openedAt, 0);
});
