import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, CircuitState } from '../lib/breaker/index.js';
import { CallTimeoutError, CircuitBreakerOpenError } from '../lib/errors.js';
import { breakerWithFakeTime, deferred, liveTimers } from './timer-helpers.js';

/** Lets settled promises run their callbacks (setImmediate is not mocked). */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const never = <T = never>(): Promise<T> => new Promise<T>(() => {});

test('call() resolves with the value of an async function', async () => {
  const breaker = new CircuitBreaker();
  assert.deepEqual(await breaker.call(async () => ({ answer: 42 })), { answer: 42 });
});

test('call() resolves with the value of a synchronous function and counts a success', async () => {
  const breaker = new CircuitBreaker();
  assert.equal(await breaker.call(() => 7), 7);
  assert.equal(breaker.snapshot().counts.successes, 1);
});

test('call() turns a synchronous throw into a rejection, not a throw', async () => {
  const breaker = new CircuitBreaker();
  const error = new Error('sync');
  let promise: Promise<unknown> | undefined;
  assert.doesNotThrow(() => {
    promise = breaker.call(() => {
      throw error;
    });
  });
  await assert.rejects(promise!, error);
  assert.equal(breaker.snapshot().counts.failures, 1);
});

test('call() rejects with the error of a rejected promise and counts a failure', async () => {
  const breaker = new CircuitBreaker();
  const error = new Error('async');
  await assert.rejects(breaker.call(() => Promise.reject(error)), error);
  assert.equal(breaker.failures, 1);
});

test('call() accepts a thenable that is not a Promise', async () => {
  const breaker = new CircuitBreaker();
  const thenable: PromiseLike<string> = {
    then(onFulfilled) {
      queueMicrotask(() => onFulfilled?.('from thenable'));
      return Promise.resolve() as never;
    },
  };
  assert.equal(await breaker.call(() => thenable), 'from thenable');
});

test('call() rejects, and counts a failure, when a thenable throws from then()', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, callTimeout: 1000 });
  const error = new Error('then threw');
  const thenable = {
    then(): never {
      throw error;
    },
  };
  await assert.rejects(breaker.call(() => thenable), error);
  assert.equal(breaker.state, CircuitState.OPEN, 'counted at once, not left pending until the call timeout');
  assert.equal(breaker.snapshot().counts.timeouts, 0);
});

test('call() with something that is not a function throws TypeError and takes no permit', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  await assert.rejects(breaker.call(() => Promise.reject(new Error('down'))));
  t.mock.timers.tick(1000);
  assert.equal(breaker.state, CircuitState.HALF_OPEN);
  assert.throws(() => breaker.call(undefined as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /`fn`/ });
  assert.equal(await breaker.call(() => 'probe'), 'probe', 'the probe permit is still free');
  assert.equal(breaker.state, CircuitState.CLOSED);
});

test('fn that declares a parameter receives an AbortSignal that is not aborted', async () => {
  const breaker = new CircuitBreaker();
  let received: unknown;
  await breaker.call(async (signal) => {
    received = signal;
  });
  assert.ok(received instanceof AbortSignal);
  assert.equal((received as AbortSignal).aborted, false);
});

test('the signal aborts when callTimeout passes, and not before', async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 100 });
  let signal!: AbortSignal;
  const promise = breaker.call((s) => {
    signal = s;
    return never();
  });
  t.mock.timers.tick(99);
  assert.equal(signal.aborted, false);
  t.mock.timers.tick(1);
  assert.equal(signal.aborted, true);
  assert.ok(signal.reason instanceof CallTimeoutError);
  await assert.rejects(promise, { code: 'ERR_CALL_TIMEOUT' });
});

test('a timed-out call rejects with CallTimeoutError (ERR_CALL_TIMEOUT, timeoutMs)', async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 250 });
  const promise = breaker.call(() => never());
  t.mock.timers.tick(250);
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CallTimeoutError);
    assert.equal(error.code, 'ERR_CALL_TIMEOUT');
    assert.equal(error.timeoutMs, 250);
    assert.equal(error.name, 'CallTimeoutError');
    return true;
  });
});

test('a timeout counts exactly one failure and one timeout', async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 100, failureThreshold: 3 });
  const promise = breaker.call(() => never());
  t.mock.timers.tick(100);
  await assert.rejects(promise, CallTimeoutError);
  assert.equal(breaker.failures, 1);
  assert.equal(breaker.snapshot().counts.failures, 1);
  assert.equal(breaker.snapshot().counts.timeouts, 1);
});

