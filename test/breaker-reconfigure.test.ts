import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, CircuitState } from '../lib/breaker/index.js';

const fail = (): Promise<never> => Promise.reject(new Error('down'));

test('reconfigure() keeps the state and failure count and applies the new threshold', async () => {
  const breaker = new CircuitBreaker({ failureThreshold: 5 });
  await breaker.call(fail).catch(() => {});
  await breaker.call(fail).catch(() => {});
  breaker.reconfigure({ failureThreshold: 3 });
  assert.equal(breaker.state, CircuitState.CLOSED);
  assert.equal(breaker.failures, 2);
  assert.equal(breaker.options.failureThreshold, 3);
  await breaker.call(fail).catch(() => {});
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('reconfigure() keeps an open circuit open and uses the new reset timeout for the next opening', async () => {
  let now = 0;
  const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeout: 1000, clock: () => now });
  await breaker.call(fail).catch(() => {});
  breaker.reconfigure({ failureThreshold: 1, resetTimeout: 100 });
  assert.equal(breaker.state, CircuitState.OPEN);
  now = 500; // the current open period keeps its length
  assert.equal(breaker.state, CircuitState.OPEN);
  now = 1000;
  await breaker.call(fail).catch(() => {}); // failed probe: opens again, now for 100 ms
  assert.equal(breaker.snapshot().openPeriod, 100);
});

test('reconfigure() validates like the constructor', () => {
  const breaker = new CircuitBreaker();
  assert.throws(() => breaker.reconfigure({ failureThreshold: 0 }), { name: 'ConfigError', code: 'ERR_INVALID_CONFIG', path: 'failureThreshold', message: /^failureThreshold: .*got 0$/ });
  assert.equal(breaker.options.failureThreshold, 5);
});

test('reconfigure() with a call timeout times out new calls at the new value', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const breaker = new CircuitBreaker({ callTimeout: 1000, clock: () => Date.now() });
  breaker.reconfigure({ callTimeout: 100 });
  const pending = breaker.call(() => new Promise(() => {}));
  t.mock.timers.tick(100);
  await assert.rejects(pending, { code: 'ERR_CALL_TIMEOUT' });
});
