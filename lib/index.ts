// The package's only public surface: re-exports, nothing else.
export * from './breaker/index.js';
export {
  CallTimeoutError,
  CircuitBreakerOpenError,
  ConfigError,
  ProxyBreakerError,
  UpstreamConnectionError,
  UpstreamError,
  UpstreamResponseError,
  UpstreamStatusError,
  UpstreamIdleTimeoutError,
  UpstreamTimeoutError,
} from './errors.js';
export { createProxy, Proxy, SERVER_LIMITS } from './proxy/proxy.js';
export type {
  ProxyErrorInfo,
  ProxyEvents,
  ProxySnapshot,
  RejectInfo,
  ResponseInfo,
  RouteSnapshot,
  StateChangeInfo,
} from './proxy/proxy.js';
export type { ProxyBreakerOptions, ProxyOptions, RouteOptions, TargetInput } from './proxy/options.js';
export type { Outcome, TargetSnapshot } from './proxy/target.js';
export type { ProxyErrorType } from './proxy/answers.js';
export { assertAdminBinding, createAdminHandler, renderMetrics, startAdminServer } from './admin/index.js';
export type { AdminHandler, AdminHandlerOptions, AdminServer, AdminServerOptions } from './admin/index.js';
