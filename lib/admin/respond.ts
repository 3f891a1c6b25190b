/** How the admin server writes its answers: the headers every answer carries, JSON, HTML pages. */
import type { ServerResponse } from 'node:http';

/** Admin answers are about live state and may be private: never cached, never sniffed, never referred. */
export const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

export function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { ...COMMON_HEADERS, ...headers, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string | string[]>): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, headers);
}

export function sendError(res: ServerResponse, status: number, error: string, message: string, headers?: Record<string, string | string[]>): void {
  sendJson(res, status, { error, message }, headers);
}

/** An HTML page under its own Content-Security-Policy, never framed. */
export function sendPage(res: ServerResponse, status: number, html: string, csp: string, headers: Record<string, string | string[]> = {}): void {
  send(res, status, 'text/html; charset=utf-8', html, { ...headers, 'content-security-policy': csp, 'x-frame-options': 'DENY' });
}

/**
 * RFC 9110 15.4.4: 303 makes the browser follow with a GET, whatever the method was. The target
 * is relative, so a handler mounted under a prefix sends the browser to its own pages.
 */
export function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(303, { ...COMMON_HEADERS, ...headers, location, 'content-length': 0 });
  res.end();
}
