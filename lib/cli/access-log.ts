/**
 * `--access-log`: one JSON line per request on stdout. Lines are collected and written once per
 * turn of the event loop, so a busy proxy makes one write call per batch instead of one per
 * request, and the request that produced a line never waits for it.
 *
 * The path is logged without its query string: queries carry tokens and personal data often
 * enough that logging them must be a deliberate choice, not a default.
 */
import type { ResponseInfo } from '../proxy/proxy.js';
import type { Output } from './log.js';

export class AccessLog {
  readonly #out: Output;
  #lines: string[] = [];
  #scheduled = false;
  readonly #flush = (): void => {
    this.#scheduled = false;
    const lines = this.#lines;
    this.#lines = [];
    this.#out.write(lines.join(''));
  };

  constructor(out: Output) {
    this.#out = out;
  }

  record(info: ResponseInfo): void {
    const url = info.req.url ?? '';
    const query = url.indexOf('?');
    this.#lines.push(
      `${JSON.stringify({
        time: new Date().toISOString(),
        method: info.req.method,
        path: query === -1 ? url : url.slice(0, query),
        status: info.status,
        route: info.route,
        target: info.target,
        durationMs: Math.round(info.durationMs * 10) / 10,
        outcome: info.outcome,
        state: info.state,
        retries: info.retries,
        protocol: info.req.httpVersionMajor === 2 ? 'h2' : `http/${info.req.httpVersion}`,
      })}\n`,
    );
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  /** Writes what is pending now (at shutdown). */
  flush(): void {
    if (this.#lines.length > 0) this.#flush();
  }
}
