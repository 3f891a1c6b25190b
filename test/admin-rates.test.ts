/**
 * The rate sampler: per-target request and error rates from counters sampled into a bounded
 * ring, with an injected clock so the arithmetic is exact.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateSampler } from '../lib/admin/rates.js';
import { CircuitState, createProxy, type ProxySnapshot, type TargetSnapshot } from '../lib/index.js';
import { OUTCOMES, type Outcome } from '../lib/proxy/target.js';

const ORIGIN = 'http://127.0.0.1:1';

/** A target's snapshot with every count at 0, as plain data. */
function emptyTarget(origin: string): TargetSnapshot {
  return {
    target: origin, state: CircuitState.CLOSED, failures: 0, failureThreshold: 5, resetTimeout: 30_000,
    openedAt: null, nextAttemptAt: null, openPeriod: 30_000, reopenings: 0, probes: 0, forced: false,
    counts: { successes: 0, slowCalls: 0, failures: 0, rejections: 0, timeouts: 0, admitted: 0, probesAdmitted: 0, probesReleased: 0 }, inFlight: 0,
    requests: Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>,
    transitions: {}, latency: { bounds: [1], counts: [0, 0], sum: 0, count: 0, p50: null, p99: null },
    connections: { busy: 0, idle: 0, opened: 0 }, health: null,
    statusRetries: 0, retryAfterAt: null,
  };
}

/** The sampler reads only snapshots: a source of plain data stands in for the proxy. */
function setup(options: { capacity?: number; window?: number } = {}): {
  snapshot: ProxySnapshot; target: TargetSnapshot; sampler: RateSampler; at: (ms: number) => void;
} {
  const target = emptyTarget(ORIGIN);
  const snapshot: ProxySnapshot = { time: 0, targets: [target], routes: [] };
  let now = 0;
  const sampler = new RateSampler({ snapshot: () => structuredClone(snapshot) }, { ...options, clock: () => now });
  return { snapshot, target, sampler, at: (ms) => void (now = ms) };
}

function record(target: TargetSnapshot, outcome: Outcome, count: number): void {
  target.requests[outcome] += count;
}

test('rates are zero until two samples exist', () => {
  const { target, sampler } = setup();
  assert.deepEqual(sampler.rates(ORIGIN), { requestRate: 0, errorRate: 0, rejectRate: 0, errorRatio: null });
  sampler.sample();
  assert.equal(sampler.rates(ORIGIN).requestRate, 0);
  assert.equal(sampler.latest(ORIGIN), undefined);
  assert.deepEqual(sampler.history(ORIGIN), []);
});

test('request, error and reject rates per second, and the error ratio of requests that reached the upstream', () => {
  const { target, sampler, at } = setup();
  at(1_000);
  sampler.sample(1_000);
  record(target, 'success', 6);
  record(target, 'failure_status', 2);
  record(target, 'timeout', 1);
  record(target, 'error', 1);
  record(target, 'rejected', 8);
  record(target, 'limited', 2);
  at(2_000);
  sampler.sample(2_000);
  assert.deepEqual(sampler.rates(ORIGIN), { requestRate: 20, errorRate: 4, rejectRate: 10, errorRatio: 0.4 });
  assert.deepEqual(sampler.latest(ORIGIN), { t: 2_000, requests: 20, errors: 4, rejected: 10 });
});

test('rates average over the window, not the whole ring', () => {
  const { target, sampler, at } = setup({ window: 2_000 });
  for (let second = 0; second <= 5; second++) {
    at(second * 1000);
    sampler.sample();
    // 10 requests in each of the first three seconds, then 1 per second.
    record(target, 'success', second < 3 ? 10 : 1);
  }
  // Samples at 3, 4, 5 s (window 2 s): 1 + 1 requests over 2 s.
  assert.equal(sampler.rates(ORIGIN).requestRate, 1);
  assert.equal(sampler.rates(ORIGIN).errorRatio, 0);
});

test('the ring is bounded: history keeps capacity - 1 intervals, oldest first', () => {
  const { target, sampler, at } = setup({ capacity: 4 });
  for (let second = 0; second < 10; second++) {
    at(second * 1000);
    record(target, 'success', second);
    sampler.sample(second * 1000);
  }
  const history = sampler.history(ORIGIN);
  assert.deepEqual(history.map((p) => p.requests), [7, 8, 9]);
  assert.deepEqual(history.map((p) => p.t), [7_000, 8_000, 9_000]);
});

test('a target the proxy no longer has is forgotten', () => {
  const { snapshot, target, sampler, at } = setup();
  sampler.sample();
  at(1000);
  record(target, 'success', 5);
  sampler.sample();
  assert.equal(sampler.rates(ORIGIN).requestRate, 5);
  snapshot.targets = [];
  sampler.sample();
  assert.deepEqual(sampler.history(ORIGIN), []);
  assert.equal(sampler.rates(ORIGIN).requestRate, 0);
});

test('two samples at the same instant give zero, not Infinity', () => {
  const { target, sampler } = setup();
  sampler.sample();
  record(target, 'success', 3);
  sampler.sample();
  assert.equal(sampler.rates(ORIGIN).requestRate, 0);
});

test('start() samples on an unref\'d interval and emits `sample`; stop() ends it', async () => {
  const proxy = createProxy({ target: ORIGIN });
  const sampler = new RateSampler(proxy, { interval: 10 });
  let samples = 0;
  sampler.on('sample', () => samples++);
  sampler.start();
  sampler.start(); // once
  assert.equal(sampler.running, true);
  await new Promise((resolve) => setTimeout(resolve, 60));
  sampler.stop();
  assert.equal(sampler.running, false);
  const seen = samples;
  assert.ok(seen >= 2, `sampled ${seen} times`);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(samples, seen);
  assert.ok(sampler.history(ORIGIN).length >= 2);
});

test('options are validated', () => {
  const proxy = createProxy({ target: 'http://127.0.0.1:1' });
  assert.throws(() => new RateSampler(proxy, { capacity: 1 }), /capacity/);
  assert.throws(() => new RateSampler(proxy, { interval: 0 }), /interval/);
  assert.throws(() => new RateSampler(proxy, { window: 1.5 }), /window/);
});
