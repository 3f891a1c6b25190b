// The admin server's public surface: re-exports only.
export { assertAdminBinding, isLoopbackHost } from './auth.js';
export { METRICS_CONTENT_TYPE, metricsText, renderMetrics } from './metrics.js';
export type { ObservedProxy, SnapshotSource } from './observed.js';
export { createAdminHandler, startAdminServer } from './server.js';
export type { AdminHandler, AdminHandlerOptions, AdminServer, AdminServerOptions } from './server.js';
export type { StateEventData, TransitionRecord } from './events.js';
export type { Rates, RatePoint } from './rates.js';
export type { BreakersView, StatsView, TargetView } from './views.js';
