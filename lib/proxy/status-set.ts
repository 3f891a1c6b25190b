import { ConfigError } from '../errors.js';

/**
 * A set of HTTP status codes, e.g. "500-599" or "502-504,500": the statuses that count as a
 * target's failure. A lookup table, so the check on every response is one array read.
 */
export class StatusSet {
  readonly #member = new Uint8Array(1000);
  readonly text: string;

  constructor(statuses: Iterable<number>, text: string) {
    for (const status of statuses) this.#member[status] = 1;
    this.text = text;
  }

  has(status: number): boolean {
    return this.#member[status] === 1;
  }

  /** Parses "500-599", "502-504,500" or an array of codes; throws `ConfigError` naming `where`. */
  static parse(spec: string | readonly number[], where: string): StatusSet {
    if (Array.isArray(spec)) {
      for (const status of spec) checkStatus(status, where, JSON.stringify(spec));
      return new StatusSet(spec, spec.join(','));
    }
    if (typeof spec !== 'string' || spec.trim() === '') {
      throw new ConfigError(where, `expected a status list like "500-599" or "502-504,500", got ${JSON.stringify(spec)}`);
    }
    const statuses: number[] = [];
    for (const part of spec.split(',')) {
      const match = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(part);
      if (match === null) throw new ConfigError(where, `"${part.trim()}" in ${JSON.stringify(spec)} is not a status or a range like 500-599`);
      const from = Number(match[1]);
      const to = match[2] === undefined ? from : Number(match[2]);
      checkStatus(from, where, spec);
      checkStatus(to, where, spec);
      if (to < from) throw new ConfigError(where, `range "${part.trim()}" in ${JSON.stringify(spec)} ends before it starts`);
      for (let status = from; status <= to; status++) statuses.push(status);
    }
    return new StatusSet(statuses, spec.replace(/\s+/g, ''));
  }
}

function checkStatus(status: unknown, where: string, spec: string): void {
  if (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599) {
    const within = String(status) === spec.trim() ? '' : ` in ${spec}`;
    throw new ConfigError(where, `${JSON.stringify(status)}${within} is not an HTTP status (100-599)`);
  }
}

export const DEFAULT_FAILURE_STATUS = StatusSet.parse('500-599', 'failureStatus');
