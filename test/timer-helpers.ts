/** Test helper: which timers the code under test holds, via setTimeout/clearTimeout wrappers. */
import type { TestContext } from 'node:test';

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
