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
  const duration = new Family(
    'proxy_breaker_upstream_duration_seconds',
    'histogram',
    'Time from admission to the end of the upstream exchange, per target, in seconds.',
  );
  for (const target of snapshot.targets) {
    const origin = target.target;
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
  const families = [requests, state, transitions, rejections, inFlight, connections, opened, duration];
  const tls = snapshot.tlsRequests;
  if (tls !== undefined) {
    const clients = new Family('proxy_breaker_tls_requests_total', 'counter', 'Client requests received on the TLS listener, by protocol (h2 or http/1.1).');
    for (const protocol of ['http/1.1', 'h2'] as const) clients.sample('', { protocol }, tls[protocol]);
    families.push(clients);
  }
  return `${families.map((family) => family.lines.join('\n')).join('\n')}\n`;
}

/** Every transition the state machine can make (0 until seen), then any other the snapshot has. */
function transitionCounts(seen: Record<string, number>): Map<string, number> {
  const counts = new Map<string, number>(TRANSITIONS.map((key) => [key, 0]));
  for (const key in seen) counts.set(key, seen[key]!);
  return counts;
}
