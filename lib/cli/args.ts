/**
 * The parsing of a command line into `CliArgs`: what was asked for and the `ProxyOptions` the
 * flags set. The flags come from the option tables (lib/cli/options.ts); every value is checked
 * here by its option's own check, under the flag's name, so an error names the flag the user
 * typed (`--timeout`), not the option it maps to (`timeout`).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../errors.js';
import { parseDecimal } from '../options.js';
import { parseMatch, parseTargetUrl, type ProxyOptions, type RouteOptions } from '../proxy/options.js';
import { validateNumber, type NumberRule } from '../validate.js';
import { CliError } from './cli-error.js';
import { FLAG_ENTRIES, LOG_FORMATS, type FlagEntry, type LogFormat, type WorkersSetting } from './options.js';

export { LOG_FORMATS, type LogFormat };

/** What the command line asked for, before a config file is read. */
export interface CliArgs {
  help: boolean;
  version: boolean;
  check: boolean;
  demo: boolean;
  config: string | undefined;
  logFormat: LogFormat | undefined;
  listen: { port?: number; host?: string };
  /** The admin server flags, as given. */
  admin: { port?: number; host?: string; token?: string };
  accessLog: boolean | undefined;
  /** `--tls-cert` and `--tls-key`, as given. */
  tls: { cert?: string; key?: string };
  /** `--workers`, as given. */
  workers: WorkersSetting | undefined;
  /** The proxy options the flags set, and only those. */
  proxy: ProxyOptions;
  /** Option paths the flags set, each with its flag: `breaker.failureThreshold` -> `--failure-threshold`. */
  flagOf: ReadonlyMap<string, string>;
}

/** `node:util` `parseArgs` gets its table from the option tables. */
const PARSE_OPTIONS: NonNullable<ParseArgsConfig['options']> = Object.fromEntries(
  FLAG_ENTRIES.map(({ flag }) => [
    flag.name,
    { type: flag.value === undefined ? 'boolean' : 'string', ...(flag.short === undefined ? {} : { short: flag.short }), ...(flag.multiple ? { multiple: true } : {}) },
  ]),
);

