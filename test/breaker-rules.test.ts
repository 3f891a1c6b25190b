import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CircuitBreaker,
  CircuitState,
  ConsecutiveFailures,
  FailureRate,
  type TripRule,
} from '../lib/breaker/index.js';
import { breakerWithFakeTime } from './timer-helpers.js';

const succeed = (breaker: CircuitBreaker): Promise<string> => breaker.call(() => 'ok');
const fail = (breaker: CircuitBreaker): Promise<void> => assert.rejects(breaker.call(() => Promise.reject(new Error('down'))));

/** Runs 'S'/'F' outcomes in order. */
async function run(breaker: CircuitBreaker, outcomes: string): Promise<void> {
  for (const outcome of outcomes) await (outcome === 'S' ? succeed(breaker) : fail(breaker));
}

/** A rule that records what the breaker tells it and trips when told to. */
function spyRule(timed: boolean): TripRule & { log: string[]; tripNext: boolean } {
  return {
    timed,
    log: [],
    tripNext: false,
    success(now) {
      this.log.push(`success@${now}`);
    },
    failure(now, consecutive) {
      this.log.push(`failure@${now}#${consecutive}`);
      return this.tripNext;
    },
    reset() {
      this.log.push('reset');
    },
  };
}

// ConsecutiveFailures

test('ConsecutiveFailures trips when the consecutive count reaches its threshold', () => {
  const rule = new ConsecutiveFailures(3);
  assert.equal(rule.failure(0, 2), false);
  assert.equal(rule.failure(0, 3), true);
  assert.equal(rule.failure(0, 4), true);
});

test('ConsecutiveFailures rejects a threshold that is not a positive integer', () => {
  for (const bad of [0, 1.5, NaN]) assert.throws(() => new ConsecutiveFailures(bad), { code: 'ERR_INVALID_CONFIG', path: 'threshold', message: `threshold: expected an integer >= 1, got ${bad}` });
});

// FailureRate, directly

test('FailureRate gives no verdict before minRequests calls, even at 100% failures', () => {
  const rule = new FailureRate({ percentage: 50, window: 1000, minRequests: 4 });
  assert.equal(rule.failure(0), false);
  assert.equal(rule.failure(0), false);
  assert.equal(rule.failure(0), false);
  assert.equal(rule.failure(0), true);
});

test('FailureRate trips when the failure percentage reaches the limit exactly', () => {
  const rule = new FailureRate({ percentage: 50, window: 1000, minRequests: 4 });
  rule.success(0);
  rule.success(0);
  assert.equal(rule.failure(0), false, '1 of 3');
  assert.equal(rule.failure(0), true, '2 of 4 is 50%');
});

test('FailureRate does not trip below the limit', () => {
  const rule = new FailureRate({ percentage: 50, window: 1000, minRequests: 4 });
  for (let i = 0; i < 3; i++) rule.success(0);
  assert.equal(rule.failure(0), false, '1 of 4 is 25%');
});

test('FailureRate counts only the buckets inside the window', () => {
  const rule = new FailureRate({ percentage: 50, window: 1000, minRequests: 1 });
  rule.success(0);
  rule.failure(500);
  assert.deepEqual(rule.counts(999), { calls: 2, failures: 1 });
  assert.deepEqual(rule.counts(1050), { calls: 1, failures: 1 }, 'the bucket of t=0 slid out');
  assert.deepEqual(rule.counts(1500), { calls: 0, failures: 0 });
});

test('FailureRate forgets buckets older than the window after an idle gap', () => {
  const rule = new FailureRate({ percentage: 50, window: 1000, minRequests: 4 });
  rule.failure(0);
  rule.failure(100);
  rule.failure(200);
  assert.equal(rule.failure(10_250), false, 'only 1 call in the window now');
  assert.deepEqual(rule.counts(10_250), { calls: 1, failures: 1 });
});

test('FailureRate reuses a ring slot for a new time slice without the old counts', () => {
  const rule = new FailureRate({ percentage: 50, window: 1000, minRequests: 1, buckets: 10 });
  rule.failure(50);
  rule.failure(50);
  rule.success(1050); // same ring slot as t=50, next lap
  assert.deepEqual(rule.counts(1050), { calls: 1, failures: 0 });
});

test('FailureRate reset() forgets every call', () => {
  const rule = new FailureRate({ percentage: 50, window: 1000, minRequests: 1 });
  rule.failure(0);
  rule.success(0);
  rule.reset();
  assert.deepEqual(rule.counts(0), { calls: 0, failures: 0 });
});

test('FailureRate counts are never negative and never count more failures than calls', () => {
  const rule = new FailureRate({ percentage: 100, window: 1000, minRequests: 1_000_000, buckets: 4 });
  let seed = 7;
  const random = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
  let now = 0;
  for (let i = 0; i < 5000; i++) {
    now += Math.floor(random() * 400);
    if (random() < 0.5) rule.success(now);
    else rule.failure(now);
    if (random() < 0.01) rule.reset();
    const { calls, failures } = rule.counts(now);
    assert.ok(calls >= 0 && failures >= 0 && failures <= calls, `at ${now}: ${calls} calls, ${failures} failures`);
  }
});

