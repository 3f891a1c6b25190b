import { EventEmitter } from 'node:events';
import { CallTimeoutError, CircuitBreakerOpenError, ConfigError, invalidArgType, withoutStack } from '../errors.js';
import { DeadlineQueue, monotonicClock, type Clock, type DeadlineEntry } from '../deadlines.js';
import { show, validateArray, validateFunction, validateObject } from '../validate.js';
import { resolveBreakerOptions, type ResolvedBreakerOptions } from './options.js';
import { ConsecutiveFailures, FailureRate, SlowCallRate, type TripRule } from './rules.js';

export const CircuitState = {
  CLOSED: 'CLOSED',
  OPEN: 'OPEN',
  HALF_OPEN: 'HALF_OPEN',
} as const;
export type CircuitState = (typeof CircuitState)[keyof typeof CircuitState];

/** Ranges and defaults of the numeric options: `BREAKER_OPTIONS` (lib/breaker/options.ts). */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open a closed circuit. */
  failureThreshold?: number;
  /**
   * Milliseconds a `call()` may stay pending before it fails with `CallTimeoutError` and its
   * signal is aborted. `Infinity` turns the timeout off.
   */
  callTimeout?: number;
  /** Milliseconds an open circuit waits before it lets a probe through. */
  resetTimeout?: number;
  /**
   * Upper bound of the open period. Each failed probe in a row doubles the open period
   * (`resetTimeout * 2^k`) up to this bound; a close starts again from `resetTimeout`.
   */
  resetTimeoutMax?: number;
  /** Random extra fraction (0-1) added to each open period so that many breakers do not probe in step. */
  jitter?: number;
  /** Probes allowed at once while HALF_OPEN. */
  halfOpenMaxCalls?: number;
  /**
   * Also open when at least this percentage (0-100] of the calls completed within `window` failed,
   * once `minRequests` calls completed there. Off unless set.
   */
  failureRate?: number;
  /** Sliding window of the failure-rate rule, ms. */
  window?: number;
  /** Calls the failure-rate rule needs in its window before it decides. */
  minRequests?: number;
  /**
   * A call that succeeds after more than this many ms counts as slow (resilience4j's
   * slowCallDurationThreshold): with `call()`, measured from the call to its resolution; with
   * `admit()`, said by the caller through `ticket.slowSuccess()`. Off unless set.
   */
  slowCallDuration?: number;
  /**
   * With `slowCallDuration`: also open when at least this percentage (0-100] of the calls
   * completed within `window` were slow, once `minRequests` calls completed there.
   */
  slowCallRate?: number;
  /** More trip rules; any rule that says so opens the circuit. */
  rules?: readonly TripRule[];
  /**
   * Decides whether a rejection of `call()` counts as a failure. An error that is not a failure
   * (say, a validation error from a healthy service) is passed to the caller and counts as a
   * success. @default every rejection is a failure
   */
  isFailure?: (error: unknown) => boolean;
  /** Monotonic clock in ms. Inject one in tests. @default performance.now */
  clock?: Clock;
}

export interface BreakerCounts {
  /** Calls let through: every ticket issued, probes included. */
  admitted: number;
  /** Slow successes included. */
  successes: number;
  /** Successes slower than `slowCallDuration`. */
  slowCalls: number;
  failures: number;
  rejections: number;
  timeouts: number;
  /** Probes let through in HALF_OPEN. */
  probesAdmitted: number;
  /**
   * Probes whose ticket was released without an outcome (the caller gave up), each freeing its
   * slot for another probe; so a half-open period admits at most `halfOpenMaxCalls` probes more
   * than it releases.
   */
  probesReleased: number;
}

