/**
 * The admin server's options, declared once: `createAdminHandler()` and `startAdminServer()`
 * resolve them here, and the CLI's `--admin-*` flags and the config file's `admin` reuse the entries.
 */
import { ConfigError } from '../errors.js';
import { customOption, numberOption } from '../options.js';
import { showSecret } from '../validate.js';

/** RFC 6750 b64token: the characters a bearer token may hold. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** A bearer token. Its value is never echoed, only its kind: it is a secret. */
export function checkToken(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') throw new ConfigError(path, `expected a non-empty string, got ${showSecret(value)}`);
  if (!BEARER_TOKEN.test(value)) throw new ConfigError(path, 'expected letters, digits and -._~+/ (a bearer token)');
  return value;
}

/** A listen address: a name or an IP literal, nothing a URL would add. */
export function checkListenHost(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '' || /[\s/]/.test(value)) {
    throw new ConfigError(path, `expected an address like 127.0.0.1, :: or localhost, got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

export const PORT_RULE = { min: 0, max: 65535, integer: true } as const;

export const ADMIN_OPTIONS = {
  port: numberOption(PORT_RULE, { default: undefined, defaultText: 'off', doc: 'serve the admin API, metrics and dashboard on this port' }),
  host: customOption(checkListenHost, { type: 'string', default: '127.0.0.1', doc: 'admin listen address; any but loopback needs a token' }),
  token: customOption(checkToken, { type: 'string', default: undefined, doc: 'token for every admin route but /healthz and /readyz' }),
  sampleInterval: numberOption({ min: 1, integer: true }, { default: 1000, doc: 'ms between rate samples and `stats` events' }),
} as const;
