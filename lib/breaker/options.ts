/**
 * The breaker's numeric options, declared once: their checks, defaults and docs. `new
 * CircuitBreaker()` resolves them here; the proxy's table (lib/proxy/options.ts) reuses these
 * entries, with its own defaults where a proxy wants other ones and its command-line flags.
 */
import { numberOption, resolveOptions, type Resolved, type Siblings } from '../options.js';
import type { CircuitBreakerOptions } from './breaker.js';

export const BREAKER_OPTIONS = {
  failureThreshold: numberOption(
    { min: 1, integer: true, infinite: true },
    { default: 5, doc: 'consecutive failures that open a circuit (Infinity: only the other rules)' },
  ),
  callTimeout: numberOption(
    { min: 0, exclusive: true, infinite: true },
    { default: 10_000, doc: 'ms a call may stay pending before it fails and its signal aborts (Infinity: off)' },
  ),
  resetTimeout: numberOption({ min: 0, exclusive: true }, { default: 30_000, doc: 'time a circuit stays open before a probe' }),
  resetTimeoutMax: numberOption(
    { min: 0, exclusive: true },
    {
      default: (siblings: Siblings) => siblings.resetTimeout as number,
      defaultText: 'resetTimeout (no backoff)',
      doc: 'cap of the open period, which doubles with each failed probe in a row',
      relate: (value: number, siblings: Siblings) =>
        value < (siblings.resetTimeout as number) ? `expected >= resetTimeout (${siblings.resetTimeout as number}), got ${value}` : undefined,
    },
  ),
  jitter: numberOption({ min: 0, max: 1 }, { default: 0, doc: 'random extra fraction of each open period, so breakers do not probe in step' }),
  halfOpenMaxCalls: numberOption({ min: 1, integer: true }, { default: 1, doc: 'probes allowed at once while half-open' }),
  failureRate: numberOption(
    { min: 0, exclusive: true, max: 100 },
    { default: undefined, defaultText: 'off', doc: 'also open when this percentage of the calls in the window failed' },
  ),
  window: numberOption({ min: 0, exclusive: true }, { default: 10_000, doc: 'ms window of the failure-rate rule' }),
  minRequests: numberOption({ min: 1, integer: true }, { default: 10, doc: 'calls needed in the window before the rate rule decides' }),
  slowCallDuration: numberOption(
    { min: 0, exclusive: true },
    { default: undefined, defaultText: 'off', doc: 'ms after which a successful call counts as slow for the slow-call rule' },
  ),
  slowCallRate: numberOption(
    { min: 0, exclusive: true, max: 100 },
    { default: 100, doc: 'with slowCallDuration: open when this percentage of the calls in the window were slow' },
  ),
} as const;

export type ResolvedBreakerOptions = Resolved<typeof BREAKER_OPTIONS>;

/** The keys of `CircuitBreakerOptions` that are not numbers: checked by the constructor itself. */
export const BREAKER_CALLBACK_KEYS = ['rules', 'isFailure', 'clock'] as const;

// `CircuitBreakerOptions` is written by hand for its docs; this fails to compile when it and the
// table disagree on which options exist.
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const keysMatch: SameKeys<keyof CircuitBreakerOptions, keyof typeof BREAKER_OPTIONS | (typeof BREAKER_CALLBACK_KEYS)[number]> = true;
void keysMatch;

/**
 * Validates breaker options once, at the edge, and fills in the defaults. `path` is where the
 * options were written (`routes[0].breaker`), '' for the constructor's own argument.
 */
export function resolveBreakerOptions(options: object = {}, path = ''): ResolvedBreakerOptions {
  return resolveOptions(BREAKER_OPTIONS, [{ value: options, path, otherKeys: BREAKER_CALLBACK_KEYS }]);
}
