/**
 * Active health checks (`healthPath`; HAProxy's `check inter rise fall`, Envoy's health
 * checking): every `healthInterval` ms the proxy sends `GET healthPath` to each target, apart from
 * client traffic. `unhealthyAfter` failing checks in a row take the target out of rotation before a
 * client request finds it down; `healthyAfter` passing checks in a row bring it back (through slow
 * start, when set). A target added with checks on (at start or by a reload) waits for its first
 * passing check.
 *
 * Health and the breaker are separate judges, as in Envoy (health checking beside outlier
 * detection): checks never reach the breaker, and the breaker keeps judging client traffic. A
 * target takes a request only when both allow it. Synthetic probes (`probePath`, probe.ts) are
 * the breaker's: they test a half-open circuit. A check is the same request on the same machinery
 * (`Probe`: the target's pool, a bounded body, 2xx and 3xx pass, the route's call timeout), judged
 * by its checker instead of a ticket.
 *
 * A proxy can also follow verdicts made elsewhere (`FollowedHealth`): a cluster's workers take
 * the primary's, so that a target is checked once per instance, not once per process.
 */
import { DeadlineQueue } from '../deadlines.js';
import type { Verdict } from './attempt.js';
import { Probe } from './probe.js';
import type { HealthSnapshot } from './snapshot.js';
import type { Target } from './target.js';

export type HealthStatus = HealthSnapshot['status'];

/** How a target is checked; one checker per origin, so routes sharing an origin agree on these (options.ts). */
export interface HealthSettings {
  path: string;
  /** Ms between two checks. */
  interval: number;
  healthyAfter: number;
  unhealthyAfter: number;
  /** Ms a check waits for its response head: the route's call timeout. */
  timeout: number;
}

/** The first check of a target comes within this fraction of the interval; the next ones at the interval, give or take half of it. */
const SPREAD = 0.1;

/** A target's health as its checker judged it; it stays on the target when the checker is replaced with new settings. */
export class TargetHealth {
  status: HealthStatus = 'unknown';
  /** Passing checks in a row. */
  passes = 0;
  /** Failing checks in a row. */
  failures = 0;
  /** Wall-clock time (epoch ms) of the last check's result, or null. */
  checkedAt: number | null = null;
  lastResult: 'pass' | 'fail' | null = null;
  passed = 0;
  failed = 0;

  snapshot(inRotation: boolean): HealthSnapshot {
    const { status, passes, failures, checkedAt, lastResult, passed, failed } = this;
    return { status, inRotation, passes, failures, checkedAt, lastResult, checks: { passed, failed } };
  }
}

/** What one check tells its checker: a pass, a fail, or nothing (stopped before it ended). */
class CheckVerdict implements Verdict {
  settled = false;
  result: 'pass' | 'fail' | undefined = undefined;

  success(): void {
    this.#settle('pass');
  }

  /** Slow but answered: a check passes on its status, the breaker judges slowness of client calls. */
  slowSuccess(): void {
    this.#settle('pass');
  }

  failure(): void {
    this.#settle('fail');
  }

  release(): void {
    this.#settle(undefined);
  }

  #settle(result: 'pass' | 'fail' | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.result = result;
  }
}

/** Told when a target's health status changes (the proxy re-emits it as `healthChange`). */
export type HealthListener = (target: Target, from: HealthStatus, to: HealthStatus) => void;

/** A judged status: what a checker decides and what a follower is told. */
export type HealthVerdict = Exclude<HealthStatus, 'unknown'>;

/** Takes `target` in or out of rotation for `to`; returns the status it had. */
function judge(target: Target, health: TargetHealth, to: HealthVerdict): HealthStatus {
  const from = health.status;
  health.status = to;
  if (to === 'unhealthy') target.inRotation = false;
  else if (!target.inRotation) {
    target.inRotation = true;
    // Back from an outage: slow start ramps its share up like a recovered circuit's.
    if (from === 'unhealthy') target.recoveredAt = performance.now();
  }
  return from;
}

/** What a checker and a follower share: the settings they were made for, and how they stop. */
abstract class HealthJudge {
  readonly target: Target;
  readonly settings: HealthSettings;
  protected readonly health: TargetHealth;