test('a late rejection after the timeout does not count again', async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 100, failureThreshold: 2 });
  const late = deferred<never>();
  const promise = breaker.call(() => late.promise);
  t.mock.timers.tick(100);
  await assert.rejects(promise, CallTimeoutError);
  late.reject(new Error('late'));
  await flush();
  assert.equal(breaker.failures, 1);
  assert.equal(breaker.state, CircuitState.CLOSED, 'a second count would reach the threshold of 2');
  assert.equal(breaker.snapshot().counts.failures, 1);
});

test('a late resolution after the timeout does not count as a success', async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 100, failureThreshold: 5 });
  const late = deferred<string>();
  const promise = breaker.call(() => late.promise);
  t.mock.timers.tick(100);
  await assert.rejects(promise, CallTimeoutError);
  late.resolve('late');
  await flush();
  assert.equal(breaker.failures, 1, 'a success would have reset the count');
  assert.equal(breaker.snapshot().counts.successes, 0);
});

test('a late resolution after a timeout that opened the circuit does not close it', async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 100, failureThreshold: 1 });
  const late = deferred<string>();
  const promise = breaker.call(() => late.promise);
  t.mock.timers.tick(100);
  await assert.rejects(promise, CallTimeoutError);
  assert.equal(breaker.state, CircuitState.OPEN);
  late.resolve('late');
  await flush();
  assert.equal(breaker.state, CircuitState.OPEN);
});

test("one call's timeout does not abort another call's signal", async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 100 });
  const signals: AbortSignal[] = [];
  const first = breaker.call((signal) => {
    signals.push(signal);
    return never();
  });
  t.mock.timers.tick(50);
  const second = breaker.call((signal) => {
    signals.push(signal);
    return never();
  });
  t.mock.timers.tick(50);
  assert.equal(signals[0]!.aborted, true);
  assert.equal(signals[1]!.aborted, false);
  await assert.rejects(first, CallTimeoutError);
  t.mock.timers.tick(49);
  assert.equal(signals[1]!.aborted, false);
  t.mock.timers.tick(1);
  assert.equal(signals[1]!.aborted, true);
  await assert.rejects(second, CallTimeoutError);
});

test('a call that settles before its deadline is not aborted later', async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 100 });
  let signal!: AbortSignal;
  let resolve!: (value: string) => void;
  const promise = breaker.call(
    (s) =>
      new Promise<string>((r) => {
        signal = s;
        resolve = r;
      }),
  );
  t.mock.timers.tick(60);
  resolve('in time');
  assert.equal(await promise, 'in time');
  t.mock.timers.tick(1000);
  assert.equal(signal.aborted, false);
  assert.equal(breaker.snapshot().counts.timeouts, 0);
});

test('calls started at different times each time out at their own deadline', async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 100 });
  const timedOutAt: number[] = [];
  const track = (promise: Promise<unknown>): void => {
    promise.catch(() => timedOutAt.push(Date.now()));
  };
  track(breaker.call(() => never()));
  t.mock.timers.tick(30);
  track(breaker.call(() => never()));
  t.mock.timers.tick(40);
  track(breaker.call(() => never()));
  for (let i = 0; i < 200; i++) {
    t.mock.timers.tick(1);
    await flush();
  }
  assert.deepEqual(timedOutAt, [100, 130, 170]);
});

test('callTimeout Infinity never times out', async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: Infinity });
  let signal!: AbortSignal;
  let resolve!: (value: string) => void;
  const promise = breaker.call(
    (s) =>
      new Promise<string>((r) => {
        signal = s;
        resolve = r;
      }),
  );
  t.mock.timers.tick(24 * 60 * 60 * 1000);
  assert.equal(signal.aborted, false);
  resolve('eventually');
  assert.equal(await promise, 'eventually');
  assert.equal(breaker.snapshot().counts.timeouts, 0);
});

test('one timer serves every pending call, and none remains once it fires with nothing pending', async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 100 });
  const { live } = liveTimers(t);
  const resolvers: Array<() => void> = [];
  const calls = [1, 2, 3].map(() => breaker.call(() => new Promise<void>((resolve) => resolvers.push(resolve))));
  assert.equal(live.size, 1, 'one timer for all pending calls');
  resolvers[0]!();
  await calls[0];
  assert.equal(live.size, 1);
  resolvers[2]!();
  resolvers[1]!();
  await Promise.all(calls);
  // An emptied queue keeps its unref'd timer until it fires once more, then drops it.
  assert.ok(live.size <= 1);
  t.mock.timers.tick(100);
  assert.equal(live.size, 0);
});

