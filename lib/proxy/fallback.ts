/**
 * A route's fallback: what a request gets when no target of its route admits it (every circuit
 * open, or every target at its concurrency limit), in place of the 503. Either a static answer,
 * built once here so that an outage's path stays as cheap as the 503 it replaces, or other
 * targets (a read-only replica, a "degraded" service) reached through a route of their own with
 * their own breakers (routes.ts `Route.fallback`).
 */
import { readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { cannotRead, ConfigError } from '../errors.js';
import { customOption, numberOption, resolveOptions } from '../options.js';
import { joinPath, show, validateObject } from '../validate.js';
import { TOKEN } from '../http1/syntax.js';
import { PROXY_NAME, RetryAfterFields } from './answers.js';
import { findRetryAfter } from './retry-after.js';

/** A static fallback body, from `body` or `file`, is at most this many bytes. */
export const MAX_FALLBACK_BODY = 1024 * 1024;

/** What a route's `fallback` may hold (see `FALLBACK_OPTIONS`). */
export interface FallbackOptions {
  /** Status of the static answer, 200-599. @default 503 */
  status?: number;
  /** Header fields of the static answer. */
  headers?: Readonly<Record<string, string>>;
  /** Body of the static answer (at most 1 MiB). */
  body?: string;
  /** A file whose bytes are the static answer's body; read when the options are resolved (at start and on reload). */
  file?: string;
  /** Origins that take the route's requests while none of its own targets admits them; each has its own breaker. */
  targets?: string | URL | readonly (string | URL)[];
}

/**
 * Fields the proxy writes itself: the framing (RFC 9112 6), the connection's own fields
 * (RFC 9110 7.6.1), and the two fields that say why this is not the target's answer.
 */
const RESERVED_FIELDS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
  'proxy-status',
  'retry-after',
]);
/** A field value: visible characters, spaces and tabs inside, no CR, LF or NUL (RFC 9110 5.5). */
const FIELD_VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function fallbackHeaders(value: unknown, path: string): Array<[string, string]> {
  const object = validateObject(value, path, 'an object of header fields like {"Content-Type": "text/html"}');
  const fields: Array<[string, string]> = [];
  for (const [name, field] of Object.entries(object)) {
    const at = joinPath(path, name);
    if (!TOKEN.test(name)) throw new ConfigError(at, 'not a valid header field name');
    if (RESERVED_FIELDS.has(name.toLowerCase())) throw new ConfigError(at, 'the proxy writes this field itself');
    if (typeof field !== 'string' || !FIELD_VALUE.test(field)) {
      throw new ConfigError(at, `expected a header field value (no CR, LF or NUL, no leading or trailing space), got ${show(field)}`);
    }
    fields.push([name, field]);
  }
  return fields;
}

function fallbackBody(value: unknown, path: string): Buffer {
  if (typeof value !== 'string') throw new ConfigError(path, `expected a string, got ${show(value)}`);
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > MAX_FALLBACK_BODY) throw new ConfigError(path, `is ${bytes.length} bytes; at most ${MAX_FALLBACK_BODY} (1 MiB)`);
  return bytes;
}

function fileName(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') throw new ConfigError(path, `expected a file name, got ${show(value)}`);
  return value;
}

function targetList(value: unknown, path: string): string | URL | Array<string | URL> {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((item) => typeof item === 'string' || item instanceof URL)) {
    throw new ConfigError(path, `expected one or more target URLs, got ${show(value)}`);
  }
  return value as string | URL | Array<string | URL>;
}

/** The entries of a `fallback` object; `--fallback-status`, `--fallback-file` and `--fallback-target` set them from the command line. */
export const FALLBACK_OPTIONS = {
  status: numberOption(
    { min: 200, max: 599, integer: true },
    { default: 503, doc: 'status of the static fallback answer', flag: { name: 'fallback-status', value: 'N' } },
  ),
  headers: customOption(fallbackHeaders, { type: 'object', default: undefined, doc: 'header fields of the static fallback answer' }),
  body: customOption(fallbackBody, { type: 'string', default: undefined, doc: 'body of the static fallback answer (at most 1 MiB)' }),
  file: customOption(fileName, {
    type: 'string',
    default: undefined,
    doc: 'a file whose bytes are the static fallback answer, read at start and on reload',
    flag: { name: 'fallback-file', value: 'FILE' },
  }),
  targets: customOption(targetList, {
    type: 'string | string[]',
    default: undefined,
    doc: 'fallback origins, used while no target of the route admits a request',
    flag: { name: 'fallback-target', value: 'URL' },
  }),
} as const;

/**
 * A checked `fallback`: fallback origins (parsed by options.ts), or a static answer whose `file`
 * is not read yet (`staticAnswer` reads it, once per resolution of the options however many
 * routes share it).
 */
export type FallbackSpec =
  | { kind: 'targets'; targets: string | URL | Array<string | URL>; path: string }
  | { kind: 'static'; status: number; fields: Array<[string, string]>; body: Buffer | undefined; file: string | undefined; path: string };

