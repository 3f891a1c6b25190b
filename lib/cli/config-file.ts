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
import { ConfigError } from '../errors.js';
import { checkKeys, expectObject, show, type ProxyOptions } from '../proxy/options.js';
import { LOG_FORMATS, type LogFormat } from './args.js';
import { CliError } from './cli-error.js';
import { parseJson } from './json.js';

/** The admin server's settings; passed through for the admin server to use. */
export interface AdminConfig {
  port: number;
  /** @default '127.0.0.1' */
  host: string;
  /** Bearer token the admin API asks for; none when undefined. */
  token: string | undefined;
}

export interface LogConfig {
  /** @default 'text' */
  format: LogFormat;
  /** One line per proxied request. @default false */
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
}

/** The keys the CLI adds to `ProxyOptions` at the top of the file. */
export const CLI_KEYS = ['listen', 'admin', 'log'] as const;
const LISTEN_KEYS = ['port', 'host'];
const ADMIN_KEYS = ['port', 'host', 'token'];
const LOG_KEYS = ['format', 'accessLog'];

/** Reads and checks a config file; errors name the file and where in it. */
export function readConfigFile(file: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const { code } = error as { code?: string };
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw new CliError(`--config: cannot read ${JSON.stringify(file)}: ${why}${code === undefined ? '' : ` (${code})`}`);
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
  const top = expectObject(value, '', 'a JSON object like {"routes": [...]} at the top');
  const { listen, admin, log, ...proxy } = top;
  return { proxy: proxy as ProxyOptions, listen: listenConfig(listen), admin: adminConfig(admin), log: logConfig(log) };
}

function listenConfig(value: unknown): ListenConfig {
  if (value === undefined) return {};
  const listen = expectObject(value, 'listen');
  checkKeys(listen, LISTEN_KEYS, 'listen');
  const out: ListenConfig = {};
  if (listen.port !== undefined) out.port = port(listen.port, 'listen.port');
  if (listen.host !== undefined) out.host = string(listen.host, 'listen.host');
  return out;
}

function adminConfig(value: unknown): AdminConfig | undefined {
  if (value === undefined) return undefined;
  const admin = expectObject(value, 'admin');
  checkKeys(admin, ADMIN_KEYS, 'admin');
  if (admin.port === undefined) throw new ConfigError('admin.port', 'required: the admin server\'s port (0 picks a free one)');
  return {
    port: port(admin.port, 'admin.port'),
    host: admin.host === undefined ? '127.0.0.1' : string(admin.host, 'admin.host'),
    token: admin.token === undefined ? undefined : string(admin.token, 'admin.token', true),
  };
}

function logConfig(value: unknown): Partial<LogConfig> {
  if (value === undefined) return {};
  const log = expectObject(value, 'log');
  checkKeys(log, LOG_KEYS, 'log');
  const out: Partial<LogConfig> = {};
  if (log.format !== undefined) {
    if (!(LOG_FORMATS as readonly unknown[]).includes(log.format)) throw new ConfigError('log.format', `expected "text" or "json", got ${show(log.format)}`);
    out.format = log.format as LogFormat;
  }
  if (log.accessLog !== undefined) {
    if (typeof log.accessLog !== 'boolean') throw new ConfigError('log.accessLog', `expected true or false, got ${show(log.accessLog)}`);
    out.accessLog = log.accessLog;
  }
  return out;
}

function port(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ConfigError(where, `expected an integer from 0 to 65535, got ${show(value)}`);
  }
  return value;
}

/** `secret`: never echo the value (a token), only its type. */
function string(value: unknown, where: string, secret = false): string {
  if (typeof value !== 'string' || value === '') {
    const got = !secret ? show(value) : typeof value === 'string' ? 'an empty string' : value === null ? 'null' : `a ${typeof value}`;
    throw new ConfigError(where, `expected a non-empty string, got ${got}`);
  }
  return value;
}
