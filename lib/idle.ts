/**
 * One timer for many idle timeouts of the same length, refreshed without reading a clock.
 *
 * A body that streams marks its entry on every piece (`idleTicks = 0`, one store), and one
 * unref'd timer per sweeper ticks every entry once per period: an entry whose count passes the
 * timeout's number of periods has moved no byte for at least the timeout, and expires. An entry
 * therefore expires between `timeout` and `timeout + 2 x period` after its last byte; the period
 * is a quarter of the timeout, at most one second, so the default 60 s is kept to about a second.
 * The intrusive list (the links live on the entry) makes adding and removing O(1) with no
 * allocation, and the timer runs only while an entry is queued.
 */

export interface IdleEntry {
  /** Links owned by the sweeper; `undefined` when not queued. */
  idlePrev: IdleEntry | undefined;
  idleNext: IdleEntry | undefined;
  /** Sweeps since a byte last moved; whoever moves a byte sets it to 0. */
  idleTicks: number;
  /** Called once when the entry has been idle for the timeout while queued; it is out of the list by then. */
  idleExpire(): void;
}

/** The longest sweep period, whatever the timeout. */
const MAX_PERIOD_MS = 1000;

export class IdleSweeper {
  readonly timeout: number;
  /** Ms between sweeps. */
  readonly period: number;
  /** Sweeps without a byte after which an entry expires. */
  readonly #limit: number;
  #head: IdleEntry | undefined = undefined;
  #size = 0;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  readonly #onTimer = (): void => this.#sweep();

  constructor(timeout: number) {
    this.timeout = timeout;
    this.period = Math.max(1, Math.min(MAX_PERIOD_MS, Math.floor(timeout / 4)));
    this.#limit = Math.ceil(timeout / this.period);
  }

  get size(): number {
    return this.#size;
  }

  /** Whether `entry` is queued. */
  has(entry: IdleEntry): boolean {
    return entry.idlePrev !== undefined || this.#head === entry;
  }

  /** Queues `entry`, idle from now. Adding an entry already queued only marks it active. */
  add(entry: IdleEntry): void {
    entry.idleTicks = 0;
    if (this.has(entry)) return;
    entry.idlePrev = undefined;
    entry.idleNext = this.#head;
    if (this.#head !== undefined) this.#head.idlePrev = entry;
    this.#head = entry;
    this.#size++;
    if (this.#timer === undefined) this.#arm();
  }

  /** Takes an entry out. Safe to call for an entry not queued. */
  remove(entry: IdleEntry): void {
    if (!this.has(entry)) return;
    const { idlePrev: prev, idleNext: next } = entry;
    if (prev === undefined) this.#head = next;
    else prev.idleNext = next;
    if (next !== undefined) next.idlePrev = prev;
    entry.idlePrev = entry.idleNext = undefined;
    this.#size--;
  }

  /** Removes every entry without expiring it, and drops the timer. */
  clear(): void {
    while (this.#head !== undefined) this.remove(this.#head);
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    this.#timer = setTimeout(this.#onTimer, this.period);
    this.#timer.unref?.();
  }

  #sweep(): void {
    this.#timer = undefined;
    const limit = this.#limit;
    let entry = this.#head;
    try {
      while (entry !== undefined) {
        // Read before expire(): it removes the entry, and may remove others.
        const next = entry.idleNext;
        if (++entry.idleTicks > limit) {
          this.remove(entry);
          entry.idleExpire();
        }
        entry = next !== undefined && this.has(next) ? next : undefined;
      }
    } finally {
      if (this.#head !== undefined) this.#arm();
    }
  }
}
