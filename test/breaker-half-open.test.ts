import * as assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { CircuitBreaker, CircuitState, type CircuitBreakerOptions } from '../lib/breaker/index.js';
import { CallTimeoutError } from '../lib/errors.js';

/** A breaker that is HALF_OPEN: tripped once at threshold 1, then resetTimeout (1000 ms) passed. */
async function halfOpenBreaker(t: TestContext, options: CircuitBreakerOptions = {}): Promise<CircuitBreaker> {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const breaker = new CircuitBreaker({ clock: () => Date.now(), failureThreshold: 1, resetTimeout: 1000, ...options });
  await assert.rejects(breaker.call(() => Promise.reject(new Error('trip'))));
  t.mock.timers.tick(1000);
  assert.equal(breaker.state, CircuitState.HALF_OPEN);
  return breaker;
}

const never = <T = never>(): Promise<T> => new Promise<T>(() => {});

/** A function whose calls stay pending until `settle` is called; counts its invocations. */
function gate(): { fn: () => Promise<string>; calls: () => number; succeed: () => void; fail: () => void } {
  const pending: Array<{ resolve: (value: string) => void; reject: (error: Error) => void }> = [];
  return {
    fn: () => new Promise<string>((resolve, reject) => pending.push({ resolve, reject })),
    calls: () => pending.length,
    succeed: () => pending.shift()!.resolve('ok'),
    fail: () => pending.shift()!.reject(new Error('probe failed')),
  };
}

for (const halfOpenMaxCalls of [1, 3]) {
  test(`10 calls at once in HALF_OPEN with halfOpenMaxCalls ${halfOpenMaxCalls}: exactly ${halfOpenMaxCalls} reach the function`, async (t) => {
    const breaker = await halfOpenBreaker(t, { halfOpenMaxCalls });
    const target = gate();
    const results = Array.from({ length: 10 }, () => breaker.call(target.fn));
    assert.equal(target.calls(), halfOpenMaxCalls);
    const refused = results.slice(halfOpenMaxCalls);
    for (const promise of refused) await assert.rejects(promise, { code: 'ERR_CIRCUIT_OPEN' });
    assert.equal(breaker.snapshot().probes, halfOpenMaxCalls);
    assert.equal(breaker.snapshot().counts.rejections, 10 - halfOpenMaxCalls);
  });
}

test('a refusal in HALF_OPEN because every probe slot is taken has retryAfterMs 0', async (t) => {
  const breaker = await halfOpenBreaker(t);
  void breaker.call(never);
  await assert.rejects(breaker.call(never), { code: 'ERR_CIRCUIT_OPEN', retryAfterMs: 0 });
  assert.equal(breaker.retryAfter(), 0);
});

test('with several probes the first success closes and a later probe failure is ignored', async (t) => {
  const breaker = await halfOpenBreaker(t, { halfOpenMaxCalls: 2 });
  const target = gate();
  const first = breaker.call(target.fn);
  const second = breaker.call(target.fn);
  target.succeed();
  await first;
  assert.equal(breaker.state, CircuitState.CLOSED);
  target.fail();
  await assert.rejects(second);
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.failures, 0);
});

test('with several probes the first failure re-opens and a later probe success is ignored', async (t) => {
  const breaker = await halfOpenBreaker(t, { halfOpenMaxCalls: 2 });
  const target = gate();
  const first = breaker.call(target.fn);
  const second = breaker.call(target.fn);
  target.fail();
  await assert.rejects(first);
  assert.equal(breaker.state, CircuitState.OPEN);
  target.succeed();
  await second;
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('a probe that throws synchronously re-opens the circuit', async (t) => {
  const breaker = await halfOpenBreaker(t);
  await assert.rejects(
    breaker.call(() => {
      throw new Error('sync probe');
    }),
  );
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('a synchronous probe that returns closes the circuit', async (t) => {
  const breaker = await halfOpenBreaker(t);
  assert.equal(await breaker.call(() => 'sync'), 'sync');
  assert.equal(breaker.state, CircuitState.CLOSED);
});

test('a hanging probe fails at its call timeout and re-opens the circuit', async (t) => {
  const breaker = await halfOpenBreaker(t, { callTimeout: 200 });
  const probe = breaker.call(never);
  t.mock.timers.tick(200);
  await assert.rejects(probe, CallTimeoutError);
  assert.equal(breaker.state, CircuitState.OPEN);
  t.mock.timers.tick(1000);
  assert.equal(await breaker.call(() => 'recovered'), 'recovered');
  assert.equal(breaker.state, CircuitState.CLOSED);
});

test('a released probe ticket gives its permit back so another probe can go', async (t) => {
  const breaker = await halfOpenBreaker(t);
  const ticket = breaker.admit();
  assert.ok(ticket?.probe);
  assert.equal(breaker.admit(), undefined);
  ticket.release();
  assert.equal(breaker.state, CircuitState.HALF_OPEN);
  const next = breaker.admit();
  assert.ok(next?.probe);
  next.success();
  assert.equal(breaker.state, CircuitState.CLOSED);
});

test('a probe whose error isFailure rejects closes the circuit', async (t) => {
  const breaker = await halfOpenBreaker(t, { isFailure: (error) => (error as Error).message !== 'client error' });
  await assert.rejects(breaker.call(() => Promise.reject(new Error('client error'))));
  assert.equal(breaker.state, CircuitState.CLOSED);
});
