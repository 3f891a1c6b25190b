/**
 * One timer for many deadlines of the same length.
 *
 * A `setTimeout` per call costs ~120-400 ns to create and clear on Node 20; a breaker or proxy
 * with a fixed call timeout does not need one. Because every entry gets the same timeout, entries
 * expire in the order they were added, so a FIFO list is also sorted by deadline: adding and
 * removing are O(1) pointer moves on the entry itself (an intrusive list, no allocation), and a
 * single unref'd timer is armed for the oldest entry. Removing the oldest leaves the timer early;
 * when it fires it re-arms for the new oldest instead of being cleared and created per call.
 *
 * Reading the clock costs ~50 ns here, as much as the rest of a breaker call's bookkeeping, so
 * the default clock is read at most once per turn of the event loop and cached until the next
 * one (a `setImmediate` clears it). That is the approximation Node's own timers make (they use
 * the loop time of the current iteration): an entry added late in a long synchronous stretch
 * expires that much early. An injected clock (tests) is read on every add.
 *
 * An emptied queue keeps its timer too: calls that come one after another would otherwise create
 * and clear a timer each (the bulk of a breaker call's cost). The timer is unref'd, so it never
 * keeps a process alive, and when it fires with nothing queued it is simply not re-armed.
 */

export interface DeadlineEntry {
  /** Links owned by the queue; `undefined` when not queued. */
  deadlinePrev: DeadlineEntry | undefined;
  deadlineNext: DeadlineEntry | undefined;
  deadlineAt: number;
  /** Called once when the entry's deadline passes while it is still queued. */
  expire(): void;
}

export type Clock = () => number;

/** setTimeout's largest delay; a longer one is cut to 1 ms (TimeoutOverflowWarning), so arm in steps. */
const TIMEOUT_MAX = 2 ** 31 - 1;

export const monotonicClock: Clock = () => performance.now();

export class DeadlineQueue {
  readonly timeout: number;
  readonly #clock: Clock;
  #head: DeadlineEntry | undefined = undefined;
  #tail: DeadlineEntry | undefined = undefined;
  #size = 0;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** True while expire() callbacks run: an add() from one of them must not arm for itself. */
  #expiring = false;
  readonly #onTimer = (): void => this.#expireDue();
  readonly #cacheNow: boolean;
  #now = 0;
  #nowValid = false;
  readonly #invalidateNow = (): void => {
    this.#nowValid = false;
  };

  constructor(timeout: number, clock: Clock = monotonicClock) {
    this.timeout = timeout;
    this.#clock = clock;
    this.#cacheNow = clock === monotonicClock;
  }

  /** The clock, once per event-loop turn for the default clock. */
  #time(): number {
    if (!this.#cacheNow) return this.#clock();
    if (!this.#nowValid) {
      this.#now = this.#clock();
      this.#nowValid = true;
      setImmediate(this.#invalidateNow).unref();
    }
    return this.#now;
  }

  get size(): number {
    return this.#size;
  }

  /** The oldest entry, which is also the one whose deadline comes first: a FIFO's head. */
  get first(): DeadlineEntry | undefined {
    return this.#head;
  }

  add(entry: DeadlineEntry): void {
    entry.deadlineAt = this.#time() + this.timeout;
    entry.deadlineNext = undefined;
    entry.deadlinePrev = this.#tail;
    if (this.#tail === undefined) this.#head = entry;
    else this.#tail.deadlineNext = entry;
    this.#tail = entry;
    this.#size++;
    if (this.#timer === undefined && !this.#expiring) this.#arm(this.timeout);
  }

  /** Takes an entry out before its deadline (it settled). Safe to call for an entry not queued. */
  remove(entry: DeadlineEntry): void {
    if (entry.deadlinePrev === undefined && this.#head !== entry) return;
    const { deadlinePrev: prev, deadlineNext: next } = entry;
    if (prev === undefined) this.#head = next;
    else prev.deadlineNext = next;
    if (next === undefined) this.#tail = prev;
    else next.deadlinePrev = prev;
    entry.deadlinePrev = entry.deadlineNext = undefined;
    this.#size--;
  }

  /** Removes every entry without expiring it, and drops the timer. */
  clear(): void {
    while (this.#head !== undefined) this.remove(this.#head);
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Whether a timer is armed (an idle queue may keep one until it fires once more). */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(this.#onTimer, Math.min(TIMEOUT_MAX, Math.max(1, Math.ceil(delay))));
    this.#timer.unref?.();
  }

  #expireDue(): void {
    this.#timer = undefined;
    const now = this.#clock();
    // A fresh reading: entries added from expire() callbacks below must not use an older one.
    this.#now = now;
    this.#expiring = true;
    try {
      let entry = this.#head;
      while (entry !== undefined && entry.deadlineAt <= now) {
        this.remove(entry);
        entry.expire();
        entry = this.#head;
      }
    } finally {
      // Armed here, not by an add() from inside expire(): that add would time the queue by the
      // new tail and leave an older entry to expire late. A throwing expire() still re-arms.
      this.#expiring = false;
      if (this.#head !== undefined) this.#arm(this.#head.deadlineAt - now);
    }
  }
}
