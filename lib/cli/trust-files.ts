/**
 * The options whose value is a file's contents (`ca`, `clientCert`, `clientKey`: `file: true` in
 * the option table) are file names on the command line and in the config file. This reads those
 * files and puts their contents in place, at the top level and in each route, so that the proxy
 * only ever sees PEM. It runs at start and on every reload (SIGHUP), so renewed certificates are
 * picked up by a reload.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { cannotRead, ConfigError } from '../errors.js';
import type { Option } from '../options.js';
import { PROXY_OPTIONS, type ProxyOptions } from '../proxy/options.js';
import { joinPath, show } from '../validate.js';
import { CliError } from './cli-error.js';

const FILE_OPTIONS = Object.entries(PROXY_OPTIONS as Readonly<Record<string, Option<unknown>>>).filter(([, option]) => option.file === true);

/** Where the file names came from: the flags (relative to the working directory) or a config file (relative to it). */
export type FileNamesFrom = { flags: ReadonlyMap<string, string> } | { configFile: string };

/**
 * `options` with each file option's file name replaced by the file's contents, checked by its
 * option (so that a bad PEM names its file). Throws `CliError` naming the flag or the config path,
 * and the file; never the contents.
 */
export function readTrustFiles(options: ProxyOptions, from: FileNamesFrom): ProxyOptions {
  const read = (object: Record<string, unknown>, where: string): Record<string, unknown> => {
    const copy = { ...object };
    for (const [key, option] of FILE_OPTIONS) {
      if (copy[key] === undefined) continue;
      const path = joinPath(where, key);
      copy[key] = contentsOf(copy[key], path, option, from);
    }
    return copy;
  };
  try {
    const top = read(options as Record<string, unknown>, '') as ProxyOptions;
    if (Array.isArray(options.routes)) {
      // A route that is not an object is left for the validator to report.
      top.routes = options.routes.map((route, i) => (isObject(route) ? read(route, `routes[${i}]`) : route)) as ProxyOptions['routes'];
    }
    return top;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const label = 'flags' in from ? from.flags.get(error.path) ?? error.path : `${from.configFile}: ${error.path}`;
    throw new CliError(`${label}: ${error.reason}`, { hint: false });
  }
}

/**
 * The contents of the file(s) named at `path`: a file name, or (in the config file, for `ca`) a
 * list of them. Each file is checked by the option on its own, so that an error names the file;
 * the contents are passed on, for the proxy's own validation.
 */
function contentsOf(value: unknown, path: string, option: Option<unknown>, from: FileNamesFrom): Buffer | Buffer[] {
  if (Array.isArray(value) && 'configFile' in from) return value.map((item, i) => contentsOf(item, joinPath(path, i), option, from) as Buffer);
  if (typeof value !== 'string' || value === '') throw new ConfigError(path, `expected a file name, got ${show(value)}`);
  const file = 'configFile' in from ? resolve(dirname(from.configFile), value) : value;
  let contents: Buffer;
  try {
    contents = readFileSync(file);
  } catch (error) {
    throw new ConfigError(path, cannotRead(value, error));
  }
  try {
    option.check(contents, path);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(path, `${JSON.stringify(value)}: ${error.reason}`);
    throw error;
  }
  return contents;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
