export { CircuitBreaker, CircuitState, Ticket, resolveBreakerOptions } from './breaker.js';
export type {
  BreakerCounts,
  BreakerSnapshot,
  CircuitBreakerEvents,
  CircuitBreakerOptions,
  ResolvedBreakerOptions,
  StateChangeEvent,
} from './breaker.js';
export { circuitBreaker } from './decorator.js';
export { ConsecutiveFailures, FailureRate } from './rules.js';
export type { FailureRateOptions, TripRule } from './rules.js';
