/**
 * SIGHUP: read the config file again and swap the routes in. Requests in flight finish on the
 * old routes, and targets that remain keep their breakers (`proxy.reload`). A broken file changes
 * nothing: the proxy keeps what it had, and says why in one line.
 */
import type { Proxy } from '../proxy/proxy.js';
import type { CliArgs } from './args.js';
import { resolveCliConfig, type CliConfig } from './config.js';
import type { Log } from './log.js';
import { routesSummary } from './table.js';

/** Returns the configuration now in effect: the new one, or `current` when the reload failed. */
export function reloadConfig(args: CliArgs, current: CliConfig, proxy: Pick<Proxy, 'reload'>, log: Log): CliConfig {
  const file = current.configFile ?? '';
  let next: CliConfig;
  try {
    next = resolveCliConfig(args);
    proxy.reload(next.proxy);
  } catch (error) {
    log.event('error', 'reloadFailed', `reload of ${file} failed, keeping the old routes: ${(error as Error).message}`, { file });
    return current;
  }
  log.event('info', 'reload', `reloaded ${file}: ${routesSummary(next.resolved)}`, {
    file,
    routes: next.resolved.routes.map((route) => ({ match: route.match, targets: route.targets.map((url) => url.origin) })),
  });
  const unchanged = (key: 'listen' | 'admin' | 'log' | 'workers'): boolean => JSON.stringify(next[key]) === JSON.stringify(current[key]);
  const restart = (['listen', 'admin', 'log', 'workers'] as const).filter((key) => !unchanged(key));
  if (restart.length > 0) {
    log.event('warn', 'reload', `changes to ${restart.join(', ')} take a restart; they were not applied`, { file, ignored: restart });
  }
  // Keep what was not applied, so the warning is not repeated on every later reload.
  return { ...next, listen: current.listen, admin: current.admin, log: current.log, workers: current.workers };
}
