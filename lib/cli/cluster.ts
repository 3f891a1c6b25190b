/**
 * `--workers N` (N > 1): the CLI as the primary of a cluster (lib/cluster). The primary logs the
 * breakers' state changes once, runs the one admin server over the whole cluster, and turns
 * signals into cluster actions: SIGINT/SIGTERM drain every worker, SIGHUP reads the config file
 * once and hands it to every worker. Loaded only with more than one worker, so that a single
 * process never loads node:cluster.
 */
import { startAdminServer, type AdminServer } from '../admin/server.js';
import { moduleNextTo, type Cluster } from '../cluster/primary.js';
import { startCluster } from '../cluster/start.js';
import type { CliArgs } from './args.js';
import { CliError } from './cli-error.js';
import type { CliConfig } from './config.js';
import type { Log } from './log.js';
import { DRAIN_MS, onReloadSignal, onStopSignals } from './process.js';
import { reloadConfig } from './reload.js';
import { listenError } from './listen-error.js';
import type { Io, Running } from './serve.js';
import { reloadCertificate } from './tls.js';
import { ConfigError } from '../errors.js';
import { httpUrl, routesSummary } from './table.js';

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
  if (config.resolved.insecure) {
    log.event('warn', 'insecure', 'insecure: certificates of https targets are NOT verified; anyone on the network path can read and change the traffic');
  }
  let admin: AdminServer | undefined;
  if (config.admin !== undefined) {
    const { port: adminPort, host: adminHost, token } = config.admin;
    try {
      admin = await startAdminServer(cluster.observed, token === undefined ? { port: adminPort, host: adminHost } : { port: adminPort, host: adminHost, token });
    } catch (error) {
      await cluster.close(0);
      throw listenError(error, adminHost, adminPort, 'admin server: ');
    }
  }
  const close = async (): Promise<void> => {
    await admin?.close();
    await cluster.close(DRAIN_MS);
  };
  onStopSignals({ log, stop: close, inFlight: () => cluster.inFlight });
  if (config.configFile !== undefined || config.tls !== undefined) {
    let current = config;
    onReloadSignal(() => {
      if (current.configFile !== undefined) current = reloadConfig(args, current, cluster, log);
      if (config.tls !== undefined) reloadCertificate(current.tls ?? config.tls, cluster, log);
    });
  }
  const plain = httpUrl(host, cluster.port);
  const url = config.tls === undefined ? plain : `https${plain.slice('http'.length)}`;
  io.stdout.write(`proxy-breaker listening on ${url} -> ${routesSummary(config.resolved)} (${config.workers} workers)\n`);
  if (admin !== undefined) io.stdout.write(`admin API, metrics and dashboard on ${admin.url}/\n`);
  return { url, close };
}
