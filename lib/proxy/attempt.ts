/**
 * The lifecycle of one try at an upstream target, written once for proxied requests, failover
 * retries, upgrades and synthetic probes: the breaker ticket and what it is told, the wait for
 * the response head, the outcome (exactly once), and, for a client's request, the counts in
 * flight (proxy-wide and per target), the retry budget, the latency and the `proxyError` and
 * `response` events.
 *
 * Subclasses (Exchange, Tunnel, Probe) speak HTTP; they call the protected methods here at each
 * turn and never touch a ticket or a counter themselves. They extend this class rather than
 * hold an instance of it, so that a proxied request stays one object.
 */
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Ticket } from '../breaker/breaker.js';
import type { DeadlineEntry, DeadlineQueue } from '../deadlines.js';
import {
  UpstreamConnectionError,
  UpstreamIdleTimeoutError,
  UpstreamResponseError,
  UpstreamStatusError,
  UpstreamTimeoutError,
  withoutStack,
  type UpstreamError,
} from '../errors.js';
import type { IdleEntry } from '../idle.js';
import type { ProxyErrorType } from './answers.js';
import { classify, type Classified } from './classify.js';
import type { ProxyEvents } from './proxy.js';
import { RetryBudget } from './retry-budget.js';
import type { Admission, Route } from './routes.js';
import type { Outcome, Target } from './target.js';

/**
 * Interim (1xx) responses allowed before the final one. They are not relayed; past this many the
 * target is broken (or hostile: a 1xx storm would hold the attempt until the call timeout).
 */
export const MAX_INTERIM_RESPONSES = 32;

/**
 * Where an attempt reports how its try went: a breaker's `Ticket` for client requests and
 * synthetic probes, or a health check's own verdict (health.ts), which never reaches the breaker.
 */
export type Verdict = Pick<Ticket, 'success' | 'slowSuccess' | 'failure' | 'release' | 'settled'>;

/** What the client attempts of one proxy share. */
export class AttemptContext {
  /** Where `proxyError` and `response` go: the proxy. */
  readonly events: EventEmitter<ProxyEvents>;
  readonly budget: RetryBudget;
  /** Send the client's `Host` upstream. */
  preserveHost: boolean;
  /**
   * Open WebSocket/Upgrade tunnels, so that closing the proxy can end them: once upgraded, a
   * socket is no longer the HTTP server's, and `closeAllConnections()` does not see it.
   */
  readonly tunnels = new Set<{ close(): void }>();

  constructor(events: EventEmitter<ProxyEvents>, options: { preserveHost: boolean; retryBudgetPercent: number; retryBudgetMin: number }) {
    this.events = events;
    this.preserveHost = options.preserveHost;
    this.budget = new RetryBudget(options.retryBudgetPercent, options.retryBudgetMin);
  }

  /** Takes a reloaded configuration. */
  configure(options: { preserveHost: boolean; retryBudgetPercent: number; retryBudgetMin: number }): void {
    this.preserveHost = options.preserveHost;
    this.budget.configure(options.retryBudgetPercent, options.retryBudgetMin);
  }
}

/** One try at an admitted target: its ticket, the wait for its head, its outcome. */
export abstract class Attempt implements DeadlineEntry, IdleEntry {
  deadlinePrev: DeadlineEntry | undefined = undefined;
  deadlineNext: DeadlineEntry | undefined = undefined;
  deadlineAt = 0;
  idlePrev: IdleEntry | undefined = undefined;
  idleNext: IdleEntry | undefined = undefined;
  idleTicks = 0;

  /** The wait for the response head (the call timeout). */
  readonly deadlines: DeadlineQueue;
  target!: Target;
  ticket!: Verdict;
  /** How it ended; set once. */
  outcome: Outcome | undefined = undefined;
  #headReceived = false;
  /** That head's status is a failure status, charged when it came: nothing is charged twice. */
  #failureStatus = false;
  /** Interim (1xx) heads from the current target. */
  #interim = 0;
  /** The head came later than the target's `slowCallDuration`: the success is reported slow. */
  #slow = false;

