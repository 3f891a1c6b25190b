/**
 * `Retry-After` (RFC 9110 10.2.3): how long a target asked not to be sent requests, read from its
 * answer as delta-seconds or an HTTP-date. Used by retries on status: a target that said so is no
 * place for another request's retry until the time has passed.
 */

/** The longest pause a target can ask for: a typo or a hostile date must not bench a target for days. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

const DELTA_SECONDS = /^\d+$/;
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** RFC 9110 5.6.7: IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** The obsolete RFC 850 form, `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** The obsolete asctime form, `Sun Nov  6 08:49:37 1994`, in UTC. */
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** Ms from `now` (epoch ms) until the time `value` names, capped at `MAX_RETRY_AFTER_MS`; `undefined` when it is not a Retry-After. */
export function retryAfterMs(value: string, now: number): number | undefined {
  const text = value.trim();
  if (DELTA_SECONDS.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const date = httpDate(text, now);
  if (date === undefined) return undefined;
  return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}

/** An HTTP-date in any of its three forms, as epoch ms; `undefined` for anything else. */
export function httpDate(text: string, now: number): number | undefined {
  let match = IMF_FIXDATE.exec(text);
  if (match !== null) return utc(Number(match[3]), match[2]!, match[1]!, match.slice(4));
  match = RFC850.exec(text);
  if (match !== null) {
    // A two-digit year more than 50 years ahead is the most recent past year ending so (RFC 9110 5.6.7).
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(match[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(year, match[2]!, match[1]!, match.slice(4));
  }
  match = ASCTIME.exec(text);
  if (match !== null) return utc(Number(match[6]), match[1]!, match[2]!.trim(), match.slice(3, 6));
  return undefined;
}

function utc(year: number, month: string, day: string, time: readonly string[]): number | undefined {
  const [hours, minutes, seconds] = time.map(Number) as [number, number, number];
  const d = Number(day);
  if (d < 1 || d > 31 || hours > 23 || minutes > 59 || seconds > 60) return undefined;
  return Date.UTC(year, MONTHS.indexOf(month), d, hours, minutes, seconds);
}

/** The value of a `Retry-After` field among raw header pairs, or `undefined`. */
export function findRetryAfter(rawHeaders: readonly string[]): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 11 && name.toLowerCase() === 'retry-after') return rawHeaders[i + 1];
  }
  return undefined;
}
