/** The one way tests wait: a plain delay, and polling a condition with a bound that names what it waited for. */

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every `every` ms; rejects naming `what` after `timeout` ms. */
export async function waitFor(what: string, condition: () => boolean, timeout = 2_000, every = 10): Promise<void> {
  const deadline = performance.now() + timeout;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(every);
  }
}
