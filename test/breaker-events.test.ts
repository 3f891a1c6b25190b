import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, CircuitState, type StateChangeEvent } from '../lib/breaker/index.js';
import { CallTimeoutError, CircuitBreakerOpenError } from '../lib/errors.js';
import { breakerWithFakeTime } from './timer-helpers.js';

/** Records every event the breaker emits, in order. */
function record(breaker: CircuitBreaker): string[] {
  const log: string[] = [];
  breaker.on('stateChange', ({ from, to }) => log.push(`${from}->${to}`));
  breaker.on('success', () => log.push('success'));
  breaker.on('failure', () => log.push('failure'));
  breaker.on('reject', () => log.push('reject'));
  breaker.on('timeout', () => log.push('timeout'));
  return log;
}

const down = new Error('down');
const fail = (breaker: CircuitBreaker): Promise<void> => assert.rejects(breaker.call(() => Promise.reject(down)));

test('stateChange fires CLOSED->OPEN->HALF_OPEN->CLOSED in order over a full cycle', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 100 });
  const changes: Array<[string, string]> = [];
  breaker.on('stateChange', ({ from, to }) => changes.push([from, to]));
  await fail(breaker);
  t.mock.timers.tick(100);
  await breaker.call(() => 'probe');
  assert.deepEqual(changes, [
    [CircuitState.CLOSED, CircuitState.OPEN],
    [CircuitState.OPEN, CircuitState.HALF_OPEN],
    [CircuitState.HALF_OPEN, CircuitState.CLOSED],
  ]);
});

test('stateChange fires HALF_OPEN->OPEN when a probe fails', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 100 });
  await fail(breaker);
  t.mock.timers.tick(100);
  const changes: StateChangeEvent[] = [];
  breaker.on('stateChange', (event) => changes.push(event));
  await fail(breaker);
  assert.equal(changes.at(-1)?.from, CircuitState.HALF_OPEN);
  assert.equal(changes.at(-1)?.to, CircuitState.OPEN);
});

test('the opening stateChange carries the failure count and the error that tripped it', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 2 });
  const changes: StateChangeEvent[] = [];
  breaker.on('stateChange', (event) => changes.push(event));
  await fail(breaker);
  await fail(breaker);
  assert.deepEqual(changes, [{ from: CircuitState.CLOSED, to: CircuitState.OPEN, failures: 2, error: down }]);
});

test('a stateChange without a causing error has no error key', async (t) => {
  const breaker = breakerWithFakeTime(t);
  const changes: StateChangeEvent[] = [];
  breaker.on('stateChange', (event) => changes.push(event));
  breaker.forceOpen();
  breaker.forceClose();
  assert.deepEqual(changes, [
    { from: CircuitState.CLOSED, to: CircuitState.OPEN, failures: 0 },
    { from: CircuitState.OPEN, to: CircuitState.CLOSED, failures: 0 },
  ]);
});

test('forcing the state it already has emits no stateChange', (t) => {
  const breaker = breakerWithFakeTime(t);
  const log = record(breaker);
  breaker.forceClose();
  breaker.forceOpen();
  breaker.forceOpen();
  assert.deepEqual(log, ['CLOSED->OPEN']);
});

test('success and failure events fire per call', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 5 });
  const log = record(breaker);
  await breaker.call(() => 'ok');
  await fail(breaker);
  assert.deepEqual(log, ['success', 'failure']);
});

test('the failure event carries the error', async (t) => {
  const breaker = breakerWithFakeTime(t);
  const errors: unknown[] = [];
  breaker.on('failure', (error) => errors.push(error));
  await fail(breaker);
  assert.deepEqual(errors, [down]);
});

test('the reject event fires with a CircuitBreakerOpenError for each refused call', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  await fail(breaker);
  const rejections: CircuitBreakerOpenError[] = [];
  breaker.on('reject', (error) => rejections.push(error));
  t.mock.timers.tick(400);
  await assert.rejects(breaker.call(() => 'refused'));
  assert.equal(breaker.admit(), undefined);
  assert.equal(rejections.length, 2);
  assert.ok(rejections[0] instanceof CircuitBreakerOpenError);
  assert.equal(rejections[0].retryAfterMs, 600);
});

test('the timeout event fires with the CallTimeoutError, before the failure it causes', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, callTimeout: 100 });
  const log = record(breaker);
  let timeoutError: unknown;
  breaker.on('timeout', (error) => (timeoutError = error));
  const promise = breaker.call(() => new Promise(() => {}));
  t.mock.timers.tick(100);
  await assert.rejects(promise, (error) => error === timeoutError);
  assert.ok(timeoutError instanceof CallTimeoutError);
  assert.deepEqual(log, ['timeout', 'failure', 'CLOSED->OPEN']);
});

test('events of a full cycle come in order', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 2, resetTimeout: 100 });
  const log = record(breaker);
  await breaker.call(() => 'ok');
  await fail(breaker);
  await fail(breaker);
  await assert.rejects(breaker.call(() => 'refused'));
  t.mock.timers.tick(100);
  await breaker.call(() => 'probe');
  assert.deepEqual(log, ['success', 'failure', 'failure', 'CLOSED->OPEN', 'reject', 'OPEN->HALF_OPEN', 'success', 'HALF_OPEN->CLOSED']);
});

test('a late result from an earlier state emits no event', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, callTimeout: Infinity });
  const stale = breaker.admit()!;
  await fail(breaker);
  const log = record(breaker);
  stale.success();
  assert.deepEqual(log, []);
});

test('per-call events reach listeners added later and stop once they are removed', async () => {
  const breaker = new CircuitBreaker();
  await breaker.call(async () => 1); // before any listener: nothing to emit
  const seen: string[] = [];
  const onSuccess = (): void => {
    seen.push('success');
  };
  breaker.on('success', onSuccess);
  breaker.once('failure', () => seen.push('failure'));
  await breaker.call(async () => 1);
  await breaker.call(() => Promise.reject(new Error('down'))).catch(() => undefined);
  await breaker.call(() => Promise.reject(new Error('down'))).catch(() => undefined); // the once listener is gone
  breaker.off('success', onSuccess);
  await breaker.call(async () => 1);
  assert.deepEqual(seen, ['success', 'failure']);
});
