/**
 * Synthetic probes (`probePath`): a half-open target is tested by the proxy itself with
 * `GET probePath`, so no client request is spent on a target that may still be down. While the
 * circuit is not CLOSED the target admits no client requests (see `Target.admit`); traffic comes
 * back only after a probe succeeded and closed the circuit.
 *
 * Health-check convention (Envoy's expected_statuses, nginx's health_check): 2xx and 3xx pass,
 * anything else, a connection error or no answer within the timeout fails.
 */
import type { ClientRequest } from 'node:http';
import { CircuitState, type StateChangeEvent, type Ticket } from '../breaker/breaker.js';
import { UpstreamConnectionError, UpstreamStatusError, UpstreamTimeoutError } from '../errors.js';
import type { Target } from './target.js';

export class SyntheticProber {
  readonly target: Target;
  readonly path: string;
  readonly timeout: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #request: ClientRequest | undefined;
  /** The last probe's ticket: while it is not settled, that probe holds the half-open slot. */
  #ticket: Ticket | undefined;
  #stopped = false;
  readonly #onStateChange = ({ to }: StateChangeEvent): void => {
    if (to === CircuitState.OPEN) this.#schedule();
  };

  constructor(target: Target, path: string, timeout: number) {
    this.target = target;
    this.path = path;
    this.timeout = timeout;
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
      const probeOut = this.#ticket !== undefined && !this.#ticket.settled;
      if (!probeOut) this.#schedule();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const request = target.request({
        agent: target.agent,
        host: target.hostname,
        port: target.port,
        method: 'GET',
        path: this.path,
        setHost: false,
        headers: ['Host', target.hostHeader, 'User-Agent', 'proxy-breaker-probe'],
        timeout: this.timeout,
      });
      this.#request = request;
      this.#ticket = ticket;
      request.on('response', (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 400) ticket.success();
        else ticket.failure(new UpstreamStatusError(target.origin, status));
        resolve();
      });
      request.on('timeout', () => {
        ticket.failure(new UpstreamTimeoutError(target.origin, this.timeout));
        request.destroy();
      });
      request.on('error', (error) => {
        ticket.failure(new UpstreamConnectionError('connection_terminated', target.origin, error));
        resolve();
      });
      request.end();
    });
  }

  stop(): void {
    this.#stopped = true;
    // A target outlives its prober across reloads: do not leave a listener per reload on it.
    this.target.breaker.off('stateChange', this.#onStateChange);
    clearTimeout(this.#timer);
    // A probe cut short by stop() (reload, close) says nothing about the target: give its slot
    // back uncharged rather than let the aborted request count as a failed probe.
    this.#ticket?.release();
    this.#request?.destroy();
  }
}