/** Checks a `fallback` object, without reading its file. Throws `ConfigError` at the offending path. */
export function resolveFallback(value: unknown, path: string): FallbackSpec {
  const options = resolveOptions(FALLBACK_OPTIONS, [{ value, path }]);
  const object = value as Record<string, unknown>;
  const given = (key: string) => object[key] !== undefined;
  if (options.targets !== undefined) {
    const other = ['status', 'headers', 'body', 'file'].find(given);
    if (other !== undefined) throw new ConfigError(joinPath(path, other), 'a fallback is either `targets` or a static answer, not both');
    return { kind: 'targets', targets: options.targets, path: joinPath(path, 'targets') };
  }
  if (options.body !== undefined && options.file !== undefined) throw new ConfigError(joinPath(path, 'file'), 'give `body` or `file`, not both');
  return { kind: 'static', status: options.status, fields: options.headers ?? [], body: options.body, file: options.file, path };
}

/**
 * Builds a static fallback's answer, reading its `file` (through `files`, so that routes sharing
 * the top-level fallback read it once). Throws `ConfigError` when the file cannot be read.
 */
export function staticAnswer(spec: Extract<FallbackSpec, { kind: 'static' }>, files: Map<string, Buffer>): StaticAnswer {
  let body = spec.body;
  let contentType = 'text/plain; charset=utf-8';
  if (spec.file !== undefined) {
    body = files.get(spec.file);
    if (body === undefined) files.set(spec.file, (body = readBodyFile(spec.file, joinPath(spec.path, 'file'))));
    contentType = CONTENT_TYPES[extname(spec.file).toLowerCase()] ?? 'application/octet-stream';
  }
  const status = spec.status;
  if ((status === 204 || status === 304) && body !== undefined && body.length > 0) {
    throw new ConfigError(joinPath(spec.path, 'status'), `a ${status} answer has no body (RFC 9110 15.3.5, 15.4.5)`);
  }
  return new StaticAnswer(status, spec.fields, body, contentType);
}

function readBodyFile(file: string, path: string): Buffer {
  try {
    // stat first: a huge file (or a device) must not be read whole just to be refused.
    const stats = statSync(file);
    if (!stats.isFile()) throw new ConfigError(path, `${JSON.stringify(file)} is not a regular file`);
    if (stats.size > MAX_FALLBACK_BODY) throw new ConfigError(path, `${JSON.stringify(file)} is ${stats.size} bytes; at most ${MAX_FALLBACK_BODY} (1 MiB)`);
    const bytes = readFileSync(file);
    if (bytes.length > MAX_FALLBACK_BODY) throw new ConfigError(path, `${JSON.stringify(file)} is ${bytes.length} bytes; at most ${MAX_FALLBACK_BODY} (1 MiB)`);
    return bytes;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(path, cannotRead(file, error));
  }
}

const FALLBACK_UNAVAILABLE = `${PROXY_NAME}; error=destination_unavailable; details="fallback"`;
const FALLBACK_LIMITED = `${PROXY_NAME}; error=connection_limit_reached; details="fallback"`;

/**
 * Marks a fallback target's response head `fields` as a fallback's: a Proxy-Status member saying
 * why the route's own targets did not answer (a list field: the target's own members stay,
 * RFC 9209 2), and `Retry-After` when they were open, unless the target set one itself (the field
 * takes one value, RFC 9110 10.2.3).
 */
export function markFallback(fields: string[], limited: boolean, retryAfterMs: number): void {
  fields.push('Proxy-Status', limited ? FALLBACK_LIMITED : FALLBACK_UNAVAILABLE);
  if (limited) return;
  if (findRetryAfter(fields) !== undefined) return;
  fields.push('Retry-After', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
}

/**
 * The static fallback answer, built once: its header lists for each reason (with the Proxy-Status
 * that says why the client gets it, RFC 9209 2.1.5 `details`), and those with each `Retry-After`.
 */
export class StaticAnswer {
  readonly status: number;
  /** The body's bytes as a latin1 string: written with the head in one write, byte for byte. */
  readonly body: string;
  readonly #unavailable: RetryAfterFields;
  readonly #limited: RetryAfterFields;

  constructor(status: number, fields: ReadonlyArray<[string, string]>, body: Buffer | undefined, contentType: string) {
    this.status = status;
    this.body = body === undefined ? '' : body.toString('latin1');
    const own = fields.flat();
    const has = (name: string) => fields.some(([field]) => field.toLowerCase() === name);
    const base = [...own];
    if (body !== undefined && body.length > 0 && !has('content-type')) base.push('Content-Type', contentType);
    // A degraded page cached by a CDN would outlive the outage.
    if (!has('cache-control')) base.push('Cache-Control', 'no-store');
    base.push('Content-Length', String(body?.length ?? 0));
    this.#unavailable = new RetryAfterFields([...base, 'Proxy-Status', FALLBACK_UNAVAILABLE]);
    this.#limited = new RetryAfterFields([...base, 'Proxy-Status', FALLBACK_LIMITED]);
  }

  /** Sends it for `reason`; `retryAfterMs` adds `Retry-After` (`RetryAfterFields`). */
  send(res: ServerResponse, reason: 'open' | 'limited', retryAfterMs: number | undefined): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const fields = reason === 'limited' ? this.#limited : this.#unavailable;
    res.writeHead(this.status, retryAfterMs === undefined ? fields.base : fields.with(retryAfterMs));
    res.end(this.body, 'latin1');
  }
}
