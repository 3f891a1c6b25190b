/**
 * The flag table and the parsing of a command line into `CliArgs`: what was asked for and the
 * `ProxyOptions` the flags set. Every value is checked here, so an error names the flag the user
 * typed (`--timeout`), not the option it maps to (`timeout`).
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { parseMatch, parseTargetUrl, type ProxyOptions, type RouteOptions } from '../proxy/options.js';
import { StatusSet } from '../proxy/status-set.js';
import { CliError } from './cli-error.js';

export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

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
  /** The proxy options the flags set, and only those. */
  proxy: ProxyOptions;
  /** Option paths the flags set, each with its flag: `breaker.failureThreshold` -> `--failure-threshold`. */
  flagOf: ReadonlyMap<string, string>;
}

interface NumberRule {
  min: number;
  max?: number;
  integer?: boolean;
  /** `min` itself is not allowed (`> 0` rather than `>= 0`). */
  exclusive?: boolean;
}

export interface Flag {
  short?: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** The value's placeholder in --help, e.g. `URL`. */
  value?: string;
  help: string;
  /** The `ProxyOptions` path the flag sets (`breaker.failureThreshold`), when it maps onto one. */
  option?: string;
  /** For numeric flags: the allowed range. */
  number?: NumberRule;
}

/** Every flag, in --help order. `node:util` `parseArgs` gets its table from this one. */
export const FLAGS = {
  target: { short: 't', type: 'string', multiple: true, value: 'URL', option: 'targets', help: 'upstream origin, http: or https:, repeatable (replicas of one catch-all route "/")' },
  route: { type: 'string', multiple: true, value: 'MATCH=URL[,URL]', option: 'routes', help: 'a route: MATCH is a path prefix (/api/users), a host (users.example.com) or both (users.example.com/v2); repeatable' },
  'strip-prefix': { type: 'boolean', help: 'strip the matched path prefix of every --route (per route in the config file)' },
  port: { short: 'p', type: 'string', value: 'N', number: { min: 0, max: 65535, integer: true }, help: 'listen port (default 8080; 0 picks a free port)' },
  host: { short: 'H', type: 'string', value: 'ADDR', help: 'listen address (default 127.0.0.1)' },
  'failure-threshold': { type: 'string', value: 'N', option: 'breaker.failureThreshold', number: { min: 1, integer: true }, help: 'consecutive failures that open a circuit (default 5)' },
  timeout: { type: 'string', value: 'MS', option: 'timeout', number: { min: 0, exclusive: true }, help: 'call timeout: wait for response headers (default 10000)' },
  'reset-timeout': { type: 'string', value: 'MS', option: 'breaker.resetTimeout', number: { min: 0, exclusive: true }, help: 'time a circuit stays open before a probe (default 30000)' },
  'reset-timeout-max': { type: 'string', value: 'MS', option: 'breaker.resetTimeoutMax', number: { min: 0, exclusive: true }, help: 'cap of the doubling open period (default 10 x reset timeout)' },
  'half-open-requests': { type: 'string', value: 'N', option: 'breaker.halfOpenMaxCalls', number: { min: 1, integer: true }, help: 'probes allowed at once (default 1)' },
  'failure-status': { type: 'string', value: 'LIST', option: 'failureStatus', help: 'statuses that count as failures (default 500-599), e.g. 502-504,500' },
  'failure-rate': { type: 'string', value: 'PCT', option: 'breaker.failureRate', number: { min: 0, max: 100, exclusive: true }, help: 'also open when PCT% of requests in --window failed (off by default)' },
  window: { type: 'string', value: 'MS', option: 'breaker.window', number: { min: 0, exclusive: true }, help: 'failure-rate window (default 10000)' },
  'min-requests': { type: 'string', value: 'N', option: 'breaker.minRequests', number: { min: 1, integer: true }, help: 'requests needed in the window before the rate rule decides (default 10)' },
  retries: { type: 'string', value: 'N', option: 'retries', number: { min: 0, integer: true }, help: 'failover retries (default 1 with several targets, 0 with one)' },
  'max-concurrent': { type: 'string', value: 'N', option: 'maxConcurrent', number: { min: 1, integer: true }, help: 'requests in flight per target (default unlimited)' },
  'slow-start': { type: 'string', value: 'MS', option: 'slowStart', number: { min: 0 }, help: "ramp a recovered target's share of traffic over MS (default 0 = off)" },
  'probe-path': { type: 'string', value: 'PATH', option: 'probePath', help: 'probe half-open targets with GET PATH instead of a client request' },
  'preserve-host': { type: 'boolean', option: 'preserveHost', help: "forward the client's Host header" },
  insecure: { type: 'boolean', option: 'insecure', help: "do not verify https targets' certificates (prints a warning)" },
  'admin-port': { type: 'string', value: 'N', number: { min: 0, max: 65535, integer: true }, help: 'serve the admin API, metrics and dashboard on this port (off unless given)' },
  'admin-host': { type: 'string', value: 'ADDR', help: 'admin listen address (default 127.0.0.1; any other needs a token)' },
  'admin-token': { type: 'string', value: 'TOKEN', help: 'bearer token for the admin control routes (or env PROXY_BREAKER_ADMIN_TOKEN)' },
  'access-log': { type: 'boolean', help: 'one JSON line per request on stdout' },
  'log-format': { type: 'string', value: 'text|json', help: 'state changes and errors on stderr (default text)' },
  config: { type: 'string', value: 'FILE', help: 'read options from a JSON file (see below); SIGHUP reloads it' },
  check: { type: 'boolean', help: 'with --config: validate, print the resolved routing table, exit 0 (or 2)' },
  demo: { type: 'boolean', help: 'run against an embedded flaky upstream (see below)' },
  help: { short: 'h', type: 'boolean', help: 'show this help' },
  version: { short: 'v', type: 'boolean', help: 'print the version' },
} as const satisfies Record<string, Flag>;

