/**
 * The CLI's whole configuration: the config file (if any) with the flags over it, validated by
 * `resolveProxyOptions`. Read at start, and again on SIGHUP.
 */
import { assertAdminBinding } from '../admin/auth.js';
import { ConfigError } from '../errors.js';
import { resolveProxyOptions, type ProxyConfig, type ProxyOptions } from '../proxy/options.js';
import { adminToken, flagForPath, type CliArgs } from './args.js';
import { CliError } from './cli-error.js';
import { CLI_KEYS, readConfigFile, type AdminConfig, type LogConfig } from './config-file.js';

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';

export interface CliConfig {
  /** What `createProxy()` and `proxy.reload()` get. */
  proxy: ProxyOptions;
  /** `proxy`, validated and with defaults: for the routing table. */
  resolved: ProxyConfig;
  listen: { port: number; host: string };
  /** From the config file's `admin`; for the admin server. */
  admin: AdminConfig | undefined;
  log: LogConfig;
  configFile: string | undefined;
}

/**
 * Reads `args.config` (if given) and lays the flags over it: flags replace the file's top-level
 * values, and breaker flags replace single keys of its `breaker`. `base` stands in for the file
 * when there is none (the demo's settings). Throws `CliError` naming the flag or file and path.
 */
export function resolveCliConfig(args: CliArgs, base: ProxyOptions = {}): CliConfig {
  const file = args.config === undefined ? undefined : readConfigFile(args.config);
  const proxy = mergeOptions(file?.proxy ?? base, args.proxy);
  let resolved: ProxyConfig;
  try {
    resolved = resolveProxyOptions(proxy);
  } catch (error) {
    throw blame(error, args);
  }
  return {
    proxy,
    resolved,
    listen: {
      port: args.listen.port ?? file?.listen.port ?? DEFAULT_PORT,
      host: args.listen.host ?? file?.listen.host ?? DEFAULT_HOST,
    },
    admin: adminSettings(args, file?.admin),
    log: { format: args.logFormat ?? file?.log.format ?? 'text', accessLog: args.accessLog ?? file?.log.accessLog ?? false },
    configFile: args.config,
  };
}

/** Environment variable for the admin token, so that it need not show in `ps`. */
export const ADMIN_TOKEN_ENV = 'PROXY_BREAKER_ADMIN_TOKEN';

/**
 * The admin server's settings: flags over the file, the token also from the environment. A
 * non-loopback admin address without a token is refused: the control routes would be open.
 */
function adminSettings(args: CliArgs, file: AdminConfig | undefined): AdminConfig | undefined {
  const port = args.admin.port ?? file?.port;
  if (port === undefined) {
    if (args.admin.host !== undefined) throw new CliError('--admin-host: needs --admin-port N (the admin server is off without it)');
    if (args.admin.token !== undefined) throw new CliError('--admin-token: needs --admin-port N (the admin server is off without it)');
    return undefined;
  }
  const env = process.env[ADMIN_TOKEN_ENV];
  const token = args.admin.token ?? (env === undefined || env === '' ? undefined : adminToken(env, ADMIN_TOKEN_ENV)) ?? file?.token;
  const host = args.admin.host ?? file?.host ?? DEFAULT_HOST;
  try {
    assertAdminBinding(host, token);
  } catch (error) {
    throw new CliError(`${args.admin.host === undefined ? 'admin.host' : '--admin-host'}: ${(error as Error).message.replace(/^admin: /, '')}`);
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
  return merged;
}

/** A validation error, named after the flag that set the value, else after the file. */
function blame(error: unknown, args: CliArgs): unknown {
  if (!(error instanceof ConfigError)) return error;
  const flag = flagForPath(args, error.path);
  if (flag !== undefined) {
    // A flag's own value (`--timeout`) needs no path; an item of a repeated flag (`--route`) does.
    const item = error.path.includes('[') && !/breaker\.\w+$/.test(error.path);
    const inner = item ? error.message : error.message.slice(error.path.length + 2);
    return new CliError(`${flag}: ${inner}`);
  }
  if (args.config === undefined) return new CliError(error.message);
  let message = error.message;
  if (/^\w+$/.test(error.path) && message.endsWith(')') && message.includes('unknown option (known: ')) {
    message = `${message.slice(0, -1)}, ${CLI_KEYS.join(', ')})`;
  }
  return new CliError(`${args.config}: ${message}`);
}
