/**
 * Synthetic probes (`probePath`): a half-open target is tested by the proxy itself with
 * `GET probePath`, so no client request is spent on a target that may still be down. While the
 * circuit is not CLOSED the target admits no client requests (see `Target.admit`); traffic comes
 * back only after a probe succeeded and closed the circuit.
 *
 * Health-check convention (Envoy's expected_statuses, nginx's health_check): 2xx and 3xx pass,
 * anything else, a connection error or no answer within the timeout fails.
 */
import { CircuitState, type StateChangeEvent, type Ticket } from '../breaker/breaker.js';
import { DeadlineQueue } from '../deadlines.js';
import type { ResponseSink, UpstreamConnection } from '../http1/connection.js';
import { requestHead } from '../http1/request-head.js';
import type { ResponseHead } from '../http1/response-parser.js';
import type { ProxyErrorType } from './answers.js';
import { Attempt, type Verdict } from './attempt.js';
import type { Outcome, Target } from './target.js';

/**
 * Body bytes of a probe's answer read and dropped so that its connection can go back to the
 * pool; a longer body is not worth reading, and its connection is closed instead.
 */
export const MAX_PROBE_BODY = 64 * 1024;

/**
 * One probe: `GET path` on the target's own connection pool, an attempt like a client's request
 * for its verdict, its call timeout and its outcome. Synthetic probes report to the breaker
 * through a ticket; health checks (health.ts) send the same request and report to their checker.
 *
 * It counts in the breaker only (its ticket), not in the target's request counters, in-flight
 * gauge or latency histogram, and it emits no `proxyError` or `response` event: those describe
 * client traffic, and a line in the access log per health check, or a request count that grows
 * while no client is served, would mislead an operator.
 */
export class Probe extends Attempt implements ResponseSink {
  #connection: UpstreamConnection | undefined = undefined;
  #bodyBytes = 0;
  readonly #settled: () => void;

  constructor(deadlines: DeadlineQueue, settled: () => void) {
    super(deadlines);
    this.#settled = settled;
  }

  send(target: Target, verdict: Verdict, path: string, userAgent = 'proxy-breaker-probe'): void {
    this.begin(target, verdict);
    const head = requestHead('GET', path, ['Host', target.hostHeader, 'User-Agent', userAgent]);
    if (head === undefined) {
      // probePath is validated at the edge; a head that still fails says nothing about the target.
      return this.abandon();
    }
    const connection = target.pool.open();
    this.#connection = connection;
    connection.send(this, head, false, undefined, 0);
  }

  /** 2xx and 3xx pass, decided at the head; the body is read and dropped (bounded, and timed). */
  upstreamHead(head: ResponseHead): void {
    const status = head.statusCode;
    this.headArrived(status, status < 200 || status >= 400);
    this.succeed();
    if (this.#connection !== undefined) this.deadlines.add(this);
  }

  upstreamData(chunk: Buffer): void {
    this.#bodyBytes += chunk.length;
    if (this.#bodyBytes > MAX_PROBE_BODY) this.#closeConnection();
  }

  upstreamEnd(): void {
    this.#connection = undefined;
    this.deadlines.remove(this);
  }

  upstreamError(error: Error & { code?: string }): void {
    this.#connection = undefined;
    if (this.outcome !== undefined) return;
    this.chargeConnectionError(error);
    this.finish('error');
  }

  /** No head within the timeout fails the probe; a body still dripping after it is cut off. */
  override expire(): void {
    if (this.outcome === undefined) return super.expire();
    this.#closeConnection();
  }

  /** A prober or checker stopped (reload, close): the probe says nothing about the target. */
  stop(): void {
    this.abandon();
    this.#closeConnection();
  }

  protected answer(_status: number, _type: ProxyErrorType, outcome: Outcome): void {
    // Nobody waits for an answer: the outcome is the breaker's, through the ticket.
    this.finish(outcome);
    this.#closeConnection();
  }

  protected ended(): void {
    this.#settled();
  }

  #closeConnection(): void {
    this.deadlines.remove(this);
    const connection = this.#connection;
    this.#connection = undefined;
    connection?.abort();
  }
}

export class SyntheticProber {
  readonly target: Target;
  readonly path: string;
  /** The probes' call timeout. */
  readonly #deadlines: DeadlineQueue;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The last probe: while its ticket is not settled, it holds the half-open slot. */
  #probe: Probe | undefined;
  #stopped = false;
  readonly #onStateChange = ({ to }: StateChangeEvent): void => {
    if (to === CircuitState.OPEN) this.#schedule();
  };

  constructor(target: Target, path: string, timeout: number) {
    this.target = target;
    this.path = path;
    this.#deadlines = new DeadlineQueue(timeout);
    target.breaker.on('stateChange', this.#onStateChange);
    // Probes may be turned on (a reload) while the circuit is not CLOSED. Reading `state` moves an
    // expired OPEN circuit to HALF_OPEN, where client requests no longer probe it: unless this
    // prober does, the circuit stays HALF_OPEN for ever.
    if (target.breaker.state !== CircuitState.CLOSED) this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    // A forced-open breaker has no probe due; retryAfter() then reports the whole period and
    // the probe finds the circuit still refusing, which re-schedules it.
    this.#timer = setTimeout(() => this.probe(), Math.max(1, this.target.breaker.retryAfter()));
    this.#timer.unref();
  }

  /** Sends one probe now if the breaker lets one through. Resolves when it settled. */
  probe(): Promise<void> {
    const { target } = this;
    // Closed meanwhile (forceClose() from the admin API): a closed circuit has nothing to probe,
    // and a ticket from it would count the health check as a client request.
    if (target.breaker.state === CircuitState.CLOSED) return Promise.resolve();
    const ticket = target.breaker.admit();
    if (ticket === undefined) {
      // Not due yet (a timer may fire up to a millisecond early, by the loop's clock) or forced
      // open: try again when it is due. Only this prober takes probe slots (client requests wait
      // for CLOSED), so a refusal while none of its probes is out means OPEN. Reading `state`
      // here instead raced: the period could end between admit()'s clock read and the next one,
      // which read HALF_OPEN and scheduled nothing, leaving the target unprobed for ever.
      const probeOut = this.#probe !== undefined && !this.#probe.ticket.settled;
      if (!probeOut) this.#schedule();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const probe = new Probe(this.#deadlines, resolve);
      this.#probe = probe;
      probe.send(target, ticket, this.path);
    });
  }

  stop(): void {
    this.#stopped = true;
    // A target outlives its prober across reloads: do not leave a listener per reload on it.
    this.target.breaker.off('stateChange', this.#onStateChange);
    clearTimeout(this.#timer);
    // A probe cut short by stop() (reload, close) says nothing about the target: give its slot
    // back uncharged rather than let the aborted request count as a failed probe.
    this.#probe?.stop();
    this.#deadlines.clear();
  }
}