  constructor(deadlines: DeadlineQueue) {
    this.deadlines = deadlines;
  }

  /** The current target's final head arrived. */
  get headReceived(): boolean {
    return this.#headReceived;
  }

  /** The call timeout passed with no response head. */
  expire(): void {
    if (this.outcome !== undefined) return;
    this.charge(withoutStack(() => new UpstreamTimeoutError(this.target.origin, this.deadlines.timeout)));
    this.answer(504, 'http_response_timeout', 'timeout');
  }

  /** An interim (1xx) head arrived: not relayed, but a storm of them is the target's error. */
  upstreamInterim(): void {
    if (++this.#interim > MAX_INTERIM_RESPONSES) this.protocolError(new Error(`more than ${MAX_INTERIM_RESPONSES} interim (1xx) responses`));
  }

  /**
   * Finishes with `outcome` and, where someone waits for an answer, gives the proxy's own
   * (`status` with `type` as its Proxy-Status) in place of the target's.
   */
  protected abstract answer(status: number, type: ProxyErrorType, outcome: Outcome): void;

  /** Called once, when the outcome is set. */
  protected abstract ended(outcome: Outcome): void;

  /**
   * Starts a try on an admitted target. The wait for its head starts now, unless a request body
   * is still to be sent (`waitForHead` false): then the caller starts it when the body is out.
   */
  protected begin(target: Target, ticket: Verdict, waitForHead = true): void {
    this.target = target;
    this.ticket = ticket;
    this.#headReceived = false;
    this.#failureStatus = false;
    this.#interim = 0;
    this.#slow = false;
    if (waitForHead) this.deadlines.add(this);
    // No wait started: a head that comes before the body is out cannot be slow (headArrived).
    else this.deadlineAt = Number.NaN;
  }

  /** The target moved no byte for the idle timeout: charged; `afterHead` says which side it failed. */
  protected chargeIdle(timeoutMs: number): void {
    this.charge(withoutStack(() => new UpstreamIdleTimeoutError(this.target.origin, timeoutMs, this.#headReceived)));
  }

  /** Called by the idle sweeper; only attempts that join one override it. */
  idleExpire(): void {}

  /**
   * The final head arrived in time. A failure status is charged now; its body is still the
   * target's own answer and goes on unchanged.
   */
  protected headArrived(status: number, failure: boolean): void {
    // The wait for the head started when its deadline was set (`begin`, or once the request body
    // was out), so the head time costs no clock read at the start, and none with the rule off.
    const slowCall = this.target.slowCallDuration;
    if (slowCall !== undefined) this.#slow = performance.now() - (this.deadlineAt - this.deadlines.timeout) > slowCall;
    this.deadlines.remove(this);
    this.#headReceived = true;
    if (!failure) return;
    this.#failureStatus = true;
    this.ticket.failure(withoutStack(() => new UpstreamStatusError(this.target.origin, status)));
  }

  /** The target's answer is complete: a success, unless its status was a failure status. */
  protected succeed(): void {
    if (this.#failureStatus) return this.finish('failure_status');
    if (this.#slow) this.ticket.slowSuccess();
    else this.ticket.success();
    this.finish('success');
  }

  /**
   * Charges the current target with a failure: reported first, then its ticket, so that a log
   * shows the error before the state change it caused.
   */
  protected charge(failure: UpstreamError): void {
    this.deadlines.remove(this);
    this.reportFailure(failure);
    if (!this.#failureStatus) this.ticket.failure(failure);
  }

  /** A connection error before the head: charged, and classified for the answer. */
  protected chargeConnectionError(error: Error & { code?: string }): Classified {
    const classified = classify(error);
    this.charge(withoutStack(() => new UpstreamConnectionError(classified.type, this.target.origin, error)));
    return classified;
  }

  /** The target broke HTTP before its final head. */
  protected protocolError(cause: unknown): void {
    if (this.outcome !== undefined) return;
    this.charge(withoutStack(() => new UpstreamConnectionError('http_protocol_error', this.target.origin, cause)));
    this.answer(502, 'http_protocol_error', 'error');
  }

  /** The body broke off after the head: charged and finished; the caller cuts its client off. */
  protected brokenBody(cause: unknown): void {
    this.charge(withoutStack(() => new UpstreamResponseError(this.target.origin, cause)));
    this.finish('error');
  }

  /** Whoever waited went away: that says nothing about the target, whose ticket goes back uncharged. */
  protected abandon(): void {
    if (this.outcome !== undefined) return;
    this.deadlines.remove(this);
    this.ticket?.release();
    this.finish('aborted');
  }

  protected reportFailure(_failure: UpstreamError): void {}

  /** Sets the outcome, once. */
  protected finish(outcome: Outcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    this.deadlines.remove(this);
    this.ended(outcome);
  }
}

/**
 * An attempt for a client's request (proxied or upgrade): also counted in flight proxy-wide and
 * per target, under the retry budget, its latency observed, reported by `proxyError` and
 * `response` events. Failover moves it to another target; it stays one request with one outcome.
 */
export abstract class ClientAttempt extends Attempt {
  readonly context: AttemptContext;
  readonly req: IncomingMessage;
  readonly route: Route;
  readonly startedAt: number;
  /** Targets tried so far; more than one after a failover retry. */
  attempts = 0;
  /** The status the client gets: the upstream's, or the proxy's own answer; 0 until either. */
  status = 0;
  /** This request holds one of the retry budget's slots. */
  #retrying = false;
  /**
   * Targets a retry of this request must not go to: those that failed it, so a second retry does
   * not go back to one of them, and those whose `Retry-After` had not passed at a retry.
   */
  #tried: Target[] | undefined = undefined;

  constructor(context: AttemptContext, req: IncomingMessage, route: Route) {
    super(route.deadlines);
    this.context = context;
    this.req = req;
    this.route = route;
    this.startedAt = performance.now();
    context.budget.requestStarted();
  }

  protected override begin(target: Target, ticket: Verdict, waitForHead = true): void {
    super.begin(target, ticket, waitForHead);
    this.attempts++;
    target.inFlight++;
  }

  /**
   * Failover: another target for this request, if the route allows another retry, the retry
   * budget has room, and a target not yet tried admits it. The failed target's try is counted as
   * an error; the caller has charged its ticket and sends the request on with `begin()`.
   */
  protected failover(): Admission | undefined {
    const next = this.#another();
    if (next !== undefined) this.#leave('error');
    return next;
  }

  /**
   * Retry on status (`retryOn`): the current target answered `status` (its head only, nothing
   * relayed yet). When another target admits the request under the same rules as a failover, the
   * answer counts for this target's breaker as its status says (`failure`: a failure status) and
   * the caller drops it and sends the request on with `begin()`; else nothing changed and the
   * caller relays the answer.
   */
  protected retryOnStatus(status: number, failure: boolean): Admission | undefined {
    const next = this.#another();
    if (next === undefined) return undefined;
    this.deadlines.remove(this);
    const answered = this.target;
    if (failure) this.ticket.failure(withoutStack(() => new UpstreamStatusError(answered.origin, status)));
    else this.ticket.success();
    answered.statusRetries++;
    this.#leave(failure ? 'failure_status' : 'success');
    return next;
  }

  /** Another target for a retry, if the route's `retries` and the retry budget allow one. */
  #another(): Admission | undefined {
    if (this.attempts > this.route.config.retries) return undefined;
    // One budget slot per request, however many retries it makes: finish gives it back.
    if (!this.#retrying && !this.context.budget.hasRoom()) return undefined;
    const tried = (this.#tried ??= []);
    tried.push(this.target);
    holdOffRetries(this.route.targets, tried);
    return this.route.pick(tried);
  }

  /** The current target's try ends with `outcome`; the request moves on under a retry-budget slot. */
  #leave(outcome: Outcome): void {
    release(this.target, outcome);
    if (!this.#retrying) {
      this.#retrying = true;
      this.context.budget.retryStarted();
    }
  }

  protected override reportFailure(error: UpstreamError): void {
    const events = this.context.events;
    if (events.listenerCount('proxyError') > 0) events.emit('proxyError', { target: error.target, route: this.route.name, error, req: this.req });
  }

  protected override ended(outcome: Outcome): void {
    this.route.idle.remove(this);
    const target = this.target;
    release(target, outcome);
    const durationMs = performance.now() - this.startedAt;
    if (outcome !== 'aborted') target.latency.observe(durationMs / 1000);
    const context = this.context;
    context.budget.requestEnded(this.#retrying);
    const events = context.events;
    if (events.listenerCount('response') === 0) return;
    events.emit('response', {
      req: this.req,
      route: this.route.name,
      target: target.origin,
      // What the client got; 499 (nginx's convention) when it left before any answer.
      status: this.status === 0 ? 499 : this.status,
      outcome,
      durationMs,
      retries: this.attempts - 1,
      state: target.breaker.state,
    });
  }
}

/** Adds to `exclude` the targets whose `Retry-After` has not passed: no retry goes to them. */
function holdOffRetries(targets: readonly Target[], exclude: Target[]): void {
  let now = 0;
  for (const target of targets) {
    if (target.retryAfterUntil === 0) continue;
    now ||= performance.now();
    if (target.holdsOffRetries(now) && !exclude.includes(target)) exclude.push(target);
  }
}

/**
 * A client request no target admitted (every circuit refused, or every target was at its
 * concurrency limit): no attempt is made, but it is counted per target, as `rejected` or
 * `limited`, and reported by `reject` and `response` events like any request. No object is made
 * for it: an outage's 503s are a hot path too.
 */
export function reportRefusal(context: AttemptContext, route: Route, req: IncomingMessage, reason: 'open' | 'limited', retryAfterMs: number | undefined): void {
  const events = context.events;
  if (events.listenerCount('reject') > 0) events.emit('reject', { route: route.name, reason, retryAfterMs: retryAfterMs ?? 0, req });
  reportRouteAnswer(events, route, req, 503, reason === 'limited' ? 'limited' : 'rejected');
  for (const target of route.targets) target.record(target.lastRefusal === 'limited' ? 'limited' : 'rejected');
}

/**
 * A client request no target of `route` admitted, answered by the route's fallback: counted per
 * target as `fallback` (apart from `rejected`/`limited`) and on the route. A static answer is
 * reported by a `response` event here; a fallback target's exchange reports its own.
 */
export function reportFallback(context: AttemptContext, route: Route, req: IncomingMessage, status: number | undefined): void {
  route.fallbacks++;
  for (const target of route.targets) target.record('fallback');
  if (status !== undefined) reportRouteAnswer(context.events, route, req, status, 'fallback');
}

/** The `response` event of an answer the route gave itself, no target tried: nothing timed, no retry. */
function reportRouteAnswer(events: EventEmitter<ProxyEvents>, route: Route, req: IncomingMessage, status: number, outcome: Outcome): void {
  if (events.listenerCount('response') === 0) return;
  events.emit('response', { req, route: route.name, target: route.answerTarget, status, outcome, durationMs: 0, retries: 0, state: route.targets[0]!.breaker.state });
}

/** A try on `target` is over: its slot frees (a queued request may take it) and its outcome counts. */
function release(target: Target, outcome: Outcome): void {
  target.inFlight--;
  if (target.queues !== undefined) target.slotFreed();
  target.record(outcome);
}