test('calls one after another share one timer instead of creating one each', async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 100 });
  liveTimers(t);
  const created = (globalThis.setTimeout as unknown as { mock: { callCount(): number } }).mock;
  for (let i = 0; i < 5; i++) await breaker.call(async () => i);
  assert.equal(created.callCount(), 1);
});

test('no timer handle remains after a call times out', async (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 100 });
  const { live } = liveTimers(t);
  const promise = breaker.call(() => never());
  t.mock.timers.tick(100);
  await assert.rejects(promise, CallTimeoutError);
  assert.equal(live.size, 0);
});

test('a synchronous call creates no timer', (t) => {
  const breaker = breakerWithFakeTime(t, { callTimeout: 100 });
  const { live } = liveTimers(t);
  const setTimeoutMock = globalThis.setTimeout as unknown as { mock: { callCount(): number } };
  void breaker.call(() => 1);
  assert.equal(setTimeoutMock.mock.callCount(), 0);
  assert.equal(live.size, 0);
});

test('wrap(fn) passes the arguments through and resolves with the return value', async () => {
  const breaker = new CircuitBreaker();
  const add = breaker.wrap(async (a: number, b: number) => a + b);
  assert.equal(await add(2, 3), 5);
});

test('wrap(fn) works with a synchronous function and counts its throw as a failure', async () => {
  const breaker = new CircuitBreaker();
  const error = new Error('sync');
  const upper = breaker.wrap((s: string) => s.toUpperCase());
  const thrower = breaker.wrap((): never => {
    throw error;
  });
  assert.equal(await upper('abc'), 'ABC');
  await assert.rejects(thrower(), error);
  assert.equal(breaker.failures, 1);
});

test('wrap(fn) rejects an argument that is not a function', () => {
  const breaker = new CircuitBreaker();
  assert.throws(() => breaker.wrap('nope' as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: 'Expected `fn` to be a function, got nope' });
});

test('isFailure: an error it says is not a failure rejects the caller but counts as a success', async (t) => {
  const notFound = Object.assign(new Error('not found'), { status: 404 });
  const breaker = breakerWithFakeTime(t, {
    failureThreshold: 2,
    isFailure: (error) => (error as { status?: number }).status !== 404,
  });
  await assert.rejects(breaker.call(() => Promise.reject(new Error('down'))));
  assert.equal(breaker.failures, 1);
  await assert.rejects(breaker.call(() => Promise.reject(notFound)), notFound);
  assert.equal(breaker.failures, 0, 'counted as a success: the consecutive count starts again');
  assert.equal(breaker.snapshot().counts.successes, 1);
  assert.equal(breaker.state, CircuitState.CLOSED);
});

test('isFailure: an error it says is a failure counts as a failure', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, isFailure: () => true });
  await assert.rejects(breaker.call(() => Promise.reject(new Error('down'))));
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('isFailure: a classifier that throws counts a failure and the caller still gets the original error', async (t) => {
  const original = new Error('original');
  const breaker = breakerWithFakeTime(t, {
    failureThreshold: 1,
    isFailure: () => {
      throw new Error('classifier bug');
    },
  });
  await assert.rejects(breaker.call(() => Promise.reject(original)), original);
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('isFailure: applies to synchronous throws too', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, isFailure: () => false });
  await assert.rejects(
    breaker.call(() => {
      throw new Error('ignored');
    }),
  );
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.snapshot().counts.successes, 1);
});

test('isFailure: a timeout is always a failure, whatever the classifier says', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, callTimeout: 100, isFailure: () => false });
  const promise = breaker.call(() => never());
  t.mock.timers.tick(100);
  await assert.rejects(promise, CallTimeoutError);
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('open rejections in the same millisecond share one CircuitBreakerOpenError; a later one says the new wait', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 1000 });
  await assert.rejects(breaker.call(() => Promise.reject(new Error('down'))));
  const first = await breaker.call(() => 1).catch((error: unknown) => error);
  const second = await breaker.call(() => 1).catch((error: unknown) => error);
  assert.ok(first instanceof CircuitBreakerOpenError);
  assert.equal(first.code, 'ERR_CIRCUIT_OPEN');
  assert.equal(first.retryAfterMs, 1000);
  assert.equal(second, first, 'same wait, same error');
  t.mock.timers.tick(250);
  const later = await breaker.call(() => 1).catch((error: unknown) => error);
  assert.ok(later instanceof CircuitBreakerOpenError);
  assert.notEqual(later, first);
  assert.equal(later.retryAfterMs, 750);
  assert.equal(first.retryAfterMs, 1000, 'an error already given out does not change');
  assert.equal(breaker.snapshot().counts.rejections, 3);
});