type FlagName = keyof typeof FLAGS;
const FLAG_LIST: ReadonlyArray<[FlagName, Flag]> = Object.entries(FLAGS) as Array<[FlagName, Flag]>;

/** Parses a command line (without `node` and the script). Throws `CliError` naming the flag. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: joinDashedValues(argv), options: FLAGS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new CliError(parseErrorLine(error));
  }
  const flagOf = new Map<string, string>();
  const proxy: Record<string, unknown> = {};
  const set = (name: FlagName, value: unknown): void => {
    const path = (FLAGS[name] as Flag).option!;
    setPath(proxy, path, value);
    flagOf.set(path, `--${name}`);
  };

  for (const [name, flag] of FLAG_LIST) {
    const value = values[name];
    if (value === undefined || flag.option === undefined || name === 'target' || name === 'route') continue;
    if (flag.number !== undefined) set(name, parseNumber(value as string, `--${name}`, flag.number));
    else if (name === 'failure-status') set(name, statusList(value as string));
    else if (name === 'probe-path') set(name, probePath(value as string));
    else set(name, value);
  }

  const targets = values.target as string[] | undefined;
  const routes = values.route as string[] | undefined;
  const stripPrefix = values['strip-prefix'] === true;
  if (targets !== undefined) set('target', targets.map((text) => targetUrl(text, '--target')));
  if (routes !== undefined) set('route', routes.map((text) => parseRoute(text, stripPrefix)));

  const args: CliArgs = {
    help: values.help === true,
    version: values.version === true,
    check: values.check === true,
    demo: values.demo === true,
    config: values.config as string | undefined,
    logFormat: values['log-format'] === undefined ? undefined : logFormat(values['log-format'] as string),
    listen: {},
    admin: {},
    accessLog: values['access-log'] === true ? true : undefined,
    proxy: proxy as ProxyOptions,
    flagOf,
  };
  if (values.port !== undefined) args.listen.port = parseNumber(values.port as string, '--port', FLAGS.port.number);
  if (values.host !== undefined) args.listen.host = listenHost(values.host as string, '--host');
  if (values['admin-port'] !== undefined) args.admin.port = parseNumber(values['admin-port'] as string, '--admin-port', FLAGS['admin-port'].number);
  if (values['admin-host'] !== undefined) args.admin.host = listenHost(values['admin-host'] as string, '--admin-host');
  if (values['admin-token'] !== undefined) args.admin.token = adminToken(values['admin-token'] as string);
  if (args.config === '') throw new CliError('--config: expected a file name, got ""');
  checkCombinations(args, targets !== undefined, routes !== undefined, stripPrefix);
  return args;
}

function checkCombinations(args: CliArgs, hasTargets: boolean, hasRoutes: boolean, stripPrefix: boolean): void {
  if (args.help || args.version) return;
  const upstream = hasTargets ? '--target' : hasRoutes ? '--route' : undefined;
  if (args.check && args.config === undefined) throw new CliError('--check: needs --config FILE (it validates a config file)');
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

/** Runs a validator of lib/proxy, turning its `ConfigError` (already named after the flag) into a `CliError`. */
function checked<T>(validate: () => T): T {
  try {
    return validate();
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
}

/** Checked here so the error names the flag; passed on as typed, for logs and the routing table. */
function targetUrl(text: string, flag: string): string {
  checked(() => parseTargetUrl(text, flag));
  return text;
}

function statusList(text: string): string {
  checked(() => StatusSet.parse(text, '--failure-status'));
  return text;
}

function probePath(text: string): string {
  if (!text.startsWith('/') || /[\s#]/.test(text)) throw new CliError(`--probe-path: expected a path like /health, got ${JSON.stringify(text)}`);
  return text;
}

function logFormat(text: string): LogFormat {
  if (!(LOG_FORMATS as readonly string[]).includes(text)) throw new CliError(`--log-format: expected text or json, got ${JSON.stringify(text)}`);
  return text as LogFormat;
}

function listenHost(text: string, flag: string): string {
  if (text === '' || /[\s/]/.test(text)) throw new CliError(`${flag}: expected an address like 127.0.0.1, :: or localhost, got ${JSON.stringify(text)}`);
  return text;
}

/** A bearer token (RFC 6750 token68 characters). Its value is never echoed: it is a secret. */
export function adminToken(text: string, source = '--admin-token'): string {
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(text)) throw new CliError(`${source}: expected letters, digits and -._~+/ (a bearer token)`);
  return text;
}

/** Plain decimal numbers only: `Number()` would also take "", "0x10" and "1e3". */
export function parseNumber(text: string, flag: string, rule: NumberRule): number {
  const { min, max = Infinity, integer = false, exclusive = false } = rule;
  const value = /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
  const ok = !Number.isNaN(value) && (!integer || Number.isInteger(value)) && (exclusive ? value > min : value >= min) && value <= max;
  if (!ok) {
    const kind = integer ? 'an integer' : 'a number';
    const range = max !== Infinity ? ` ${exclusive ? `> ${min} and <=` : `from ${min} to`} ${max}` : ` ${exclusive ? '>' : '>='} ${min}`;
    throw new CliError(`${flag}: expected ${kind}${range}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function setPath(object: Record<string, unknown>, path: string, value: unknown): void {
  const [head, tail] = path.split('.') as [string, string | undefined];
  if (tail === undefined) object[head] = value;
  else ((object[head] ??= {}) as Record<string, unknown>)[tail] = value;
}

const SHORT_TO_LONG = new Map(FLAG_LIST.flatMap(([name, flag]) => (flag.short === undefined ? [] : [[`-${flag.short}`, `--${name}`]])));
const TAKES_VALUE = new Set(FLAG_LIST.filter(([, flag]) => flag.type === 'string').map(([name]) => `--${name}`));

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
  const top = /^\w+/.exec(path)?.[0];
  return top === undefined ? undefined : args.flagOf.get(top);
}
