/**
 * A worker's breaker for one target: a mirror of the primary's authoritative breaker. It admits
 * or refuses locally and synchronously (while CLOSED a request costs one field read, as in a
 * process of its own), and reports outcomes to the primary, which alone runs the state machine
 * and broadcasts every change back (lib/cluster/authority.ts).
 *
 * - CLOSED admits everything; OPEN refuses everything;
 * - HALF_OPEN admits only as many probes as the primary granted this worker (`grant()`); the
 *   other workers refuse until the probe's outcome closes or reopens the circuit for all;
 * - an outcome of a ticket admitted under an older state (its epoch) is dropped, as a
 *   `CircuitBreaker` drops results of an older generation;
 * - CLOSED holds (refuses, as OPEN would) while failures it reported could have tripped the
 *   primary's breaker and the primary has not answered them yet: see `#holding()`.
 *
 * It extends `CircuitBreaker` so that a target, its probes and its snapshot use it unchanged;
 * `call()` and the manual controls are the primary's business and not used here.
 */
import { CircuitBreaker, CircuitState, Ticket, type BreakerCounts, type BreakerSnapshot, type CircuitBreakerOptions } from '../breaker/breaker.js';
import { zeroBreakerCounts } from './aggregate.js';
import type { BreakerState } from './protocol.js';

/** Where a mirror sends what it saw (the worker's link to the primary). */
export interface MirrorLink {
  /** Workers in the cluster: how many may be reporting failures at once. */
  readonly workers: number;
  /** A failure: sent at once, after this mirror's batched successes of the same epoch. */
  failure(mirror: MirroredBreaker, epoch: number, message: string): void;
  /** A probe started or ended: sent at once. */
  probe(mirror: MirroredBreaker, epoch: number, outcome: 'started' | 'success' | 'failure' | 'release', message?: string): void;
}

// The ticket outcomes `CircuitBreaker.settle()` receives (lib/breaker/breaker.ts).
const SUCCESS = 0;
const FAILURE = 1;
const SLOW_SUCCESS = 3;

export class MirroredBreaker extends CircuitBreaker {
  readonly origin: string;
  readonly #link: MirrorLink;
  #state: CircuitState = CircuitState.CLOSED;
  #epoch = 0;
  #mirror: BreakerState;
  /** Probe slots granted to this worker and not taken yet. */
  #slots = 0;
  /** Probes of this worker in flight. */
  #probes = 0;
  /** The cluster's consecutive failures at the primary's last word (a state or a tally). */
  #known = 0;
  /** Failures this worker reported in this epoch that the primary has not answered yet. */
  #unanswered = 0;
  /** This worker's failures since its last success: a run the primary sees unbroken. */
  #sinceSuccess = 0;
  /** Cached `#holding()`: admit() reads one field while CLOSED. */
  #held = false;
  readonly #counts: BreakerCounts = { admitted: 0, successes: 0, slowCalls: 0, failures: 0, rejections: 0, timeouts: 0, probesAdmitted: 0, probesReleased: 0 };
  /** Successes not yet reported, all of `pendingEpoch`: the link sends them in batches. */
  pendingSuccesses = 0;
  /** Of those, the slow ones (`slowCallDuration`): they feed the slow-call rule, a rate, so they wait for the batch too. */
  pendingSlow = 0;
  pendingEpoch = 0;

  constructor(origin: string, options: CircuitBreakerOptions, link: MirrorLink, state?: BreakerState) {
    super(options);
    this.origin = origin;
    this.#link = link;
    this.#mirror = { origin, epoch: 0, state: CircuitState.CLOSED, failures: 0, openedAt: null, nextAttemptAt: null, openPeriod: this.options.resetTimeout, reopenings: 0, forced: false };
    if (state !== undefined) this.apply(state);
  }

  override get state(): CircuitState {
    return this.#state;
  }

