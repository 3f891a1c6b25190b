/**
 * When the synthetic prober (lib/proxy/probe.ts) sends its probes, against a real breaker whose
 * clock the test drives and a stand-in for the target's connection pool, so that the moment a timer
 * fires relative to the end of the open period is not left to chance.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResponseSink } from '../lib/http1/connection.js';
import { CircuitBreaker, CircuitState } from '../lib/index.js';
import { SyntheticProber } from '../lib/proxy/probe.js';
import type { Target } from '../lib/proxy/target.js';
import { waitFor } from './lifecycle-helpers.js';

/**
 * The open period, in the breaker's (test-driven) ms. The prober's first timer takes as many real
 * ms: long enough that it never fires during a test, which drives probe() itself.
 */
const PERIOD = 60_000;

/**
 * A target whose requests answer `status` on the next turn of the loop (or when `answer()` is
 * called, with `manual`), counting them; its breaker runs on `clock`. Its pool hands out a
 * stand-in connection that answers the probe's sink as lib/http1 would.
 */
function fakeTarget(clock: () => number, status: () => number, manual = false): { target: Target; probes: () => number; answer: () => void } {
  const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeout: PERIOD, clock });
  let probes = 0;
  let respond = (): void => {};
  const connection = {
    send(sink: ResponseSink) {
      probes++;
      respond = () => {
        sink.upstreamHead({ statusCode: status(), statusMessage: '', rawHeaders: [] });
        sink.upstreamData(Buffer.alloc(0), true);
        sink.upstreamEnd(undefined);
      };
      if (!manual) setImmediate(respond);
    },
    abort() {},
  };
  const pool = { open: () => connection };
  const target = { breaker, origin: 'http://probe.test', hostname: 'probe.test', port: 80, hostHeader: 'probe.test', pool };
  return { target: target as unknown as Target, probes: () => probes, answer: () => respond() };
}

test('a probe refused just before the open period ends schedules the next one (regression: none was, for ever)', async (t) => {
  let now = 0;
  let step = 0;
  const { target, probes } = fakeTarget(() => (now += step), () => 200);
  target.breaker.admit()!.failure(new Error('down'));
  const prober = new SyntheticProber(target, '/health', 1000);
  t.after(() => prober.stop());
  // Time creeps forward on every read of the clock, as it does between two reads of a real one
  // (the prober's timer can fire up to a millisecond before the period ends): probe() finds the
  // circuit OPEN, admit() finds the period not quite over, and the next read finds it over.
  now = PERIOD - 0.75;
  step = 0.25;
  await prober.probe();
  step = 0;
  assert.equal(probes(), 0, 'refused: not due yet');
  await waitFor('the next probe', () => probes() === 1, 1000, 5);
  await waitFor('the circuit to close', () => target.breaker.state === CircuitState.CLOSED, 1000, 5);
});

test('a failed probe opens the circuit again and the next one closes it; a refused probe() in between sends nothing', async (t) => {
  let now = 0;
  let answer = 500;
  const { target, probes } = fakeTarget(() => now, () => answer);
  target.breaker.admit()!.failure(new Error('down'));
  const prober = new SyntheticProber(target, '/health', 1000);
  t.after(() => prober.stop());
  now = PERIOD;
  await prober.probe();
  assert.equal(probes(), 1);
  await waitFor('the circuit to open again', () => target.breaker.state === CircuitState.OPEN, 1000, 5);
  // Not due: refused and nothing sent (the prober re-arms its timer for when it is due).
  await prober.probe();
  assert.equal(probes(), 1);
  answer = 200;
  now += 10 * PERIOD; // past any backoff
  await prober.probe();
  assert.equal(probes(), 2);
  assert.equal(target.breaker.state, CircuitState.CLOSED);
});

test('probe() while a probe is out is refused and sends nothing; the one out decides', async (t) => {
  let now = 0;
  const { target, probes, answer } = fakeTarget(() => now, () => 200, true);
  target.breaker.admit()!.failure(new Error('down'));
  const prober = new SyntheticProber(target, '/health', 1000);
  t.after(() => prober.stop());
  now = PERIOD;
  const first = prober.probe();
  await prober.probe();
  assert.equal(probes(), 1);
  assert.equal(target.breaker.state, CircuitState.HALF_OPEN);
  answer();
  await first;
  assert.equal(target.breaker.state, CircuitState.CLOSED);
});
