/**
 * Every error this package throws or rejects with. Match on `code`, never on the message:
 * the code is permanent, the message may change (the Node core contract).
 *
 * Besides the classes below, and each for a bug in the calling code rather than a condition to
 * handle, as Node does: `call()`/`wrap()` given something that is not a function throw a
 * `TypeError` with code `ERR_INVALID_ARG_TYPE` (`invalidArgType`); `@circuitBreaker` on something
 * other than a method throws a `TypeError` while the class is defined; a second `proxy.listen()`
 * rejects with an `Error`. Errors of Node itself (`EADDRINUSE` from `listen()`) pass through as
 * they are. Errors private to a module never reach a library caller: the HTTP/1 parser's
 * `ParseError` (and any error an upstream exchange fails with) becomes the `cause` of an
 * `UpstreamError`; the CLI's errors (`CliError`, the demo's) become one line on stderr and an
 * exit code.
 */
export class ProxyBreakerError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** Node's convention for an argument of the wrong type (`ERR_INVALID_ARG_TYPE`). */
export function invalidArgType(name: string, expected: string, value: unknown): TypeError & { code: 'ERR_INVALID_ARG_TYPE' } {
  const shown = typeof value === 'function' ? 'a function' : value === null || typeof value !== 'object' ? String(value) : 'an object';
  return Object.assign(new TypeError(`Expected \`${name}\` to be ${expected}, got ${shown}`), { code: 'ERR_INVALID_ARG_TYPE' as const });
}

/**
 * Creates an error without capturing a stack trace. Rejections on a hot path (an open circuit)
 * would otherwise pay a few microseconds each for a stack nobody reads.
 */
export function withoutStack<T>(create: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return create();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The circuit is open (or its half-open probes are all in use): the call was not made. */
export class CircuitBreakerOpenError extends ProxyBreakerError {
  /**
   * Whole milliseconds until the breaker lets a probe through (0 when a probe is already running).
   * Rejections within the same millisecond may share one error object.
   */
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number) {
    super('ERR_CIRCUIT_OPEN', `Circuit is open; next probe in ${Math.ceil(retryAfterMs)} ms`);
    this.retryAfterMs = retryAfterMs;
  }
}

/** The call was still pending when its call timeout passed; its signal has been aborted. */
export class CallTimeoutError extends ProxyBreakerError {
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super('ERR_CALL_TIMEOUT', `Call timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * An option failed validation: an option of `new CircuitBreaker()`, `createProxy()`, `reload()`,
 * the admin server, a command-line flag or a config-file entry. `path` says where it was written
 * (`routes[1].breaker.failureThreshold`, `resetTimeout`, `--timeout`); `reason` is the message
 * without the path (`expected an integer >= 1, got 0`), so a caller can name the option its own way.
 */
export class ConfigError extends ProxyBreakerError {
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string) {
    super('ERR_INVALID_CONFIG', path ? `${path}: ${reason}` : reason);
    this.path = path;
    this.reason = reason;
  }
}

/**
 * The upstream target failed this request; `type` is the RFC 9209 error type the proxy answered
 * with (`connection_refused`, `http_response_timeout`, ...), `cause` the original error if any.
 */
export class UpstreamError extends ProxyBreakerError {
  readonly target: string;
  readonly type: string;

  constructor(code: string, type: string, target: string, message: string, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
    this.target = target;
    this.type = type;
  }
}

/** Could not connect, or the connection died before a response (`ERR_UPSTREAM_CONNECTION`). */
export class UpstreamConnectionError extends UpstreamError {
  constructor(type: string, target: string, cause: unknown) {
    const reason = (cause as { code?: string } | undefined)?.code ?? (cause as Error | undefined)?.message ?? type;
    super('ERR_UPSTREAM_CONNECTION', type, target, `${target}: ${reason}`, cause);
  }
}

/** No response headers within the call timeout (`ERR_UPSTREAM_TIMEOUT`). */
export class UpstreamTimeoutError extends UpstreamError {
  readonly timeoutMs: number;

  constructor(target: string, timeoutMs: number) {
    super('ERR_UPSTREAM_TIMEOUT', 'http_response_timeout', target, `${target}: no response headers within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The target moved no byte for the idle timeout (`ERR_UPSTREAM_IDLE_TIMEOUT`): its response body
 * stalled after the head, or it stopped reading the request body before answering.
 */
export class UpstreamIdleTimeoutError extends UpstreamError {
  readonly timeoutMs: number;

  constructor(target: string, timeoutMs: number, afterHead: boolean) {
    const what = afterHead ? 'response body stalled' : 'stopped reading the request body';
    super('ERR_UPSTREAM_IDLE_TIMEOUT', 'http_response_timeout', target, `${target}: ${what} for ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** The upstream answered with a status counted as failure (`ERR_UPSTREAM_STATUS`); the answer was relayed. */
export class UpstreamStatusError extends UpstreamError {
  readonly status: number;

  constructor(target: string, status: number) {
    super('ERR_UPSTREAM_STATUS', 'http_response_status', target, `${target}: answered ${status}`);
    this.status = status;
  }
}

/** The response broke after its headers: the body ended early or was malformed (`ERR_UPSTREAM_RESPONSE`). */
export class UpstreamResponseError extends UpstreamError {
  constructor(target: string, cause?: unknown) {
    super('ERR_UPSTREAM_RESPONSE', 'http_response_incomplete', target, `${target}: response body incomplete`, cause);
  }
}

/** `cannot read "FILE": why (CODE)`: a failed read of `file` in plain words, for one-line errors. */
export function cannotRead(file: string, error: unknown): string {
  const { code } = error as { code?: string };
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
  return `cannot read ${JSON.stringify(file)}: ${why}${code === undefined ? '' : ` (${code})`}`;
}
