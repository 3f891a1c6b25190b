/**
 * What the client is told when a target could not be reached or broke HTTP: the status and the
 * RFC 9209 `Proxy-Status` error type, from the error's `code`. Node's socket and TLS errors carry
 * their system codes; lib/http1's parse errors carry the `HPE_*` codes Node's own parser uses, so
 * proxied requests, upgrades and probes are classified alike.
 */
import type { ProxyErrorType } from './answers.js';

export interface Classified {
  status: number;
  type: ProxyErrorType;
}

/** Maps an upstream connection error to the status and RFC 9209 error type the client gets. */
export function classify(error: Error & { code?: string }): Classified {
  const code = error.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return { status: 502, type: 'connection_refused' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return { status: 502, type: 'dns_error' };
    case 'ETIMEDOUT':
      return { status: 504, type: 'connection_timeout' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { status: 502, type: 'destination_ip_unroutable' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 502, type: 'http_response_header_section_size' };
  }
  if (code.startsWith('HPE_')) return { status: 502, type: 'http_protocol_error' };
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT/.test(code)) return { status: 502, type: 'tls_certificate_error' };
  if (code.startsWith('ERR_SSL') || code === 'EPROTO' || code.startsWith('ERR_TLS')) return { status: 502, type: 'tls_protocol_error' };
  return { status: 502, type: 'connection_terminated' };
}

/**
 * Connection errors that happen before a target could have read any of the request: a request
 * that met one may go to another target whatever its method did (see Exchange's failover).
 */
export const NOT_SENT: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
