/**
 * `startCluster()`, the library's way to run the CLI's `--workers N`: loads node:cluster (and the
 * primary) only when called, so that importing the package never does.
 */
import type { Cluster, ClusterOptions } from './primary.js';
import { validateObject } from '../validate.js';
import { ConfigError } from '../errors.js';

/**
 * Starts `options.workers` proxy processes sharing one listening socket and one breaker per target
 * (held here, in the calling process: the primary); resolves once every worker listens, with the
 * `Cluster` (its `port`, `observed` for `startAdminServer()`, `reload()`, `close()`). Call it in
 * the primary only: the workers run the package's own worker module, not the caller's script.
 * Invalid proxy options throw `ConfigError` before any process is forked.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  validateObject(options, 'options');
  const { workers } = options;
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1) {
    throw new ConfigError('workers', `expected a positive integer, got ${String(workers)}`);
  }
  const { Cluster } = await import('./primary.js');
  const cluster = new Cluster(options);
  await cluster.start();
  return cluster;
}