/** Runs a check of an option table or of lib/proxy, turning its `ConfigError` (named after the flag) into a `CliError`. */
export function checked<T>(validate: () => T): T {
  try {
    return validate();
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
}

/**
 * A flag's value as an option value, checked by its option under the flag's name: read by the
 * option's `parse` (a number), else checked and passed on as typed (a status list stays text,
 * for `ProxyOptions` and the routing table).
 */
function flagValue(entry: FlagEntry, value: string | boolean): unknown {
  const { option, flag } = entry;
  if (typeof value === 'boolean') return flag.negate === true ? !value : value;
  if (option === undefined) return value;
  const at = `--${flag.name}`;
  // A file name: read, and its contents checked, once the config is put together (trust-files.ts).
  if (option.file === true) return value;
  if (option.parse !== undefined) return checked(() => option.parse!(value, at));
  checked(() => option.check(value, at));
  return value;
}

/** Parses a command line (without `node` and the script). Throws `CliError` naming the flag. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  try {
    ({ values } = parseArgs({ args: joinDashedValues(argv), options: PARSE_OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new CliError(parseErrorLine(error));
  }
  const flagOf = new Map<string, string>();
  const root: Record<string, unknown> = {};
  const set = (entry: FlagEntry, value: unknown): void => {
    setPath(root, entry.path!, value);
    flagOf.set(entry.path!, `--${entry.flag.name}`);
  };

  const stripPrefix = values['strip-prefix'] === true;
  const targets = values.target as string[] | undefined;
  const routes = values.route as string[] | undefined;
  for (const entry of FLAG_ENTRIES) {
    const value = values[entry.flag.name];
    if (value === undefined || entry.path === undefined) continue;
    if (entry.flag.name === 'target') set(entry, targets!.map((text) => targetUrl(text, '--target')));
    else if (entry.flag.name === 'route') set(entry, routes!.map((text) => parseRoute(text, stripPrefix)));
    else set(entry, flagValue(entry, value as string | boolean));
  }

  const { listen = {}, admin = {}, log = {}, tls = {}, workers, ...proxy } = root as {
    workers?: WorkersSetting;
    listen?: CliArgs['listen'];
    tls?: CliArgs['tls'];
    admin?: CliArgs['admin'];
    log?: { format?: LogFormat; accessLog?: boolean };
  } & ProxyOptions;
  const args: CliArgs = {
    help: values.help === true,
    version: values.version === true,
    check: values.check === true,
    demo: values.demo === true,
    config: values.config as string | undefined,
    logFormat: log.format,
    listen,
    admin,
    accessLog: log.accessLog,
    tls,
    workers,
    proxy,
    flagOf,
  };
  if (args.config === '') throw new CliError('--config: expected a file name, got ""');
  checkCombinations(args, targets !== undefined, routes !== undefined, stripPrefix);
  return args;
}

function checkCombinations(args: CliArgs, hasTargets: boolean, hasRoutes: boolean, stripPrefix: boolean): void {
  if (args.help || args.version) return;
  const upstream = hasTargets ? '--target' : hasRoutes ? '--route' : undefined;
  if (args.check && args.config === undefined) throw new CliError('--check: needs --config FILE (it validates a config file)');
  if (args.demo && args.workers !== undefined) throw new CliError('--demo: runs in one process; drop --workers');
  if (args.demo && (upstream !== undefined || args.config !== undefined)) {
    throw new CliError(`--demo: runs its own upstream; drop ${upstream ?? '--config'}`);
  }
  if (args.config !== undefined && upstream !== undefined) {
    throw new CliError(`${upstream}: cannot be combined with --config; put the targets in the file's "routes"`);
  }
  if (hasTargets && hasRoutes) throw new CliError('--target: cannot be combined with --route; write the catch-all as --route /=URL');
  if (stripPrefix && !hasRoutes) {
    throw new CliError(`--strip-prefix: applies to --route only${args.config === undefined ? '' : ' (in a config file, set "stripPrefix" per route)'}`);
  }
  if (upstream === undefined && args.config === undefined && !args.demo) {
    throw new CliError('no upstream: give --target URL, --route MATCH=URL or --config FILE (or try --demo)');
  }
}

/** `/api=http://a:1,http://b:2` -> `{ match: '/api', targets: [...] }`. */
function parseRoute(text: string, stripPrefix: boolean): RouteOptions {
  const eq = text.indexOf('=');
  const match = text.slice(0, Math.max(eq, 0));
  const urls = text.slice(eq + 1).split(',').map((url) => url.trim());
  if (eq <= 0 || urls.some((url) => url === '')) {
    throw new CliError(`--route: expected MATCH=URL[,URL...] like /api=http://127.0.0.1:3000, got ${JSON.stringify(text)}`);
  }
  checked(() => parseMatch(match, '--route'));
  const targets = urls.map((url) => targetUrl(url, '--route'));
  return stripPrefix ? { match, targets, stripPrefix: true } : { match, targets };
}

/** Checked here so the error names the flag; passed on as typed, for logs and the routing table. */
function targetUrl(text: string, flag: string): string {
  checked(() => parseTargetUrl(text, flag));
  return text;
}

/** A number typed as `flag`'s value, checked against `rule`. */
export function parseNumber(text: string, flag: string, rule: NumberRule): number {
  return checked(() => validateNumber(parseDecimal(text), flag, rule, JSON.stringify(text)));
}

/** `breaker.failureThreshold` -> `{ breaker: { failureThreshold } }`. */
function setPath(object: Record<string, unknown>, path: string, value: unknown): void {
  const [head, tail] = path.split('.') as [string, string | undefined];
  if (tail === undefined) object[head] = value;
  else ((object[head] ??= {}) as Record<string, unknown>)[tail] = value;
}

const SHORT_TO_LONG = new Map(FLAG_ENTRIES.flatMap(({ flag }) => (flag.short === undefined ? [] : [[`-${flag.short}`, `--${flag.name}`]])));
const TAKES_VALUE = new Set(FLAG_ENTRIES.filter(({ flag }) => flag.value !== undefined).map(({ flag }) => `--${flag.name}`));

/**
 * `parseArgs` will not take a value that starts with a dash (`--timeout -5`): it reports an
 * "ambiguous" argument instead of the bad number. Joining negative numbers to their flag
 * (`--timeout=-5`) lets the value check say what is wrong with it.
 */
function joinDashedValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const long = SHORT_TO_LONG.get(arg) ?? arg;
    const next = argv[i + 1];
    if (TAKES_VALUE.has(long) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${long}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** One line for a `parseArgs` error: its messages span lines and name options in their own way. */
function parseErrorLine(error: unknown): string {
  const { code, message } = error as { code?: string; message: string };
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
  const flag = /--[\w-]+/.exec(quoted)?.[0] ?? quoted.split(/[\s=]/)[0] ?? quoted;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `${flag}: unknown option`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return /^https?:\/\//.test(quoted)
        ? `unexpected argument ${JSON.stringify(quoted)}; did you mean --target ${quoted}?`
        : `unexpected argument ${JSON.stringify(quoted)}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (message.includes('does not take an argument')) return `${flag}: takes no value`;
      if (message.includes('ambiguous')) return `${flag}: expected a value (write ${flag}=VALUE if it starts with a dash)`;
      return `${flag}: expected a value`;
    default:
      return message.split('\n')[0]!;
  }
}

/**
 * Which flag set the option at `path` of a failed validation, if a flag did. Breaker errors can
 * carry a route's path (`routes[0].breaker.resetTimeoutMax`); flags only set the top-level breaker.
 */
export function flagForPath(args: CliArgs, path: string): string | undefined {
  const breaker = /(?:^|\.)breaker\.(\w+)$/.exec(path);
  if (breaker !== null) return args.flagOf.get(`breaker.${breaker[1]}`);
  const fallback = /^fallback\.(\w+)/.exec(path);
  if (fallback !== null) return args.flagOf.get(`fallback.${fallback[1]}`);
  const top = /^\w+/.exec(path)?.[0];
  return top === undefined ? undefined : args.flagOf.get(top);
}
