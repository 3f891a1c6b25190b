/**
 * The CLI's option table: its own options (`listen`, `admin`, `log` in the config file), the flags
 * that are only flags, and the order `--help` lists every flag in. Entries of the proxy's and the
 * admin server's tables are reused as they are; a flag is one entry wherever it is declared.
 */
import { ADMIN_OPTIONS, checkListenHost, PORT_RULE } from '../admin/options.js';
import { ConfigError } from '../errors.js';
import { show } from '../validate.js';
import { booleanOption, choiceOption, customOption, defaultText, numberOption, parseDecimal, stringOption, type FlagSpec, type Option, type OptionTable } from '../options.js';
import { FALLBACK_OPTIONS } from '../proxy/fallback.js';
import { PROXY_BREAKER_OPTIONS, PROXY_OPTIONS } from '../proxy/options.js';

export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** Environment variable for the admin token, so that it need not show in `ps`. */
export const ADMIN_TOKEN_ENV = 'PROXY_BREAKER_ADMIN_TOKEN';

export const LISTEN_OPTIONS = {
  port: numberOption(PORT_RULE, { default: 8080, doc: 'listen port; 0 picks a free one', flag: { name: 'port', short: 'p', value: 'N' } }),
  host: customOption(checkListenHost, { type: 'string', default: '127.0.0.1', doc: 'listen address', flag: { name: 'host', short: 'H', value: 'ADDR' } }),
} as const;

/** The config file's `admin`: the admin server's own entries, with the CLI's flags. */
export const CLI_ADMIN_OPTIONS = {
  port: { ...ADMIN_OPTIONS.port, flag: { name: 'admin-port', value: 'N' } },
  host: { ...ADMIN_OPTIONS.host, flag: { name: 'admin-host', value: 'ADDR' } },
  token: { ...ADMIN_OPTIONS.token, doc: `${ADMIN_OPTIONS.token.doc} (or env ${ADMIN_TOKEN_ENV})`, flag: { name: 'admin-token', value: 'TOKEN' } },
} as const;

export const LOG_OPTIONS = {
  format: choiceOption(LOG_FORMATS, { default: 'text', doc: 'state changes and errors on stderr', flag: { name: 'log-format', value: 'text|json' } }),
  accessLog: booleanOption({ default: false, doc: 'one JSON line per request on stdout', flag: { name: 'access-log' } }),
} as const;

/**
 * The config file's `tls`: serve HTTPS and HTTP/2 (by ALPN) on the proxy port. Paths in the file
 * are relative to the file; SIGHUP reads both files again.
 */
export const TLS_OPTIONS = {
  cert: stringOption({ default: undefined, doc: 'serve HTTPS and HTTP/2 with this PEM certificate (chain); needs --tls-key; SIGHUP reloads it', flag: { name: 'tls-cert', value: 'FILE' } }),
  key: stringOption({ default: undefined, doc: 'the PEM private key of --tls-cert', flag: { name: 'tls-key', value: 'FILE' } }),
} as const;

/** How many proxy processes: `auto` is one per core the process may use (`os.availableParallelism()`). */
export type WorkersSetting = number | 'auto';

export function checkWorkers(value: unknown, path: string): WorkersSetting {
  if (value === 'auto') return value;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 1024) return value;
  throw new ConfigError(path, `expected an integer from 1 to 1024 or "auto", got ${show(value)}`);
}

/** `workers` at the top of the config file, `--workers` on the command line (lib/cluster). */
export const WORKERS_OPTION = customOption(checkWorkers, {
  type: 'number | "auto"',
  default: 1,
  doc: 'proxy processes sharing the port and one breaker per target (node:cluster); auto = one per core',
  flag: { name: 'workers', value: 'N|auto' },
  parse: (text: string, path: string) => checkWorkers(text === 'auto' ? text : parseDecimal(text), path),
});

/** The config file's own sections, beside the proxy's options at the top. */
export const FILE_SECTIONS = { listen: LISTEN_OPTIONS, admin: CLI_ADMIN_OPTIONS, log: LOG_OPTIONS, tls: TLS_OPTIONS } as const;

/** A flag as the parser and `--help` see it: its spec, its doc, and the config path it sets. */
export interface FlagEntry {
  flag: FlagSpec;
  doc: string;
  /** The default as `--help` shows it. */
  defaultText?: string | undefined;
  /** Where the value goes: `breaker.failureThreshold`, `listen.port`; none for the CLI's own switches. */
  path?: string;
  /** The option the value is checked against; none for the switches and the flags parsed by hand. */
  option?: Option<unknown>;
}

const switchFlag = (name: string, doc: string, extra: Partial<FlagSpec> = {}): FlagEntry => ({ flag: { name, ...extra }, doc });

function flagsOf(table: OptionTable, prefix: string): FlagEntry[] {
  return Object.entries(table).flatMap(([key, option]) =>
    option.flag === undefined
      ? []
      : [{ flag: option.flag, doc: option.flag.doc ?? option.doc, defaultText: option.flag.negate === true ? undefined : defaultText(option), path: prefix === '' ? key : `${prefix}.${key}`, option }],
  );
}

/** Every flag, in `--help` order. */
export const FLAG_ENTRIES: readonly FlagEntry[] = [
  {
    flag: { name: 'target', short: 't', value: 'URL', multiple: true },
    doc: 'upstream origin, http: or https:, repeatable (replicas of one catch-all route "/")',
    path: 'targets',
  },
  {
    flag: { name: 'route', value: 'MATCH=URL[,URL]', multiple: true },
    doc: 'a route: MATCH is a path prefix (/api/users), a host (users.example.com) or both (users.example.com/v2); repeatable',
    path: 'routes',
  },
  switchFlag('strip-prefix', 'strip the matched path prefix of every --route (per route in the config file)'),
  ...flagsOf(LISTEN_OPTIONS, 'listen'),
  ...flagsOf(TLS_OPTIONS, 'tls'),
  ...flagsOf({ workers: WORKERS_OPTION }, ''),
  ...flagsOf(PROXY_BREAKER_OPTIONS, 'breaker'),
  ...flagsOf(PROXY_OPTIONS, ''),
  ...flagsOf(FALLBACK_OPTIONS, 'fallback'),
  ...flagsOf(CLI_ADMIN_OPTIONS, 'admin'),
  ...flagsOf(LOG_OPTIONS, 'log'),
  switchFlag('config', 'read options from a JSON file (see below); SIGHUP reloads it', { value: 'FILE' }),
  switchFlag('check', 'with --config: validate, print the resolved routing table, exit 0 (or 2)'),
  switchFlag('demo', 'run against an embedded flaky upstream (see below)'),
  switchFlag('help', 'show this help', { short: 'h' }),
  switchFlag('version', 'print the version', { short: 'v' }),
];

/** One flag's line in `--help`: `      --timeout MS             call timeout: ... (default 10000)`. */
export function flagLine(entry: FlagEntry): string {
  const { flag } = entry;
  const left = `${flag.short === undefined ? '    ' : `-${flag.short}, `}--${flag.name}${flag.value === undefined ? '' : ` ${flag.value}`}`;
  const help = entry.defaultText === undefined ? entry.doc : `${entry.doc} (default ${entry.defaultText})`;
  return `  ${left.padEnd(27)}  ${help}`;
}

/** The Options section of `--help`, and the README's option list: the same lines. */
export function optionLines(): string {
  const lines = FLAG_ENTRIES.filter((entry) => entry.flag.name !== 'help' && entry.flag.name !== 'version').map(flagLine);
  lines.push('  -h, --help    -v, --version');
  return lines.join('\n');
}