  override admit(): Ticket | undefined {
    if (this.#state === CircuitState.CLOSED && !this.#held) {
      this.#counts.admitted++;
      return new Ticket(this, this.#epoch, false);
    }
    if (this.#slots > 0) {
      this.#slots--;
      this.#probes++;
      this.#counts.admitted++;
      this.#counts.probesAdmitted++;
      this.#link.probe(this, this.#epoch, 'started');
      return new Ticket(this, this.#epoch, true);
    }
    this.#counts.rejections++;
    return undefined;
  }

  override retryAfter(): number {
    if (this.#state !== CircuitState.OPEN) return 0;
    if (this.#mirror.forced) return this.#mirror.openPeriod;
    const next = this.#mirror.nextAttemptAt;
    return next === null ? 0 : Math.max(0, next - Date.now());
  }

  /** @internal Called by `Ticket`. */
  override settle(ticket: Ticket, outcome: number, error: unknown): void {
    if (ticket.generation !== this.#epoch) return;
    if (ticket.probe) {
      this.#probes--;
      if (outcome === SUCCESS || outcome === SLOW_SUCCESS) {
        this.#counts.successes++;
        if (outcome === SLOW_SUCCESS) this.#counts.slowCalls++;
        this.#link.probe(this, ticket.generation, 'success');
      } else if (outcome === FAILURE) {
        this.#counts.failures++;
        this.#link.probe(this, ticket.generation, 'failure', messageOf(error));
      } else {
        // Given back unused (the client left): this worker may send another probe in its place.
        this.#counts.probesReleased++;
        this.#slots++;
        this.#link.probe(this, ticket.generation, 'release');
      }
      return;
    }
    if (outcome === SUCCESS || outcome === SLOW_SUCCESS) {
      this.#counts.successes++;
      // The primary gets this success in front of our next failure and resets its count there:
      // from our side, the count starts again from the failures of the others.
      this.#sinceSuccess = 0;
      this.#known = 0;
      if (this.#held) this.#held = false;
      if (this.pendingEpoch !== ticket.generation) {
        this.pendingEpoch = ticket.generation;
        this.pendingSuccesses = 0;
        this.pendingSlow = 0;
      }
      this.pendingSuccesses++;
      if (outcome === SLOW_SUCCESS) {
        this.#counts.slowCalls++;
        this.pendingSlow++;
      }
    } else if (outcome === FAILURE) {
      this.#counts.failures++;
      this.#unanswered++;
      this.#sinceSuccess++;
      this.#held = this.#holding();
      this.#link.failure(this, ticket.generation, messageOf(error));
    }
  }

  /**
   * Whether the failures this worker reported and the primary has not answered yet could, with
   * those of the other workers, have reached `failureThreshold`: then the circuit may be OPEN at
   * the primary already, and admitting more only sends more load into a failing target while the
   * opening travels. One unanswered failure is taken as the only one in the cluster (a lone
   * failure, as sequential requests make: the hold starts only where one process would open).
   * Two or more mean a burst, which every worker sees alike: each is counted once per worker, so
   * the workers together stop near the threshold, as one process does, instead of each admitting
   * until the opening arrives. Only failures since this worker's last success count: a success
   * breaks the run (a failure rate is not a burst). The primary's answer (a tally, or the new
   * state) ends the hold; so a hold lasts one round trip to the primary.
   */
  #holding(): boolean {
    const run = Math.min(this.#unanswered, this.#sinceSuccess);
    if (run === 0) return false;
    const share = run === 1 ? 1 : run * this.#link.workers;
    return this.#known + share >= this.options.failureThreshold;
  }

  /** The primary's answer to our oldest unanswered failure report of this epoch: the cluster's count after it. */
  tally(epoch: number, failures: number): void {
    if (epoch !== this.#epoch || this.#unanswered === 0) return;
    // A failure older than our last success: its count is from before that success reset it.
    const stale = this.#unanswered > this.#sinceSuccess;
    this.#unanswered--;
    if (!stale) this.#known = failures;
    this.#held = this.#holding();
  }

  /** Takes the primary's state for this target. */
  apply(state: BreakerState): void {
    const from = this.#state;
    this.#mirror = state;
    this.#epoch = state.epoch;
    this.#state = state.state;
    // Tickets of the old epoch no longer count, probes included; a grant comes in its own message.
    this.#slots = 0;
    this.#probes = 0;
    // Reports of the old epoch are answered by this state.
    this.#known = state.failures;
    this.#unanswered = 0;
    this.#sinceSuccess = 0;
    this.#held = false;
    if (from !== state.state) this.emit('stateChange', { from, to: state.state, failures: state.failures });
  }

  /** A manual reset at the primary: this worker's counts start again from zero too. */
  resetCounts(): void {
    zeroBreakerCounts(this.#counts);
  }

  /** HALF_OPEN probe slots for this worker. */
  grant(epoch: number, slots: number): void {
    if (epoch === this.#epoch && this.#state === CircuitState.HALF_OPEN) this.#slots = slots;
  }

  /** The primary takes back an unused grant; returns true when a probe is in flight here (kept). */
  revoke(epoch: number): boolean {
    if (epoch !== this.#epoch) return false;
    if (this.#probes > 0) return true;
    this.#slots = 0;
    return false;
  }

  override snapshot(): BreakerSnapshot {
    const m = this.#mirror;
    return {
      state: this.#state,
      failures: m.failures,
      openedAt: m.openedAt,
      nextAttemptAt: this.#state === CircuitState.OPEN && !m.forced ? m.nextAttemptAt : null,
      openPeriod: m.openPeriod,
      reopenings: m.reopenings,
      probes: this.#probes,
      forced: m.forced,
      counts: { ...this.#counts },
    };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
