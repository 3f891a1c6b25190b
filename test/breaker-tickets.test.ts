import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, CircuitState, Ticket } from '../lib/breaker/index.js';
import { breakerWithFakeTime } from './timer-helpers.js';

function open(breaker: CircuitBreaker): void {
  for (let i = 0; i < breaker.options.failureThreshold; i++) breaker.admit()!.failure(new Error('down'));
  assert.equal(breaker.state, CircuitState.OPEN);
}

test('admit() in CLOSED returns a ticket that is not a probe', () => {
  const breaker = new CircuitBreaker();
  const ticket = breaker.admit();
  assert.ok(ticket instanceof Ticket);
  assert.equal(ticket.probe, false);
  assert.equal(ticket.breaker, breaker);
  assert.equal(ticket.settled, false);
});

test('ticket.success() counts a success', () => {
  const breaker = new CircuitBreaker();
  breaker.admit()!.success();
  assert.equal(breaker.snapshot().counts.successes, 1);
  assert.equal(breaker.snapshot().counts.failures, 0);
});

test('ticket.failure(error) counts a failure and keeps the error', () => {
  const breaker = new CircuitBreaker();
  const error = new Error('down');
  breaker.admit()!.failure(error);
  assert.equal(breaker.failures, 1);
  assert.equal(breaker.snapshot().counts.failures, 1);
  assert.equal(breaker.lastError, error);
});

test('ticket.failure() trips the circuit at the threshold like call() does', () => {
  const breaker = new CircuitBreaker({ failureThreshold: 2 });
  breaker.admit()!.failure();
  assert.equal(breaker.state, CircuitState.CLOSED);
  breaker.admit()!.failure();
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('a ticket settled twice counts once', () => {
  const breaker = new CircuitBreaker({ failureThreshold: 2 });
  const ticket = breaker.admit()!;
  ticket.failure(new Error('one'));
  ticket.failure(new Error('two'));
  ticket.success();
  ticket.release();
  assert.equal(ticket.settled, true);
  assert.equal(breaker.failures, 1);
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.deepEqual(breaker.snapshot().counts, { admitted: 1, successes: 0, slowCalls: 0, failures: 1, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 });
});

test('a ticket that succeeded cannot fail afterwards', () => {
  const breaker = new CircuitBreaker({ failureThreshold: 1 });
  const ticket = breaker.admit()!;
  ticket.success();
  ticket.failure(new Error('late'));
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.snapshot().counts.failures, 0);
});

test('release() in CLOSED counts as neither success nor failure', () => {
  const breaker = new CircuitBreaker();
  breaker.admit()!.failure();
  breaker.admit()!.release();
  assert.equal(breaker.failures, 1, 'a success would have reset the count');
  assert.deepEqual(breaker.snapshot().counts, { admitted: 2, successes: 0, slowCalls: 0, failures: 1, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 });
});

test('admit() refuses with undefined while OPEN and counts a rejection', (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1 });
  open(breaker);
  assert.equal(breaker.admit(), undefined);
  assert.equal(breaker.admit(), undefined);
  assert.equal(breaker.snapshot().counts.rejections, 2);
});

test('admit() after resetTimeout returns a probe ticket', (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 500 });
  open(breaker);
  t.mock.timers.tick(500);
  const ticket = breaker.admit();
  assert.equal(ticket?.probe, true);
  assert.equal(breaker.state, CircuitState.HALF_OPEN);
});

test('retryAfter() is 0 while CLOSED', () => {
  assert.equal(new CircuitBreaker().retryAfter(), 0);
});

test('retryAfter() counts down the open period and stops at 0', (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  open(breaker);
  assert.equal(breaker.retryAfter(), 1000);
  t.mock.timers.tick(400);
  assert.equal(breaker.retryAfter(), 600);
  t.mock.timers.tick(5000);
  assert.equal(breaker.retryAfter(), 0);
});

test('retryAfter() is 0 while HALF_OPEN', (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  open(breaker);
  t.mock.timers.tick(1000);
  assert.equal(breaker.state, CircuitState.HALF_OPEN);
  assert.equal(breaker.retryAfter(), 0);
});

test('a failure reported on a CLOSED ticket after a trip and recovery is ignored', (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 100 });
  const old = breaker.admit()!;
  open(breaker);
  t.mock.timers.tick(100);
  breaker.admit()!.success();
  assert.equal(breaker.state, CircuitState.CLOSED);
  old.failure(new Error('from before the trip'));
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.failures, 0);
});
