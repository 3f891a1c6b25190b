/**
 * `--workers N` (N > 1): the CLI as the primary of a cluster (lib/cluster). The primary logs the
 * breakers' state changes once, runs the one admin server over the whole cluster, and turns
 * signals into cluster actions: SIGINT/SIGTERM drain every worker, SIGHUP reads the config file
 * once and hands it to every worker. Loaded only with more than one worker, so that a single
 * process never loads node:cluster.
 */
import { moduleNextTo, type Cluster } from '../cluster/primary.js';
import { startCluster } from '../cluster/start.js';
import type { CliArgs } from './args.js';
import { CliError } from './cli-error.js';
import type { CliConfig } from './config.js';
import type { Log } from './log.js';
import { DRAIN_MS, onStopSignals } from './process.js';
import { listeningUrl, reloadOnSighup, startAdmin, warnInsecure } from './running.js';
import { listenError } from './listen-error.js';
import type { Io, Running } from './serve.js';
import { ConfigError } from '../errors.js';
import { routesSummary } from './table.js';

export async function serveCluster(args: CliArgs, config: CliConfig, io: Io, log: Log): Promise<Running> {
  const { host, port } = config.listen;
  let cluster: Cluster;
  try {
    cluster = await startCluster({
      workers: config.workers,
      proxy: config.proxy,
      port,
      host,
      drainTimeout: DRAIN_MS,
      ...(config.tls === undefined ? {} : { tls: config.tls.certificate }),
      workerModule: moduleNextTo(import.meta.url, 'cluster-worker'),
      accessLog: config.log.accessLog,
      logFormat: config.log.format,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw listenError(error, host, port);
  }
  cluster.on('stateChange', (info) => log.stateChange(info));
  cluster.on('healthChange', (info) => log.healthChange(info));
  cluster.on('workerExit', ({ slot, pid, code, signal, restartIn }) =>
    log.event('warn', 'workerExit', `worker ${slot} (pid ${pid}) exited (${signal ?? `code ${code}`}); replacing it in ${restartIn} ms`, { slot, pid, code, signal, restartIn }),
  );
  cluster.on('workerHung', ({ slot, pid }) => log.event('warn', 'workerHung', `worker ${slot} (pid ${pid}) stopped answering; killing and replacing it`, { slot, pid }));
  warnInsecure(config, log);
  const admin = await startAdmin(config, cluster.observed, () => cluster.close(0));
  const close = async (): Promise<void> => {
    await admin?.close();
    await cluster.close(DRAIN_MS);
  };
  onStopSignals({ log, stop: close, inFlight: () => cluster.inFlight });
  reloadOnSighup(args, config, cluster, log);
  const url = listeningUrl(config, cluster.port);
  io.stdout.write(`proxy-breaker listening on ${url} -> ${routesSummary(config.resolved)} (${config.workers} workers)\n`);
  if (admin !== undefined) io.stdout.write(`admin API, metrics and dashboard on ${admin.url}/\n`);
  return { url, close };
}
