// The package's only public surface: re-exports, nothing else.
export * from './breaker/index.js';
export { CallTimeoutError, CircuitBreakerOpenError, ConfigError, ProxyBreakerError } from './errors.js';
