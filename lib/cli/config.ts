/**
 * The CLI's whole configuration: the config file (if any) with the flags over it, validated by
 * `resolveProxyOptions`. Read at start, and again on SIGHUP.
 */
import { assertAdminBinding } from '../admin/auth.js';
import { checkToken } from '../admin/options.js';
import { ConfigError } from '../errors.js';
import { resolveProxyOptions, type ProxyConfig, type ProxyOptions } from '../proxy/options.js';
import { checked, flagForPath, type CliArgs } from './args.js';
import { CliError } from './cli-error.js';
import { readConfigFile, type AdminConfig, type LogConfig } from './config-file.js';
import { availableParallelism } from 'node:os';
import { resolveTls, type TlsFiles } from './tls.js';
import { ADMIN_TOKEN_ENV, CLI_ADMIN_OPTIONS, LISTEN_OPTIONS, LOG_OPTIONS, WORKERS_OPTION, type WorkersSetting } from './options.js';
import { readTrustFiles } from './trust-files.js';

export { ADMIN_TOKEN_ENV };

export interface CliConfig {
  /** What `createProxy()` and `proxy.reload()` get. */
  proxy: ProxyOptions;
  /** `proxy`, validated and with defaults: for the routing table. */
  resolved: ProxyConfig;
  listen: { port: number; host: string };
  /** From the config file's `admin`; for the admin server. */
  admin: AdminConfig | undefined;
  log: LogConfig;
  /** The certificate the proxy port serves (HTTPS and h2); plain HTTP when undefined. */
  tls: TlsFiles | undefined;
  configFile: string | undefined;
  /** Proxy processes (`auto` resolved); 1 runs no cluster. */
  workers: number;
}

/**
 * Reads `args.config` (if given) and lays the flags over it: flags replace the file's top-level
 * values, and breaker flags replace single keys of its `breaker`. `base` stands in for the file
 * when there is none (the demo's settings). Throws `CliError` naming the flag or file and path.
 */
export function resolveCliConfig(args: CliArgs, base: ProxyOptions = {}): CliConfig {
  const file = args.config === undefined ? undefined : readConfigFile(args.config);
  const fromFile = file === undefined ? base : readTrustFiles(file.proxy, { configFile: args.config! });
  const proxy = mergeOptions(fromFile, readTrustFiles(args.proxy, { flags: args.flagOf }));
  let resolved: ProxyConfig;
  try {
    resolved = resolveProxyOptions(proxy);
  } catch (error) {
    throw blame(error, args);
  }
  const tls = resolveTls(args, file?.tls, args.config);
  const workers = resolveWorkers(args.workers ?? file?.workers ?? WORKERS_OPTION.default);
  return {
    proxy,
    resolved,
    listen: {
      port: args.listen.port ?? file?.listen.port ?? LISTEN_OPTIONS.port.default,
      host: args.listen.host ?? file?.listen.host ?? LISTEN_OPTIONS.host.default,
    },
    admin: adminSettings(args, file?.admin),
    log: {
      format: args.logFormat ?? file?.log.format ?? LOG_OPTIONS.format.default,
      accessLog: args.accessLog ?? file?.log.accessLog ?? LOG_OPTIONS.accessLog.default,
    },
    tls,
    configFile: args.config,
    workers,
  };
}

/** `auto` is one worker per core this process may use. */
function resolveWorkers(setting: WorkersSetting): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

/**
 * The admin server's settings: flags over the file, the token also from the environment. A
 * non-loopback admin address without a token is refused: every admin route would be open.
 */
function adminSettings(args: CliArgs, file: AdminConfig | undefined): AdminConfig | undefined {
  const port = args.admin.port ?? file?.port;
  if (port === undefined) {
    if (args.admin.host !== undefined) throw new CliError('--admin-host: needs --admin-port N (the admin server is off without it)');
    if (args.admin.token !== undefined) throw new CliError('--admin-token: needs --admin-port N (the admin server is off without it)');
    return undefined;
  }
  const env = process.env[ADMIN_TOKEN_ENV];
  const token = args.admin.token ?? (env === undefined || env === '' ? undefined : checked(() => checkToken(env, ADMIN_TOKEN_ENV))) ?? file?.token;
  const host = args.admin.host ?? file?.host ?? CLI_ADMIN_OPTIONS.host.default;
  try {
    assertAdminBinding(host, token);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new CliError(`${args.admin.host === undefined ? 'admin.host' : '--admin-host'}: ${error.reason}`);
  }
  return { port, host, token };
}

export function mergeOptions(lower: ProxyOptions, upper: ProxyOptions): ProxyOptions {
  const merged: ProxyOptions = { ...lower, ...upper };
  if (lower.breaker !== undefined && upper.breaker !== undefined) {
    // A breaker in the file that is not an object stays, for the validator to report.
    const object = typeof lower.breaker === 'object' && lower.breaker !== null && !Array.isArray(lower.breaker);
    merged.breaker = object ? { ...lower.breaker, ...upper.breaker } : lower.breaker;
  }
  if (lower.fallback !== undefined && upper.fallback !== undefined) {
    // Fallback flags replace single keys of the file's `fallback`, as breaker flags do.
    const object = typeof lower.fallback === 'object' && lower.fallback !== null && !Array.isArray(lower.fallback);
    merged.fallback = object ? { ...lower.fallback, ...upper.fallback } : lower.fallback;
  }
  return merged;
}

/** A validation error, named after the flag that set the value, else after the file. */
function blame(error: unknown, args: CliArgs): unknown {
  if (!(error instanceof ConfigError)) return error;
  const flag = flagForPath(args, error.path);
  if (flag !== undefined) {
    // A flag's own value (`--timeout`) needs no path; an item of a repeated flag (`--route`) does.
    const item = error.path.includes('[') && !/breaker\.\w+$/.test(error.path);
    return new CliError(`${flag}: ${item ? error.message : error.reason}`);
  }
  return new CliError(args.config === undefined ? error.message : `${args.config}: ${error.message}`);
}
