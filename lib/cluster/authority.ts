/**
 * The primary's side of "one breaker per target for the whole cluster": each target's real
 * `CircuitBreaker` lives here, driven by tickets the primary takes on the workers' behalf.
 *
 * - A failure reported by any worker is one failure of that breaker, at once; successes arrive in
 *   batches (up to `SUCCESS_FLUSH_MS` late) and are applied before a failure of the same worker
 *   that followed them.
 * - Every state change bumps the target's epoch and is broadcast; outcomes of an older epoch are
 *   dropped (the generation rule of `Ticket`, across processes).
 * - When the open period ends, the primary takes the HALF_OPEN probe tickets itself
 *   (`halfOpenMaxCalls` of them) and lends them to one worker at a time; a worker that does not
 *   use its grant within `GRANT_LEASE_MS` gives it back and the next worker gets it. So a
 *   half-open period admits `halfOpenMaxCalls` probes across the cluster, decided locally in the
 *   worker that holds them, with no request waiting on a message.
 * - With `probePath`, the primary's own synthetic prober sends the probes (once, not per worker)
 *   and no grant is made.
 */
import { CircuitBreaker, CircuitState, type CircuitBreakerOptions, type Ticket } from '../breaker/breaker.js';
import type { StateChangeInfo } from '../proxy/proxy.js';
import { GRANT_LEASE_MS, type BreakerState, type ToWorker } from './protocol.js';

/** The workers, as the authority sees them. */
export interface Peers<Member> {
  send(member: Member, message: ToWorker): void;
  broadcast(message: ToWorker): void;
  /** The worker that should hold a grant after `after` (round-robin); undefined when none listens. */
  next(after: Member | undefined): Member | undefined;
}

interface Grant<Member> {
  tickets: Ticket[];
  holder: Member | undefined;
  lease: ReturnType<typeof setTimeout> | undefined;
}

export class BreakerAuthority<Member> {
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #epochs = new Map<string, number>();
  readonly #states = new Map<string, BreakerState>();
  readonly #grants = new Map<string, Grant<Member>>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #peers: Peers<Member> | undefined;
  /** `probePath` is set: the primary's prober probes, workers get no grant. */
  syntheticProbes = false;

  /** The `makeBreaker` hook of the primary's proxy: its breakers are the cluster's. */
  readonly makeBreaker = (origin: string, options: CircuitBreakerOptions): CircuitBreaker => {
    const breaker = new CircuitBreaker(options);
    this.#breakers.set(origin, breaker);
    this.#epochs.set(origin, 0);
    this.#states.set(origin, this.#stateOf(origin, breaker, CircuitState.CLOSED));
    return breaker;
  };

  connect(peers: Peers<Member>): void {
    this.#peers = peers;
  }

