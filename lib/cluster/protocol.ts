/**
 * The messages between a cluster's primary and its workers, over node:cluster's IPC channel (one
 * JSON message each, delivered in order per worker). What changes a decision travels at once
 * (a failure, a probe's outcome, a state change, a probe grant); what only feeds figures is
 * batched (successes every `SUCCESS_FLUSH_MS`, snapshots every `SNAPSHOT_MS`). A healthy cluster
 * sends no message per request.
 */
import type { BreakerSnapshot } from '../breaker/breaker.js';
import type { HealthVerdict } from '../proxy/health.js';
import type { ProxyOptions } from '../proxy/options.js';
import type { ProxySnapshot } from '../proxy/snapshot.js';

/** How often a worker sends its batched success counts. */
export const SUCCESS_FLUSH_MS = 100;
/** How often a worker sends its snapshot; also its heartbeat. */
export const SNAPSHOT_MS = 1_000;
/** A worker silent this long (no snapshot) is taken as hung: killed and replaced. */
export const HEARTBEAT_TIMEOUT_MS = 5_000;
/** A probe grant nobody used for this long moves to the next worker. */
export const GRANT_LEASE_MS = 500;

/**
 * The authoritative breaker state of one target, as a worker mirrors it: the breaker's own
 * snapshot without what each process counts for itself (probes running, counts).
 */
export interface BreakerState extends Omit<BreakerSnapshot, 'probes' | 'counts'> {
  origin: string;
  /** Bumped on every change the primary makes: outcomes of older epochs are ignored. */
  epoch: number;
}

/** What a worker needs to run: sent at start and on every reload. */
export interface WorkerConfig {
  proxy: ProxyOptions;
  listen: { port: number; host: string };
  /** Ms a draining worker lets requests in flight finish. */
  drainTimeout: number;
  /** The certificate to serve HTTPS and h2 with (PEM text: Buffers do not cross IPC as JSON). */
  tls?: { cert: string; key: string };
  /** Workers the cluster runs: how many share a failure budget (mirror.ts, the hold). */
  workers: number;
  accessLog: boolean;
  logFormat: 'text' | 'json';
}

/** A health verdict of the primary's checks (`healthPath`): workers follow it, checking nothing. */
export interface HealthReport {
  origin: string;
  status: HealthVerdict;
}

export type ToWorker =
  | { type: 'start'; config: WorkerConfig; states: BreakerState[]; health: HealthReport[] }
  | ({ type: 'health' } & HealthReport)
  | { type: 'reload'; proxy: ProxyOptions }
  /** A new certificate for new TLS connections (the CLI's SIGHUP); open connections keep theirs. */
  | { type: 'certificate'; tls: { cert: string; key: string } }
  | { type: 'state'; state: BreakerState }
  /**
   * The answer to one failure report that left the circuit CLOSED: the cluster's consecutive
   * failures once it was charged. Sent to the reporting worker only.
   */
  | { type: 'tally'; origin: string; epoch: number; failures: number }
  /** Probe slots in HALF_OPEN, for this worker only. */
  | { type: 'grant'; origin: string; epoch: number; slots: number }
  /** The primary wants the slots back (nobody used them); answered by `returned`. */
  | { type: 'revoke'; origin: string; epoch: number }
  /** A manual reset: the mirror's breaker counts start again from zero, as in one process. */
  | { type: 'resetCounts'; origin: string }
  | { type: 'drain' };

/** Outcomes of one target in one epoch: successes batched, then at most one failure. */
export interface OutcomeReport {
  type: 'outcomes';
  origin: string;
  epoch: number;
  /** Successes, slow ones included. */
  successes: number;
  /** Of `successes`, those slower than `slowCallDuration`. */
  slow: number;
  /** The failure that sent this report at once; its message only (errors do not cross processes). */
  failure?: string;
}

export type ToPrimary =
  /**
   * The worker listens for messages: the primary sends `start` on this, not on node:cluster's
   * `online`, which comes before the worker's module ran (a message then would be lost).
   */
  | { type: 'ready' }
  | { type: 'listening'; port: number }
  /** `listen()` failed (the port is taken): the start fails with this error. */
  | { type: 'listenFailed'; code: string | undefined; message: string }
  | OutcomeReport
  /** A probe started (the grant is in use) or ended. */
  | { type: 'probe'; origin: string; epoch: number; outcome: 'started' | 'success' | 'failure' | 'release'; failure?: string }
  /** Answer to `revoke`: `kept` when a probe is in flight in this worker. */
  | { type: 'returned'; origin: string; epoch: number; kept: boolean }
  | { type: 'snapshot'; snapshot: ProxySnapshot; inFlight: number; final: boolean };
