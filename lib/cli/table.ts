/**
 * The routing table as people read it: one line for the start message, a table for `--check`.
 */
import type { ProxyConfig, ResolvedRoute } from '../proxy/options.js';
import type { CliConfig } from './config.js';

/** `http://127.0.0.1:8080`, with brackets for IPv6. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The targets, each with its weight where it is not 1. */
function targetsOf(route: ResolvedRoute): string {
  return route.targets.map((url, i) => (route.weights[i] === 1 ? url.origin : `${url.origin} (weight ${route.weights[i]})`)).join(', ');
}

/** `/api => http://a:1, http://b:2; users.example.com => http://c:3` */
export function routesSummary(config: ProxyConfig): string {
  return config.routes.map((route) => `${route.match} => ${targetsOf(route)}`).join('; ');
}

/** The resolved routing table of `--check`: every route with what it will do. */
export function routingTable(config: CliConfig): string {
  const rows = [
    ['MATCH', 'TARGETS', 'STRIP', 'TIMEOUT', 'FAILURE STATUS', 'RETRIES', 'BREAKER'],
    ...config.resolved.routes.map((route) => [
      route.match,
      route.balance === 'round-robin' ? targetsOf(route) : `${route.balance}: ${targetsOf(route)}`,
      route.stripPrefix ? 'yes' : 'no',
      `${route.timeout} ms`,
      route.failureStatus.text,
      route.retryOn === undefined ? String(route.retries) : `${route.retries}, also on ${route.retryOn.text}`,
      breakerText(route),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '));
  const { listen, admin, log } = config;
  const head = [`listen  ${httpUrl(listen.host, listen.port)}${listen.port === 0 ? ' (a free port, picked at start)' : ''}`];
  if (admin !== undefined) head.push(`admin   ${httpUrl(admin.host, admin.port)}${admin.token === undefined ? '' : ' (token set)'}`);
  head.push(`log     ${log.format}${log.accessLog ? ', access log on' : ''}`);
  return `${[...head, '', ...lines].join('\n')}\n`;
}

function breakerText(route: ResolvedRoute): string {
  const { failureThreshold, resetTimeout, resetTimeoutMax, failureRate, window, minRequests } = route.breaker;
  const parts = [`open after ${failureThreshold} failures`];
  if (failureRate !== undefined) parts.push(`or ${failureRate}% of >= ${minRequests} in ${window} ms`);
  parts.push(`probe after ${resetTimeout} ms (up to ${resetTimeoutMax})`);
  return parts.join(', ');
}
