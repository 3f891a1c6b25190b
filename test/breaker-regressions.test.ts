// Failure modes reported against other circuit breakers, one test each, named after the report.
import * as assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { CircuitBreaker, CircuitState, type StateChangeEvent } from '../lib/breaker/index.js';
import { CallTimeoutError } from '../lib/errors.js';
import { breakerWithFakeTime, deferred } from './timer-helpers.js';

async function halfOpen(t: TestContext, breaker: CircuitBreaker): Promise<void> {
  await assert.rejects(breaker.call(() => Promise.reject(new Error('trip'))));
  t.mock.timers.tick(breaker.options.resetTimeout);
  assert.equal(breaker.state, CircuitState.HALF_OPEN);
}

const never = <T = never>(): Promise<T> => new Promise<T>(() => {});

test('opossum#119 / Polly#216: several calls at once in HALF_OPEN let only one probe through', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  await halfOpen(t, breaker);
  let invoked = 0;
  const results = await Promise.allSettled(
    Array.from({ length: 5 }, () =>
      breaker.call(async () => {
        invoked++;
        return 'probe';
      }),
    ),
  );
  assert.equal(invoked, 1);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  assert.equal(results.filter((r) => r.status === 'rejected').length, 4);
});

test('opossum#385: two failures landing together at threshold 1 open once and still go HALF_OPEN', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  const changes: StateChangeEvent[] = [];
  breaker.on('stateChange', (event) => changes.push(event));
  let rejectAll!: (error: Error) => void;
  const together = new Promise<never>((_, reject) => {
    rejectAll = reject;
  });
  const first = breaker.call(() => together);
  const second = breaker.call(() => together);
  rejectAll(new Error('both fail'));
  await assert.rejects(first);
  await assert.rejects(second);
  assert.deepEqual(
    changes.map(({ from, to }) => [from, to]),
    [[CircuitState.CLOSED, CircuitState.OPEN]],
  );
  t.mock.timers.tick(1000);
  assert.equal(breaker.state, CircuitState.HALF_OPEN);
  assert.equal(await breaker.call(() => 'probe'), 'probe');
  assert.equal(breaker.state, CircuitState.CLOSED);
});

test('Polly#1979: a probe that throws synchronously does not leave the circuit stuck HALF_OPEN', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  await halfOpen(t, breaker);
  await assert.rejects(
    breaker.call((): never => {
      throw new TypeError('sync bug in the probe');
    }),
    TypeError,
  );
  assert.equal(breaker.state, CircuitState.OPEN);
  t.mock.timers.tick(1000);
  assert.equal(await breaker.call(() => 'next probe'), 'next probe');
});

test('stuck HALF_OPEN: a hanging probe fails at its call timeout so another probe can go', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000, callTimeout: 300 });
  await halfOpen(t, breaker);
  const probe = breaker.call(never);
  await assert.rejects(breaker.call(() => 'refused'), { code: 'ERR_CIRCUIT_OPEN' });
  t.mock.timers.tick(300);
  await assert.rejects(probe, CallTimeoutError);
  t.mock.timers.tick(1000);
  assert.equal(await breaker.call(() => 'next probe'), 'next probe');
  assert.equal(breaker.state, CircuitState.CLOSED);
});

test('stuck HALF_OPEN: an abandoned probe released with ticket.release() lets another probe go', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  await halfOpen(t, breaker);
  const abandoned = breaker.admit()!;
  await assert.rejects(breaker.call(() => 'refused'), { code: 'ERR_CIRCUIT_OPEN' });
  abandoned.release();
  assert.equal(await breaker.call(() => 'next probe'), 'next probe');
  assert.equal(breaker.state, CircuitState.CLOSED);
});

test('Polly#217: a slow success admitted while CLOSED that resolves after the circuit opened does not close it', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000, callTimeout: Infinity });
  const slowCall = deferred<string>();
  const slow = breaker.call(() => slowCall.promise);
  await assert.rejects(breaker.call(() => Promise.reject(new Error('trip'))));
  assert.equal(breaker.state, CircuitState.OPEN);
  slowCall.resolve('slow');
  assert.equal(await slow, 'slow', 'the caller still gets its value');
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('Polly#217: a slow success admitted while CLOSED does not close a HALF_OPEN circuit either', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000, callTimeout: Infinity });
  const slowCall = deferred<string>();
  const slow = breaker.call(() => slowCall.promise);
  await halfOpen(t, breaker);
  const probe = breaker.call(never);
  slowCall.resolve('slow');
  await slow;
  assert.equal(breaker.state, CircuitState.HALF_OPEN);
  assert.equal(breaker.snapshot().probes, 1, 'the real probe still holds its permit');
  void probe;
});

test('opossum#780: one call timing out does not abort the signals of the other calls', async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 100, failureThreshold: 10 });
  const signals: AbortSignal[] = [];
  const slow = breaker.call((signal) => {
    signals.push(signal);
    return never();
  });
  t.mock.timers.tick(10);
  let finishFast!: () => void;
  const fast = breaker.call(
    (signal) =>
      new Promise<void>((resolve) => {
        signals.push(signal);
        finishFast = resolve;
      }),
  );
  const later = breaker.call((signal) => {
    signals.push(signal);
    return never();
  });
  t.mock.timers.tick(90);
  await assert.rejects(slow, CallTimeoutError);
  assert.deepEqual(
    signals.map((s) => s.aborted),
    [true, false, false],
  );
  finishFast();
  await fast;
  assert.equal(signals[1]!.aborted, false);
  void later.catch(() => {});
});