test('FailureRate with one bucket counts the current slice only', () => {
  const rule = new FailureRate({ percentage: 50, window: 1000, minRequests: 1, buckets: 1 });
  rule.failure(999);
  assert.deepEqual(rule.counts(999), { calls: 1, failures: 1 });
  assert.deepEqual(rule.counts(1000), { calls: 0, failures: 0 });
});

test('FailureRate rejects bad options naming the option', () => {
  const good = { percentage: 50, window: 1000, minRequests: 1 };
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ ...good, percentage: 0 }, 'percentage'],
    [{ ...good, percentage: 101 }, 'percentage'],
    [{ ...good, window: 0 }, 'window'],
    [{ ...good, minRequests: 0.5 }, 'minRequests'],
    [{ ...good, buckets: 0 }, 'buckets'],
    [{ ...good, buckets: 1.5 }, 'buckets'],
  ];
  for (const [options, name] of cases) {
    assert.throws(() => new FailureRate(options as never), { code: 'ERR_INVALID_CONFIG', path: name, message: new RegExp(`^${name}: expected `) });
  }
});

// The failure-rate rule through the breaker's options

test('failureRate trips on interleaved successes and failures', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 3, failureRate: 50, minRequests: 6 });
  await run(breaker, 'SFSFS');
  assert.equal(breaker.state, CircuitState.CLOSED);
  await run(breaker, 'F');
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('the consecutive rule alone misses interleaved successes and failures', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: 3 });
  await run(breaker, 'SFSFSFSFSFSF');
  assert.equal(breaker.state, CircuitState.CLOSED);
});

test('failureRate does not trip before minRequests calls in the window', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: Infinity, failureRate: 50, minRequests: 10 });
  await run(breaker, 'FFFFFFFFF');
  assert.equal(breaker.state, CircuitState.CLOSED);
  await run(breaker, 'F');
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('failureRate does not count calls older than the window after an idle gap', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: Infinity, failureRate: 50, minRequests: 4, window: 1000 });
  await run(breaker, 'FFF');
  t.mock.timers.tick(5000);
  await run(breaker, 'F');
  assert.equal(breaker.state, CircuitState.CLOSED, 'one failure in the window is below minRequests');
  await run(breaker, 'FFF');
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('failureRate starts counting again after the circuit closes', async (t) => {
  const breaker = breakerWithFakeTime(t, { failureThreshold: Infinity, failureRate: 50, minRequests: 4, resetTimeout: 100 });
  await run(breaker, 'FFFF');
  assert.equal(breaker.state, CircuitState.OPEN);
  t.mock.timers.tick(100);
  await run(breaker, 'S');
  assert.equal(breaker.state, CircuitState.CLOSED);
  await run(breaker, 'FFF');
  assert.equal(breaker.state, CircuitState.CLOSED);
});

test('rejected calls never reach the trip rules', async (t) => {
  const rule = spyRule(true);
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, rules: [rule] });
  await fail(breaker);
  rule.log.length = 0;
  for (let i = 0; i < 5; i++) await assert.rejects(succeed(breaker), { code: 'ERR_CIRCUIT_OPEN' });
  assert.deepEqual(rule.log, []);
  assert.equal(breaker.snapshot().counts.rejections, 5);
});

// Custom rules

test('a custom rule that says so opens the circuit', async (t) => {
  const rule = spyRule(false);
  const breaker = breakerWithFakeTime(t, { failureThreshold: 100, rules: [rule] });
  await fail(breaker);
  assert.equal(breaker.state, CircuitState.CLOSED);
  rule.tripNext = true;
  await fail(breaker);
  assert.equal(breaker.state, CircuitState.OPEN);
});

test('an untimed custom rule hears of every success and failure, with time 0', async (t) => {
  const rule = spyRule(false);
  const breaker = breakerWithFakeTime(t, { rules: [rule] });
  t.mock.timers.tick(500);
  await run(breaker, 'SFF');
  assert.deepEqual(rule.log, ['success@0', 'failure@0#1', 'failure@0#2']);
});

test('a timed custom rule receives the breaker clock', async (t) => {
  const rule = spyRule(true);
  const breaker = breakerWithFakeTime(t, { rules: [rule] });
  t.mock.timers.tick(500);
  await run(breaker, 'S');
  t.mock.timers.tick(250);
  await run(breaker, 'F');
  assert.deepEqual(rule.log, ['success@500', 'failure@750#1']);
});

test('rules are reset on every state change', async (t) => {
  const rule = spyRule(false);
  const breaker = breakerWithFakeTime(t, { failureThreshold: 1, resetTimeout: 100, rules: [rule] });
  await fail(breaker);
  assert.deepEqual(rule.log, ['failure@0#1', 'reset']);
  t.mock.timers.tick(100);
  await succeed(breaker);
  assert.deepEqual(rule.log, ['failure@0#1', 'reset', 'reset', 'reset'], 'OPEN->HALF_OPEN and HALF_OPEN->CLOSED; probes are not fed to rules');
});