  /**
   * `awaitFirstPass`: the target is new, and takes no traffic until it is judged healthy. A target
   * that served traffic before checks were turned on (a reload) stays in rotation until judged
   * unhealthy.
   */
  constructor(target: Target, settings: HealthSettings, awaitFirstPass: boolean) {
    this.target = target;
    this.settings = settings;
    this.health = target.health ??= new TargetHealth();
    if (awaitFirstPass && this.health.status === 'unknown') target.inRotation = false;
  }

  /** Whether this judge works as `settings` ask. */
  matches(settings: HealthSettings): boolean {
    const mine = this.settings;
    return (
      mine.path === settings.path &&
      mine.interval === settings.interval &&
      mine.healthyAfter === settings.healthyAfter &&
      mine.unhealthyAfter === settings.unhealthyAfter &&
      mine.timeout === settings.timeout
    );
  }

  /** `forget`: checks are off for this target from now on, so it goes back into rotation and shows no health. */
  stop(forget: boolean): void {
    if (forget) {
      this.target.health = undefined;
      this.target.inRotation = true;
    }
  }
}

/**
 * A target judged by someone else's checks: it sends nothing and takes each verdict as given (a
 * cluster worker follows the primary's checker, lib/cluster). The counts of checks stay with the
 * checker that made them.
 */
export class FollowedHealth extends HealthJudge {
  /** Returns the status before, or undefined when the verdict changed nothing. */
  follow(to: HealthVerdict): HealthStatus | undefined {
    if (this.health.status === to) return undefined;
    return judge(this.target, this.health, to);
  }
}

/** Checks one target: one timer (unref'd) and at most one check in flight. */
export class HealthChecker extends HealthJudge {
  readonly #deadlines: DeadlineQueue;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #check: Probe | undefined = undefined;
  #verdict: CheckVerdict | undefined = undefined;
  #stopped = false;
  readonly #onChange: HealthListener;
  readonly #run = (): void => this.#send();
  readonly #onSettled = (): void => this.#settled();

  constructor(target: Target, settings: HealthSettings, awaitFirstPass: boolean, onChange: HealthListener) {
    super(target, settings, awaitFirstPass);
    this.#onChange = onChange;
    this.#deadlines = new DeadlineQueue(settings.timeout);
    // Jittered so that targets (and processes) started together are not checked in step.
    this.#schedule(Math.random() * SPREAD * settings.interval);
  }

  /** Stops checking (reload, close); a check cut short says nothing about the target. */
  override stop(forget: boolean): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#check?.stop();
    this.#deadlines.clear();
    super.stop(forget);
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(this.#run, Math.max(1, delay));
    this.#timer.unref();
  }

  #send(): void {
    const verdict = new CheckVerdict();
    const check = new Probe(this.#deadlines, this.#onSettled);
    this.#verdict = verdict;
    this.#check = check;
    check.send(this.target, verdict, this.settings.path, 'proxy-breaker-health-check');
  }

  #settled(): void {
    if (this.#stopped) return;
    const result = this.#verdict?.result;
    if (result === 'pass') this.#pass();
    else if (result === 'fail') this.#fail();
    const interval = this.settings.interval;
    this.#schedule(interval * (1 - SPREAD / 2 + Math.random() * SPREAD));
  }

  #pass(): void {
    const health = this.health;
    health.passes++;
    health.failures = 0;
    health.passed++;
    health.lastResult = 'pass';
    health.checkedAt = Date.now();
    // A new target needs one pass (it never failed); one that was taken out needs healthyAfter.
    if (health.status === 'healthy' || (health.status === 'unhealthy' && health.passes < this.settings.healthyAfter)) return;
    this.#onChange(this.target, judge(this.target, health, 'healthy'), 'healthy');
  }

  #fail(): void {
    const health = this.health;
    health.failures++;
    health.passes = 0;
    health.failed++;
    health.lastResult = 'fail';
    health.checkedAt = Date.now();
    if (health.status === 'unhealthy' || health.failures < this.settings.unhealthyAfter) return;
    this.#onChange(this.target, judge(this.target, health, 'unhealthy'), 'unhealthy');
  }
}
