/**
 * Runs the proxy: creates it, logs its events, listens, prints where, and hands the process to
 * the signal handlers.
 */
import { createProxy, type Proxy } from '../proxy/proxy.js';
import type { CliArgs } from './args.js';
import { CliError } from './cli-error.js';
import type { CliConfig } from './config.js';
import type { Log, Output } from './log.js';
import { DRAIN_MS, onReloadSignal, onStopSignals } from './process.js';
import { reloadConfig } from './reload.js';
import { httpUrl, routesSummary } from './table.js';

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
  proxy.on('error', (error) => log.event('error', 'internalError', `internal error, answered 500: ${(error as Error)?.message ?? String(error)}`));
  if (config.resolved.insecure) {
    log.event('warn', 'insecure', 'insecure: certificates of https targets are NOT verified; anyone on the network path can read and change the traffic');
  }
  const { host, port } = config.listen;
  try {
    const address = await proxy.listen(port, host);
    return { proxy, url: httpUrl(host, address.port) };
  } catch (error) {
    await proxy.close(0);
    throw listenError(error, host, port);
  }
}

function listenError(error: unknown, host: string, port: number): CliError {
  const code = (error as { code?: string }).code;
  const where = `cannot listen on ${httpUrl(host, port).slice('http://'.length)}`;
  const why: Record<string, string> = {
    EADDRINUSE: 'address already in use (EADDRINUSE); stop the other server or pick another --port (0 picks a free one)',
    EACCES: 'permission denied (EACCES); ports below 1024 need privileges',
    EADDRNOTAVAIL: 'address not available (EADDRNOTAVAIL); --host must be an address of this machine',
    ENOTFOUND: 'unknown host name (ENOTFOUND)',
  };
  return new CliError(`${where}: ${(code !== undefined && why[code]) || (error as Error).message}`, { exitCode: 1 });
}

/** `proxy-breaker --target ...` / `--config ...`: serves until a signal. */
export async function serve(args: CliArgs, config: CliConfig, io: Io, log: Log): Promise<Running> {
  const { proxy, url } = await startProxy(config, log);
  const close = (): Promise<void> => proxy.close(DRAIN_MS);
  // Handlers first: whoever reads the line below may signal at once.
  onStopSignals({ log, stop: close, inFlight: () => proxy.inFlight });
  if (config.configFile !== undefined) {
    let current = config;
    onReloadSignal(() => {
      current = reloadConfig(args, current, proxy, log);
    });
  }
  io.stdout.write(`proxy-breaker listening on ${url} -> ${routesSummary(config.resolved)}\n`);
  return { url, close };
}
