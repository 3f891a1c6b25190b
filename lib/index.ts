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
export type { HealthChangeInfo, ListenOptions, ProxyErrorInfo, ProxyEvents, RejectInfo, ResponseInfo, StateChangeInfo } from './proxy/proxy.js';
export { H2_LIMITS } from './proxy/server.js';
export type { TlsCertificate } from './proxy/server.js';
export { latencyQuantile } from './proxy/snapshot.js';
export type { ConnectionsSnapshot, HealthSnapshot, LatencySnapshot, Outcome, ProxySnapshot, QueueSnapshot, RouteSnapshot, TargetSnapshot } from './proxy/snapshot.js';
export type { BreakerAction, BreakerControl } from './proxy/control.js';
export type { OutageOptions, ProxyBreakerOptions, ProxyOptions, RouteOptions, TargetInput } from './proxy/options.js';
export type { FallbackOptions } from './proxy/fallback.js';
export type { ProxyErrorType } from './proxy/answers.js';
export type { BalanceOptions, WeightedTargetInput } from './proxy/options.js';
export type { BalanceStrategy } from './proxy/balance.js';
export { assertAdminBinding, createAdminHandler, renderMetrics, startAdminServer } from './admin/index.js';
export type { AdminHandler, AdminHandlerOptions, AdminServer, AdminServerOptions, ObservedProxy, SnapshotSource } from './admin/index.js';
export { startCluster } from './cluster/start.js';
export type { Cluster, ClusterEvents, ClusterOptions, WorkerSnapshot } from './cluster/primary.js';