  /** The state of every target, for a worker that starts. */
  states(): BreakerState[] {
    return [...this.#states.values()];
  }

  /** The primary's proxy reports a transition of `info.target`'s breaker. */
  changed(info: StateChangeInfo): void {
    this.#publish(info.target, info.to);
  }

  /** A manual action was applied to `origin`'s breaker: publish whatever it is now. */
  controlled(origin: string): void {
    const breaker = this.#breakers.get(origin);
    if (breaker === undefined) return;
    this.#publish(origin, breaker.snapshot().forced ? CircuitState.OPEN : breaker.state);
  }

  /**
   * Outcomes of ordinary requests from `member`: successes first, then the failure. A failure is
   * answered: by the broadcast if it changed the circuit, else by a `tally` to `member` alone (the
   * worker holds admissions on unanswered failures near the threshold, mirror.ts).
   */
  outcomes(member: Member, origin: string, epoch: number, successes: number, slow: number, failure: string | undefined): void {
    const breaker = this.#current(origin, epoch);
    if (breaker === undefined) return;
    for (let i = 0; i < successes - slow && breaker.state === CircuitState.CLOSED; i++) breaker.admit()?.success();
    // Slow successes last: they can trip the slow-call rule, which the plain ones cannot.
    for (let i = 0; i < slow && breaker.state === CircuitState.CLOSED; i++) breaker.admit()?.slowSuccess();
    if (failure === undefined) return;
    if (breaker.state === CircuitState.CLOSED) breaker.admit()?.failure(new Error(failure));
    // A change bumped the epoch and was broadcast: that is the answer.
    if (this.#epochs.get(origin) === epoch) this.#peers?.send(member, { type: 'tally', origin, epoch, failures: breaker.failures });
  }

  /** A probe of `member`'s grant started or ended. */
  probe(member: Member, origin: string, epoch: number, outcome: 'started' | 'success' | 'failure' | 'release', failure?: string): void {
    if (this.#current(origin, epoch) === undefined) return;
    const grant = this.#grants.get(origin);
    if (grant === undefined || grant.holder !== member) return;
    if (outcome === 'started' || outcome === 'release') return;
    const ticket = grant.tickets.pop();
    if (outcome === 'success') ticket?.success();
    else ticket?.failure(new Error(failure ?? 'probe failed'));
  }

  /** `member` answered a revoke. */
  returned(member: Member, origin: string, epoch: number, kept: boolean): void {
    if (this.#current(origin, epoch) === undefined) return;
    const grant = this.#grants.get(origin);
    if (grant === undefined || grant.holder !== member) return;
    if (kept) this.#lease(origin, grant);
    else this.#lend(origin, grant, this.#peers?.next(member));
  }

  /** `member` is gone: its probe tickets go to another worker, uncharged. */
  departed(member: Member): void {
    for (const [origin, grant] of this.#grants) {
      if (grant.holder === member) this.#lend(origin, grant, this.#peers?.next(member));
    }
  }

  /** A worker started listening: a grant nobody could take goes to it. */
  arrived(): void {
    for (const [origin, grant] of this.#grants) {
      if (grant.holder === undefined) this.#lend(origin, grant, this.#peers?.next(undefined));
    }
  }

  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    for (const grant of this.#grants.values()) clearTimeout(grant.lease);
    this.#timers.clear();
    this.#grants.clear();
  }

  #current(origin: string, epoch: number): CircuitBreaker | undefined {
    return this.#epochs.get(origin) === epoch ? this.#breakers.get(origin) : undefined;
  }

  #publish(origin: string, to: CircuitState): void {
    const breaker = this.#breakers.get(origin);
    if (breaker === undefined) return;
    this.#epochs.set(origin, (this.#epochs.get(origin) ?? 0) + 1);
    const grant = this.#grants.get(origin);
    if (grant !== undefined) {
      clearTimeout(grant.lease);
      this.#grants.delete(origin);
    }
    clearTimeout(this.#timers.get(origin));
    this.#timers.delete(origin);
    const state = this.#stateOf(origin, breaker, to);
    this.#states.set(origin, state);
    this.#peers?.broadcast({ type: 'state', state });
    if (to === CircuitState.OPEN && !state.forced && !this.syntheticProbes) this.#schedule(origin, breaker);
  }

  #stateOf(origin: string, breaker: CircuitBreaker, to: CircuitState): BreakerState {
    const s = breaker.snapshot();
    return {
      origin,
      epoch: this.#epochs.get(origin) ?? 0,
      state: to,
      failures: s.failures,
      openedAt: s.openedAt,
      nextAttemptAt: to === CircuitState.OPEN && !s.forced ? Date.now() + breaker.retryAfter() : null,
      openPeriod: s.openPeriod,
      reopenings: s.reopenings,
      forced: s.forced,
    };
  }

  /** The breaker has no timer of its own; the primary needs one to start the half-open period. */
  #schedule(origin: string, breaker: CircuitBreaker): void {
    const timer = setTimeout(() => this.#halfOpen(origin, breaker), Math.max(1, Math.ceil(breaker.retryAfter())));
    timer.unref();
    this.#timers.set(origin, timer);
  }

  #halfOpen(origin: string, breaker: CircuitBreaker): void {
    this.#timers.delete(origin);
    if (this.#breakers.get(origin) !== breaker) return;
    const tickets: Ticket[] = [];
    // The first admit() moves the breaker to HALF_OPEN (published by `changed`), the others take
    // the rest of its probe slots.
    for (let i = 0; i < breaker.options.halfOpenMaxCalls; i++) {
      const ticket = breaker.admit();
      if (ticket === undefined) break;
      tickets.push(ticket);
    }
    if (tickets.length === 0) {
      // Not due yet (a timer may fire up to a millisecond early, by the loop's clock) or forced
      // open: try again. Only this method takes probe tickets and none is out (no grant), so a
      // refusal means OPEN. Reading `state` here instead could itself end the open period and
      // leave the circuit HALF_OPEN with nobody holding its probes (probe.ts has the same rule).
      if (!this.#grants.has(origin)) this.#schedule(origin, breaker);
      return;
    }
    const grant: Grant<Member> = { tickets, holder: undefined, lease: undefined };
    this.#grants.set(origin, grant);
    this.#lend(origin, grant, this.#peers?.next(undefined));
  }

  #lend(origin: string, grant: Grant<Member>, holder: Member | undefined): void {
    clearTimeout(grant.lease);
    grant.holder = holder;
    if (holder === undefined) return;
    this.#peers?.send(holder, { type: 'grant', origin, epoch: this.#epochs.get(origin) ?? 0, slots: grant.tickets.length });
    this.#lease(origin, grant);
  }

  #lease(origin: string, grant: Grant<Member>): void {
    clearTimeout(grant.lease);
    grant.lease = setTimeout(() => {
      const holder = grant.holder;
      // Alone, a worker keeps its grant: there is nobody to pass it to.
      if (holder === undefined || this.#peers?.next(holder) === holder) return this.#lease(origin, grant);
      this.#peers?.send(holder, { type: 'revoke', origin, epoch: this.#epochs.get(origin) ?? 0 });
    }, GRANT_LEASE_MS);
    grant.lease.unref();
  }
}
