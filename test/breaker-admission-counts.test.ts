/**
 * The breaker's own records of what it let through (`counts.admitted`, `probesAdmitted`,
 * `probesReleased`): what the soak checks the half-open rule against.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, CircuitState } from '../lib/breaker/index.js';

/** A breaker on a clock the test moves by hand, tripped by one failure, open for 1000 ms. */
function tripped(halfOpenMaxCalls = 1): { breaker: CircuitBreaker; advance: (ms: number) => void } {
  let now = 0;
  const breaker = new CircuitBreaker({ clock: () => now, failureThreshold: 1, resetTimeout: 1000, jitter: 0, halfOpenMaxCalls });
  breaker.admit()!.failure(new Error('trip'));
  assert.equal(breaker.state, CircuitState.OPEN);
  return { breaker, advance: (ms) => void (now += ms) };
}

test('counts.admitted counts every ticket issued and no refusal', () => {
  const { breaker } = tripped();
  assert.equal(breaker.admit(), undefined);
  const counts = breaker.snapshot().counts;
  assert.equal(counts.admitted, 1, 'the ticket that tripped it');
  assert.equal(counts.rejections, 1);
  assert.equal(counts.probesAdmitted, 0);
});

test('probes are counted as admitted when HALF_OPEN lets them through, refused ones are not', () => {
  const { breaker, advance } = tripped(2);
  advance(1000);
  const first = breaker.admit();
  const second = breaker.admit();
  assert.ok(first?.probe && second?.probe);
  assert.equal(breaker.admit(), undefined, 'both slots are taken');
  const counts = breaker.snapshot().counts;
  assert.equal(counts.probesAdmitted, 2);
  assert.equal(counts.admitted, 3);
  assert.equal(counts.rejections, 1);
});

test('a released probe is counted in probesReleased, and the probe admitted in its slot in probesAdmitted', () => {
  const { breaker, advance } = tripped();
  advance(1000);
  breaker.admit()!.release();
  assert.ok(breaker.admit()?.probe, 'the released slot lets another probe go');
  const counts = breaker.snapshot().counts;
  assert.equal(counts.probesAdmitted, 2);
  assert.equal(counts.probesReleased, 1);
  assert.ok(counts.probesAdmitted - counts.probesReleased <= 1);
});

test('a probe released after its half-open period ended frees no slot and is not counted', () => {
  const { breaker, advance } = tripped(2);
  advance(1000);
  const late = breaker.admit()!;
  breaker.admit()!.success();
  assert.equal(breaker.state, CircuitState.CLOSED);
  late.release();
  assert.equal(breaker.snapshot().counts.probesReleased, 0);
});

test('a released ticket in CLOSED is admitted but not a probe', () => {
  const breaker = new CircuitBreaker();
  breaker.admit()!.release();
  const counts = breaker.snapshot().counts;
  assert.deepEqual([counts.admitted, counts.probesAdmitted, counts.probesReleased], [1, 0, 0]);
});
