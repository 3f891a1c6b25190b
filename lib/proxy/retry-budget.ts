/**
 * The retry budget (Envoy's `retry_budget`, Finagle's RetryBudget): failover retries running at
 * once may be at most `percent` of the client requests in flight, and always at least `min`. A
 * target that fails every request must not double the load on the others; a quiet proxy must
 * still be able to retry.
 *
 * It counts the requests in flight proxy-wide because the budget is a share of them; the proxy's
 * drain on close reads the same count. One slot per request however many retries it makes.
 */
export class RetryBudget {
  #percent = 20;
  #min = 3;
  #requests = 0;
  #retries = 0;

  constructor(percent: number, min: number) {
    this.configure(percent, min);
  }

  /** Takes a reloaded configuration's budget; slots already taken stay taken. */
  configure(percent: number, min: number): void {
    this.#percent = percent;
    this.#min = min;
  }

  /** Client requests in flight now. */
  get requests(): number {
    return this.#requests;
  }

  /** Requests in flight now that made a failover retry. */
  get retries(): number {
    return this.#retries;
  }

  requestStarted(): void {
    this.#requests++;
  }

  /** A request ended; `retried` when it held a retry slot, which it gives back. */
  requestEnded(retried: boolean): void {
    this.#requests--;
    if (retried) this.#retries--;
  }

  /** Whether one more request in flight may retry now. */
  hasRoom(): boolean {
    return this.#retries < Math.max(this.#min, (this.#requests * this.#percent) / 100);
  }

  /** A request in flight started retrying: it holds a slot until `requestEnded(true)`. */
  retryStarted(): void {
    this.#retries++;
  }
}
