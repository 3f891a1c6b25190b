/**
 * What the CLI does alike whether it serves in one process (serve.ts) or as a cluster's primary
 * (cluster.ts): the insecure warning, the admin server, the URL it prints, and SIGHUP.
 */
import type { ObservedProxy } from '../admin/observed.js';
import { startAdminServer, type AdminServer } from '../admin/server.js';
import type { ProxyOptions } from '../proxy/options.js';
import type { TlsCertificate } from '../proxy/server.js';
import type { CliArgs } from './args.js';
import type { CliConfig } from './config.js';
import { listenError } from './listen-error.js';
import type { Log } from './log.js';
import { onReloadSignal } from './process.js';
import { reloadConfig } from './reload.js';
import { httpUrl } from './table.js';
import { reloadCertificate } from './tls.js';

/** What SIGHUP acts on: a proxy, or a cluster that hands both on to its workers. */
export interface Reloadable {
  reload(options: ProxyOptions): void;
  setCertificate(certificate: TlsCertificate): void;
}

export function warnInsecure(config: CliConfig, log: Log): void {
  if (config.resolved.insecure) {
    log.event('warn', 'insecure', 'insecure: certificates of https targets are NOT verified; anyone on the network path can read and change the traffic');
  }
}

/** The proxy port's URL as printed: https when it serves TLS. */
export function listeningUrl(config: CliConfig, port: number): string {
  const url = httpUrl(config.listen.host, port);
  return config.tls === undefined ? url : `https${url.slice('http'.length)}`;
}

/** Starts the admin server when configured; a listen failure stops what serves (`stopServing`) and exits 1. */
export async function startAdmin(config: CliConfig, observed: ObservedProxy, stopServing: () => Promise<void>): Promise<AdminServer | undefined> {
  if (config.admin === undefined) return undefined;
  const { port, host, token } = config.admin;
  try {
    return await startAdminServer(observed, token === undefined ? { port, host } : { port, host, token });
  } catch (error) {
    await stopServing();
    throw listenError(error, host, port, 'admin server: ');
  }
}

/**
 * SIGHUP, when there is something to reload: the config file read again and handed to `server`,
 * then with TLS the certificate read again from the paths in force.
 */
export function reloadOnSighup(args: CliArgs, config: CliConfig, server: Reloadable, log: Log): void {
  if (config.configFile === undefined && config.tls === undefined) return;
  let current = config;
  onReloadSignal(() => {
    if (current.configFile !== undefined) current = reloadConfig(args, current, server, log);
    if (config.tls !== undefined) reloadCertificate(current.tls ?? config.tls, server, log);
  });
}
