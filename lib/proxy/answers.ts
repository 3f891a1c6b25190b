/**
 * Every response the proxy makes itself: a short JSON body, and an RFC 9209 `Proxy-Status` field
 * naming the error type, so a client (or an operator reading logs) can tell a proxy-made 502 from
 * the upstream's own. Bodies and header lists are built once per (status, error, target) and
 * reused: the 503 of an open circuit is the hot path of an outage.
 */
import type { ServerResponse } from 'node:http';

/** Error types from the RFC 9209 registry (plus `destination_not_found` etc. used as there). */
export type ProxyErrorType =
  | 'destination_not_found'
  | 'destination_unavailable'
  | 'dns_error'
  | 'dns_timeout'
  | 'destination_ip_unroutable'
  | 'connection_refused'
  | 'connection_terminated'
  | 'connection_timeout'
  | 'connection_limit_reached'
  | 'tls_protocol_error'
  | 'tls_certificate_error'
  | 'http_request_error'
  | 'http_request_denied'
  | 'http_response_incomplete'
  | 'http_response_header_section_size'
  | 'http_response_timeout'
  | 'http_protocol_error'
  | 'proxy_internal_error'
  | 'proxy_loop_detected';

export const PROXY_NAME = 'proxy-breaker';

/**
 * A response's header list and its copies with each `Retry-After` it was sent with: whole
 * seconds, at least 1 (RFC 9110 10.2.3 has no sub-second form, and 0 would invite an immediate
 * retry). Seconds take few distinct values, so each copy is made once.
 */
export class RetryAfterFields {
  readonly base: string[];
  readonly #copies = new Map<number, string[]>();

  constructor(base: string[]) {
    this.base = base;
  }

  /** `base` plus `Retry-After` for `retryAfterMs`. */
  with(retryAfterMs: number): string[] {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    let fields = this.#copies.get(seconds);
    if (fields === undefined) {
      fields = [...this.base, 'Retry-After', String(seconds)];
      // Open periods are bounded, but a cap keeps a pathological configuration from growing it.
      if (this.#copies.size >= 1024) this.#copies.clear();
      this.#copies.set(seconds, fields);
    }
    return fields;
  }
}

/**
 * One proxy-made answer, built once: body, header list, and the header lists with each
 * `Retry-After` value it was sent with (seconds, so few distinct values).
 */
export class PreparedAnswer {
  readonly status: number;
  /**
   * A string, not a Buffer: Node writes a string body in the same write as the head, where a
   * Buffer takes a second write (a writev); on the 503 path that was the difference that mattered.
   */
  readonly body: string;
  readonly headers: readonly string[];
  readonly #fields: RetryAfterFields;

  constructor(status: number, error: ProxyErrorType, target: string) {
    this.status = status;
    this.body = `${JSON.stringify(target === '' ? { error } : { error, target })}\n`;
    this.headers = [
      'Content-Type', 'application/json',
      'Content-Length', String(Buffer.byteLength(this.body)),
      'Cache-Control', 'no-store',
      'Proxy-Status', `${PROXY_NAME}; error=${error}`,
    ];
    this.#fields = new RetryAfterFields(this.headers as string[]);
  }

  /** Sends it. `retryAfterMs` adds `Retry-After` (`RetryAfterFields`); `extra` adds header pairs (e.g. `Allow` on a 405). */
  send(res: ServerResponse, retryAfterMs?: number, extra?: readonly string[]): void {
    if (res.headersSent) {
      // Too late for an answer: the client has a status line already. Cut the connection so it
      // can tell the body is incomplete, rather than end it as if the body were whole.
      res.destroy();
      return;
    }
    let fields = this.#fields.base;
    if (retryAfterMs !== undefined) fields = this.#fields.with(retryAfterMs);
    if (extra !== undefined) fields = [...fields, ...extra];
    res.writeHead(this.status, fields);
    res.end(this.body, 'utf8');
  }
}

const prepared = new Map<string, PreparedAnswer>();
/** The cache is keyed by target too; bound it so a config reload loop cannot grow it forever. */
const MAX_PREPARED = 4096;

/** The answer for (status, error, target), made on first use. */
export function preparedAnswer(status: number, error: ProxyErrorType, target = ''): PreparedAnswer {
  const key = `${status} ${error} ${target}`;
  let entry = prepared.get(key);
  if (entry === undefined) {
    entry = new PreparedAnswer(status, error, target);
    if (prepared.size >= MAX_PREPARED) prepared.clear();
    prepared.set(key, entry);
  }
  return entry;
}

/** Answers the request with a proxy-made error; see `PreparedAnswer.send`. */
export function sendAnswer(
  res: ServerResponse,
  status: number,
  error: ProxyErrorType,
  target = '',
  retryAfterMs?: number,
  extra?: readonly string[],
): void {
  preparedAnswer(status, error, target).send(res, retryAfterMs, extra);
}
