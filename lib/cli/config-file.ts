/**
 * The JSON config file: every `ProxyOptions` key at the top level, plus the CLI's own `listen`,
 * `admin` and `log` objects, which are checked here. The proxy options are checked later, once
 * the flags are merged over them (config.ts).
 *
 * {
 *   "listen": { "port": 8080, "host": "127.0.0.1" },
 *   "routes": [{ "match": "/api", "targets": ["http://127.0.0.1:3001"], "stripPrefix": true }],
 *   "breaker": { "failureThreshold": 5 },
 *   "admin": { "port": 9090, "token": "..." },
 *   "log": { "format": "json", "accessLog": true }
 * }
 */
import { readFileSync } from 'node:fs';
import { cannotRead, ConfigError } from '../errors.js';
import { checkLayer, resolveOptions, type OptionTable } from '../options.js';
import { PROXY_OPTIONS, type ProxyOptions } from '../proxy/options.js';
import { rejectUnknownKeys, validateObject } from '../validate.js';
import { CliError } from './cli-error.js';
import { parseJson } from './json.js';
import { checkWorkers, FILE_SECTIONS, type LogFormat, type WorkersSetting } from './options.js';

/** The admin server's settings; passed through for the admin server to use. */
export interface AdminConfig {
  port: number;
  host: string;
  /** Bearer token the admin API asks for; none when undefined. */
  token: string | undefined;
}

export interface LogConfig {
  format: LogFormat;
  /** One line per proxied request. */
  accessLog: boolean;
}

export interface ListenConfig {
  port?: number;
  host?: string;
}

export interface FileConfig {
  /** Everything but `listen`, `admin` and `log`; not validated yet. */
  proxy: ProxyOptions;
  listen: ListenConfig;
  admin: AdminConfig | undefined;
  log: Partial<LogConfig>;
  /** The certificate and key paths, relative to the file. */
  tls: { cert?: string; key?: string };
  /** `workers`, checked; absent when the file does not set it. */
  workers?: WorkersSetting;
}

/** The keys the CLI adds to `ProxyOptions` at the top of the file. */
export const CLI_KEYS = Object.keys(FILE_SECTIONS) as ReadonlyArray<keyof typeof FILE_SECTIONS>;
/** Every key the top of the file may hold, in the order an unknown-key error lists them. */
const TOP_KEYS = ['target', 'targets', 'routes', 'breaker', ...Object.keys(PROXY_OPTIONS), ...CLI_KEYS, 'workers'];

/** Reads and checks a config file; errors name the file and where in it. */
export function readConfigFile(file: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`--config: ${cannotRead(file, error)}`);
  }
  return parseConfigText(text, file);
}

/** Parses the text of config file `file` (the name is for messages). */
export function parseConfigText(text: string, file: string): FileConfig {
  const parsed = parseJson(text);
  if ('error' in parsed) {
    const { line, column, reason } = parsed.error;
    throw new CliError(`${file}${line === 0 ? '' : `:${line}:${column}`}: invalid JSON: ${reason}`);
  }
  try {
    return splitConfig(parsed.value);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`${file}: ${error.message}`);
    throw error;
  }
}

function splitConfig(value: unknown): FileConfig {
  const top = validateObject(value, '', 'a JSON object like {"routes": [...]} at the top');
  rejectUnknownKeys(top, TOP_KEYS, '');
  const { listen, admin, log, tls, workers, ...proxy } = top;
  return {
    ...(workers === undefined ? {} : { workers: checkWorkers(workers, 'workers') }),
    proxy: proxy as ProxyOptions,
    listen: given(FILE_SECTIONS.listen, listen, 'listen') as ListenConfig,
    admin: adminConfig(admin),
    log: given(FILE_SECTIONS.log, log, 'log') as Partial<LogConfig>,
    tls: given(FILE_SECTIONS.tls, tls, 'tls') as FileConfig['tls'],
  };
}

/** The options a section of the file sets, checked, without defaults: flags go over them, defaults under them (config.ts). */
function given(table: OptionTable, value: unknown, path: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(checkLayer(table, { value, path })).map(([key, set]) => [key, set.value]));
}

function adminConfig(value: unknown): AdminConfig | undefined {
  if (value === undefined) return undefined;
  const admin = resolveOptions(FILE_SECTIONS.admin, [{ value, path: 'admin' }]);
  if (admin.port === undefined) throw new ConfigError('admin.port', "required: the admin server's port (0 picks a free one)");
  return { port: admin.port, host: admin.host, token: admin.token };
}
