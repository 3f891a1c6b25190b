/**
 * What the CLI writes on stderr: state changes, upstream errors and its own messages, one line
 * each, as text for people or JSON for log shippers (then every line is one JSON object, errors
 * included). Request headers are never logged: they may hold credentials.
 */
import type { HealthChangeInfo, ProxyErrorInfo, StateChangeInfo } from '../proxy/proxy.js';
import type { LogFormat } from './args.js';

export interface Output {
  write(chunk: string): unknown;
}

export type Level = 'info' | 'warn' | 'error';

export class Log {
  readonly format: LogFormat;
  readonly out: Output;
  readonly #now: () => Date;

  constructor(format: LogFormat, out: Output, now: () => Date = () => new Date()) {
    this.format = format;
    this.out = out;
    this.#now = now;
  }

  /** An error that ends the command: `proxy-breaker: MESSAGE`, with a pointer to --help for usage errors. */
  fatal(message: string, hint = false): void {
    if (this.format === 'json') this.#json({ level: 'error', event: 'error', message });
    else this.out.write(`proxy-breaker: ${oneLine(message)}${hint ? ' (see --help)' : ''}\n`);
  }

  /** Something that happened while running (a reload, a shutdown, a warning), with its time. */
  event(level: Level, event: string, message: string, fields: Record<string, unknown> = {}): void {
    if (this.format === 'json') this.#json({ level, event, message, ...fields });
    else this.out.write(`${this.#now().toISOString()} ${level === 'info' ? '' : `${level === 'warn' ? 'warning' : 'error'}: `}${oneLine(message)}\n`);
  }

  stateChange({ target, from, to, failures, error }: StateChangeInfo): void {
    const reason = reasonOf(error, target);
    const level: Level = to === 'OPEN' ? 'warn' : 'info';
    if (this.format === 'json') {
      this.#json({ level, event: 'stateChange', target, from, to, failures, reason: reason ?? null });
      return;
    }
    const count = `${failures} failure${failures === 1 ? '' : 's'}`;
    this.out.write(`${this.#now().toISOString()} circuit ${target} ${from} -> ${to} (${count}${reason === undefined ? '' : `; last: ${oneLine(reason)}`})\n`);
  }

  healthChange({ target, from, to, checks }: HealthChangeInfo): void {
    this.event(to === 'unhealthy' ? 'warn' : 'info', 'healthChange', `health ${target} ${from} -> ${to} (${checks} check${checks === 1 ? '' : 's'} in a row)`, { target, from, to, checks });
  }

  /** The error's code, type and target only: not the request (its headers and query may hold secrets). */
  proxyError({ target, route, error }: ProxyErrorInfo): void {
    const reason = reasonOf(error, target);
    if (this.format === 'json') {
      this.#json({ level: 'warn', event: 'proxyError', target, route, code: error.code, type: error.type, reason: reason ?? null });
      return;
    }
    this.out.write(`${this.#now().toISOString()} upstream error ${target} (route ${route}): ${error.type} ${error.code}${reason === undefined ? '' : `: ${oneLine(reason)}`}\n`);
  }

  #json(fields: Record<string, unknown>): void {
    this.out.write(`${JSON.stringify({ time: this.#now().toISOString(), ...fields })}\n`);
  }
}

/**
 * Why a target failed, short: the system error code of the cause (`ECONNREFUSED`) when there is
 * one, else the error's message without the target it starts with (`answered 500`).
 */
export function reasonOf(error: unknown, target: string): string | undefined {
  if (error === undefined || error === null) return undefined;
  if (!(error instanceof Error)) return String(error);
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return error.message.startsWith(`${target}: `) ? error.message.slice(target.length + 2) : error.message;
}

/** A text line must stay one line, whatever a message holds. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ');
}
