/**
 * Helpers of the breaker and deadline tests: which timers the code under test holds, a breaker on
 * mocked time, and a promise the test settles when it chooses.
 */
import type { TestContext } from 'node:test';
import { CircuitBreaker, type CircuitBreakerOptions } from '../lib/breaker/index.js';

/**
 * Wraps the (possibly mocked) setTimeout and clearTimeout for the rest of the test: `live` holds
 * the handles not yet fired or cleared, `delays` every delay asked for.
 */
export function liveTimers(t: TestContext): { live: Set<unknown>; delays: number[] } {
  const live = new Set<unknown>();
  const delays: number[] = [];
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  t.mock.method(globalThis, 'setTimeout', ((callback: () => void, ms?: number) => {
    delays.push(ms ?? 0);
    const handle = realSet(() => {
      live.delete(handle);
      callback();
    }, ms);
    live.add(handle);
    return handle;
  }) as typeof setTimeout);
  t.mock.method(globalThis, 'clearTimeout', ((handle: Parameters<typeof clearTimeout>[0]) => {
    live.delete(handle);
    realClear(handle);
  }) as typeof clearTimeout);
  return { live, delays };
}

/**
 * A breaker on mocked time: `setTimeout` and `Date` are faked for the rest of the test and the
 * breaker reads `Date.now()`, so `t.mock.timers.tick(ms)` moves both its clock and its timers.
 */
export function breakerWithFakeTime(t: TestContext, options: CircuitBreakerOptions = {}): CircuitBreaker {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  return new CircuitBreaker({ clock: () => Date.now(), ...options });
}

/** A promise and the functions that settle it, for a call that should settle when the test says. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