export interface BreakerSnapshot {
  state: CircuitState;
  /** Consecutive failures counted while CLOSED; kept while OPEN to show why it opened. */
  failures: number;
  /** Wall-clock time (epoch ms) the circuit last opened, or null. */
  openedAt: number | null;
  /** Wall-clock time (epoch ms) a probe will be let through, or null unless OPEN. */
  nextAttemptAt: number | null;
  /** Length of the current (or last) open period in ms, after backoff. */
  openPeriod: number;
  /** Failed probes in a row: the backoff exponent. */
  reopenings: number;
  /** Probes running now (HALF_OPEN). */
  probes: number;
  /** True while held OPEN by `forceOpen()`. */
  forced: boolean;
  counts: BreakerCounts;
}

export interface StateChangeEvent {
  from: CircuitState;
  to: CircuitState;
  failures: number;
  /** The failure that caused the change, when one did. */
  error?: unknown;
}

export interface CircuitBreakerEvents {
  stateChange: [StateChangeEvent];
  success: [];
  failure: [error: unknown];
  reject: [error: CircuitBreakerOpenError];
  timeout: [error: CallTimeoutError];
}

/**
 * Permission to make one call, from `admit()`. Report how it went exactly once: `success()`,
 * `failure(error)`, or `release()` when the call was abandoned and says nothing about the target
 * (a client went away); later reports on the same ticket are ignored.
 *
 * A ticket remembers the breaker's generation (bumped on every state change), so the result of a
 * call admitted before a trip cannot change the state that followed (Polly#217).
 */
export class Ticket {
  readonly breaker: CircuitBreaker;
  readonly generation: number;
  /** Admitted while HALF_OPEN: this call is a probe. */
  readonly probe: boolean;
  #settled = false;

  constructor(breaker: CircuitBreaker, generation: number, probe: boolean) {
    this.breaker = breaker;
    this.generation = generation;
    this.probe = probe;
  }

  get settled(): boolean {
    return this.#settled;
  }

  success(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.breaker.settle(this, SUCCESS, undefined);
  }

  /** A success that took longer than the breaker's `slowCallDuration`: a success for every rule but the slow-call rule. */
  slowSuccess(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.breaker.settle(this, SLOW_SUCCESS, undefined);
  }

  failure(error?: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.breaker.settle(this, FAILURE, error);
  }

  release(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.breaker.settle(this, RELEASE, undefined);
  }
}

const SUCCESS = 0;
const FAILURE = 1;
const RELEASE = 2;
const SLOW_SUCCESS = 3;
type Outcome = typeof SUCCESS | typeof FAILURE | typeof RELEASE | typeof SLOW_SUCCESS;

const NORMAL = 0;
const PROBE = 1;
const REFUSED = 2;
type Permit = typeof NORMAL | typeof PROBE | typeof REFUSED;

/** Events emitted per call, only when someone listens. */
type WatchedEvent = 'success' | 'failure' | 'reject' | 'timeout';

/**
 * One `call()` in flight: its own ticket (one allocation per call, not two) and its own deadline
 * queue entry, so no timer is created for it.
 */
class PendingCall<T> extends Ticket implements DeadlineEntry {
  deadlinePrev: DeadlineEntry | undefined = undefined;
  deadlineNext: DeadlineEntry | undefined = undefined;
  deadlineAt = 0;
  readonly controller: AbortController | undefined;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
  done = false;
  /** Clock when the call started, with `slowCallDuration` set; NaN otherwise (no clock read), never slow. */
  startedAt = Number.NaN;

  constructor(
    breaker: CircuitBreaker,
    generation: number,
    probe: boolean,
    controller: AbortController | undefined,
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
  ) {
    super(breaker, generation, probe);
    this.controller = controller;
    this.resolve = resolve;
    this.reject = reject;
  }

  expire(): void {
    if (this.done) return;
    this.done = true;
    const breaker = this.breaker;
    const error = new CallTimeoutError(breaker.options.callTimeout);
    // The caller first: a throwing event listener in the bookkeeping below must not leave it waiting.
    this.reject(error);
    // One controller per call: a timeout aborts this call's signal only (opossum#780).
    this.controller?.abort(error);
    breaker.recordTimeout(this, error);
  }
}

const alwaysFailure = (): boolean => true;

