/**
 * Prometheus text exposition format 0.0.4, written by hand: every family gets `# HELP` and
 * `# TYPE`, and all of its samples follow in one group, as the format requires.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */
import { CircuitState } from '../breaker/breaker.js';
import { OUTCOMES, TRANSITIONS, type ProxySnapshot } from '../proxy/snapshot.js';
import type { SnapshotSource } from './observed.js';

/** The Content-Type of `renderMetrics()`'s text. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const STATES = [CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN] as const;
const HEALTH_STATUSES = ['unknown', 'healthy', 'unhealthy'] as const;

/** A label value: backslash, double quote and line feed are the only escapes the format has. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

/** A sample value as Go's ParseFloat reads it: integers plain, and `+Inf`/`-Inf`/`NaN` spelled so. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

class Family {
  readonly lines: string[] = [];

  constructor(
    readonly name: string,
    type: 'counter' | 'gauge' | 'histogram',
    help: string,
  ) {
    // HELP text escapes backslash and line feed only (not quotes).
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
  }

  sample(suffix: string, labels: Record<string, string>, value: number): void {
    let text = '';
    for (const key in labels) text += `${text === '' ? '' : ','}${key}="${escapeLabelValue(labels[key]!)}"`;
    this.lines.push(`${this.name}${suffix}{${text}} ${formatValue(value)}`);
  }
}

/** The Prometheus text of every target of `proxy`: requests, state, transitions, rejections, in-flight, connections, latency. */
export function renderMetrics(proxy: SnapshotSource): string {
  return metricsText(proxy.snapshot());
}

/** The Prometheus text of a snapshot, this process's or one summed over several. */
export function metricsText(snapshot: ProxySnapshot): string {
  const requests = new Family('proxy_breaker_requests_total', 'counter', 'Requests per target by how they ended.');
  const state = new Family('proxy_breaker_state', 'gauge', 'Circuit state per target: 1 for the current state, 0 for the others.');
  const transitions = new Family('proxy_breaker_transitions_total', 'counter', 'Circuit state transitions per target.');
  const rejections = new Family('proxy_breaker_rejections_total', 'counter', 'Requests the circuit refused per target.');
  const inFlight = new Family('proxy_breaker_in_flight', 'gauge', 'Requests to the target in flight now.');
  const connections = new Family('proxy_breaker_upstream_connections', 'gauge', 'Open keep-alive connections to the target, carrying a request (busy) or not (idle).');
  const opened = new Family('proxy_breaker_upstream_connections_opened_total', 'counter', 'Connections opened to the target.');
  const statusRetries = new Family('proxy_breaker_status_retries_total', 'counter', 'Answers of the target dropped for a retry on another target (retryOn).');
  const duration = new Family(
    'proxy_breaker_upstream_duration_seconds',
    'histogram',
    'Time from admission to the end of the upstream exchange, per target, in seconds.',
  );
  const slowCalls = new Family('proxy_breaker_slow_calls_total', 'counter', 'Successful calls slower than slowCallDuration per target.');
  const health = new Family('proxy_breaker_health', 'gauge', 'Active health of a checked target: 1 for the current status, 0 for the others.');
  const inRotation = new Family('proxy_breaker_health_in_rotation', 'gauge', 'Whether health checks let the checked target take traffic (1) or not (0).');
  const checks = new Family('proxy_breaker_health_checks_total', 'counter', 'Health checks of the target by result.');
  for (const target of snapshot.targets) {
    const origin = target.target;
    slowCalls.sample('', { target: origin }, target.counts.slowCalls);
    if (target.health !== null) {
      for (const status of HEALTH_STATUSES) health.sample('', { target: origin, status }, target.health.status === status ? 1 : 0);
      inRotation.sample('', { target: origin }, target.health.inRotation ? 1 : 0);
      checks.sample('', { target: origin, result: 'pass' }, target.health.checks.passed);
      checks.sample('', { target: origin, result: 'fail' }, target.health.checks.failed);
    }
    for (const outcome of OUTCOMES) requests.sample('', { target: origin, outcome }, target.requests[outcome]);
    for (const s of STATES) state.sample('', { target: origin, state: s }, target.state === s ? 1 : 0);
    for (const [key, count] of transitionCounts(target.transitions)) {
      const [from, to] = key.split('>') as [string, string];
      transitions.sample('', { target: origin, from, to }, count);
    }
    rejections.sample('', { target: origin }, target.counts.rejections);
    inFlight.sample('', { target: origin }, target.inFlight);
    connections.sample('', { target: origin, state: 'busy' }, target.connections.busy);
    connections.sample('', { target: origin, state: 'idle' }, target.connections.idle);
    opened.sample('', { target: origin }, target.connections.opened);
    statusRetries.sample('', { target: origin }, target.statusRetries);
    const histogram = target.latency;
    let cumulative = 0;
    for (let i = 0; i < histogram.bounds.length; i++) {
      cumulative += histogram.counts[i]!;
      duration.sample('_bucket', { target: origin, le: formatValue(histogram.bounds[i]!) }, cumulative);
    }
    // +Inf is the total count by definition, so the two cannot disagree.
    duration.sample('_bucket', { target: origin, le: '+Inf' }, histogram.count);
    duration.sample('_sum', { target: origin }, histogram.sum);
    duration.sample('_count', { target: origin }, histogram.count);
  }
  const families = [requests, state, transitions, rejections, inFlight, connections, opened, duration, statusRetries, slowCalls, health, inRotation, checks, ...routeFamilies(snapshot)];
  return `${families.map((family) => family.lines.join('\n')).join('\n')}\n`;
}

/** Per route: the fallback's answers and the queue at the concurrency limit (routes that have one). */
function routeFamilies(snapshot: ProxySnapshot): Family[] {
  const fallbacks = new Family('proxy_breaker_route_fallbacks_total', 'counter', "Requests no target admitted that the route's fallback answered.");
  const queueLength = new Family('proxy_breaker_route_queue_length', 'gauge', 'Requests waiting now for a slot at the concurrency limit.');
  const queued = new Family('proxy_breaker_route_queued_total', 'counter', 'Requests that waited for a slot at the concurrency limit.');
  const timedOut = new Family('proxy_breaker_route_queue_timeouts_total', 'counter', 'Queued requests that waited the whole queue timeout.');
  for (const route of snapshot.routes) {
    const labels = { route: route.match };
    if (route.fallback !== null) fallbacks.sample('', labels, route.fallbacks);
    if (route.queue === null) continue;
    queueLength.sample('', labels, route.queue.length);
    queued.sample('', labels, route.queue.queued);
    timedOut.sample('', labels, route.queue.timedOut);
  }
  // A family with no sample is left out rather than shown as HELP and TYPE alone.
  return [fallbacks, queueLength, queued, timedOut].filter((family) => family.lines.length > 2);
}

/** Every transition the state machine can make (0 until seen), then any other the snapshot has. */
function transitionCounts(seen: Record<string, number>): Map<string, number> {
  const counts = new Map<string, number>(TRANSITIONS.map((key) => [key, 0]));
  for (const key in seen) counts.set(key, seen[key]!);
  return counts;
}
