/**
 * The rate sampler: per-target request and error rates from counters sampled into a bounded
 * ring, with an injected clock so the arithmetic is exact.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateSampler } from '../lib/admin/rates.js';
import { createProxy, type Proxy } from '../lib/index.js';
import type { Outcome, Target } from '../lib/proxy/target.js';

function setup(options: { capacity?: number; window?: number } = {}): { proxy: Proxy; target: Target; sampler: RateSampler; at: (ms: number) => void } {
  const proxy = createProxy({ target: 'http://127.0.0.1:1' });
  const target = [...proxy.registry.values()][0]!;
  let now = 0;
  const sampler = new RateSampler(proxy, { ...options, clock: () => now });
  return { proxy, target, sampler, at: (ms) => void (now = ms) };
}

function record(target: Target, outcome: Outcome, count: number): void {
  for (let i = 0; i < count; i++) target.record(outcome);
}

test('rates are zero until two samples exist', () => {
  const { target, sampler } = setup();
  assert.deepEqual(sampler.rates(target), { requestRate: 0, errorRate: 0, rejectRate: 0, errorRatio: null });
  sampler.sample();
  assert.equal(sampler.rates(target).requestRate, 0);
  assert.equal(sampler.latest(target), undefined);
  assert.deepEqual(sampler.history(target), []);
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
  assert.deepEqual(sampler.rates(target), { requestRate: 20, errorRate: 4, rejectRate: 10, errorRatio: 0.4 });
  assert.deepEqual(sampler.latest(target), { t: 2_000, requests: 20, errors: 4, rejected: 10 });
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
  assert.equal(sampler.rates(target).requestRate, 1);
  assert.equal(sampler.rates(target).errorRatio, 0);
});

test('the ring is bounded: history keeps capacity - 1 intervals, oldest first', () => {
  const { target, sampler, at } = setup({ capacity: 4 });
  for (let second = 0; second < 10; second++) {
    at(second * 1000);
    record(target, 'success', second);
    sampler.sample(second * 1000);
  }
  const history = sampler.history(target);
  assert.deepEqual(history.map((p) => p.requests), [7, 8, 9]);
  assert.deepEqual(history.map((p) => p.t), [7_000, 8_000, 9_000]);
});

test('a target the proxy no longer has is forgotten', () => {
  const { proxy, target, sampler, at } = setup();
  sampler.sample();
  at(1000);
  record(target, 'success', 5);
  sampler.sample();
  assert.equal(sampler.rates(target).requestRate, 5);
  proxy.registry.retain(new Set());
  sampler.sample();
  assert.deepEqual(sampler.history(target), []);
  assert.equal(sampler.rates(target).requestRate, 0);
});

test('two samples at the same instant give zero, not Infinity', () => {
  const { target, sampler } = setup();
  sampler.sample();
  record(target, 'success', 3);
  sampler.sample();
  assert.equal(sampler.rates(target).requestRate, 0);
});

test('start() samples on an unref\'d interval and emits `sample`; stop() ends it', async () => {
  const proxy = createProxy({ target: 'http://127.0.0.1:1' });
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
  const target = [...proxy.registry.values()][0]!;
  assert.ok(sampler.history(target).length >= 2);
});

test('options are validated', () => {
  const proxy = createProxy({ target: 'http://127.0.0.1:1' });
  assert.throws(() => new RateSampler(proxy, { capacity: 1 }), /capacity/);
  assert.throws(() => new RateSampler(proxy, { interval: 0 }), /interval/);
  assert.throws(() => new RateSampler(proxy, { window: 1.5 }), /window/);
});
