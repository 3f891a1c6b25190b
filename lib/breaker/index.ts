export { CircuitBreaker, CircuitState, Ticket } from './breaker.js';
export type { BreakerCounts, BreakerSnapshot, CircuitBreakerEvents, CircuitBreakerOptions, StateChangeEvent } from './breaker.js';
export { resolveBreakerOptions } from './options.js';
export type { ResolvedBreakerOptions } from './options.js';
export { circuitBreaker } from './decorator.js';
export { ConsecutiveFailures, FailureRate, SlowCallRate } from './rules.js';
export type { FailureRateOptions, TripRule } from './rules.js';
