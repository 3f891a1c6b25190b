/**
 * What admin needs of a proxy, and nothing more: its snapshot, its `stateChange` events and the
 * breaker control. A `Proxy` is one; so is any object that builds snapshots from elsewhere (the
 * sum of several processes' snapshots, or one that came over a wire), which is how one admin
 * server can show a whole cluster.
 */
import type { BreakerControl } from '../proxy/control.js';
import type { StateChangeInfo } from '../proxy/proxy.js';
import type { ProxySnapshot } from '../proxy/snapshot.js';

export interface ObservedProxy {
  /** Plain data, read on every admin request and every sample; see `ProxySnapshot`. */
  snapshot(): ProxySnapshot;
  on(event: 'stateChange', listener: (info: StateChangeInfo) => void): unknown;
  off(event: 'stateChange', listener: (info: StateChangeInfo) => void): unknown;
  readonly breakers: BreakerControl;
  /** A cluster's processes (lib/cluster), for `GET /workers` and `/breakers`; none for one process. */
  workers?(): WorkerSnapshot[];
}

/** One worker process of a cluster. */
export interface WorkerSnapshot {
  /** 1..workers: the slot a replacement takes over. */
  slot: number;
  pid: number | undefined;
  state: 'starting' | 'listening' | 'draining';
  /** Client requests this worker's current process counted. */
  requests: number;
  /** Client requests in flight there, as of its last report. */
  inFlight: number;
  /** Seconds since the slot's current process started. */
  uptime: number;
  /** Times the slot's process was replaced. */
  restarts: number;
}

/** Only the snapshot: enough for `renderMetrics()`. */
export type SnapshotSource = Pick<ObservedProxy, 'snapshot'>;