/**
 * A circuit breaker: CLOSED counts failures and opens at the threshold; OPEN refuses every call
 * until its open period passes; then HALF_OPEN lets `halfOpenMaxCalls` probes through, and the
 * first result decides: success closes, failure opens again (for a longer period with backoff).
 *
 * There is no timer in the state machine: OPEN becomes HALF_OPEN when a call arrives after the
 * open period, computed from the monotonic clock, so a process holding an open breaker can exit.
 * The only timer belongs to pending calls (one per breaker, unref'd, gone when nothing is pending).
 */
export class CircuitBreaker extends EventEmitter<CircuitBreakerEvents> {
  #options: Readonly<ResolvedBreakerOptions>;
  readonly #clock: Clock;
  readonly #customRules: readonly TripRule[];
  #rules: readonly TripRule[] = [];
  #timedRules = false;
  readonly #isFailure: (error: unknown) => boolean;
  #deadlines: DeadlineQueue | undefined;

  #state: CircuitState = CircuitState.CLOSED;
  #generation = 0;
  #failures = 0;
  #probes = 0;
  #reopenings = 0;
  #forced = false;
  #openedAt = 0;
  #openedAtWall: number | null = null;
  #openPeriod = 0;
  #lastError: unknown = undefined;
  readonly #counts: BreakerCounts = { admitted: 0, successes: 0, slowCalls: 0, failures: 0, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 };
  #lastOpenError: CircuitBreakerOpenError | undefined = undefined;
  /**
   * Whether anyone listens to the per-call events, kept current by `newListener`/`removeListener`:
   * a field read on every call instead of a `listenerCount()` lookup.
   */
  readonly #watched: Record<WatchedEvent, boolean> = { success: false, failure: false, reject: false, timeout: false };

