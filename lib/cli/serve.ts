/**
 * Runs the proxy: creates it, logs its events, listens, prints where, and hands the process to
 * the signal handlers.
 */
import { createProxy, type Proxy } from '../proxy/proxy.js';
import { AccessLog } from './access-log.js';
import type { CliArgs } from './args.js';
import type { CliConfig } from './config.js';
import { listenError } from './listen-error.js';
import type { Log, Output } from './log.js';
import { DRAIN_MS, onStopSignals } from './process.js';
import { listeningUrl, reloadOnSighup, startAdmin, warnInsecure } from './running.js';
import { routesSummary } from './table.js';

export interface Io {
  stdout: Output;
  stderr: Output;
}

export interface Started {
  proxy: Proxy;
  /** The proxy's own URL, with the real port. */
  url: string;
}

/** What is running once the CLI has started: for tests, and for whoever embeds the CLI. */
export interface Running {
  url: string;
  /** Drains and stops what the command started (the signals do this when run as a command). */
  close(): Promise<void>;
}

/**
 * Creates the proxy with its events going to `log`, and listens. A listen failure closes the
 * proxy and throws `CliError` with exit code 1, naming the address.
 */
export async function startProxy(config: CliConfig, log: Log): Promise<Started> {
  const proxy = createProxy(config.proxy);
  proxy.on('stateChange', (info) => log.stateChange(info));
  proxy.on('proxyError', (info) => log.proxyError(info));
  proxy.on('healthChange', (info) => log.healthChange(info));
  proxy.on('error', (error) => log.event('error', 'internalError', `internal error, answered 500: ${(error as Error)?.message ?? String(error)}`));
  warnInsecure(config, log);
  const { host, port } = config.listen;
  try {
    const address = await proxy.listen(port, host, config.tls === undefined ? {} : { tls: config.tls.certificate });
    return { proxy, url: listeningUrl(config, address.port) };
  } catch (error) {
    await proxy.close(0);
    throw listenError(error, host, port);
  }
}

/** `proxy-breaker --target ...` / `--config ...`: serves until a signal. */
export async function serve(args: CliArgs, config: CliConfig, io: Io, log: Log): Promise<Running> {
  if (config.workers > 1) {
    // Loaded only here: one process never loads node:cluster.
    const { serveCluster } = await import('./cluster.js');
    return serveCluster(args, config, io, log);
  }
  const { proxy, url } = await startProxy(config, log);
  const admin = await startAdmin(config, proxy, () => proxy.close(0));
  let accessLog: AccessLog | undefined;
  if (config.log.accessLog) {
    const writer = new AccessLog(io.stdout);
    proxy.on('response', (info) => writer.record(info));
    accessLog = writer;
  }
  const close = async (): Promise<void> => {
    await admin?.close();
    await proxy.close(DRAIN_MS);
    accessLog?.flush();
  };
  // Handlers first: whoever reads the line below may signal at once.
  onStopSignals({ log, stop: close, inFlight: () => proxy.inFlight });
  reloadOnSighup(args, config, proxy, log);
  io.stdout.write(`proxy-breaker listening on ${url} -> ${routesSummary(config.resolved)}\n`);
  if (admin !== undefined) io.stdout.write(`admin API, metrics and dashboard on ${admin.url}/\n`);
  return { url, close };
}