  constructor(options: CircuitBreakerOptions = {}) {
    super();
    this.#options = Object.freeze(resolveBreakerOptions(options));
    const watch = (name: string | symbol, delta: number): void => {
      if (name in this.#watched) this.#watched[name as WatchedEvent] = this.listenerCount(name as WatchedEvent) + delta > 0;
    };
    // newListener fires before the listener is added, removeListener after it is gone.
    this.on('newListener' as never, ((name: string | symbol) => watch(name, 1)) as never);
    this.on('removeListener' as never, ((name: string | symbol) => watch(name, 0)) as never);
    this.#clock = options.clock === undefined ? monotonicClock : validateFunction<Clock>(options.clock, 'clock');
    this.#isFailure = options.isFailure === undefined ? alwaysFailure : validateFunction(options.isFailure, 'isFailure');
    const custom: TripRule[] = [];
    if (options.rules !== undefined) {
      validateArray(options.rules, 'rules').forEach((rule, i) => custom.push(validateRule(rule, `rules[${i}]`)));
    }
    this.#customRules = custom;
    this.#applyOptions();
    this.#openPeriod = this.#options.resetTimeout;
  }

  /** The resolved options in force. */
  get options(): Readonly<ResolvedBreakerOptions> {
    return this.#options;
  }

  /**
   * Takes new numeric options (thresholds, timeouts, the rate rule) and keeps the state: a config
   * reload must not close an open circuit or forget its failures. `isFailure`, `clock` and
   * `rules` stay as constructed. The failure-rate window starts empty; calls already pending keep
   * the call timeout they started with; the current open period keeps its length.
   */
  reconfigure(options: Omit<CircuitBreakerOptions, 'isFailure' | 'clock' | 'rules'>): void {
    const resolved = resolveBreakerOptions(options);
    this.#options = Object.freeze(resolved);
    this.#applyOptions();
  }

  #applyOptions(): void {
    const { failureThreshold, failureRate, window, minRequests, callTimeout, slowCallDuration, slowCallRate } = this.#options;
    const rules: TripRule[] = [new ConsecutiveFailures(failureThreshold)];
    if (failureRate !== undefined) rules.push(new FailureRate({ percentage: failureRate, window, minRequests }));
    if (slowCallDuration !== undefined) rules.push(new SlowCallRate({ percentage: slowCallRate, window, minRequests }));
    rules.push(...this.#customRules);
    this.#rules = rules;
    this.#timedRules = rules.some((rule) => rule.timed);
    if (this.#deadlines?.timeout !== callTimeout) {
      this.#deadlines = Number.isFinite(callTimeout) ? new DeadlineQueue(callTimeout, this.#clock) : undefined;
    }
  }

  /** The current state. An OPEN circuit whose open period is over reads HALF_OPEN: the next call will be a probe. */
  get state(): CircuitState {
    // Reading never drives the state machine (metrics and dashboards only observe it): an OPEN
    // circuit whose period is over reads HALF_OPEN, and moves there when a call arrives.
    if (this.#state === CircuitState.OPEN && !this.#forced && this.#clock() - this.#openedAt >= this.#openPeriod) {
      return CircuitState.HALF_OPEN;
    }
    return this.#state;
  }

  /** Consecutive failures counted while CLOSED. */
  get failures(): number {
    return this.#failures;
  }

  /** The error behind the last failure, for logs. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /**
   * Asks to make one call. Returns a ticket to report the outcome on, or `undefined` when the
   * circuit refuses (OPEN, or HALF_OPEN with every probe slot taken). Allocation-free when refused.
   */
  admit(): Ticket | undefined {
    const permit = this.#acquire();
    return permit === REFUSED ? undefined : new Ticket(this, this.#generation, permit === PROBE);
  }

  /** Takes a permit: NORMAL while CLOSED, PROBE (a half-open slot), or REFUSED (counted). */
  #acquire(): Permit {
    if (this.#state === CircuitState.CLOSED) {
      this.#counts.admitted++;
      return NORMAL;
    }
    if ((this.#state === CircuitState.OPEN && !this.#probeDue()) || this.#probes >= this.#options.halfOpenMaxCalls) {
      this.#refuse();
      return REFUSED;
    }
    this.#probes++;
    this.#counts.admitted++;
    this.#counts.probesAdmitted++;
    return PROBE;
  }

  /** Milliseconds until a probe may be let through: 0 unless OPEN. */
  retryAfter(): number {
    if (this.#state !== CircuitState.OPEN) return 0;
    if (this.#forced) return this.#openPeriod;
    return Math.max(0, this.#openedAt + this.#openPeriod - this.#clock());
  }

  /**
   * Runs `fn` through the breaker. `fn` receives an `AbortSignal` that aborts when the call
   * times out. Creating a signal costs ~2 us on Node 20, so one is created only when `fn` declares
   * a parameter; `fn` that ignores it (`() => fetchThing()`) pays nothing for it.
   */
  call<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>): Promise<Awaited<T>> {
    // Checked before admission: a bad argument must not take a probe permit it never gives back.
    if (typeof fn !== 'function') throw invalidArgType('fn', 'a function', fn);
    const permit = this.#acquire();
    if (permit === REFUSED) return Promise.reject(this.#openError());
    const generation = this.#generation;
    const probe = permit === PROBE;
    const controller = fn.length > 0 ? new AbortController() : undefined;
    let result: T | PromiseLike<T>;
    try {
      result = fn(controller === undefined ? (undefined as unknown as AbortSignal) : controller.signal);
    } catch (error) {
      // A synchronous throw is an outcome like any other: a probe that throws must not leave
      // the circuit stuck HALF_OPEN (Polly#1979).
      this.#settleError(new Ticket(this, generation, probe), error);
      return Promise.reject(error);
    }
    if (!isThenable(result)) {
      new Ticket(this, generation, probe).success();
      return Promise.resolve(result as Awaited<T>);
    }
    const thenable = result;
    return new Promise<Awaited<T>>((resolve, reject) => {
      const pending = new PendingCall<Awaited<T>>(this, generation, probe, controller, resolve, reject);
      if (this.#options.slowCallDuration !== undefined) pending.startedAt = this.#clock();
      this.#deadlines?.add(pending);
      const onRejected = (error: unknown): void => {
        if (pending.done) return;
        pending.done = true;
        this.#deadlines?.remove(pending);
        reject(error);
        this.#settleError(pending, error);
      };
      try {
        thenable.then((value) => {
          if (pending.done) return; // timed out already: a late result counts for nothing
          pending.done = true;
          this.#deadlines?.remove(pending);
          // Resolve before reporting: a throwing listener must not leave the caller waiting.
          resolve(value as Awaited<T>);
          if (this.#isSlow(pending.startedAt)) pending.slowSuccess();
          else pending.success();
        }, onRejected);
      } catch (error) {
        // A thenable whose then() throws has failed now; left alone, its ticket would stay
        // unsettled until the call timeout, or for ever with `callTimeout: Infinity`.
        onRejected(error);
      }
    });
  }


  /** Returns a function with `fn`'s signature whose every call goes through this breaker. */
  /** Whether a call that started at `startedAt` (this breaker's clock) and ends now was slow; no clock read when the rule is off. */
  #isSlow(startedAt: number): boolean {
    const threshold = this.#options.slowCallDuration;
    return threshold !== undefined && this.#clock() - startedAt > threshold;
  }

  wrap<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>): (...args: A) => Promise<Awaited<R>> {
    if (typeof fn !== 'function') throw invalidArgType('fn', 'a function', fn);
    return (...args: A) => this.call(() => fn(...args));
  }

  /** Holds the circuit OPEN, without probes, until `forceClose()` or `reset()` (maintenance). */
  forceOpen(): void {
    this.#forced = true;
    this.#open(undefined);
  }

  /** Closes the circuit now and clears the failure count; statistics are kept. */
  forceClose(): void {
    this.#forced = false;
    this.#close();
  }

  /** Closes the circuit and forgets everything, statistics included. */
  reset(): void {
    this.forceClose();
    for (const key of Object.keys(this.#counts) as Array<keyof BreakerCounts>) this.#counts[key] = 0;
    this.#lastError = undefined;
    this.#openedAtWall = null;
  }

  snapshot(): BreakerSnapshot {
    const state = this.state;
    const nextAttemptAt = state === CircuitState.OPEN && !this.#forced ? Date.now() + this.retryAfter() : null;
    return {
      state,
      failures: this.#failures,
      openedAt: this.#openedAtWall,
      nextAttemptAt,
      openPeriod: this.#openPeriod,
      reopenings: this.#reopenings,
      probes: this.#probes,
      forced: this.#forced,
      counts: { ...this.#counts },
    };
  }

  /** @internal Called by `Ticket`; use the ticket's methods instead. */
  settle(ticket: Ticket, outcome: Outcome, error: unknown): void {
    // A result from another generation was admitted under a state that no longer holds.
    if (ticket.generation !== this.#generation) return;
    if (outcome === RELEASE) {
      if (ticket.probe) {
        this.#probes--;
        this.#counts.probesReleased++;
      }
      return;
    }
    if (outcome === SUCCESS) {
      this.#counts.successes++;
      if (this.#watched.success) this.emit('success');
      if (ticket.probe) return this.#close();
      this.#failures = 0;
      // Every rule hears of every success (a count-based custom rule needs it); only the clock
      // read is skipped when no rule is timed.
      const now = this.#timedRules ? this.#clock() : 0;
      for (const rule of this.#rules) rule.success(now);
      return;
    }
    if (outcome === SLOW_SUCCESS) return this.#settleSlow(ticket);
    this.#counts.failures++;
    this.#lastError = error;
    if (this.#watched.failure) this.emit('failure', error);
    if (ticket.probe) {
      this.#reopenings++;
      return this.#open(error);
    }
    this.#failures++;
    const now = this.#timedRules ? this.#clock() : 0;
    let trip = false;
    for (const rule of this.#rules) if (rule.failure(now, this.#failures)) trip = true;
    if (trip) this.#open(error);
  }

  /**
   * A slow success: a success for the state machine and for every rule but the ones that judge
   * slowness. A slow probe still closes the circuit: the target answers, and the slow-call rule
   * judges it again once `minRequests` calls are in its window.
   */
  #settleSlow(ticket: Ticket): void {
    this.#counts.successes++;
    this.#counts.slowCalls++;
    if (this.#watched.success) this.emit('success');
    if (ticket.probe) return this.#close();
    this.#failures = 0;
    const now = this.#timedRules ? this.#clock() : 0;
    let trip = false;
    for (const rule of this.#rules) {
      if (rule.slowSuccess === undefined) rule.success(now);
      else if (rule.slowSuccess(now)) trip = true;
    }
    if (trip) this.#open(undefined);
  }

  /** @internal A pending call timed out: one failure, counted once. */
  recordTimeout(ticket: Ticket, error: CallTimeoutError): void {
    this.#counts.timeouts++;
    if (this.#watched.timeout) this.emit('timeout', error);
    ticket.failure(error);
  }

  #settleError(ticket: Ticket, error: unknown): void {
    let failure = true;
    try {
      failure = this.#isFailure(error);
    } catch {
      // A throwing classifier must not leave the ticket unsettled; count a failure.
    }
    if (failure) ticket.failure(error);
    else ticket.success();
  }

  #refuse(): void {
    this.#counts.rejections++;
    if (this.#watched.reject) this.emit('reject', this.#openError());
  }

  /**
   * The error of a refused call. An Error costs ~0.5 us to make even without a stack (a quarter of
   * an open rejection through `call()`), so rejections that say the same thing (the same whole
   * millisecond until the next probe) share one; its fields are read-only.
   */
  #openError(): CircuitBreakerOpenError {
    const retryAfter = Math.ceil(this.retryAfter());
    const last = this.#lastOpenError;
    if (last !== undefined && last.retryAfterMs === retryAfter) return last;
    return (this.#lastOpenError = withoutStack(() => new CircuitBreakerOpenError(retryAfter)));
  }

  /** OPEN and the open period is over: move to HALF_OPEN. Returns whether it did. */
  #probeDue(): boolean {
    if (this.#forced || this.#clock() - this.#openedAt < this.#openPeriod) return false;
    this.#transition(CircuitState.HALF_OPEN, undefined);
    return true;
  }

  #open(error: unknown): void {
    // Backoff: resetTimeout * 2^k, capped. The exponent is capped too, so a long outage cannot
    // overflow to Infinity or NaN (cockatiel#86).
    const { resetTimeout, resetTimeoutMax, jitter } = this.options;
    const period = Math.min(resetTimeout * 2 ** Math.min(this.#reopenings, 52), resetTimeoutMax);
    this.#openPeriod = jitter > 0 ? period * (1 + Math.random() * jitter) : period;
    this.#openedAt = this.#clock();
    this.#openedAtWall = Date.now();
    this.#transition(CircuitState.OPEN, error);
  }

  #close(): void {
    this.#failures = 0;
    this.#reopenings = 0;
    this.#openPeriod = this.options.resetTimeout;
    this.#transition(CircuitState.CLOSED, undefined);
  }

  #transition(to: CircuitState, error: unknown): void {
    const from = this.#state;
    this.#generation++;
    this.#probes = 0;
    for (const rule of this.#rules) rule.reset();
    const failures = this.#failures;
    this.#state = to;
    if (from === to) return;
    const event: StateChangeEvent = error === undefined ? { from, to, failures } : { from, to, failures, error };
    this.emit('stateChange', event);
  }
}

/** A rule is called on the hot path, inside promise callbacks: a broken one must fail here, not there. */
function validateRule(rule: unknown, name: string): TripRule {
  const candidate = validateObject(rule, name);
  for (const method of ['success', 'failure', 'reset'] as const) {
    if (typeof candidate[method] !== 'function') {
      throw new ConfigError(name, `expected a trip rule with a ${method}() method, got ${show(rule)}`);
    }
  }
  return rule as TripRule;
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<T>).then === 'function';
}
